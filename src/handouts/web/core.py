"""The ONE place where the web page calls into the handouts core.

Everything the page needs from the CLI's code (patient validation, the wallet card's
layout check, rendering in memory, file names, CSV rows) goes through the functions
below, so that when those core functions move only this module changes. The web page
never re-implements a rule: a form is validated by the same code as `handouts build`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from functools import cache

import os
import re
from collections.abc import Mapping
from typing import Any

from handouts import build, content, locales, papers, registry, request, session
from handouts.errors import HandoutsError
from handouts.patient import DATE_ORDERS, FIELDS, CsvRows, Patient, date_order_of, from_mapping, list_source
from handouts.patient import decode as patient_decode

PERSONAL_FIELDS = tuple(v.field for v in registry.PATIENT_VARIABLES)
CARD_SINGLE = "card"
BOTH = "both"
WHERE = "form"


def counter_documents() -> tuple[str, ...]:
    """The documents the page offers, in the page's order (the registry's `counter`)."""
    return tuple(s.name for s in sorted((s for s in registry.DOCUMENTS.values() if s.counter is not None),
                                        key=lambda s: s.counter or 0))


def document_choices() -> tuple[str, ...]:
    """What the form's Documents field may be: each document, or all of them."""
    return (*counter_documents(), BOTH)


def _card() -> registry.DocumentSpec:
    """The page's document printed as one card or on sheets."""
    return next(registry.get(d) for d in counter_documents() if registry.get(d).sheets)


def _paper_document() -> registry.DocumentSpec:
    """The page's document whose paper the form chooses."""
    return next(registry.get(d) for d in counter_documents() if len(registry.get(d).papers) > 1)


def locale_codes() -> list[str]:
    return list(locales.available())


def locale_name(code: str) -> str:
    return locales.get(code).name


def babel_locale(code: str) -> str:
    return locales.get(code).babel


def html_lang(code: str) -> str:
    return locales.get(code).html_lang


def handout_papers() -> tuple[str, ...]:
    return _paper_document().papers


def card_formats() -> tuple[str, ...]:
    """A single card (front page, back page) or one of the imposed sheet presets."""
    return (CARD_SINGLE,) + _card().sheets


def supports_also(document: str) -> bool:
    """Whether the core prints `document` in two languages (`--also`): the registry says."""
    return registry.get(document).bilingual_factor is not None


def bilingual_documents() -> tuple[str, ...]:
    """The documents of the form that can carry a second language."""
    return tuple(d for d in sorted(counter_documents(), key=lambda d: -(registry.get(d).counter or 0))
                 if supports_also(d))


def _ordered(order: Order) -> tuple[str, ...]:
    return counter_documents() if order.documents == BOTH else (order.documents,)


def _also_for(order: Order, document: str) -> str | None:
    """The second language for one document of the order (None: that document has none)."""
    if not order.also or not supports_also(document):
        return None
    return order.also


def default_paper(locale: str) -> str:
    return build.resolve_paper(_paper_document(), locale, None).name


def paper_for(chosen: str | None, settings: Settings) -> str:
    """The handout paper the form asked for, else the pharmacy's (never the language's)."""
    return chosen if chosen in handout_papers() else settings.paper


def sheet_for(paper: str) -> str:
    """The card sheet preset printed on `paper` (letter: letter-8up; a4: a4-10up)."""
    from handouts.cardlayout import sheets
    card = _card()
    presets = sheets(card.layout)
    return next((s for s in card.sheets if presets[s].paper == paper), card.sheets[0])


@dataclass(frozen=True)
class Settings:
    """What the pharmacy sets when it starts the page (`handouts serve`): where it is,
    never what language a browser speaks. A US pharmacy with a Chinese browser prints on
    Letter; its lists write dates month/day/year."""
    paper: str = "letter"              # the handout's paper, and the card sheet on that paper
    date_order: str | None = None      # how uploaded lists write dates (None: the list's language's)
    file_names: str = "initials"       # request.FILE_NAMES: the page's files name patients by initials
    region: str | None = None          # the pharmacy's region (ISO 3166), where the defaults came from

    @property
    def sheet(self) -> str:
        return sheet_for(self.paper)


def region_of(environ: Mapping[str, str]) -> str | None:
    """The region of this computer's locale settings (LC_ALL, LC_PAPER, LANG:
    en_US.UTF-8 -> US), or None (C, POSIX, unset)."""
    for var in ("LC_ALL", "LC_PAPER", "LANG"):
        m = re.match(r"[A-Za-z]{2,3}_([A-Za-z]{2})\b", environ.get(var, ""))
        if m:
            return m.group(1).upper()
    return None


