"""The line breaker: kinsoku for Chinese, Latin words and numbers never split."""

from __future__ import annotations

import re

import pytest

from handouts.linebreak import NO_END, NO_START, TooWide, break_lines, segments, violations


def cells(text: str) -> float:
    """A monospace stand-in: a Chinese character is two cells, anything else one."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


HARD = [
    "发热，体温达到38°C（100.4°F）或更高。塔拉妥单抗（IMDELLTRA）可能引起细胞因子释放综合征（CRS）"
    "和神经系统问题，包括ICANS。这些反应可在给药后数小时至15天内出现。",
    "發燒，體溫達 38°C（100.4°F）或更高；如有疑問：請聯絡「醫療團隊」《用藥指南》！好嗎？是、否。",
    "This cancer medicine can cause cytokine release syndrome (CRS) and ICANS, up to 15 days later.",
    "混合text与中文，ICANS、CRS：100.4°F。",
]


@pytest.mark.parametrize("text", HARD)
def test_kinsoku_at_every_width(text):
    widest = max(cells(p) for p, _ in segments(text))
    for width in range(int(widest), 60):
        lines = break_lines(text, width, cells)
        assert violations(lines) == [], (width, lines)
        assert all(cells(ln) <= width for ln in lines), (width, lines)
        # Nothing lost or added: the lines put back together are the text (spaces aside).
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize("token", ["ICANS", "100.4°F", "IMDELLTRA", "38°C", "2026.11.0"])
def test_latin_tokens_and_numbers_are_never_split(token):
    text = f"这是一段很长的中文说明文字{token}以及后面更多的中文说明文字，{token}。"
    for width in range(12, 40):
        for line in break_lines(text, width, cells):
            for run in re.findall(r"[A-Za-z0-9.°]+", line):
                assert run in token, (width, line)
        joined = "\n".join(break_lines(text, width, cells))
        assert joined.count(token) == 2, (width, joined)


def test_no_break_between_a_number_and_its_unit():
    lines = break_lines("They can start up to 15 days later.", 19, cells)
    assert any("15 days" in ln for ln in lines), lines


def test_closing_punctuation_moves_with_its_neighbour():
    # At width 5, "，" would start line 2: it takes "热" with it.
    assert break_lines("发热，体温", 5, cells) == ["发", "热，", "体温"]
    assert break_lines("请看（说明）", 6, cells) == ["请看", "（说", "明）"]


def test_opening_bracket_never_ends_a_line():
    text = "文字（IMDELLTRA）文字「引号」"
    widest = max(cells(p) for p, _ in segments(text))
    for width in range(int(widest), int(cells(text)) + 1):
        for line in break_lines(text, width, cells):
            assert not line or line[-1] not in NO_END, (width, line)


def test_too_wide_token_is_an_error_not_a_split():
    with pytest.raises(TooWide) as err:
        break_lines("call IMDELLTRA now", 5, cells)
    assert err.value.token == "IMDELLTRA"


def test_value_after_a_label_moves_to_the_next_line_when_it_must():
    lines = break_lines("+1 (555) 010-2030", 20, cells, first_width=6, keep_together=True)
    assert lines == ["", "+1 (555) 010-2030"]


def _token_split(lines: list[str]) -> bool:
    return any(re.search(r"[A-Za-z0-9.°]$", a) and re.match(r"[A-Za-z0-9.°]", b)
               for a, b in zip(lines, lines[1:], strict=False))  # neighbours


def test_reportlab_cjk_wrap_is_why_we_have_our_own():
    """The documented ReportLab flaw, measured: with wordWrap='CJK' lines start with
    '，' or '：', end with '（', and 'ICANS' is split. Ours never does at any width. If
    ReportLab ever fixes it, this test says so (and linebreak.py could go)."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    from handouts.engines.reportlab_canvas import font_stack
    stack = font_stack(("Noto Sans SC",))
    style = ParagraphStyle("x", fontName=stack.names[0], fontSize=10, leading=12, wordWrap="CJK")
    text = "如出现以上任何症状，请立即联系医疗团队：发热，体温达到38°C（100.4°F）或更高，ICANS。"
    reportlab_bad = []
    for width in range(60, 200, 5):
        para = Paragraph(text, style)
        para.wrap(width, 1000)
        theirs = ["".join(line[1]) for line in para.blPara.lines]
        if violations(theirs) or _token_split(theirs):
            reportlab_bad.append(width)
        ours = break_lines(text, width, lambda t: stack.width(t, 10))
        assert violations(ours) == [] and not _token_split(ours), (width, ours)
    assert len(reportlab_bad) > 5, "ReportLab's CJK wrap no longer breaks the kinsoku rules here"


