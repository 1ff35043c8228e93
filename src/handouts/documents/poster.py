"""The clinic dosing poster (WeasyPrint): one page for infusion staff, on the wall.

One template and one stylesheet for every paper: layouts/poster/papers.toml gives each
paper a scale for the root font size (every length in style.css is in rem), a margin and
a QR module size. Every figure comes from the content model; whatever the model does not
mark printable is shown as a pointer to the current prescribing information.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from babel.lists import format_list
from markupsafe import Markup
from pydantic import Field, model_validator

from .. import paths, qr
from ..clock import print_date
from ..content import ContentModel, Cycles, ScheduleRow
from ..engines import weasy
from ..errors import HandoutsError
from ..localizer import Localizer
from ..localizer import get as get_localizer
from ..models import Strict, load_toml
from ..papers import Paper
from ..qr import MIN_MODULE_MM
from .common import (BuildRequest, danger_emergency_inline, printed_id, provenance, render_template, revision_label,
                     staff_footer_line, visit_label, visits_label, when_label)

LAYOUT = "poster"

class PosterPaper(Strict):
    scale: float = Field(gt=0, le=1)  # never more room than on tabloid, the design size
    margin_mm: float = Field(ge=0)
    qr_module_mm: float = Field(ge=MIN_MODULE_MM)


class PosterPapers(Strict):
    """layouts/poster/papers.toml, validated on load (an error names the key)."""
    base_pt: float = Field(gt=0)
    min_pt: float = Field(gt=0)
    paper: dict[str, PosterPaper]

    @model_validator(mode="after")
    def _smallest_text_readable(self):
        for name, p in self.paper.items():
            if self.base_pt * p.scale < self.min_pt:
                raise ValueError(f"paper.{name}: base_pt x scale is below min_pt ({self.min_pt} pt)")
        return self


@dataclass(frozen=True)
class PaperStyle:
    root_pt: float
    margin_mm: float
    qr_module_mm: float


@cache
def _paper_data() -> PosterPapers:
    return load_toml(paths.layouts_dir() / LAYOUT / "papers.toml", PosterPapers)


def paper_style(paper: Paper) -> PaperStyle:
    data = _paper_data()
    p = data.paper.get(paper.name)
    if p is None:
        raise HandoutsError(f"papers.toml: paper.{paper.name}", "no entry for this paper")
    return PaperStyle(root_pt=round(data.base_pt * p.scale, 3), margin_mm=p.margin_mm,
                      qr_module_mm=p.qr_module_mm)


def headings(L: Localizer) -> dict[str, str]:
    """Every heading, in order; the tests check that each one is on the page."""
    return {**section_headings(L), "start": L._("Before the first dose"), "storage": L._("Storage and handling")}


def section_headings(L: Localizer) -> dict[str, str]:
    """The headings of the poster's sections (h2), set at 28 pt (scaled) or more."""
    return {
        "schedule": L._("Step-up dosing schedule"),
        "monitoring": L._("Monitoring after each dose"),
        "crs": L._("CRS red flags"),
        "neuro": L._("Neurotoxicity, ICANS"),
        "tell": L._("Tell patients and caregivers"),
        "before": L._("Labs and premedication"),
        "restart": L._("After a dose delay"),
    }


def staff_monitoring_text(L: Localizer, row: ScheduleRow) -> str:
    """Monitoring after a dose, in clinical words (the handout's monitoring_text speaks to
    the patient)."""
    hours = L.q(row.monitoring)
    if row.stay_near:
        return L._("%(hours)s from the start of the infusion in a healthcare setting; then "
                   "within %(distance)s of that setting, with a caregiver, until %(total)s after "
                   "the start.",
                   hours=hours, total=L.q(L.model.roles.stay_near.total),
                   distance=L.q(L.model.roles.stay_near.distance))
    return L._("Observe for %(hours)s after the infusion.", hours=hours)


def monitoring_groups(L: Localizer, rows: list[ScheduleRow]) -> list[dict]:
    """Table 1 rows that share their monitoring, merged: one table row per observation time.
    Single days of the same cycle merge into one label (Cycle 1, Days 1 and 8)."""
    groups: list[dict] = []
    for row in rows:
        key = (row.monitoring, row.stay_near)
        if groups and groups[-1]["key"] == key:
            groups[-1]["rows"].append(row)
        else:
            groups.append({"key": key, "rows": [row], "stay_near": row.stay_near,
                           "text": staff_monitoring_text(L, row)})
    for g in groups:
        first, *more = g.pop("rows")
        if len(more) == 1 and more[0].cycles == first.cycles and len(first.days) == len(more[0].days) == 1:
            g["when"] = [when_label(L, first.model_copy(update={"days": first.days + more[0].days}))]
        else:
            g["when"] = [when_label(L, r) for r in (first, *more)]
    return groups


def timeline(L: Localizer, rows: list[ScheduleRow]) -> list[dict]:
    """The doses of the first cycles one by one (how many: the content model's
    presentation.timeline_single_cycles), then the later cycles as one repeating step
    when they share a dose and days (they do in Table 1)."""
    def node(row: ScheduleRow, repeat: bool = False) -> dict:
        return {"when": when_label(L, row), "dose": L.q(row.dose), "step_up": row.step_up, "repeat": repeat}

    single = L.model.presentation.timeline_single_cycles
    first = [r for r in rows if r.cycles.last is not None and r.cycles.last <= single]  # not open-ended
    later = [r for r in rows if r not in first]
    nodes = [node(r) for r in first]
    if later and later[-1].open_ended and len({r.dose for r in later}) == 1 \
            and len({tuple(r.days) for r in later}) == 1:
        nodes.append(node(later[0].model_copy(update={"cycles": Cycles(later[0].cycles.first, None)}), True))
    else:
        nodes += [node(r, r.open_ended) for r in later]
    return nodes


