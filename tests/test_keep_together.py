"""Text no line may break inside: 第N天, a date, a range, a bracketed brand.
Locale data (locales/<dir>/locale.toml keep_together) drives one mechanism: the handout
joins each match's characters with word joiners (handouts.locales.keep_together), the
card's line breaker keeps it in one piece (handouts.linebreak)."""

from __future__ import annotations

import re

import pdfplumber
import pytest

from tests.helpers import LOCALES

from handouts import locales

CHINESE = ("zh-Hans", "zh-Hant")
WJ = locales.WORD_JOINER
MM = 72 / 25.4
# A run of characters joined by word joiners (a run of ASCII letters and digits needs none inside).
_JOINED = re.compile(f"(?:(?:[A-Za-z0-9]+|[^{WJ}<>]){WJ})+(?:[A-Za-z0-9]+|[^{WJ}<>])")


def wrapped(html: str) -> list[str]:
    """What no line may break inside: the runs joined by word joiners, as printed."""
    return [run.replace(WJ, "") for run in _JOINED.findall(html)]


@pytest.mark.parametrize("code", CHINESE)
def test_ordinals_dates_ranges_and_brands_are_wrapped(code):
    spec = locales.get(code)
    day = "第15天" if code == "zh-Hans" else "第\u00a015\u00a0天"
    cycle = "第5周期" if code == "zh-Hans" else "第 5 週期"
    hours = "22至24小时" if code == "zh-Hans" else "22 至 24 小時"
    html = (f"<p>{cycle}及以后，第1天和{day}。2026年12月15日起，每{hours}；"
            "塔拉妥单抗（IMDELLTRA）</p>")
    got = wrapped(locales.keep_together(html, spec))
    assert got == [cycle, "第1天", day, "2026年12月15日", hours, "（IMDELLTRA）"], got


def test_tags_attributes_comments_and_head_are_left_alone():
    spec = locales.get("zh-Hans")
    html = ('<html><head><title>第1天</title><style>p::after{content:"第2天"}</style></head>'
            '<body><!-- 第3天 --><td title="第4天" data-x="2026年1月2日">第5天</td>'
            '<svg><title>第6天</title></svg></body></html>')
    out = locales.keep_together(html, spec)
    assert wrapped(out) == ["第5天"]
    assert out.replace(WJ, "") == html


def test_joined_text_keeps_entities_and_ascii_words_whole():
    assert locales.joined("（IMDELLTRA）") == f"（{WJ}IMDELLTRA{WJ}）"   # kerning inside the word kept
    assert locales.joined("22 至 24") == f"22{WJ} {WJ}至{WJ} {WJ}24"      # no break at its spaces either
    assert locales.joined("A&amp;B") == f"A{WJ}&amp;{WJ}B"                 # an entity is one character


def test_a_locale_without_patterns_is_unchanged():
    spec = locales.get("en")
    assert spec.keep_together == []
    html = "<p>Cycle 1, Day 15 第1天</p>"
    assert locales.keep_together(html, spec) is html


def test_patterns_are_locale_data(tmp_path):
    """A new locale (zh-HK) adds its own as data; a pattern that does not compile is refused."""
    from pydantic import ValidationError
    base = locales.get("zh-Hant").model_dump()
    hk = locales.LocaleSpec(**{**base, "code": "zh-HK", "keep_together": [r"第\d+日"]})
    assert wrapped(locales.keep_together("<p>第3日和第4天</p>", hk)) == ["第3日"]
    with pytest.raises(ValidationError, match="keep_together"):
        locales.LocaleSpec(**{**base, "keep_together": ["第(\\d+"]})


# -- in the printed PDF -------------------------------------------------------------------

# A line that ends inside a match: "第", "第15" (before 天/周期), "2026年", "2026年12", "2026年12月15".
# A month and year ("2025年11月") is whole: a line may end after it.
BROKEN_END = re.compile(r"(第[ \u00a0]*\d*|\d{4}年(?:\d{1,2}(?:月\d{1,2})?)?)$")


def line_ends(path, bottom_margin_mm: float) -> list[tuple[int, str]]:
    """Each line of body text, split into its table cells / columns: (page, text).
    The running footer (CSS margin box, not HTML) is left out."""
    runs = []
    with pdfplumber.open(str(path)) as pdf:
        for pno, page in enumerate(pdf.pages, 1):
            chars = [c for c in page.chars if c["top"] < page.height - bottom_margin_mm * MM]
            chars.sort(key=lambda c: (round(c["top"]), c["x0"]))
            line: list[dict] = []
            for c in chars + [None]:
                if line and (c is None or abs(c["top"] - line[-1]["top"]) > line[-1]["size"] / 2
                             or c["x0"] - line[-1]["x1"] > 0.6 * c["size"]):
                    runs.append((pno, "".join(ch["text"] for ch in line).strip()))
                    line = []
                if c is not None:
                    line.append(c)
    return runs


