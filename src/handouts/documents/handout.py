"""The patient handout (WeasyPrint)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from babel.lists import format_list
from markupsafe import Markup

from .. import locales, paths, qr, registry
from ..clock import print_date
from ..engines import weasy
from ..localizer import Localizer
from ..localizer import get as get_localizer
from ..schedule import planned_visits
from .common import (BuildRequest, capitalized, css_string, footer_line, lab_schedule_text, monitoring_text,
                     provenance, render_template, risks, visit_label, visits_label, when_label)

LAYOUT = "handout"
QR_MODULE_MM = 0.6
STYLESHEETS = ("style.css", "safety.css")
LARGE_PRINT_STYLESHEET = "large-print.css"  # page budgets: the registry's handout spec
_COUNTER = re.compile(r"%\((page|pages)\)s")


def page_counter_css(L: Localizer) -> Markup:
    """The running "Page N of M" as a CSS content value: the catalog's words as quoted
    strings around counter(page) and counter(pages). Only catalog text and the two
    counters can appear, each piece escaped as a CSS string."""
    text = L._("Page %(page)s of %(pages)s")  # no values: the catalog's text as it is
    parts: list[str] = []
    pos = 0
    for m in _COUNTER.finditer(text):
        if m.start() > pos:
            parts.append(f'"{css_string(text[pos:m.start()])}"')
        parts.append(f"counter({m.group(1)})")
        pos = m.end()
    if pos < len(text):
        parts.append(f'"{css_string(text[pos:])}"')
    return Markup(" ".join(parts))


def stay_near_end(model, day: dt.date) -> dt.date:
    """The day the stay-near period ends for an infusion started on `day`: the period
    (content model, in hours) counted from a start in clinic hours. Elapsed hours, never
    "the same clock time": across a daylight-saving change the clock time differs by an
    hour, the day does not (tests/test_schedule.py checks start times 06:00 to 20:00
    across the US changes)."""
    hours = float(model.fact(model.roles.stay_near.total).value)
    return day + dt.timedelta(hours=hours)


def stay_near_until(L: Localizer, day: dt.date) -> str:
    """The stay-near rule for a dose given on `day`: counted in hours from the start of
    the infusion, with the day the period ends."""
    return L._("Then stay within %(distance)s of that place, with a caregiver, until %(total)s after the "
               "infusion started: %(date)s.", distance=L.q(L.model.roles.stay_near.distance),
               total=L.q(L.model.roles.stay_near.total),
               date=L.date(stay_near_end(L.model, day), "full"))


def footer_css(text: str) -> Markup:
    """The running footer as a CSS content value on two lines, broken at its middle
    " · " separator (the catalog's words, each line escaped as a CSS string): a line
    breaks where the text says, never inside a date or a label revision, and never
    leaves a character alone on the last line."""
    parts = [p.strip() for p in text.split("·")]
    half = (len(parts) + 1) // 2
    lines = [" · ".join(parts[:half]), " · ".join(parts[half:])] if len(parts) > 1 else [text]
    return Markup(' "\\A " '.join(f'"{css_string(line)}"' for line in lines if line))


def html(req: BuildRequest) -> str:
    model = req.model
    L = get_localizer(req.locale, model)
    with L.tracking() as printed:
        return _html(req, L, printed)


def _html(req: BuildRequest, L: Localizer, printed: set[str]) -> str:
    model = req.model
    when = print_date()
    rows = L.schedule()
    schedule_rows: list[dict] = []
    for r in rows:  # rows with the same dose and monitoring share one table row
        entry = {"when": [when_label(L, r)], "dose": L.q(r.dose), "monitoring": monitoring_text(L, r)}
        last = schedule_rows[-1] if schedule_rows else None
        if last and (last["dose"], last["monitoring"]) == (entry["dose"], entry["monitoring"]):
            last["when"] += entry["when"]
        else:
            schedule_rows.append(entry)
    # Table 3 (premedication before, fluids after): printed to patients only when its
    # facts are verified; the numbers stay on the staff poster.
    premed = visits_label(L, [r for r in rows if r.premedication])
    premed_facts = model.roles.premedication.ids()
    if premed and all(model.is_printable(f) for f in premed_facts):
        printed.update(premed_facts)
    else:
        premed = ""
    stay_near = visits_label(L, model.stay_near_rows())

    patient = req.patient
    spec = registry.get(req.document)
    first_dose = spec.value("patient.first_dose", patient)
    visits = []
    if first_dose:
        shown = model.presentation.schedule_cycles_shown
        visits = [{"date": L.date(v.date, "long"), "weekday": L.weekday(v.date), "when": visit_label(L, v.cycle, v.day),
                   "dose": L.q(v.row.dose),
                   "monitoring": monitoring_text(L, v.row, stay_near_until(L, v.date) if v.row.stay_near else "")}
                  for v in planned_visits(model, first_dose, shown)]
    contacts = [(L._(spec.variable(name).label), spec.value(name, patient)) for name in registry.CONTACT_VARIABLES]
    phone_label = L._(spec.variable("patient.phone").label)
    title = L._("%(drug)s: a guide for patients and caregivers", drug=L.name("title"))
    provenance_ctx = provenance(L, model, when, printed)
    code = qr.make(model.meta.nci_url)
    nci = model.meta.nci_source

    def sources():
        # Called by the template's footer, after everything above it has been printed.
        cited = model.sources_for(sorted(printed))
        return cited + [model.sources[nci]] if model.sources[nci] not in cited else cited

    return render_template(
        f"{LAYOUT}/template.html", L,
        title=title, paper=req.paper, patient_name=spec.value("patient.name", patient), visits=visits,
        schedule_rows=schedule_rows, stay_near_visits=stay_near,
        premed_visits=premed,
        labs_when=lab_schedule_text(L, printed), risks=risks(L),
        emergency_list=[capitalized(s) for s in provenance_ctx["emergency_signs"]],
        contacts=contacts, phone_label=phone_label, first_day=L.number(1),
        phone=spec.value("patient.phone", patient),
        printable=model.is_printable,
        qr_svg=code.svg(QR_MODULE_MM, L._("QR code: %(url)s", url=model.meta.nci_url)),
        sources=sources,
        # Large print repeats a short running footer (one line at 18 pt, so the warning
        # box's signs, phone and emergency rule fit on one page); the full provenance
        # prints in the footer at the end, as in regular print.
        footer_left=footer_css(L._("Content %(version)s · Printed %(date)s", version=model.meta.content_version,
                                   date=L.date(when, "medium")) if req.large_print else footer_line(L, model, when)),
        page_counter=page_counter_css(L),
        **provenance_ctx,
    )


_BODY = re.compile(r"<body>(.*)</body>", re.S)


def bilingual_html(req: BuildRequest) -> str:
    """The patient's language, then the `also` language after a page break: the same
    handout twice on one set of sheets, each part in an element with its own lang."""
    first = html(req)
    second = html(dataclasses.replace(req, locale=req.also, also=None))
    lang = locales.get(req.also).html_lang
    # Element ids (the QR code's path) must stay unique in one document.
    part = re.sub(r'\bid="([^"]+)"', r'id="also-\1"', _BODY.search(second).group(1))
    part = re.sub(r'(href="|url\()#', r'\1#also-', part)
    own = locales.get(req.locale).html_lang
    body = _BODY.search(first).group(1)
    return _BODY.sub(lambda _: f'<body><div class="part" lang="{own}">{body}</div>'
                               f'<div class="part also" lang="{lang}">{part}</div></body>', first, count=1)


def render(req: BuildRequest) -> weasy.Rendered:
    text = bilingual_html(req) if req.also and req.also != req.locale else html(req)
    L = get_localizer(req.locale, req.model)
    layout = paths.layouts_dir() / LAYOUT
    families = tuple(L.spec.fonts)
    if req.also:
        families = tuple(dict.fromkeys([*families, *locales.get(req.also).fonts]))
    return weasy.render(text, layout, families,
                        [weasy.stylesheet(layout / name) for name in STYLESHEETS
                         + ((LARGE_PRINT_STYLESHEET,) if req.large_print else ())])
