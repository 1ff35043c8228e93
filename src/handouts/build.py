"""content model --> localizer --> document spec --> layout --> engine --> out/"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from collections.abc import Callable, Iterable, Sequence

from . import content, fonts, locales, output, papers, registry, session
from .clock import check_not_before, print_date
from .documents.common import BuildRequest
from .errors import EngineError, HandoutsError, LayoutOverflow
from .patient import Patient

if TYPE_CHECKING:
    from .documents.wallet_card import Card
    from .request import Resolved


@dataclass(frozen=True)
class Built:
    path: Path
    document: str
    locale: str
    paper: str
    pages: int


def review_warnings(model: content.ContentModel, strict: bool = False) -> list[HandoutsError]:
    """Sources past their review date, and a label comparison past due: warnings, or
    with `strict` the first of them as an error (naming how many more)."""
    today = check_not_before(model.meta.label_checked)  # every door asks this first
    found = [HandoutsError("review.source_due", "", {"source": sid, "publisher": s.publisher,
                                                     "date": s.review_due()})
             for sid, s in model.overdue_sources(today)]
    if model.label_check_due() < today:
        found.append(HandoutsError("review.label_check_due", "", {"checked": model.meta.label_checked,
                                                                  "due": model.label_check_due()}))
    if strict and found:
        if len(found) == 1:
            raise HandoutsError(found[0].code, "strict", found[0].params)
        raise HandoutsError("review.more", "strict", {"first": found[0], "more": len(found) - 1})
    return found


def known_locale(code: str, field: str = "locale", where: str = "") -> locales.LocaleSpec:
    """The locale `code`, or the error naming the field (and where its value came from)."""
    try:
        return locales.get(code, field)
    except HandoutsError as err:
        err.where = where
        raise


def resolve_paper(spec: registry.DocumentSpec, locale: str, paper: str | None) -> papers.Paper:
    if paper is None:
        paper = spec.paper_default or locales.get(locale).default_paper
        if paper not in spec.papers:
            paper = spec.papers[0]
    return papers.get(paper, spec.papers)


def check_patient(patient: Patient | None, locale: str, model: content.ContentModel,
                  where: str = "patient") -> None:
    check_patients([(patient, locale, where)], model)


def check_patients(rows: Iterable[tuple[Patient | None, str, str]], model: content.ContentModel) -> None:
    """Each (patient, locale, where): a first dose that is no typo, every text in the
    locale's fonts. A list's rows are checked when read and again, as a safety net, when
    a sheet is rendered: the session remembers who passed (for its own model and print
    date), so that the second time is a look-up."""
    today = print_date()
    passed = session.current().cache("patients.passed")
    for patient, locale, where in rows:
        if patient is None:
            continue
        key = (locale, today, patient)
        if passed.get(key) is model:
            continue
        patient.check_first_dose(_first_approval(model), today, where)
        families = tuple(locales.get(locale).fonts)
        for var in registry.TEXT_VARIABLES:
            value = var.evaluate(patient)
            if value:
                fonts.require(value, families, var.field, locale, where)
        passed[key] = model


def _first_approval(model: content.ContentModel) -> Any:
    """The drug's first approval (a first dose before it is a typo), looked up once per
    session for its model: a list checks it for every row."""
    kept = session.current().cache("patients.approval")
    found = kept.get("first")
    if found is None or found[0] is not model:
        found = kept["first"] = (model, model.fact(model.roles.first_approval).value)
    return found[1]


def precheck(patient: Patient | None, locale: str, model: content.ContentModel, where: str = "patient",
             documents: tuple[str, ...] | None = None, **options: Any) -> None:
    """Each document's own check of the personal fields, before anything is rendered or
    written (the wallet card lays them out: a name that does not fit is that row's
    error, naming the field, not a failed sheet)."""
    for name in documents or tuple(registry.DOCUMENTS):
        spec = registry.get(name)
        if spec.variables and spec.check is not None:
            spec.check(locale, patient, model, where, **options)


def _supported(option: str, document: str, capability: str) -> None:
    """An option only some documents have: refused, naming those that have it."""
    if getattr(registry.get(document), capability) is None:
        have = tuple(s.name for s in registry.DOCUMENTS.values() if getattr(s, capability) is not None)
        raise HandoutsError("document.option_unsupported", option,
                            {"document": document, "option": "--" + option.replace("_", "-"), "documents": have})


class RenderedPDF(Protocol):
    """What either engine's adapter returns (each has its own Rendered class)."""
    @property
    def pdf(self) -> bytes: ...
    @property
    def pages(self) -> int: ...


