import datetime as dt

import pytest

import pdfcheck


def test_planned_visits_for_known_start(model):
    from handouts.schedule import planned_visits
    visits = planned_visits(model, dt.date(2026, 12, 1))
    got = [(v.cycle, v.day, v.date.isoformat()) for v in visits]
    assert got == [
        (1, 1, "2026-12-01"), (1, 8, "2026-12-08"), (1, 15, "2026-12-15"),
        (2, 1, "2026-12-29"), (2, 15, "2027-01-12"),
        (3, 1, "2027-01-26"), (3, 15, "2027-02-09"),
    ]
    assert [model.fact(v.row.dose).value for v in visits] == [1, 10, 10, 10, 10, 10, 10]


@pytest.mark.parametrize("locale,paper,expected", [
    ("en", "letter", ["December 1, 2026 Cycle 1, Day 1 1 mg", "December 8, 2026 Cycle 1, Day 8 10 mg",
                      "February 9, 2027 Cycle 3, Day 15 10 mg", "Tuesday", "22 to 24 hours"]),
    ("zh-Hans", "a4", ["2026年12月8日 第1周期第8天 10 mg", "2027年2月9日 第3周期第15天 10 mg", "星期二", "22至24小时"]),
    ("zh-Hant", "a4", ["2026年12月8日 第 1 週期第 8 天 10 毫克", "2027年2月9日 第 3 週期第 15 天", "星期二",
                       "22 至 24 小時"]),
])
def test_personal_schedule_in_pdf(renders, locale, paper, expected):
    text = pdfcheck.text(renders.get("handout", locale, paper, personal=True))
    for piece in expected:
        assert piece in text, piece


def test_monitoring_per_row_comes_from_the_model(model):
    from handouts.localizer import get
    from handouts.documents.common import monitoring_text
    L = get("en", model)
    rows = model.printable_schedule()
    texts = [monitoring_text(L, r).replace("\u00a0", " ") for r in rows]
    assert "22 to 24 hours" in texts[0] and "48 hours" in texts[0] and "1 hour" in texts[0]
    assert "6 to 8 hours" in texts[2] and "3 to 4 hours" in texts[4] and "2 hours" in texts[5]
