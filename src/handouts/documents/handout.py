"""The patient handout (WeasyPrint)."""

from __future__ import annotations

from .. import paths, qr, registry
from ..engines import weasy
from ..localizer import get as get_localizer
from ..schedule import planned_visits
from .common import (BuildRequest, footer_line, monitoring_text, print_date, provenance,
                     render_template, visit_label, when_label)

LAYOUT = "handout"
QR_MODULE_MM = 0.6
RECORDS = ["schedule", "crs_signs", "crs_onset_median", "approval_full",
           "breastfeeding_after", "common_side_effects", "labs_before_each_dose"]


def html(req: BuildRequest) -> str:
    model = req.model
    L = get_localizer(req.locale, model)
    when = print_date()
    rows = model.printable_schedule()
    schedule_rows = [{"when": when_label(L, r), "dose": L.q(r.dose),
                      "monitoring": monitoring_text(L, r)} for r in rows]
    premed_days = [L.number(d) for r in rows if r.premedication for d in r.days]

    patient = req.patient
    visits = []
    if patient and patient.first_dose:
        visits = [{"date": L.date(v.date, "long"), "weekday": L.weekday(v.date), "when": visit_label(L, v.cycle, v.day),
                   "dose": L.q(v.row.dose), "monitoring": monitoring_text(L, v.row)}
                  for v in planned_visits(model, patient.first_dose)]
    spec = registry.get(req.document)
    contacts = [(L._(var.label), var.evaluate(patient))
                for var in map(spec.variable, registry.CONTACT_VARIABLES)]
    title = L._("Tarlatamab-dlle (IMDELLTRA): a guide for patients and caregivers")
    code = qr.make(model.meta.nci_url)
    return render_template(
        f"{LAYOUT}/template.html", L,
        title=title, paper=req.paper, patient=patient, visits=visits,
        schedule_rows=schedule_rows, premed_days=premed_days, contacts=contacts,
        printable=model.is_printable,
        qr_svg=code.svg(QR_MODULE_MM, L._("QR code: %(url)s", url=model.meta.nci_url)),
        sources=model.sources_for(RECORDS + ["approval_accelerated"]) + [model.sources["S16"]],
        footer_left=footer_line(L, model, when),
        page_of=L._("Page %(page)s of %(pages)s", page="\x00P", pages="\x00N"),
        **provenance(L, model, when),
    )


def render(req: BuildRequest) -> weasy.Rendered:
    text = html(req)
    # Page counters cannot be gettext placeholders; splice them into the CSS string.
    text = text.replace("\x00P", '" counter(page) "').replace("\x00N", '" counter(pages) "')
    L = get_localizer(req.locale, req.model)
    return weasy.render(text, paths.layouts_dir() / LAYOUT, tuple(L.spec.fonts),
                        [weasy.stylesheet(paths.layouts_dir() / LAYOUT / "style.css")])
