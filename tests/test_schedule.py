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
    ("zh-Hant", "a4", ["2026年12月8日 第 1 週期第 8 天 10 mg", "2027年2月9日 第 3 週期第 15 天", "星期二",
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


# ------------------------------------------------------------------ daylight saving

US_DST_STARTS = dt.date(2026, 3, 8)  # clocks go forward at 02:00 in the United States
US_DST_ENDS = dt.date(2026, 11, 1)   # clocks go back at 02:00


@pytest.mark.parametrize("infusion_day", [US_DST_STARTS - dt.timedelta(days=1), US_DST_ENDS - dt.timedelta(days=1),
                                          US_DST_STARTS - dt.timedelta(days=2), US_DST_ENDS])
def test_stay_near_end_is_right_across_a_daylight_saving_change(model, infusion_day):
    """The stay-near period is 48 elapsed hours from the start of the infusion. Across a
    US change of clocks "the same clock time, two days later" is 47 or 49 hours: the
    handout never says it. It names the period in hours and the day it ends, and that
    day is right for every start in clinic hours (06:00 to 20:00) in a US time zone."""
    from zoneinfo import ZoneInfo

    from handouts.documents.handout import stay_near_end, stay_near_until
    from handouts.localizer import get
    hours = model.fact("stay_near_total").value
    end_day = stay_near_end(model, infusion_day)
    for zone in ("America/New_York", "America/Chicago", "America/Los_Angeles"):
        tz = ZoneInfo(zone)
        for hour in range(6, 21):
            start = dt.datetime.combine(infusion_day, dt.time(hour), tzinfo=tz)
            end = (start.astimezone(dt.timezone.utc) + dt.timedelta(hours=hours)).astimezone(tz)
            assert end.date() == end_day, (zone, hour, end)
    L = get("en", model)
    text = stay_near_until(L, infusion_day).replace("\u00a0", " ")
    assert "until 48 hours after the infusion started" in text
    assert L.date(end_day, "full") in text
    assert "time of day" not in text and "same time" not in text


def test_the_personal_schedule_across_the_spring_change(tmp_path, model):
    """A first dose on Friday, March 6, 2026: the stay-near period crosses the change of
    clocks on Sunday, March 8. The printed schedule says 48 hours and Sunday's date."""
    from handouts.build import build
    from handouts.patient import Patient
    built = build("handout", "en", "letter", Patient(first_dose=dt.date(2026, 3, 6)), tmp_path, model)
    text = " ".join(pdfcheck.text(built.path).split())
    assert "48 hours after the infusion started: Sunday, March 8, 2026." in text
    assert "time of day your" not in text
