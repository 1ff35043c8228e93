"""Catalogs: complete, safe, and in step with the templates and the content model."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from handouts import catalogs, locales, paths

TRANSLATED = [c for c, s in locales.available().items() if s.catalog]


@pytest.mark.parametrize("code", TRANSLATED)
def test_shipped_catalog_is_complete_and_safe(code):
    assert catalogs.problems(locales.get(code).po_path) == []


def test_template_is_up_to_date(tmp_path):
    """locales/handouts.pot equals a fresh extraction (run `make catalogs` if not)."""
    out = tmp_path / "fresh.pot"
    root = paths.resource_root()
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "N_",
                    "--no-location", "--omit-header", "--sort-output", "-o", str(out), "."],
                   cwd=root, check=True, capture_output=True)
    fresh = out.read_text(encoding="utf-8")
    shipped = catalogs.template_path().read_text(encoding="utf-8")
    assert fresh == shipped, "locales/handouts.pot is stale: run `make catalogs`"


def test_source_strings_have_no_digits():
    with catalogs.template_path().open("rb") as fh:
        pot = read_po(fh)
    for msg in pot:
        if msg.id:
            text = msg.id if isinstance(msg.id, str) else " ".join(msg.id)
            assert not re.search(r"\d", catalogs.PLACEHOLDER.sub("", text)), text


def _mutated_catalog(tmp_path: Path, code: str, change) -> Path:
    src = locales.get(code).po_path
    with src.open("rb") as fh:
        cat = read_po(fh)
    change(cat)
    out = tmp_path / "handouts.po"
    with out.open("wb") as fh:
        write_po(fh, cat)
    return out


def _first_with_placeholder(cat):
    return next(m for m in cat if m.id and "%(" in m.id)


@pytest.mark.parametrize("kind,change", [
    ("untranslated", lambda cat: setattr(next(m for m in cat if m.id), "string", "")),
    ("fuzzy", lambda cat: next(m for m in cat if m.id).flags.add("fuzzy")),
    ("placeholders differ", lambda cat: setattr(_first_with_placeholder(cat), "string", "没有占位符")),
    ("digits not in the source", lambda cat: setattr(
        cat.get("Headache"), "string", cat.get("Headache").string + "（38）")),
    ("markup tags differ", lambda cat: setattr(
        next(m for m in cat if m.id and "<strong>" in m.id), "string", "没有标签 %(total)s")),
    ("untranslated", lambda cat: cat.delete("Headache")),
])
def test_broken_catalog_is_refused(tmp_path, kind, change):
    bad = _mutated_catalog(tmp_path, "zh-Hans", change)
    found = catalogs.problems(bad)
    assert any(p.startswith(kind) for p in found), found


@pytest.mark.parametrize("code", TRANSLATED)
def test_chinese_terms_from_the_fact_sheet(code):
    text = catalogs.all_text(code)
    terms = {
        "zh-Hans": ["塔拉妥单抗", "细胞因子释放综合征", "免疫效应细胞相关神经毒性综合征", "广泛期小细胞肺癌"],
        # Taiwan usage: 細胞激素釋放症候群, 症候群, not the fact sheet's conversion.
        "zh-Hant": ["塔拉妥單抗", "細胞激素釋放症候群", "免疫效應細胞相關神經毒性症候群", "廣泛期小細胞肺癌"],
    }[code]
    for term in terms:
        assert term in text, term
    assert "IMDELLTRA" in text  # the brand stays in Latin letters


def test_simplified_and_traditional_are_separate_catalogs():
    hans = catalogs.all_text("zh-Hans")
    hant = catalogs.all_text("zh-Hant")
    # Traditional uses Taiwan wording, not a character swap of the Simplified text.
    assert "患者" in hans and "病人" in hant
    assert "美国食品药品监督管理局" in hans and "美國食品藥物管理局" in hant
    assert not set("单释综师规药")& set(hant)


def _with_headache(text: str):
    return lambda cat: setattr(cat.get("Headache"), "string", cat.get("Headache").string + text)


@pytest.mark.parametrize("code", TRANSLATED)
@pytest.mark.parametrize("added", ["（发热三十八度）", "，十四天", "（３８）", "（ⅩⅣ）", "①", "，两次", "（半小时）",
                                   "，第一个"])  # 第一个 is allowed only where the source says "first"
def test_numerals_not_in_the_source_are_refused(tmp_path, code, added):
    bad = _mutated_catalog(tmp_path, code, _with_headache(added))
    found = catalogs.problems(bad)
    assert any(p.startswith("digits not in the source") and "Headache" in p for p in found), found


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_word_that_only_looks_numeric_is_used(code):
    """A locale's [not_numbers] (locale.toml) stays exactly what its catalogs need: each
    entry is used, and taking any one out makes a shipped catalog fail."""
    spec = locales.get(code)
    words = dict(spec.not_numbers)
    assert words, "a Chinese catalog needs its words that only look numeric"
    assert catalogs.problems(spec.po_path) == []
    for word in words:
        fewer = {w: e for w, e in words.items() if w != word}
        assert catalogs.problems(spec.po_path, not_numbers=fewer), word


def test_a_locale_reads_only_its_own_words_that_look_numeric():
    """Each catalog is checked with its own locale's list: Simplified words do not excuse
    a Traditional catalog (and the other way round)."""
    hans, hant = (locales.get(c) for c in ("zh-Hans", "zh-Hant"))
    assert catalogs.problems(hant.po_path, not_numbers=hans.not_numbers)
    assert catalogs.problems(hans.po_path, not_numbers=hant.not_numbers)


def test_numbers_finds_every_kind_of_numeral():
    words = locales.get("zh-Hans").not_numbers
    assert catalogs.numbers("三十八度，十四天，３８，ⅩⅣ，①，兩次，38") == {
        "三十八", "十四", "３８", "ⅩⅣ", "①", "兩", "38"}
    assert catalogs.numbers("其中一些问题，这是什么药？", "", words) == set()
    assert catalogs.numbers("其中一些问题") == {"一"}  # without the locale's words: a number
    assert catalogs.numbers("第一个周期", "", words) == {"一"}
    assert catalogs.numbers("第一个周期", "the first cycle", words) == set()
    assert catalogs.numbers("%(day1)s") == set()  # placeholder names are not numbers
