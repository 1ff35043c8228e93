"""A locale is data: a Hong Kong locale (tests/locales/zh_HK) added to a copy of the
resource tree, with no Python change, prints every document, is served to a Hong Kong
browser, and leaves the other locales as they were."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from tests.helpers import TEST_LOCALES, pdfcheck, run

HK_DATA = TEST_LOCALES / "zh_HK"


def _clear_caches():
    from handouts import catalogs, locales
    from handouts.documents import common
    from handouts.web import i18n
    for fn in (locales._files, locales._read, locales.available, locales._from_folder, catalogs.translations,
               catalogs._for_content, i18n.translations, i18n.environment, common._environment):
        fn.cache_clear()


def hk_catalog(hant_po: Path, out: Path) -> int:
    """zh-HK's own handouts.po: the zh-Hant entries whose words Hong Kong writes
    differently (terms.toml), and nothing else. Returns how many entries it holds."""
    terms = tomllib.loads((HK_DATA / "terms.toml").read_text(encoding="utf-8"))["terms"]
    pattern = re.compile("|".join(map(re.escape, sorted(terms, key=len, reverse=True))))
    with hant_po.open("rb") as fh:
        cat = read_po(fh)
    for msg in list(cat):
        if not msg.id:
            continue
        new = pattern.sub(lambda m: terms[m.group(0)], msg.string)
        if new == msg.string:
            cat.delete(msg.id, context=msg.context)
        else:
            msg.string = new
    cat.locale = None
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        write_po(fh, cat, width=0)
    return sum(1 for m in cat if m.id)


@pytest.fixture
def hk(tmp_path, monkeypatch):
    """The resources with a zh_HK folder added: its locale.toml and its own catalog."""
    from handouts import paths
    root = tmp_path / "res"
    shutil.copytree(paths.locales_dir(), root / "locales")
    folder = root / "locales" / "zh_HK"
    folder.mkdir()
    shutil.copy(HK_DATA / "locale.toml", folder / "locale.toml")
    entries = hk_catalog(root / "locales" / "zh_Hant" / "LC_MESSAGES" / "handouts.po",
                         folder / "LC_MESSAGES" / "handouts.po")
    assert entries > 20  # Hong Kong usage where it differs, not a copy of Taiwan's catalog
    (root / "layouts").symlink_to(paths.layouts_dir())
    (root / "assets").symlink_to(paths.assets_dir())
    monkeypatch.setattr(paths, "resource_root", lambda: root)
    _clear_caches()
    yield root
    monkeypatch.undo()
    _clear_caches()


TAIWAN_ONLY = ("仿單", "症候群", "列印", "臺灣", "護理師", "回診")


@pytest.mark.parametrize("document,options", [
    ("handout", ["--sample", "--paper", "a4"]),
    ("wallet-card", ["--sample"]),
    ("poster", ["--paper", "a3"]),
])
def test_a_hong_kong_locale_from_data_prints_every_document(hk, capsys, tmp_path, document, options):
    from handouts import locales
    assert "zh-HK" in locales.available()
    code, out, err = run(capsys, "build", document, "--locale", "zh-HK", *options, "--out", tmp_path / "o")
    assert code == 0, err
    path = Path(out.strip())
    text = pdfcheck.text(path)
    flat = re.sub(r"\s+", "", text)
    # Hong Kong's emergency number, and its own approval statement (Hong Kong first).
    assert "撥打999" in flat and "（香港）或911（美國）" in flat  # (a poster's columns may part them)
    assert "香港、中國內地或台灣" in flat
    # Traditional characters in Hong Kong usage: the terms its data names, none of Taiwan's.
    assert "細胞因子釋放綜合症" in flat or document == "wallet-card"
    assert not [w for w in TAIWAN_ONLY if w in flat], [w for w in TAIWAN_ONLY if w in flat]
    assert "119" not in flat  # Taiwan's number
    assert str(pdfcheck.catalog(path)["/Lang"]) == "zh-Hant-HK"


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_counter_page_serves_hong_kong_to_a_hong_kong_browser(hk):
    from starlette.testclient import TestClient

    from handouts.web.app import create_app
    with TestClient(create_app(workers_count=1, warm=False), base_url="http://127.0.0.1") as client:
        for header, ui in (("zh-HK", "zh-HK"), ("zh-HK,zh;q=0.8,en;q=0.5", "zh-HK"), ("zh-MO", "zh-HK"),
                           ("zh-TW", "zh-Hant"), ("zh-Hant", "zh-Hant"), ("zh-CN", "zh-Hans")):
            r = client.get("/", headers={"accept-language": header}, follow_redirects=False)
            assert r.headers["location"] == f"/{ui}/", header
        page = client.get("/zh-HK/")
        assert page.status_code == 200 and 'lang="zh-Hant-HK"' in page.text
        assert "香港" in page.text  # the language list names it (locale.toml name)


def test_without_hong_kong_a_hong_kong_browser_gets_traditional_chinese():
    """Where no locale has the browser's region, the same language and script still win."""
    from handouts.web import i18n
    assert i18n.negotiate("zh-HK", ["en", "zh-Hans", "zh-Hant"], "en") == "zh-Hant"
    assert i18n.negotiate("zh-SG", ["en", "zh-Hans", "zh-Hant"], "en") == "zh-Hans"
    assert i18n.negotiate("fr-CA, de", ["en", "zh-Hans", "zh-Hant"], "en") == "en"


def test_a_locale_building_on_another_is_checked_like_any_catalog(hk):
    """zh-HK's own entries pass the same gate; a number it adds is refused."""
    from handouts import catalogs
    from handouts.errors import CatalogError
    assert catalogs.locale_problems("zh-HK") == []
    po = hk / "locales" / "zh_HK" / "LC_MESSAGES" / "handouts.po"
    with po.open("rb") as fh:
        cat = read_po(fh)
    msg = next(m for m in cat if m.id and "%(" not in str(m.id))
    msg.string += "（38）"
    with po.open("wb") as fh:
        write_po(fh, cat, width=0)
    assert any(p.startswith("digits not in the source") for p in catalogs.locale_problems("zh-HK"))
    with pytest.raises(CatalogError):
        catalogs.translations("zh-HK")