def test_sets_are_disjoint():
    assert not (NO_START & NO_END)


KEPT = [("zh-Hans", "第15天"), ("zh-Hant", "第 1 週期"), ("zh-Hans", "2026年12月15日"), ("zh-Hans", "22至24小时"),
        ("zh-Hans", "16小时"), ("zh-Hant", "15天"), ("zh-Hans", "（塔拉妥单抗，IMDELLTRA）")]


def _keep(code):
    from handouts import linebreak, locales
    return linebreak.keep_pattern(tuple(locales.get(code).keep_together))


@pytest.mark.parametrize("code,kept", KEPT)
def test_locale_keep_together_is_never_split(code, kept):
    """The card's breaker reads the text's locale's keep_together patterns (locale.toml),
    the data the handout uses: no line ends inside 第N天, a date, a range, a bracketed brand."""
    text = f"这是一段很长的中文说明文字，{kept}以及后面更多的中文说明文字，还有{kept}。"
    keep = _keep(code)
    widest = max(cells(p) for p, _ in segments(text, keep))
    assert widest >= cells(kept)
    split_somewhere = False
    for width in range(int(widest), 60):
        lines = break_lines(text, width, cells, keep=keep)
        assert "\n".join(lines).count(kept) == 2, (width, lines)
        plain = [p for p, _ in segments(text, keep=None)]
        split_somewhere |= kept not in plain
    assert split_somewhere  # without the patterns the breaker would split it


def test_each_locale_keeps_only_its_own_patterns():
    """A locale's text breaks by its own rules only: Simplified patterns know 周期, the
    Traditional ones 週期, English has none."""
    hans, hant = _keep("zh-Hans"), _keep("zh-Hant")
    assert hans.search("第1周期") and not hans.search("第1週期")
    assert hant.search("第1週期") and not hant.search("第1周期")
    assert _keep("en") is None


def test_a_new_locale_does_not_change_how_simplified_text_breaks(tmp_path, monkeypatch, model):
    """Add a locale whose keep_together would glue any run of Chinese characters: the
    Simplified card breaks exactly as before (the breaker reads only the text's locale)."""
    import shutil

    from handouts import locales, paths
    from handouts.documents import wallet_card
    from handouts.session import RenderSession
    with RenderSession():
        before = wallet_card.static_texts("zh-Hans", model)
    root = tmp_path / "res"
    shutil.copytree(paths.locales_dir(), root / "locales")
    greedy = root / "locales" / "zz_Glue"
    greedy.mkdir()
    toml = (paths.locales_dir() / "en" / "locale.toml").read_text(encoding="utf-8")
    greedy.joinpath("locale.toml").write_text(toml.replace('code = "en"', 'code = "zz-Glue"').replace(
        "catalog = false", "catalog = false\nkeep_together = ['[\\u3400-\\u9fff，、]{2,40}']"), encoding="utf-8")
    (root / "layouts").symlink_to(paths.layouts_dir())
    (root / "assets").symlink_to(paths.assets_dir())
    monkeypatch.setattr(paths, "resource_root", lambda: root)
    for fn in (locales._files, locales._read, locales.available, locales._from_folder):
        fn.cache_clear()
    try:
        assert "zz-Glue" in locales.available()
        with RenderSession():
            after = wallet_card.static_texts("zh-Hans", model)
    finally:
        monkeypatch.undo()
        for fn in (locales._files, locales._read, locales.available, locales._from_folder):
            fn.cache_clear()
    assert after == before
