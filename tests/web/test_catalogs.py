"""The web page's own catalogs (gettext domain `web`) pass the same gates as the
documents' catalogs, are in step with the page, and use regional wording."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po, write_po

from handouts import catalogs, locales, paths
from handouts.errors import CatalogError

TRANSLATED = [c for c, s in locales.available().items() if s.catalog]


@pytest.mark.parametrize("code", TRANSLATED)
def test_web_catalog_is_complete_and_safe(code):
    po = catalogs.catalog_path(code, "web")
    assert po.is_file()
    assert catalogs.problems(po, catalogs.template_path("web")) == []
    t = catalogs.translations(code, "web")
    assert t.gettext("Download PDF") != "Download PDF"


def test_web_template_is_up_to_date(tmp_path):
    """locales/web.pot equals a fresh extraction from the page's templates and code."""
    out = tmp_path / "fresh.pot"
    root = paths.resource_root()
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "src/handouts/web/babel.cfg",
                    "-k", "W_", "--no-location", "--omit-header", "--sort-output", "-o", str(out), "."],
                   cwd=root, check=True, capture_output=True)
    assert out.read_text(encoding="utf-8") == catalogs.template_path("web").read_text(encoding="utf-8"), \
        "locales/web.pot is stale: run `make catalogs`"


def test_web_source_strings_spell_no_number():
    with catalogs.template_path("web").open("rb") as fh:
        pot = read_po(fh)
    ids = [m.id for m in pot if m.id]
    assert len(ids) > 30
    for text in ids:
        assert not re.search(r"\d", catalogs.PLACEHOLDER.sub("", text).replace("UTF-8", "")), text


@pytest.mark.parametrize("change,kind", [
    (lambda m: setattr(m, "string", ""), "untranslated"),
    (lambda m: m.flags.add("fuzzy"), "fuzzy"),
    (lambda m: setattr(m, "string", m.string.replace("%(max)s", "%(count)s")), "placeholders"),
    (lambda m: setattr(m, "string", m.string.replace("%(max)s", "%(max)s 200")), "digits"),
])
def test_the_gates_apply_to_the_web_domain(tmp_path, change, kind):
    with catalogs.catalog_path("zh-Hans", "web").open("rb") as fh:
        cat = read_po(fh)
    change(next(m for m in cat if m.id and "%(max)s patients" in m.id))
    bad = tmp_path / "web.po"
    with bad.open("wb") as fh:
        write_po(fh, cat)
    assert any(p.startswith(kind) for p in catalogs.problems(bad, catalogs.template_path("web")))


def test_a_bad_web_catalog_is_refused_at_load(tmp_path, monkeypatch):
    src = catalogs.catalog_path("zh-Hant", "web")
    with src.open("rb") as fh:
        cat = read_po(fh)
    next(m for m in cat if m.id == "Preview").flags.add("fuzzy")
    (tmp_path / "LC_MESSAGES").mkdir()
    with (tmp_path / "LC_MESSAGES" / "web.po").open("wb") as fh:
        write_po(fh, cat)
    monkeypatch.setattr(catalogs, "catalog_path", lambda code, domain="handouts": tmp_path / "LC_MESSAGES" / "web.po")
    catalogs.translations.cache_clear()
    try:
        with pytest.raises(CatalogError):
            catalogs.translations("zh-Hant", "web")
    finally:
        catalogs.translations.cache_clear()


def _strings(code: str) -> str:
    with catalogs.catalog_path(code, "web").open("rb") as fh:
        return "\n".join(m.string for m in read_po(fh) if m.id)


def test_zh_hant_is_taiwan_usage_and_zh_hans_mainland_usage():
    hant, hans = _strings("zh-Hant"), _strings("zh-Hans")
    # Taiwan: 列印 (print), 檔案 (file), 資料列 / 第 N 列 (row), 病人, 醫師.
    for mainland in ("打印", "文件", "信息", "默认", "第 %(row)s 行", "医生", "醫生", "視頻", "上載"):
        assert mainland not in hant, mainland
    for word in ("列印", "檔案", "第 %(row)s 列", "病人", "醫師"):
        assert word in hant, word
    for word in ("打印", "文件", "第 %(row)s 行", "患者", "医生"):
        assert word in hans, word
    for taiwan in ("列印", "檔案", "資料", "病人"):
        assert taiwan not in hans, taiwan