@pytest.fixture(scope="module")
def chinese_handouts(model, sample_patient, tmp_path_factory):
    from handouts.build import build
    out = tmp_path_factory.mktemp("keep")
    return {(loc, large): build("handout", loc, "letter", sample_patient, out / f"{loc}-{large}", model,
                                large_print=large).path
            for loc in CHINESE for large in (False, True)}


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-print"])
@pytest.mark.parametrize("code", CHINESE)
def test_no_line_ends_inside_an_ordinal_or_a_date(chinese_handouts, code, large):
    runs = line_ends(chinese_handouts[(code, large)], 42 if large else 20)
    assert any("第" in text for _, text in runs)  # the check sees the schedule
    broken = [(p, text) for p, text in runs if BROKEN_END.search(text)]
    assert not broken, broken


def test_a_paragraph_keeps_its_last_characters_together():
    """No one-character last line ("书。" alone): the last three characters of a
    paragraph stay with its closing punctuation."""
    spec = locales.get("zh-Hans")
    html = ("<p>神经毒性的症状：请查阅最新说明书。</p><p>请阅读美国国家癌症研究所网站（英文）。\n</p>"
            "<h2>这是什么药？</h2>")
    got = wrapped(locales.keep_together(html, spec))
    assert got == ["说明书。", "站（英文）。"], got  # a short heading is left as it is


# A last line of one or two Chinese characters and closing punctuation ("书。", "文）。").
SHORT_LAST_LINE = re.compile(r"^[（「]?[\u3400-\u9fff]{1,2}[。！？）」]+$")


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-print"])
@pytest.mark.parametrize("code", CHINESE)
def test_no_one_character_last_line_in_the_handout(chinese_handouts, code, large):
    runs = line_ends(chinese_handouts[(code, large)], 42 if large else 20)
    assert any(text.endswith("。") for _, text in runs)  # the check sees paragraph ends
    assert not [(p, text) for p, text in runs if SHORT_LAST_LINE.match(text)]


@pytest.mark.parametrize("code", CHINESE)
def test_no_one_character_last_line_on_the_poster(renders, code):
    runs = line_ends(renders.get("poster", code, "tabloid"), 0)
    assert any(text.endswith("。") for _, text in runs)
    assert not [(p, text) for p, text in runs if SHORT_LAST_LINE.match(text) or BROKEN_END.search(text)]


# -- the page-1 warning box ---------------------------------------------------------------

def _flat(text: str) -> str:
    return re.sub(r"\s", "", text)


@pytest.mark.parametrize("personal", [False, True], ids=["blank", "patient"])
@pytest.mark.parametrize("paper", ["letter", "a4"])
@pytest.mark.parametrize("code", LOCALES)
def test_phone_and_emergency_rule_print_together_in_the_page_one_box(renders, model, sample_patient,
                                                                     code, paper, personal):
    """The care-team phone and the emergency instruction inside the page-1
    warning box (en Letter printed the emergency rule at the top of page 2)."""
    from handouts import localizer, registry
    from handouts.documents.common import danger_emergency
    L = localizer.get(code, model)
    label = L._(registry.get("handout").variable("patient.phone").label)
    with pdfplumber.open(str(renders.get("handout", code, paper, personal))) as pdf:
        page1 = _flat(pdf.pages[0].extract_text())
    assert _flat(label) in page1
    if personal:
        assert _flat(sample_patient.phone) in page1
    assert _flat(danger_emergency(L)) in page1


# A line (or a table cell's line) holding one Chinese character alone ("議", "癌」。").
LONE_CHARACTER = re.compile(r"[（「]?[\u3400-\u9fff][。，、；：）」]*")


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-print"])
@pytest.mark.parametrize("code", CHINESE)
def test_no_character_alone_on_a_line_or_in_a_cell(chinese_handouts, code, large):
    """Body text and table cells (the running footer included, which the body check
    leaves out): no line holds a single character."""
    runs = line_ends(chinese_handouts[(code, large)], 0)
    assert not [(p, text) for p, text in runs if LONE_CHARACTER.fullmatch(text)]


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-print"])
@pytest.mark.parametrize("code", CHINESE)
def test_the_running_footer_keeps_its_date_and_label_revision_whole(chinese_handouts, model, code, large):
    """The footer breaks at its own separator: the print date and "仿單（2025年11月修訂）"
    are never split across its lines."""
    from handouts.clock import print_date
    from handouts.localizer import get
    L = get(code, model)
    date = L.date(print_date(), "medium")
    revision = f"{L.spec.regional['us_prescribing_information']}（{L.month_year(model.meta.label_revised)}"
    with pdfplumber.open(str(chinese_handouts[(code, large)])) as pdf:
        footers = [page.crop((0, page.height - (22 if large else 20) * MM, page.width, page.height)).extract_text()
                   for page in pdf.pages]
    for text in footers:
        lines = [_flat(line) for line in text.splitlines()]
        assert any(_flat(date) in line for line in lines), lines
        if not large:
            assert any(_flat(revision) in line for line in lines), lines
