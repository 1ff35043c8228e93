"""The drug is data: a content pack for a fictional drug (tests/packs/quorvatamab: its own
facts, sources and catalogs) prints every document in every locale through the same
code and layouts, and nothing of the shipped drug shows; no drug name is in the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from tests.helpers import LOCALES, PACKS, pdfcheck, run

PACK = PACKS / "quorvatamab"
# What only the shipped pack would print: its names (and its maker's) in every script, its
# pages and its label's set id.
SHIPPED = re.compile(r"tarlatamab|imdelltra|imdylltra|amgen|塔拉妥|安进|安進|cancer\.gov|1e7b6163", re.I)


@pytest.fixture(scope="module")
def fictional():
    from handouts import content
    return content.load(PACK)


@pytest.fixture
def chosen(monkeypatch):
    """The pack chosen for the command line (--content sets HANDOUTS_CONTENT: undone after)."""
    from handouts import paths
    monkeypatch.setenv(paths.CONTENT_ENV, str(PACK))
    return PACK


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("document,options", [
    ("handout", ["--sample"]), ("wallet-card", ["--sample"]), ("poster", ["--paper", "letter"])])
def test_a_fictional_drug_prints_every_document_in_every_locale(chosen, fictional, capsys, tmp_path, locale,
                                                                   document, options):
    from handouts import localizer
    from handouts.session import RenderSession
    code, out, err = run(capsys, "--content", PACK, "build", document, "--locale", locale, *options,
                         "--out", tmp_path)
    assert code == 0, err
    path = Path(out.strip())
    assert path.name.startswith(f"quorvatamab-{document}-{locale}-")  # the file names the drug
    text = pdfcheck.text(path)
    flat = _flat(text)
    assert not SHIPPED.search(text), SHIPPED.search(text)
    assert not SHIPPED.search(" ".join(str(v) for v in pdfcheck.metadata(path).values()))
    with RenderSession():
        L = localizer.get(locale, fictional)
        heading = L.name("heading") if document != "wallet-card" else L.name("in_sentence")
        assert _flat(heading) in flat, heading
        # The pack's own numbers: its dose (20 mg) or, on the card, how late CRS can start.
        number = L.q("dose_target") if document != "wallet-card" else L.q(fictional.roles.card.onset_latest)
        assert _flat(number) in flat, number
        if document != "wallet-card":
            assert _flat(L.name("maker")) in flat  # where to report side effects
    if document == "handout":
        assert _flat(L._("Hiccups")) in flat  # a word only this pack has, from its own catalog
        pages = text.count("=== page")
        assert [t for p in range(pages) for t in pdfcheck.decode_qr(path, p)] == [fictional.meta.nci_url]
    if document == "wallet-card":  # the back, in English for any provider: what the drug is, in the pack's words
        with RenderSession():
            E = localizer.get("en", fictional)
            assert _flat(E._("%(drug)s is %(drug_class)s.", drug=E.name("heading"),
                             drug_class=E.items(fictional.roles.card.drug_class)[0])) in flat


def test_the_pack_says_what_it_is_and_where_its_words_come_from(fictional):
    assert fictional.pack.folder == PACK
    assert fictional.meta.file_stem == "quorvatamab"
    assert not SHIPPED.search(PACK.joinpath("content.toml").read_text(encoding="utf-8"))


def test_a_pack_word_missing_from_every_catalog_is_refused(tmp_path, fictional):
    """A message of the pack that neither its catalogs nor the shared ones translate stops
    the build (as an untranslated shipped entry does), naming the message."""
    import shutil

    from handouts import catalogs, content
    from handouts.errors import CatalogError
    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy)
    po = copy / "locales" / "zh_Hant" / "LC_MESSAGES" / "content.po"
    with po.open("rb") as fh:
        cat = read_po(fh)
    cat.delete("Hiccups")
    with po.open("wb") as fh:
        write_po(fh, cat, width=0)
    model = content.load(copy)
    with pytest.raises(CatalogError, match="Hiccups"):
        catalogs.for_content("zh-Hant", model)
    assert catalogs.for_content("zh-Hans", model).gettext("Hiccups") == "打嗝"


def test_a_pack_catalog_that_adds_a_number_is_refused(tmp_path):
    import shutil

    from handouts import catalogs, content
    from handouts.errors import CatalogError
    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy)
    po = copy / "locales" / "zh_Hans" / "LC_MESSAGES" / "content.po"
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "打嗝"', 'msgstr "打嗝（３次）"'), encoding="utf-8")
    with pytest.raises(CatalogError, match="digits not in the source"):
        catalogs.for_content("zh-Hans", content.load(copy))


def test_no_drug_name_in_the_code_or_the_layouts():
    """src/ (outside the content packs) and layouts/ never name a shipped drug, its brand,
    its maker or its file stem: they take them from the content pack."""
    from handouts import content, paths
    names: set[str] = set()
    for folder in paths.shipped_packs().values():
        model = content.load(folder)
        meta = model.meta
        names |= {meta.drug, meta.drug.split("-")[0], meta.brand, meta.file_stem, model.names.maker}
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.I)
    src = Path(content.__file__).resolve().parent
    roots = [src, paths.layouts_dir()]
    found = []
    for root in roots:
        for f in root.rglob("*"):
            if not f.is_file() or "__pycache__" in f.parts or f.is_relative_to(paths.packs_dir()):
                continue
            if f.suffix not in (".py", ".html", ".css", ".toml", ".js", ".cfg", ".txt", ".md", ".mako"):
                continue
            for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{f.relative_to(root.parent)}:{i}: {line.strip()[:80]}")
    assert found == [], "\n".join(found)