def restart_rows(L: Localizer, model: ContentModel) -> list[dict]:
    out = []
    for rr in model.restart:
        cycle, day, or_later, threshold, rule = rr.cycle, rr.day, rr.or_later, rr.threshold, rr.rule
        dose = L.q(model.schedule_row_for(cycle, day).dose)
        visit = visit_label(L, cycle, day)
        last = (L._("Last dose: %(dose)s on %(visit)s or later", dose=dose, visit=visit) if or_later
                else L._("Last dose: %(dose)s on %(visit)s", dose=dose, visit=visit))
        if rule and model.is_printable(threshold) and model.is_printable(rule):
            within, beyond = L.items(rule)
            limit = L.q(threshold)
            out.append({"last": last, "cases": [
                (L._("%(time)s or less:", time=limit), within),
                (L._("More than %(time)s:", time=limit), beyond)]})
        else:
            out.append({"last": last, "cases": []})
    return out


def keep_together(text: str) -> Markup:
    """A token that must not break across lines (a phone number), as escaped markup."""
    return Markup('<span class="keep">%s</span>') % text


def lab_schedule_staff(L: Localizer, printed: set[str]) -> str:
    """PI 2.1 (content model: lab_schedule), in clinical words."""
    lab = L.model.printable_lab_schedule()
    printed.add("lab_schedule")
    cycle, day = lab.every_dose_through
    return L._("Before every dose through %(visit)s, then before Day %(day)s of each cycle from Cycle %(cycle)s:",
               visit=visit_label(L, cycle, day), day=L.number(lab.then_day), cycle=L.number(lab.from_cycle))


def premedication(L: Localizer, model: ContentModel, visits: str) -> list[str]:
    """Table 3 for the doses of `visits` (the content model's premedication role): each
    line prints only when its facts are verified, else the poster points to the
    prescribing information."""
    role = model.roles.premedication
    out = []
    if model.is_printable(role.steroid_dose) and model.is_printable(role.steroid_within):
        out.append(L._("%(visits)s: dexamethasone %(dose)s IV (or equivalent) within %(within)s before the infusion.",
                       visits=visits, dose=L.q(role.steroid_dose), within=L.q(role.steroid_within)))
    else:
        out.append("")
    if model.is_printable(role.fluids_volume) and model.is_printable(role.fluids_duration):
        out.append(L._("Right after these infusions: normal saline %(volume)s IV over %(duration)s.",
                       volume=L.q(role.fluids_volume), duration=L.q(role.fluids_duration)))
    else:
        out.append("")
    return out


def html(req: BuildRequest) -> str:
    L = get_localizer(req.locale, req.model)
    with L.tracking() as printed:
        return _html(req, L, printed)


def _html(req: BuildRequest, L: Localizer, printed: set[str]) -> str:
    model = req.model
    when = print_date()
    style = paper_style(req.paper)
    rows = L.schedule()
    current = model.schedule_provenance.label_revision
    rules = [r.rule for r in model.restart if r.rule and model.is_printable(r.rule)]
    # Rows that come from an older label revision say so (none do with the 11/2025 table).
    restart_revisions = sorted({model.provenance(r).label_revision for r in rules} - {current})
    premed_visits = visits_label(L, [r for r in rows if r.premedication])
    title = L._("%(drug)s: dosing and monitoring", drug=L.name("title"))
    nci, dailymed = qr.make(model.meta.nci_url), qr.make(model.meta.dailymed_url)
    printed.add("schedule")
    document_id = printed_id(req)
    return render_template(
        f"{LAYOUT}/template.html", L,
        title=title, paper=req.paper, style=style, h=headings(L),
        nodes=timeline(L, rows),
        monitoring_rows=monitoring_groups(L, rows),
        restart=restart_rows(L, model),
        restart_revised=format_list([revision_label(L, r) for r in restart_revisions],
                                    locale=L.babel) if restart_revisions else "",
        premed=premedication(L, model, premed_visits) if premed_visits else [],
        stay_near_visits=visits_label(L, model.stay_near_rows()),
        labs_when=lab_schedule_staff(L, printed),
        emergency_rule=danger_emergency_inline(L),
        printable=model.is_printable, keep=keep_together,
        qr_nci=nci.svg(style.qr_module_mm, L._("QR code: %(url)s", url=model.meta.nci_url)),
        qr_dailymed=dailymed.svg(style.qr_module_mm, L._("QR code: %(url)s", url=model.meta.dailymed_url)),
        sources=lambda: cited_sources(model, printed),
        footer_line=staff_footer_line(L, model, when),
        document_id=document_id,
        **provenance(L, model, when, printed),
    )


def cited_sources(model: ContentModel, printed: set[str]) -> list:
    """The sources of what this render printed, and the NCI page its QR code opens."""
    cited = model.sources_for(sorted(printed))
    nci = model.sources[model.meta.nci_source]
    return cited if nci in cited else cited + [nci]


def render(req: BuildRequest) -> weasy.Rendered:
    # The poster has no personal fields: a patient given to it is not printed.
    L = get_localizer(req.locale, req.model)
    return weasy.render(html(req), paths.layouts_dir() / LAYOUT, tuple(L.spec.fonts),
                        [weasy.stylesheet(paths.layouts_dir() / LAYOUT / "style.css")])
