"""The document registry: what each document is, how it is rendered, on which papers,
within which page budget, and which variables it reads (label, sample, evaluator).
The same registry drives the CLI, previews (`--sample`) and the tests."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from collections.abc import Callable

from .errors import HandoutsError

if TYPE_CHECKING:  # `handouts list` reads the registry without the patient record's model
    from .patient import Patient


@dataclass(frozen=True)
class Variable:
    """A personal value a document prints: every document reads it through `evaluate`."""
    name: str
    label: str
    sample: Any
    evaluate: Callable[[Patient | None], Any]
    field: str  # the patient record's field, named in error messages
    text: bool = True  # free text, checked for glyphs and for fitting the page


def _patient_field(name: str, label: str, sample: Any) -> Variable:
    def evaluate(p: Patient | None) -> Any:
        return getattr(p, name) if p is not None else None
    return Variable(f"patient.{name}", label, sample, evaluate, field=name, text=isinstance(sample, str))


def N_(message: str) -> str:
    """Mark a label for extraction (pybabel -k N_); it is translated where it is shown."""
    return message


PATIENT_VARIABLES = (
    _patient_field("name", N_("Patient"), "Li Wei 李伟"),
    _patient_field("first_dose", N_("Date of the first dose"), dt.date(2026, 12, 1)),
    _patient_field("oncologist", N_("Cancer doctor (oncologist)"), "Dr. Maria Gonzalez"),
    _patient_field("phone", N_("Care team phone, day and night"), "+1 (555) 010-2030"),
    _patient_field("treatment_center", N_("Treatment center"), "Riverside Cancer Center"),
)
CONTACT_VARIABLES = ("patient.name", "patient.oncologist", "patient.phone", "patient.treatment_center")
TEXT_VARIABLES = tuple(v for v in PATIENT_VARIABLES if v.text)


@dataclass(frozen=True)
class Hook:
    """A document's function, named "module:function" and imported on its first call:
    `handouts list` and a card build never import WeasyPrint."""
    ref: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, attr = self.ref.partition(":")  # looked up on each call: tests may patch it
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)


def _documents(ref: str) -> Hook:
    return Hook(f"{__package__}.documents.{ref}")


def _printed(ref: str) -> Hook:
    return Hook(f"{__package__}.records.printed:{ref}")


# The engines, and the field name under which each adapter reports its own failures.
ENGINES = {"weasyprint": "WeasyPrint", "reportlab": "ReportLab"}


@dataclass(frozen=True)
class DocumentSpec:
    name: str
    description: str
    layout: str
    engine: Literal["weasyprint", "reportlab"]
    papers: tuple[str, ...]
    page_budget: tuple[int, int]
    variables: tuple[Variable, ...]
    render: Hook  # render(BuildRequest) -> Rendered
    # check(locale, patient, model, where, **options): lays out the personal fields
    # before anything is written (a value that does not fit is that field's error).
    check: Hook | None = None
    # render_sheet(cards, imposition, model) -> Rendered: cards imposed on `sheets`.
    render_sheet: Hook | None = None
    paper_default: str | None = None  # None: the locale's default paper
    sheets: tuple[str, ...] = field(default=())
    large_print_budget: tuple[int, int] | None = None  # --large-print, and its page budget
    # A document laid out as a personal part, then the rest (the same for every patient,
    # laid out once and cached) joined to it: the personal part's page budget. Past it,
    # the document is laid out whole.
    personal_pages: int | None = None
    # fill_static(locale, paper, model): lays out that rest into the process's static-part
    # cache (a batch's parent, before its workers fork).
    fill_static: Hook | None = None
    bilingual_factor: int | None = None  # --also LOCALE: the page budget times this
    list_sheet: str | None = None  # a patient list's batch imposes its cards on this sheet too
    counter: int | None = None  # its place on the counter page (None: not offered there)
    page_label: str = ""  # how the counter page names it (translated by the `web` catalog: web.i18n)
    print_label: str = ""  # the counter page's button that opens it in a print tab (likewise)
    # The print record: the letter that starts its document id ("W-zh-Hans-..."),
    # document_id(BuildRequest) -> the id it prints, how an EHR's document list names
    # it, and printed(BuildRequest) -> {locale: the content records each of its
    # languages prints} (records.printed).
    id_code: str = ""
    document_id: Hook | None = None
    record_title: str = ""
    printed: Hook | None = None

    def file_name(self, drug: str, locale: str | None, medium: str, tag: str | None = None,
                  also: str | None = None, large_print: bool = False, options: tuple[str, ...] = ()) -> str:
        """The output file's name: the drug (the content model's meta.file_stem), the
        document, its locale (a list's cards: each locale they are in), its paper or
        sheet, how the sheet is made (`options`: bleed, copies, duplex offset), whose it is
        (a patient's or a list's tag), and its variant (a second language, large print).
        Everything that changes what is printed is in the name, so that a build never
        silently replaces a different one."""
        parts = [drug, self.name, *([locale] if locale else []), medium, *options, *([tag] if tag else [])]
        return "-".join(parts) + (f"+{also}" if also else "") + ("-large-print" if large_print else "") + ".pdf"

    @property
    def engine_label(self) -> str:
        return ENGINES[self.engine]

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)

    def value(self, name: str, patient: Patient | None) -> Any:
        """The one way a document reads a personal value."""
        return self.variable(name).evaluate(patient)

    def sample_patient(self) -> Patient:
        from .patient import Patient
        return Patient.model_validate({v.field: v.sample for v in self.variables})


DOCUMENTS: dict[str, DocumentSpec] = {}


def register(spec: DocumentSpec) -> DocumentSpec:
    # Two documents with one id letter would make their document ids ambiguous on paper.
    if spec.id_code and any(o.id_code == spec.id_code for o in DOCUMENTS.values() if o.name != spec.name):
        raise ValueError(f"{spec.name}: document id letter {spec.id_code!r} is taken")
    DOCUMENTS[spec.name] = spec
    return spec


register(DocumentSpec(
    name="handout",
    description="Patient handout: what the drug is, CRS/ICANS warning signs, step-up dosing, personal schedule",
    layout="handout", engine="weasyprint", papers=("letter", "a4"), page_budget=(2, 6),
    variables=PATIENT_VARIABLES, render=_documents("handout:render"),
    # Page 1: the warnings with the care team's phone; page 2: the care team, the dates.
    personal_pages=2, fill_static=_documents("handout:fill_static"),
    # Every text at least 18 pt: three times the regular maximum.
    large_print_budget=(4, 12),
    # The handout twice on one set of sheets (large print: twice that budget too).
    bilingual_factor=2,
    counter=2, page_label="the handout", print_label="Print the handout",
    id_code="H", document_id=_documents("common:printed_id"), record_title="patient handout",
    printed=_printed("handout_entries"),
))

register(DocumentSpec(
    name="wallet-card",
    description="CRS warning wallet card: ID-1 front (patient's language) and back (for providers)",
    layout="wallet-card", engine="reportlab", papers=("id1",), page_budget=(2, 2),
    variables=PATIENT_VARIABLES, render=_documents("wallet_card:render"),
    check=_documents("wallet_card:check"), render_sheet=_documents("wallet_card:render_sheets"),
    sheets=("letter-8up", "a4-10up", "avery-8371"),
    # --also LOCALE sets the back (for clinicians) in that language; still one card.
    bilingual_factor=1,
    list_sheet="letter-8up",
    counter=1, page_label="the wallet card", print_label="Print the wallet card",
    id_code="W", document_id=_documents("wallet_card:document_id"), record_title="CRS wallet card",
    printed=_printed("card_entries"),
))

register(DocumentSpec(
    name="poster",
    description="Clinic dosing poster for staff: step-up timeline, monitoring, restart rules, red flags, storage",
    layout="poster", engine="weasyprint", papers=("tabloid", "a3", "letter", "a4"), page_budget=(1, 1),
    variables=(), render=_documents("poster:render"), paper_default="tabloid",
    id_code="P", document_id=_documents("common:printed_id"), record_title="dosing poster",
    printed=_printed("poster_entries"),
))


def with_sheet(sheet: str) -> DocumentSpec:
    """The document printed on the sheet preset `sheet`."""
    found = [s for s in DOCUMENTS.values() if sheet in s.sheets]
    if not found:
        every = tuple(x for s in DOCUMENTS.values() for x in s.sheets)
        raise HandoutsError("sheet.unknown", "sheet", {"value": sheet, "choices": every})
    return found[0]


def get(name: str) -> DocumentSpec:
    if name not in DOCUMENTS:
        raise HandoutsError("document.unknown", "document", {"value": name, "choices": tuple(DOCUMENTS)})
    return DOCUMENTS[name]
