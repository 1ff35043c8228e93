"""The static-part cache (staticcache.py): a key from every input, so that no stale part
is ever used; entries in memory and on disk, written atomically, only inside the
configured folder, safe when two processes fill it at once."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.helpers import TEST_LOCALES, pdfcheck
from handouts import digests, locales, paths, registry, staticcache
from handouts.staticcache import StaticCache

SRC = Path(staticcache.__file__).resolve().parent


# ------------------------------------------------------------------ the key

@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A copy of the resources and the code that the digests read, to change one at a
    time (the fonts are links to the bundled ones until a test changes one)."""
    root = tmp_path / "res"
    for name in ("layouts", "locales"):
        shutil.copytree(paths.resource_root() / name, root / name)
    fonts = root / "assets" / "fonts"
    fonts.mkdir(parents=True)
    for f in paths.fonts_dir().iterdir():
        (fonts / f.name).symlink_to(f)
    pkg = tmp_path / "pkg"
    shutil.copytree(SRC, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(paths, "resource_root", lambda: root)
    monkeypatch.setattr(paths, "content_file", lambda: pkg / "data" / "tarlatamab" / "content.toml")
    monkeypatch.setattr(digests, "__file__", str(pkg / "digests.py"))
    _clear()
    yield root, pkg
    _clear()


def _clear():
    for fn in (digests.code_digest, digests.layout_digest, digests.locale_digest, digests.fonts_digest,
               digests.content_digest, digests.engines, locales.font_families, locales._files, locales._read,
               locales.available, locales._from_folder):
        fn.cache_clear()


def _append(path: Path, text: bytes = b"\n") -> None:
    data = path.read_bytes()  # through a link: the copy replaces the link
    path.unlink()
    path.write_bytes(data + text)


def _font(root, pkg):
    spec = locales.get("zh-Hans")
    _append(root / "assets" / "fonts" / locales.font_files(spec)[0].name, b"\0")


CHANGES = {
    "content model": lambda root, pkg: _append(pkg / "data" / "tarlatamab" / "content.toml", b"\n# changed\n"),
    "catalog": lambda root, pkg: _append(root / "locales" / "zh_Hans" / "LC_MESSAGES" / "handouts.po"),
    "locale settings": lambda root, pkg: _append(root / "locales" / "zh_Hans" / "locale.toml", b"\n# changed\n"),
    "font registry": lambda root, pkg: _append(root / "assets" / "fonts" / "fonts.toml", b"\n# changed\n"),
    "font file": _font,
    "layout stylesheet": lambda root, pkg: _append(root / "layouts" / "handout" / "style.css"),
    "layout template": lambda root, pkg: _append(root / "layouts" / "handout" / "template.html"),
    "shared layout": lambda root, pkg: _append(root / "layouts" / "_shared" / "metadata.html"),
    "code": lambda root, pkg: _append(pkg / "pdfjoin.py", b"\n# changed\n"),
    "print date": lambda root, pkg: os.environ.__setitem__("SOURCE_DATE_EPOCH",
                                                           str(int(os.environ["SOURCE_DATE_EPOCH"]) + 86400)),
}


def _key(**part) -> str:
    where = {"locale": "zh-Hans", "paper": "a4", **part}
    return StaticCache.key(staticcache.static_inputs("handout", where["locale"], where["paper"]),
                           {"paper": where["paper"], "first_page": where.get("first_page", 3)})


def test_the_key_is_stable(tree):
    first = _key()
    _clear()
    assert _key() == first


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_input_change_makes_a_rebuild(tree, tmp_path, monkeypatch, change):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", os.environ["SOURCE_DATE_EPOCH"])  # restored afterwards
    cache = StaticCache(tmp_path / "cache")
    before = _key()
    assert cache.get_or_make(before, lambda: b"old") == b"old"
    CHANGES[change](*tree)
    _clear()
    after = _key()
    assert after != before
    assert cache.get_or_make(after, lambda: b"new") == b"new"
    assert cache.made == 2
    assert StaticCache(tmp_path / "cache").get(after) == b"new"


def test_engine_versions_are_in_the_key(tree, monkeypatch):
    from handouts.engines import patches
    before = _key()
    version = patches.package_version
    monkeypatch.setattr(patches, "package_version",
                        lambda name: version(name) + ".post1" if name == "weasyprint" else version(name))
    digests.engines.cache_clear()
    assert _key() != before


def test_the_system_text_libraries_are_in_the_key(tree, monkeypatch):
    """A Debian update of Pango or HarfBuzz changes output under the same WeasyPrint."""
    before = _key()
    monkeypatch.setattr(digests, "text_libraries", lambda: {"pango": "0.0.1", "harfbuzz": "0.0.1"})
    digests.engines.cache_clear()
    assert _key() != before


def test_a_change_to_the_catalog_a_locale_builds_on_makes_a_rebuild(tree):
    """zh-HK takes every entry its own catalog lacks from zh-Hant's: a change there is a
    change of zh-HK's rest."""
    root, _ = tree
    folder = root / "locales" / "zh_HK"
    folder.mkdir()
    shutil.copy(TEST_LOCALES / "zh_HK" / "locale.toml", folder / "locale.toml")
    _clear()
    before = _key(locale="zh-HK")
    _append(root / "locales" / "zh_Hant" / "LC_MESSAGES" / "handouts.po")
    _clear()
    assert _key(locale="zh-HK") != before


@pytest.mark.parametrize("part", [{"locale": "en"}, {"paper": "letter"}, {"first_page": 2}])
def test_the_part_itself_is_in_the_key(tree, part):
    assert _key(**part) != _key()


# ------------------------------------------------------------------ memory and disk

def test_made_once_in_a_process(tmp_path):
    cache = StaticCache(None)
    calls = []
    key = "a" * 64

    def make():
        calls.append(1)
        return b"part"

    threads = [threading.Thread(target=cache.get_or_make, args=(key, make)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and cache.get(key) == b"part"


def test_memory_is_bounded_and_the_disk_keeps_the_rest(tmp_path):
    cache = StaticCache(tmp_path / "c", memory_entries=2)
    keys = [c * 64 for c in "abc"]
    for k in keys:
        cache.put(k, k.encode())
    assert len(cache._memory) == 2 and keys[0] not in cache._memory
    assert cache.get(keys[0]) == keys[0].encode()  # from disk


def test_a_new_process_finds_the_part_on_disk(tmp_path):
    StaticCache(tmp_path / "c").get_or_make("b" * 64, lambda: b"laid out once")
    later = StaticCache(tmp_path / "c")
    assert later.get_or_make("b" * 64, lambda: pytest.fail("laid out again")) == b"laid out once"
    assert later.made == 0


def test_a_damaged_entry_is_laid_out_again(tmp_path):
    key = "c" * 64
    StaticCache(tmp_path / "c").put(key, b"x" * 1000)
    entry = next((tmp_path / "c").rglob(f"{key}*"))
    entry.write_bytes(entry.read_bytes()[:-10])  # cut short, as a bad disk would
    cache = StaticCache(tmp_path / "c")
    assert cache.get(key) is None
    assert cache.get_or_make(key, lambda: b"y" * 1000) == b"y" * 1000
    assert StaticCache(tmp_path / "c").get(key) == b"y" * 1000


def test_a_write_is_atomic(tmp_path, monkeypatch):
    """Killed between writing and renaming: no entry, no temporary file left behind."""
    from handouts import output
    key = "d" * 64

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        StaticCache(tmp_path / "c").put(key, b"z" * 1000)
    monkeypatch.undo()
    assert [p for p in (tmp_path / "c").rglob("*") if p.is_file()] == []
    assert StaticCache(tmp_path / "c").get(key) is None


def test_no_cache_folder_outside_the_configured_place(tmp_path, monkeypatch, model, sample_patient):
    """A real joined handout with the cache configured: files only in that folder, the
    rest of the handout laid out once (one entry) beside the font files' digests."""
    from tests.helpers import handout_request

    from handouts.documents import handout
    home, configured = tmp_path / "home", tmp_path / "configured"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv(staticcache.ENV, str(configured))
    assert staticcache.default_folder() == configured
    cache = StaticCache(staticcache.default_folder())
    handout.render_joined(handout_request(model, sample_patient, "en", "letter"), cache)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["configured", "home"]
    assert list(home.iterdir()) == []
    files = sorted(p.relative_to(configured) for p in configured.rglob("*") if p.is_file())
    entries = [f for f in files if f.name.endswith(staticcache.SUFFIX)]
    assert cache.made == len(entries) == 1
    assert files == sorted([*entries, Path(staticcache.DIGESTS)])
    assert cache.write_error is None


def test_a_cache_folder_set_empty_is_memory_only(monkeypatch):
    monkeypatch.setenv(staticcache.ENV, "")
    assert staticcache.default_folder() is None


def test_default_folder_is_the_users_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(staticcache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert staticcache.default_folder() == tmp_path / "xdg" / "handouts" / "static"


def test_a_link_in_the_cache_folder_is_not_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "c"
    folder.mkdir()
    key = "e" * 64
    (folder / key[:2]).symlink_to(elsewhere)  # planted where the entry's folder goes
    cache = StaticCache(folder)
    assert cache.get_or_make(key, lambda: b"part") == b"part"  # the build goes on
    assert list(elsewhere.iterdir()) == []
    assert cache.write_error and cache.write_error.code == "cache.not_written"
    assert key[:2] in cache.write_error.one_line()


def test_an_unwritable_cache_costs_speed_not_the_document(tmp_path):
    folder = tmp_path / "c"
    folder.write_text("a file where the folder should be")
    cache = StaticCache(folder)
    assert cache.get_or_make("f" * 64, lambda: b"part") == b"part"
    assert cache.get("f" * 64) == b"part"  # in memory
    assert cache.write_error


def _fill(folder: str, keys: list[str], rounds: int, queue) -> None:
    """A process filling the cache: every key made (or found), every read whole."""
    try:
        cache = StaticCache(Path(folder), memory_entries=1)
        for _ in range(rounds):
            for key in keys:
                data = cache.get_or_make(key, lambda k=key: _payload(k))
                assert data == _payload(key)
                cache.clear_memory()
                for other in keys:  # what another process may be writing right now
                    got = StaticCache(Path(folder)).get(other)
                    assert got is None or got == _payload(other)
        queue.put(("ok", cache.write_error))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("failed", repr(exc)))


def _payload(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest() * 8192  # 256 KB: a write takes a while


def test_two_processes_fill_the_cache_at_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(12)]
    queue = ctx.Queue()
    procs = [ctx.Process(target=_fill, args=(str(tmp_path / "c"), keys, 3, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert results == [("ok", None), ("ok", None)]
    files = [p for p in (tmp_path / "c").rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == sorted(f"{k}{staticcache.SUFFIX}" for k in keys)  # no .part left
    cache = StaticCache(tmp_path / "c")
    assert all(cache.get(k) == _payload(k) for k in keys)


def test_the_cache_holds_no_personal_data(tmp_path, model):
    """The rest of the handout is laid out without the patient: nothing of theirs reaches
    the cache folder (which, unlike out/, is not where clinics expect patient files)."""
    from tests.helpers import handout_request

    from handouts.documents import handout
    from handouts.patient import Patient
    from handouts.pdftext import extract
    patient = Patient.model_validate({"name": "Zed Quuxley", "first_dose": "2026-12-09",
                                      "oncologist": "Dr. Yolanda Vex", "phone": "+1 (555) 999-8888",
                                      "treatment_center": "Wexford Clinic"})
    cache = StaticCache(tmp_path / "c")
    pdf = handout.render_joined(handout_request(model, patient, "en", "a4"), cache).pdf
    joined = tmp_path / "joined.pdf"
    joined.write_bytes(pdf)
    values = ["Quuxley", "Yolanda Vex", "999-8888", "Wexford", "December 9, 2026", "Wednesday"]
    values += pdfcheck.document_ids(pdf)  # the patient's document id: on the personal pages only
    # Nor any value of the registry's sample patient (the rest's sources are those of
    # the sample's handout: its values must not print on every patient's pages).
    sample = registry.get("handout").sample_patient()
    samples = [sample.name, sample.oncologist, sample.phone, sample.treatment_center, "December 1, 2026"]
    assert all(v in extract(joined) for v in values)  # the values are printed, in the personal part
    entries = list((tmp_path / "c").rglob(f"*{staticcache.SUFFIX}"))
    assert entries
    for entry in entries:
        part = tmp_path / "part.pdf"
        part.write_bytes(handout.StaticPart.decode(
            StaticCache(tmp_path / "c").get(entry.name.removesuffix(staticcache.SUFFIX))).pdf)
        text = extract(part)
        assert not [v for v in values + samples if v in text]
    digests = (tmp_path / "c" / staticcache.DIGESTS).read_text()
    assert not [v for v in values + samples if v in digests]
