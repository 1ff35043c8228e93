"""The patient's dated schedule as an iCalendar file (RFC 5545), for the phone's calendar.

One event per planned visit, the same visits the handout prints (schedule.py, cycles
1 to the content model's schedule_cycles_shown). A visit is an all-day event on its
date; after a dose with a stay-near period the event spans the days of that period
(the infusion's time of day is not known, so the handout's own words say until when).
Every text is the handout's, in the patient's language: the dose, the visit, the
monitoring rule, the stay-near end, the planned-dates caution and the care team's phone.
Every number comes from the content model.

UIDs are stable: a digest of the patient's key, the cycle and the day, never the date.
Importing a reprint (a delayed first dose, a new phone number) updates the events
instead of adding a second set; SEQUENCE and DTSTAMP rise with the print time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

from .errors import HandoutsError

if TYPE_CHECKING:
    from .content import ContentModel
    from .patient import Patient

PRODID = "-//handouts//{drug} schedule//EN"  # the content model names the drug
UID_DOMAIN = "schedule.handouts.invalid"


def file_name(locale: str, tag: str | None = None) -> str:
    """The calendar file beside a patient's documents: "schedule-zh-Hant[-<patient>].ics"."""
    return "-".join(["schedule", locale, *([tag] if tag else [])]) + ".ics"


def _stamp() -> dt.datetime:
    from .clock import source_date_epoch
    epoch = source_date_epoch()
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def uid_seed(patient: Patient) -> str:
    """A stable key for a patient without a record key: the fields that say who the
    patient is, without the first dose (a delayed start keeps the same events)."""
    parts = [patient.name or "", patient.oncologist or "", patient.treatment_center or ""]
    return "fields:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def stay_near_end(model: ContentModel, day: dt.date) -> dt.date:
    """The last calendar day of the stay-near period after a dose on `day` (the period
    runs from the start of the infusion; the handout prints the same date)."""
    hours = float(model.fact(model.roles.stay_near.total).value)
    return day + dt.timedelta(hours=hours)


def schedule_calendar(patient: Patient, model: ContentModel, locale: str | None = None,
                      key: str | None = None, stamp: dt.datetime | None = None) -> bytes:
    """The .ics file for `patient` (needs a first dose). `key`: the patient's key in the
    print record, when there is one (else uid_seed)."""
    from icalendar import Calendar, Event, vText

    from . import localizer, locales
    from .documents.common import monitoring_text, visit_label
    from .documents.handout import stay_near_until
    from .schedule import planned_visits

    if patient.first_dose is None:
        raise HandoutsError("ics.no_first_dose", "first_dose")
    code = locale or patient.locale or "en"
    L = localizer.get(code, model)
    lang = L.spec.html_lang
    stamp = stamp or _stamp()
    seed = key or uid_seed(patient)
    phone_line = f"{L._('Phone, any time:')} {patient.phone}" if patient.phone else None
    caution = L._("These dates are planned from your first dose. Your care team will confirm each one. "
                  "The dates change if a dose is delayed.")

    cal = Calendar()
    cal.add("prodid", PRODID.format(drug=model.meta.drug))
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", vText(L._("Your planned schedule")))
    for v in planned_visits(model, patient.first_dose, model.presentation.schedule_cycles_shown):
        event = Event()
        digest = hashlib.sha256(f"{seed}\x1f{v.cycle}\x1f{v.day}".encode()).hexdigest()[:32]
        event.add("uid", f"{digest}@{UID_DOMAIN}")
        event.add("dtstamp", stamp)
        event.add("sequence", int(stamp.timestamp()) // 60)
        last = stay_near_end(model, v.date) if v.row.stay_near else v.date
        event.add("dtstart", v.date)
        event.add("dtend", last + dt.timedelta(days=1))  # all-day: DTEND is the day after
        summary = f"{model.meta.brand} {L.q(v.row.dose)} · {visit_label(L, v.cycle, v.day)}"
        event.add("summary", summary, parameters={"LANGUAGE": lang})
        lines = [monitoring_text(L, v.row)]
        if v.row.stay_near:
            lines.append(stay_near_until(L, v.date))
        lines.append(caution)
        if phone_line:
            lines.append(phone_line)
        # Spaced as the handout prints them (no space between Han characters in Chinese).
        text = "\n\n".join(locales.sentence_spacing(line, L.spec) for line in lines)
        event.add("description", text, parameters={"LANGUAGE": lang})
        if patient.treatment_center:
            event.add("location", patient.treatment_center)
        cal.add_component(event)
    return cal.to_ical()
