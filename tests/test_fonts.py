"""Every character a reader can see has a glyph in its locale's bundled fonts."""

from __future__ import annotations

import datetime as dt

import pytest

from handouts import catalogs, fonts, locales

LOCALE_CODES = list(locales.available())


@pytest.mark.parametrize("code", LOCALE_CODES)
def test_catalog_characters_covered_by_primary_font(code):
    spec = locales.get(code)
    # Catalog text must be drawn by the locale's own first family (SC for zh-Hans,
    # TC for zh-Hant), not by a fallback with the other script's glyph forms.
    missing = fonts.missing(catalogs.all_text(code), (spec.fonts[0],))
    assert missing == [], missing


@pytest.mark.parametrize("code", LOCALE_CODES)
def test_content_and_dates_covered(code, model):
    from handouts.localizer import get
    L = get(code, model)
    # every month and weekday, in each date style a document prints
    days = [dt.date(2026, month, 1 + month) for month in range(1, 13)]
    sample = " ".join([*(L.q(f) for f in model.fact_ids() if model.is_printable(f)),
                       *(i for lst in model.list_ids() for i in (L.items(lst) if model.is_printable(lst) else [])),
                       *(f(d) for d in days for f in (L.date, L.month_year, L.weekday, lambda d: L.date(d, "medium")))])
    assert "December" in sample or "12月" in sample
    assert fonts.missing(sample, tuple(locales.get(code).fonts)) == []


def test_rare_name_characters_fall_back_or_fail_clearly():
    spec = locales.get("zh-Hant")
    name = "李伟 陳國瑋 王㛃 㐀"
    # The Traditional font lacks the simplified 伟 and the rare 㐀; the stack's Simplified
    # font behind it has them, so the name prints, and a character in no font is refused.
    assert set(fonts.missing(name, (spec.fonts[0],))) == {"伟", "㐀"}
    assert fonts.missing(name, tuple(spec.fonts)) == []
    with pytest.raises(Exception, match="patient: name"):
        fonts.require("\U0003134A", tuple(spec.fonts), "patient: name", "zh-Hant")