def settings_for(paper: str | None = None, region: str | None = None, date_order: str | None = None,
                 file_names: str = "initials", environ: Mapping[str, str] | None = None) -> Settings:
    """The page's settings: each given one as given; the paper and date order otherwise
    from the region (--region, else this computer's locale settings); the paper with no
    region at all from the US label the documents follow (Letter)."""
    region = (region or region_of(os.environ if environ is None else environ) or "").upper() or None
    if paper is None:
        paper = papers.paper_for_region(region) if region else "letter"
    if date_order is None and region:
        try:
            date_order = date_order_of(f"und_{region}")
        except (ValueError, LookupError):
            date_order = None
    return Settings(paper, date_order, file_names, region)


def today() -> dt.date:
    from handouts.clock import print_date
    return print_date()


@cache
def model() -> content.ContentModel:
    return content.default()


def drug_names(code: str) -> dict[str, str]:
    """The drug's names as the page prints them in `code` (the content model's, through
    the documents' catalogs)."""
    from handouts import localizer
    L = localizer.get(code, model())
    return {"title": L.name("title"), "in_sentence": L.name("in_sentence")}


def approval_date() -> dt.date:
    m = model()
    return m.fact(m.roles.first_approval).value


@dataclass(frozen=True)
class Order:
    """One form submission: what to make, for whom. Picklable (sent to a worker)."""
    locale: str
    documents: str                    # wallet-card | handout | both
    paper: str                        # handout paper
    card: str                         # "card" or a sheet preset
    patient: dict = field(default_factory=dict)  # personal fields as typed (non-empty only)
    also: str = ""                    # a second language on the same sheets ("" = none)
    copies: int | None = None         # on a sheet: 1 = one card, top-left slot; None = a full sheet
    file_names: str = "initials"      # request.FILE_NAMES
    # A patient from an EHR bundle: the medical record number keys the print record; the
    # first dose's source is shown, and the date confirmed, before anything is printed.
    mrn: str = ""
    mrn_system: str = ""
    first_dose_from: str = ""
    first_dose_confirmed: bool = False


@dataclass(frozen=True)
class Problem:
    """A validation error for the page: which form field, what went wrong (the core's
    error code, or the page's own reason) and the values the words name. Picklable: it
    comes back from a worker process."""
    field: str        # a form field name, or "" for the form as a whole
    code: str         # errors.MESSAGES key, or a reason of the page's own (web.i18n.PROBLEM_TEXT)
    # dataclasses.field: the class's own `field` (a str) hides the name here for mypy.
    params: dict = dataclasses.field(default_factory=dict)
    error: HandoutsError | None = None  # the core's error: its words in the page's language
    column: str = ""  # a list row's problem: the spreadsheet column (A, B ...) of its field


def make_patient(data: dict, where: str = WHERE) -> Patient | None:
    values = {k: v for k, v in data.items() if v not in (None, "")}
    if not values:
        return None
    return from_mapping(values, where)


class Problems(HandoutsError):
    """Several fields are wrong at once: the page shows each beside its field."""

    def __init__(self, errors: list[HandoutsError]):
        first = errors[0]
        super().__init__(first.code, first.field, first.params, where=first.where, label=first.label)
        self.errors = errors


def check_order(order: Order, patient: Patient | None = None, where: str = WHERE) -> Patient | None:
    """Every check the CLI makes, raising the core's HandoutsError (or Problems, one per
    wrong field). The patient comes from the order's fields, or is given (a CSV row that
    the core already validated). What the checks remember ends with the call."""
    with session.use():
        return _check_order(order, patient, where)


def _requests(order: Order, patient: Patient | None, where: str = WHERE) -> list[request.Request]:
    """The order as the core's requests, one per document: the same requests the command
    line makes (`build handout --paper`, `build wallet-card [--sheet]`)."""
    out = []
    for document in _ordered(order):
        spec = registry.get(document)
        sheet = order.card if spec.sheets and order.card != CARD_SINGLE else None
        paper = order.paper if len(spec.papers) > 1 else None
        out.append(request.Request(document, order.locale, paper, sheet=sheet, also=_also_for(order, document),
                                   patient=patient, copies=order.copies if sheet else None,
                                   file_names=order.file_names, where=WHERE, patient_where=where))
    return out


