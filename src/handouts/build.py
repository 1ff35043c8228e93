"""content model --> localizer --> document spec --> layout --> engine --> out/"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from . import content, fonts, locales, output, papers, registry
from .documents.common import BuildRequest, print_date
from .errors import HandoutsError, LayoutOverflow
from .patient import Patient


@dataclass(frozen=True)
class Built:
    path: Path
    document: str
    locale: str
    paper: str
    pages: int


def review_warnings(model: content.ContentModel, strict: bool = False) -> list[str]:
    today = print_date()
    lines = [f"source {sid} ({s.publisher}) was due for review on {s.review_due().isoformat()}"
             for sid, s in model.overdue_sources(today)]
    if strict and lines:
        raise HandoutsError("--strict", lines[0] + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""))
    return lines


def resolve_paper(spec: registry.DocumentSpec, locale: str, paper: str | None) -> papers.Paper:
    if paper is None:
        paper = spec.paper_default or locales.get(locale).default_paper
        if paper not in spec.papers:
            paper = spec.papers[0]
    return papers.get(paper, spec.papers)


def output_name(document: str, locale: str, paper: str, patient: Patient | None, suffix: str = "") -> str:
    parts = [document, locale, paper]
    if patient is not None and patient.name:
        parts.append(output.safe_name(patient.name))
    return "-".join(parts) + suffix + ".pdf"


def check_patient(patient: Patient | None, locale: str, model: content.ContentModel,
                  where: str = "patient") -> None:
    if patient is not None:
        approved = model.fact("approval_accelerated").value
        patient.check_first_dose(approved, print_date(), where)
        families = tuple(locales.get(locale).fonts)
        for name in ("name", "oncologist", "phone", "treatment_center"):
            value = getattr(patient, name)
            if value:
                fonts.require(value, families, f"{where}: {name}", locale)


def checked_rows(path: Path, default_locale: str, model: content.ContentModel
                 ) -> list[tuple[int, Patient | HandoutsError]]:
    """Each CSV row (numbered as in a spreadsheet) with its validated patient, or the
    error naming its row and field: locale known, dates plausible, glyphs printable."""
    from .patient import load_csv
    out: list[tuple[int, Patient | HandoutsError]] = []
    for row, item in load_csv(path):
        if isinstance(item, Patient):
            where = f"{path.name} row {row}"
            code = item.locale or default_locale
            try:
                locales.get(code, f"{where}: locale")
                check_patient(item, code, model, where=where)
            except HandoutsError as err:
                item = err
        out.append((row, item))
    return out


def render_document(document: str, locale: str, paper: papers.Paper, patient: Patient | None,
                    model: content.ContentModel, large_print: bool = False, also: str | None = None):
    spec = registry.get(document)
    check_patient(patient, locale, model)
    renderer = importlib.import_module(f".documents.{spec.renderer}", __package__)
    for flag, on, attr in (("--large-print", large_print, "LARGE_PRINT_PAGE_BUDGET"),
                           ("--also", also, "BILINGUAL_BUDGET_FACTOR")):
        if on and not hasattr(renderer, attr):
            raise HandoutsError(flag, f"{document} does not support {flag}; the handout does")
    if also:
        locales.get(also, "--also")
    rendered = renderer.render(BuildRequest(document, locale, paper, patient, model, large_print, also))
    low, high = renderer.LARGE_PRINT_PAGE_BUDGET if large_print else spec.page_budget
    if also and also != locale:
        high *= renderer.BILINGUAL_BUDGET_FACTOR
    if not low <= rendered.pages <= high:
        raise LayoutOverflow(f"{document} {locale} {paper.name}",
                             f"{rendered.pages} pages, outside the budget of {low} to {high}")
    return rendered


def validate(document: str, locale: str, paper: str | None, patient: Patient | None,
             out_dir: Path, model: content.ContentModel) -> papers.Paper:
    """Every check on the user's input, before anything is rendered or written."""
    spec = registry.get(document)
    locales.get(locale)
    paper_obj = resolve_paper(spec, locale, paper)
    check_patient(patient, locale, model)
    output.ensure_writable_dir(out_dir)
    return paper_obj


def build(document: str, locale: str, paper: str | None, patient: Patient | None,
          out_dir: Path, model: content.ContentModel | None = None, large_print: bool = False,
          also: str | None = None) -> Built:
    model = model or content.default()
    paper_obj = validate(document, locale, paper, patient, out_dir, model)
    rendered = render_document(document, locale, paper_obj, patient, model, large_print, also)
    suffix = (f"+{also}" if also and also != locale else "") + ("-large-print" if large_print else "")
    path = output.write_atomic(out_dir / output_name(document, locale, paper_obj.name, patient, suffix),
                               rendered.pdf)
    return Built(path, document, locale, paper_obj.name, rendered.pages)


def warn(lines: list[str]) -> None:
    for line in lines:
        print(f"handouts: warning: {line}", file=sys.stderr)


def render_sheet(document: str, locale: str, sheet: str, patients: list[Patient],
                 model: content.ContentModel):
    """An imposed sheet of cards: one per patient (each in its own locale), or one
    unpersonalized card repeated when `patients` is empty."""
    spec = registry.get(document)
    if sheet not in spec.sheets:
        raise HandoutsError("--sheet", f"unknown sheet {sheet!r} for {document}; choose one of: "
                            f"{', '.join(spec.sheets) or 'none'}")
    for p in patients:
        check_patient(p, p.locale or locale, model)
    renderer = importlib.import_module(f".documents.{spec.renderer}", __package__)
    return renderer.render_sheet(locale, sheet, patients, model)
