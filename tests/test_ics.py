"""The personal schedule as an iCalendar file: parsed back with icalendar and imported by
a real calendar program (calcurse, Debian's package), every date checked against the
schedule the handout prints."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess

import pytest
from icalendar import Calendar

from handouts import localizer, locales, papers
from handouts.documents import handout
from handouts.documents.common import BuildRequest, visit_label
from handouts.errors import HandoutsError
from handouts.ics import schedule_calendar, stay_near_end
from handouts.schedule import planned_visits

from tests.helpers import LOCALES, as_read, needs


def _events(data: bytes):
    cal = Calendar.from_ical(data)
    return cal, sorted(cal.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))


@pytest.mark.parametrize("locale", LOCALES)
def test_every_event_is_a_visit_the_handout_prints(locale, model, sample_patient):
    patient = sample_patient.model_copy(update={"locale": locale})
    cal, events = _events(schedule_calendar(patient, model))
    visits = planned_visits(model, patient.first_dose, model.presentation.schedule_cycles_shown)
    L = localizer.get(locale, model)
    page = as_read(handout.html(BuildRequest("handout", locale, papers.PAPERS["a4"], patient, model)))
    page_text = " ".join(page.split())
    assert len(events) == len(visits) and str(cal["x-wr-calname"]) == L._("Your planned schedule")
    for event, visit in zip(events, visits, strict=True):
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert start == visit.date and not isinstance(start, dt.datetime)  # all day, on the printed date
        assert L.date(visit.date, "long") in page  # the handout prints that date
        summary, description = str(event["summary"]), str(event["description"])
        assert visit_label(L, visit.cycle, visit.day) in summary and L.q(visit.row.dose) in summary
        assert event["summary"].params["LANGUAGE"] == L.spec.html_lang
        if visit.row.stay_near:
            # The handout's words as printed (spaced as the locale spaces sentences).
            until = locales.sentence_spacing(handout.stay_near_until(L, visit.date), L.spec)
            assert until in description and " ".join(until.split()) in page_text  # the handout's words
            assert end == stay_near_end(model, visit.date) + dt.timedelta(days=1)
            assert (end - start).days > 1
        else:
            assert end == start + dt.timedelta(days=1)
        assert patient.phone in description and str(event["location"]) == patient.treatment_center


def test_numbers_come_from_the_content_model(model, sample_patient):
    changed = model.revised(facts={"stay_near_total": {"value": 96}, "cycle_length": {"value": 28}})
    _, events = _events(schedule_calendar(sample_patient, changed))
    first = events[0]
    assert first.decoded("dtend") - first.decoded("dtstart") == dt.timedelta(days=5)  # 96 hours: 4 days on
    starts = [e.decoded("dtstart") for e in events]
    label = visit_label(localizer.get("en", changed), 2, 1)
    cycle2 = next(s for s, e in zip(starts, events, strict=True) if label in str(e["summary"]))
    assert cycle2 - sample_patient.first_dose == dt.timedelta(days=28)


def test_a_reprint_updates_the_same_events(model, sample_patient):
    early = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    _, before = _events(schedule_calendar(sample_patient, model, stamp=early))
    delayed = sample_patient.model_copy(update={"first_dose": sample_patient.first_dose + dt.timedelta(days=7),
                                                "phone": "+1 555 010 9999"})
    _, after = _events(schedule_calendar(delayed, model, stamp=early + dt.timedelta(days=2)))
    assert [str(e["uid"]) for e in before] == [str(e["uid"]) for e in after]
    assert len({str(e["uid"]) for e in before}) == len(before)
    assert all(a.decoded("dtstart") == b.decoded("dtstart") + dt.timedelta(days=7)
               for a, b in zip(after, before, strict=True))
    assert all(int(a["sequence"]) > int(b["sequence"]) for a, b in zip(after, before, strict=True))
    other = sample_patient.model_copy(update={"name": "Someone Else"})
    _, theirs = _events(schedule_calendar(other, model))
    assert not {str(e["uid"]) for e in theirs} & {str(e["uid"]) for e in before}
    _, keyed = _events(schedule_calendar(sample_patient, model, key="mrn:urn:x|E1"))
    assert not {str(e["uid"]) for e in keyed} & {str(e["uid"]) for e in before}


def test_byte_identical_for_the_same_inputs(model, sample_patient):
    assert schedule_calendar(sample_patient, model) == schedule_calendar(sample_patient, model)


def test_no_first_dose_no_calendar(model, sample_patient):
    with pytest.raises(HandoutsError, match="first dose") as err:
        schedule_calendar(sample_patient.model_copy(update={"first_dose": None}), model)
    assert err.value.field == "first_dose"


_APT = re.compile(r"^(\d\d/\d\d/\d{4}) \[1\](?: \{1D -> (\d\d/\d\d/\d{4})\})? (?:>(\w+) )?(.*)$")


def test_a_calendar_program_imports_it(tmp_path, model, sample_patient):
    """calcurse (its own iCalendar parser, not the library that wrote the file) imports
    every event, each on its date and, after a stay-near dose, over the stay-near days."""
    exe = shutil.which("calcurse")
    if exe is None:
        needs("calcurse is not installed (apt-get install calcurse; scripts/install-system-deps.sh does)")
    patient = sample_patient.model_copy(update={"locale": "zh-Hant"})
    ics = tmp_path / "schedule.ics"
    ics.write_bytes(schedule_calendar(patient, model))
    home = tmp_path / "calcurse"
    home.mkdir()
    res = subprocess.run([exe, "-D", str(home), "-i", str(ics)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "HOME": str(tmp_path)})
    visits = planned_visits(model, patient.first_dose, model.presentation.schedule_cycles_shown)
    assert res.returncode == 0 and f"{len(visits)} events" in res.stdout and "0 skipped" in res.stdout, res.stdout
    lines = (home / "apts").read_text(encoding="utf-8").splitlines()
    got = []
    for line in lines:
        m = _APT.match(line)
        assert m, line
        start = dt.datetime.strptime(m[1], "%m/%d/%Y").date()
        last = dt.datetime.strptime(m[2], "%m/%d/%Y").date() if m[2] else start
        note = (home / "notes" / m[3]).read_text(encoding="utf-8") if m[3] else ""
        got.append((start, last, m[4], note))
    L = localizer.get("zh-Hant", model)
    for (start, last, summary, note), visit in zip(sorted(got), visits, strict=True):
        assert start == visit.date and visit_label(L, visit.cycle, visit.day) in summary
        assert last == (stay_near_end(model, visit.date) if visit.row.stay_near else visit.date)
        assert patient.phone in note
