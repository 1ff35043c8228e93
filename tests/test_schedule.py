import datetime as dt

import pytest

from tests.helpers import pdfcheck


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


@pytest.mark.parametrize("locale,paper,rows,hours", [
    ("en", "letter", [("December 1, 2026 Tuesday", "Cycle 1, Day 1", "1 mg"),
                      ("December 8, 2026 Tuesday", "Cycle 1, Day 8", "10 mg"),
                      ("February 9, 2027 Tuesday", "Cycle 3, Day 15", "10 mg")], "22 to 24 hours"),
    ("zh-Hans", "a4", [("2026年12月8日 星期二", "第1周期第8天", "10 mg"),
                       ("2027年2月9日 星期二", "第3周期第15天", "10 mg")], "22至24小时"),
    ("zh-Hant", "a4", [("2026年12月8日 星期二", "第 1 週期第 8 天", "10 mg"),
                       ("2027年2月9日 星期二", "第 3 週期第 15 天", "10 mg")], "22 至 24 小時"),
], ids=["en-letter", "zh-Hans-a4", "zh-Hant-a4"])
def test_personal_schedule_in_pdf(renders, locale, paper, rows, hours):
    """Each planned visit is one row of the tagged table: its date and weekday, the visit,
    the dose, and after the infusion how long to stay (cells may wrap onto several
    lines: the visit column is narrow; the row is what a reader and a screen reader read)."""
    def flat(text):
        return "".join(text.split())

    found = {tuple(flat(c) for c in row[:3]): row for row in
             pdfcheck.table_rows(renders.get("handout", locale, paper, personal=True))}
    for expected in rows:
        assert tuple(flat(c) for c in expected) in found, (expected, list(found))
    first = found[tuple(flat(c) for c in rows[0])]
    assert len(first) == 4 and flat(hours) in flat(first[3]), first


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
            end = (start.astimezone(dt.UTC) + dt.timedelta(hours=hours)).astimezone(tz)
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


# ---------------------------------------------------------- any shape of schedule row

def _three_days(model):
    """Cycle 2 given on Days 1, 8 and 15 (a label could schedule it so)."""
    from handouts import content
    data = content.raw()
    assert data["schedule"][3]["cycles"] == [2, 2]
    data["schedule"][3]["days"] = [1, 8, 15]
    return content.from_data(data)


@pytest.mark.parametrize("code,expected", [
    ("en", "Cycle 2, Days 1, 8, and 15"),
    ("zh-Hans", "第2周期，第1天、第8天和第15天"),
    ("zh-Hant", "第 2 週期，第 1 天、第 8 天和第 15 天"),
])
def test_a_row_of_three_days_names_every_day(model, code, expected):
    """A row's days print however many there are (never "Days 1 and 8" for 1, 8, 15)."""
    from handouts.documents.common import when_label
    from handouts.localizer import get
    changed = _three_days(model)
    row = next(r for r in changed.printable_schedule() if len(r.days) == 3)
    assert when_label(get(code, changed), row).replace("\u00a0", " ") == expected


def test_every_row_shape_prints_its_cycles_and_days(model):
    from handouts.content import ScheduleRow
    from handouts.documents.common import when_label
    from handouts.localizer import get
    L = get("en", model)

    def label(cycles, days):
        row = ScheduleRow(cycles=cycles, days=days, dose="dose_target", monitoring="monitor_c5_on")
        return when_label(L, row).replace("\u00a0", " ")

    assert label([2, 3], [1]) == "Cycles 2 and 3, Day 1"  # one day over several cycles
    assert label([5, 0], [1]) == "Cycle 5 and later, Day 1"
    assert label([3, 6], [1, 8, 15]) == "Cycles 3 to 6, Days 1, 8, and 15"
    assert label([1, 1], [8]) == "Cycle 1, Day 8"
    assert label([2, 2], [1, 15]) == "Cycle 2, Days 1 and 15"


def test_documents_print_a_three_day_row(model):
    """The handout's table and the poster's timeline and monitoring rows print every day."""
    from handouts import papers
    from handouts.documents import handout, poster
    from handouts.documents.common import BuildRequest
    changed = _three_days(model)
    for module, doc, paper in ((handout, "handout", "letter"), (poster, "poster", "tabloid")):
        html = module.html(BuildRequest(doc, "en", papers.PAPERS[paper], None, changed)).replace("\u00a0", " ")
        assert "Cycle 2, Days 1, 8, and 15" in html, doc
        assert "Cycle 2, Days 1 and 8" not in html, doc


@pytest.mark.parametrize("edit,match", [
    (lambda rows: rows[2].update(days=[15, 8]), "in order"),
    (lambda rows: rows[2].update(days=[0]), "in order"),
    (lambda rows: rows[2].update(days=[29]), "past the cycle"),
    (lambda rows: rows[2].update(days=[8]), "also in schedule"),  # cycle 1 day 8 twice
])
def test_schedule_rows_are_checked_for_the_shapes_documents_print(edit, match):
    from handouts import content
    data = content.raw()
    edit(data["schedule"])
    with pytest.raises(Exception, match=match):
        content.from_data(data)