def _check_order(order: Order, patient: Patient | None, where: str) -> Patient | None:
    build.known_locale(order.locale, "locale", WHERE)
    if order.documents not in document_choices():
        raise HandoutsError("choice.unknown", "documents", {"value": order.documents, "choices": document_choices()},
                            where=WHERE)
    documents = _ordered(order)
    if any(len(registry.get(d).papers) > 1 for d in documents) and order.paper not in handout_papers():
        raise HandoutsError("choice.unknown", "paper", {"value": order.paper, "choices": handout_papers()},
                            where=WHERE)
    if any(registry.get(d).sheets for d in documents) and order.card not in card_formats():
        raise HandoutsError("choice.unknown", "card", {"value": order.card, "choices": card_formats()}, where=WHERE)
    if order.also:
        build.known_locale(order.also, "also", WHERE)
        if not any(_also_for(order, d) for d in documents):
            raise HandoutsError("document.option_unsupported", "also",
                                {"document": order.documents, "option": "--also", "documents": bilingual_documents()},
                                where=WHERE)
    m = model()

    def check(p: Patient | None) -> None:
        for req in _requests(order, p, where):
            request.resolve(req, m)

    if patient is None:
        # The core stops at the first wrong field; the page runs the same checks one
        # field at a time so that every wrong field is shown at once.
        errors = []
        for name, value in order.patient.items():
            if value in (None, ""):
                continue
            try:
                check(make_patient({name: value}))
            except HandoutsError as err:
                errors.append(err)
        if errors:
            raise Problems(errors)
        patient = make_patient(order.patient)
    check(patient)
    return patient


def render_order(order: Order, patient: Patient | None, record: str | None = None) -> list[tuple[str, bytes]]:
    """(file name, PDF bytes) for each document of the order, rendered in memory, in a
    render session of its own: nothing about the patient outlives the request. `record`:
    the print record the counter keeps (`handouts serve --record`), or None."""
    with session.use():
        m = model()
        files, made = [], []
        for req in _requests(order, patient):
            res = request.resolve(req, m)
            pdf = request.render(res, m).pdf
            files.append((res.file_name, pdf))
            made.append((res, pdf))
        if record is not None:
            from handouts.records.recorder import add_resolved
            with counter_recorder(record) as rec:
                for res, pdf in made:
                    add_resolved(rec, res, pdf, who=_who(order, patient))
        return files


# ------------------------------------------------------------------ the print record

def _who(order: Order, patient: Patient | None):
    from handouts.records.recorder import Who
    return Who(patient, order.mrn or None, order.mrn_system or None)


def counter_recorder(target: str):
    """A recorder for the counter (channel "counter"), on a record this worker keeps
    open between requests (it holds content, never a patient)."""
    from handouts.records.recorder import Recorder
    return Recorder.shared(target, "counter", model())


@dataclass(frozen=True)
class Outdated:
    """A document the record says this patient holds, whose printed facts have changed."""
    document: str
    document_id: str
    printed: dt.date
    facts: tuple[str, ...]   # what changed, as the content model names it


def outdated_documents(order: Order, patient: Patient | None, record: str) -> tuple[Outdated, ...]:
    """The documents this patient holds (by the print record) that a content change has
    made wrong: the page says so and offers to print them again."""
    if patient is None:
        return ()
    from handouts.records.recalls import recall
    with counter_recorder(record) as rec:
        key = rec.key(_who(order, patient))
        assert rec.record is not None and key is not None
        found = recall(rec.record, model(), key.value)
    return tuple(Outdated(r.document, o.print.document_id, o.print.printed_at.date(), tuple(r.entries))
                 for r in found for o in r.outdated)


def calendar(order: Order, patient: Patient | None) -> tuple[str, bytes]:
    """The patient's dated schedule as an .ics file (the order checked as for a PDF)."""
    from handouts import ics
    res = request.resolve(dataclasses.replace(_requests(order, patient)[0], ics=True), model())
    assert res.patient is not None
    key = f"mrn:{order.mrn_system}|{order.mrn}" if order.mrn else None
    return ics.file_name(res.locale, request.patient_tag(res.patient, order.file_names)), \
        ics.schedule_calendar(res.patient, model(), res.locale, key=key)


def bundle_patients(data: bytes, name: str) -> list[dict]:
    """The Patients of an uploaded FHIR bundle, each as the page shows it: the form's
    fields, where the first dose came from, the MRN, or the error naming resource and field."""
    import json

    from handouts.fhir import parse_bundle
    from handouts.records import config
    try:
        text = data.decode("utf-8-sig")
        bundle = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HandoutsError("fhir.not_json", "patients", {"line": getattr(exc, "lineno", 1), "detail": str(exc)[:80]},
                            where=name) from None
    out: list[dict[str, Any]] = []
    for item in parse_bundle(bundle, config.load().fhir, model(), source=name):
        if item.patient is None:
            out.append({"where": item.where, "error": item.error})
            continue
        fields = {f: ("" if v is None else v.isoformat() if isinstance(v, dt.date) else str(v))
                  for f, v in item.patient.model_dump().items()}
        out.append({"where": item.where, "fields": fields, "first_dose_from": item.sources.get("first_dose", ""),
                    "first_dose_status": item.first_dose_status or "", "mrn": item.mrn or "",
                    "mrn_system": item.mrn_system or ""})
    return out