def render_document(document: str, locale: str, paper: papers.Paper, patient: Patient | None,
                    model: content.ContentModel, large_print: bool = False, also: str | None = None) -> RenderedPDF:
    spec = registry.get(document)
    check_not_before(model.meta.label_checked)
    check_patient(patient, locale, model)
    if large_print:
        _supported("large_print", document, "large_print_budget")
    if also:
        _supported("also", document, "bilingual_factor")
        locales.get(also, "also")
    what = f"{document} {locale} {paper.name}"
    req = BuildRequest(document, locale, paper, patient, model, large_print, also)
    rendered: RenderedPDF
    with session.use() as s:
        if spec.engine == "reportlab":  # many small cyclic objects: no collection until done
            with s.paused_gc():
                rendered = _engine(spec, what, spec.render, req)
        else:
            rendered = _engine(spec, what, spec.render, req)
    low, high = spec.page_budget
    if large_print:
        assert spec.large_print_budget is not None  # _supported refused the document otherwise
        low, high = spec.large_print_budget
    if also and also != locale:
        assert spec.bilingual_factor is not None  # likewise
        high *= spec.bilingual_factor
    if not low <= rendered.pages <= high:
        field = _overflowing_field(spec, req, (low, high))
        budget = {"pages": rendered.pages, "what": what, "low": low, "high": high}
        if field is None:
            raise LayoutOverflow("layout.page_budget", "", budget, label=what)
        raise LayoutOverflow("layout.value_too_long", field, budget, where="patient")
    return rendered


def _engine(spec: registry.DocumentSpec, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run an engine: its failures become one line naming the document, never a traceback."""
    try:
        return fn(*args)
    except HandoutsError as err:
        if err.field == spec.engine_label:
            raise EngineError(err.code, err.field, err.params, where=what) from None
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - any engine failure is reported, not dumped
        raise EngineError("engine.failed", "", {"kind": type(exc).__name__,
                                                "detail": " ".join(str(exc).split())[:200]}, where=what) from None


def _overflowing_field(spec: registry.DocumentSpec, req: BuildRequest, budget: tuple[int, int]) -> str | None:
    """Which personal value pushes a document past its page budget: the first field
    whose removal brings it back (only run when the budget is already exceeded)."""
    if req.patient is None:
        return None
    low, high = budget
    for var in registry.TEXT_VARIABLES:
        if var.evaluate(req.patient):
            trial = dataclasses.replace(req, patient=req.patient.model_copy(update={var.field: None}))
            if low <= spec.render(trial).pages <= high:
                return var.field
    return None


def build(document: str, locale: str | None, paper: str | None, patient: Patient | None,
          out_dir: Path, model: content.ContentModel | None = None, large_print: bool = False,
          also: str | None = None) -> Built:
    """Resolve, render and write one document (the command line's `build`, as a call)."""
    from .request import Request, resolve
    model = model or content.default()
    with session.use():
        res = resolve(Request(document, locale, paper, also=also, large_print=large_print, patient=patient), model)
        output.ensure_writable_dir(out_dir)
        return write(res, model, out_dir)


def write(res: Resolved, model: content.ContentModel, out_dir: Path, name: str | None = None) -> Built:
    """Render a resolved request and write it atomically as out_dir/its file name."""
    from .request import render
    rendered = render(res, model)
    path = output.write_atomic(out_dir / (name or res.file_name), rendered.pdf)
    return Built(path, res.document, res.locale, res.sheet or res.paper.name, rendered.pages)


def warn(warnings: Sequence[HandoutsError | str], lang: str | None = None) -> None:
    for w in warnings:
        line = w.one_line(lang) if isinstance(w, HandoutsError) else w
        print(f"handouts: warning: {line}", file=sys.stderr)


def render_sheet(document: str, locale: str, sheet: str, patients: Sequence[Patient | Card],
                 model: content.ContentModel, bleed: float = 0.0,
                 offset: tuple[float, float] = (0.0, 0.0), also: str | None = None) -> RenderedPDF:
    """Cards imposed on a sheet preset, the one way every command prints sheets: each
    patient's card in the patient's own locale (else `locale`), or Cards as given
    (locale, patient, where); none: one sheet of unpersonalized cards in `locale`.
    `also`: every card's back in that language (--also)."""
    from .cardlayout import imposition
    from .documents.wallet_card import Card
    spec = registry.get(document)
    check_not_before(model.meta.label_checked)
    if sheet not in spec.sheets:
        raise HandoutsError("sheet.unknown", "sheet", {"value": sheet, "choices": spec.sheets})
    if also:
        _supported("also", document, "bilingual_factor")
        locales.get(also, "also")
    imp = imposition(sheet, bleed, offset, layout=spec.layout)
    assert spec.render_sheet is not None  # a document with sheets imposes them
    cards = [p if isinstance(p, Card) else Card(p.locale or locale, p) for p in patients] \
        or [Card(locale)] * imp.per_sheet
    if also:
        cards = [dataclasses.replace(c, also=also) for c in cards]
    with session.use() as s, s.paused_gc():  # many cards: no collection until the sheets are drawn
        check_patients(dict.fromkeys((c.patient, c.locale, c.where or "patient") for c in cards), model)
        sheets: RenderedPDF = _engine(spec, f"{document} {locale} {sheet}", spec.render_sheet, cards, imp, model)
        return sheets