def bundle_name(order: Order) -> str:
    """The ZIP of an order's files (an order the core has accepted)."""
    return request.bundle_name(model().meta.file_stem, order.locale, make_patient(order.patient), order.file_names)


def list_bundle_name() -> str:
    """The ZIP of an uploaded list's files."""
    return request.list_bundle_name(model().meta.file_stem)


def render_sheet_of(locale: str, sheet: str, patients: list[Patient], source: str = "patients.csv"
                    ) -> tuple[str, bytes]:
    """The imposed sheets of a patient list: every patient's card in list order, each in
    the patient's language (else `locale`), as `handouts batch --patients` prints them."""
    with session.use():
        res = request.resolve(request.Request(_card().name, locale, sheet=sheet, patients=tuple(patients),
                                              list_name=source, copies=1), model())
        return res.file_name, request.render(res, model()).pdf


def per_sheet(sheet: str) -> int:
    """Cards on one sheet of a preset (slots on its fronts page)."""
    from handouts.cardlayout import imposition
    return imposition(sheet, layout=_card().layout).per_sheet


def patient_folders(rows: list[tuple[int, Patient]], file_names: str) -> dict[int, str]:
    """A list's folder names, as `handouts batch --patients` names them."""
    from handouts.batch import patient_folders as folders
    return folders(rows, file_names)


def list_rows(name: str, data: bytes, default_locale: str, sheet: str, date_order: str | None = None,
              max_rows: int | None = None) -> list[tuple[int, Patient | HandoutsError]]:
    """Each row of an uploaded list, CSV or .xlsx (numbered as in a spreadsheet), with
    its patient, validated as `handouts build wallet-card --sheet SHEET --patients` does
    (its card laid out in the sheet's card size), or the error for that row. The upload
    stays in memory: it is read as rows, never as a file."""
    from handouts.cardlayout import imposition
    from handouts.patient import MAX_CSV_ROWS
    card = _card()
    fmt = imposition(sheet, layout=card.layout).preset.card_format
    source = list_source(name, data)
    with session.use():
        return request.checked_rows(source, default_locale, model(), (card.name,), date_order,
                                    max_rows=max_rows or MAX_CSV_ROWS, fmt=fmt, also=None)


def csv_rows(text: str, default_locale: str, sheet: str, name: str = "upload.csv"
             ) -> list[tuple[int, Patient | HandoutsError]]:
    """The rows of CSV text (see list_rows)."""
    from handouts.cardlayout import imposition
    card = _card()
    fmt = imposition(sheet, layout=card.layout).preset.card_format
    with session.use():
        return request.checked_rows(CsvRows(name, text), default_locale, model(), (card.name,), fmt=fmt, also=None)


def date_orders() -> tuple[str, ...]:
    return DATE_ORDERS


def sample_date(order: str) -> str:
    from handouts.patient import sample_date as written
    return written(order)


def column_names() -> list[tuple[str, tuple[str, ...]]]:
    """Each list column (a patient field) and the other names it may have."""
    from handouts.patient import ALIASES
    return [(f, ALIASES.get(f, ())) for f in FIELDS]


def card_size() -> str:
    """The single card's size as the print hint gives it (the card's paper, in mm)."""
    fmt = papers.PAPERS[_card().papers[0]]
    return f"ID-1 ({fmt.width_mm:.2f} × {fmt.height_mm:.2f} mm)"


def default_date_order(settings: Settings, locale: str) -> str:
    """How an uploaded list writes dates unless the form says: the pharmacy's region's
    order, else the order of the list's default language."""
    return settings.date_order or date_order_of(babel_locale(locale))


def decode(raw: bytes, name: str) -> str:
    """An uploaded list's text, decoded as the command line decodes a file (UTF-8, byte
    order marks dropped; UTF-16 and NUL bytes refused)."""
    return patient_decode(raw, name, "patients")


def csv_fields() -> tuple[str, ...]:
    return FIELDS


# ------------------------------------------------------------------ errors for the page

FORM_FIELDS = frozenset((*PERSONAL_FIELDS, "locale", "documents", "paper", "card", "also"))


def problem(err: HandoutsError) -> Problem:
    """A core error for the page: the form field it names (by the error's field, never by
    its words) and its code; the page words it in its own language (web.i18n)."""
    return Problem(err.field if err.field in FORM_FIELDS else "", err.code, dict(err.params), err,
                   getattr(err, "column", ""))
