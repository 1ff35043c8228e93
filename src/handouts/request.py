"""One request, resolved once, for every door.

The command line (`build`, `build --sheet`), the batch planner and the counter page each
parse what the user asked for into a Request and report what comes back; they decide
nothing themselves. `resolve` fills in the defaults (the locale from the patient, else
English; the paper from the document, else the locale), checks everything in one order
(the document, the options it takes, the locales, the paper or sheet, then each
patient), and names the output file from the document's registry entry. Nothing is
rendered or written until a request has resolved.

Check order: document; options the document does not take (--large-print, --also, the
sheet options); locale; --also's locale; paper, or sheet with bleed and duplex offset;
then the patient (first dose, glyphs, the document's own check, e.g. whether the
name fits the card), or each row of a patient list.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from . import output, papers, registry
from .errors import HandoutsError
from .patient import (MAX_CSV_ROWS, Columns, Patient, RowSource, date_order_of, in_column, initials, read_list,
                      read_patients)

if TYPE_CHECKING:
    from .cardlayout import Imposition
    from .content import ContentModel
    from .documents.wallet_card import Card

MAX_CARDS = 10_000  # rows x copies in one sheet build: 1,250 letter sheets
DEFAULT_LOCALE = "en"
# How a patient's files are named: the name made safe ("full": the command line's
# default, so staff find a pack by name) or only its initials ("initials": the counter
# page's default, whose files land in a browser's Downloads); a digest follows either way.
FILE_NAMES = ("full", "initials")


@dataclass(frozen=True)
class Request:
    """What a user asked for, as a door parsed it: nothing decided yet."""
    document: str
    locale: str | None = None  # None: the patient's, else DEFAULT_LOCALE
    paper: str | None = None  # None: the document's default, else the locale's
    sheet: str | None = None  # cards imposed on this sheet preset
    also: str | None = None  # a second language on the same sheets
    large_print: bool = False
    patient: Patient | None = None
    rows: RowSource | None = None  # a patient list: one card per row (sheets only)
    patients: tuple[Patient, ...] = ()  # or patients already checked (a batch's rows of one locale)
    list_name: str = ""  # the list `patients` came from (it names the sheets)
    copies: int | None = None  # cards per patient on sheets (default: a full sheet, 1 per row)
    bleed: float | None = None
    duplex_offset: tuple[float, float] | None = None
    date_order: str | None = None  # how the list writes dates (MDY, DMY, YMD); None: its locale's
    record: bool = False  # record what is printed (records.recorder), in the settings file's record
    record_db: str | None = None  # that record's file or URL instead (--record-db; implies record)
    ics: bool = False  # the patient's dated schedule as a calendar file too (--ics)
    file_names: str = "full"  # FILE_NAMES: whose files these are, by name or by initials
    where: str = ""  # where the options came from ("form" on the counter page)
    patient_where: str = "patient"  # where the patient came from, for its errors


class _Recording(TypedDict):
    """The options a request passes on to its Resolved as they are (Resolved's fields)."""
    record: bool
    record_target: str | None
    ics: bool


@dataclass(frozen=True)
class Resolved:
    """A request with every default filled in and every check passed."""
    spec: registry.DocumentSpec
    locale: str
    paper: papers.Paper
    also: str | None
    large_print: bool
    patient: Patient | None
    file_name: str  # the output file's name, from the registry entry
    plain_name: str  # the same without whose it is (inside a patient's own folder)
    sheet: str | None = None
    imposition: Imposition | None = None
    cards: tuple[Card, ...] = ()
    record: bool = False
    record_target: str | None = None  # where prints are recorded (None: not recorded)
    ics: bool = False

    @property
    def document(self) -> str:
        return self.spec.name


def patient_tag(patient: Patient, names: str = "full") -> str:
    """A patient's part of a file name: the name made safe (or its initials) and a
    digest of the patient's details, so that two patients with the same name never
    share a file and the same patient gets the same digest at every door."""
    shown = initials(patient.name or "") if names == "initials" else patient.name or ""
    name = output.safe_name(shown, fallback="patient", max_len=48, max_bytes=96)
    return f"{name}-{patient.file_key()[:8]}"


def list_key(patients: Sequence[Patient]) -> str:
    """A digest of a list's rows: its sheets are named after it."""
    return hashlib.sha256("\n".join(p.identity() for p in patients).encode()).hexdigest()[:8]


def list_tag(source: str, patients: Sequence[Patient]) -> str:
    """A list's part of a file name: the list's name made safe and a digest of its rows,
    so that a second list never replaces the first list's sheets."""
    stem = output.safe_name(Path(source).stem, fallback="patients", max_len=40, max_bytes=60)
    return f"{stem}-{list_key(patients)}"


def bundle_name(drug: str, locale: str, patient: Patient | None, names: str = "full") -> str:
    """A ZIP of one order's files (the counter page): the drug (meta.file_stem), its
    locale and whose it is."""
    tag = [patient_tag(patient, names)] if patient is not None else []
    return "-".join([drug, "handouts", locale, *tag]) + ".zip"


def list_bundle_name(drug: str) -> str:
    """The ZIP of a patient list's files (the counter page): the patients' folders say
    whose each file is."""
    return f"{drug}-handouts-patients.zip"


def _refuse_unsupported(req: Request, spec: registry.DocumentSpec) -> None:
    def unsupported(option: str, capability: str) -> HandoutsError:
        have = tuple(s.name for s in registry.DOCUMENTS.values() if getattr(s, capability))
        return HandoutsError("document.option_unsupported", option,
                             {"document": spec.name, "option": "--" + option.replace("_", "-"), "documents": have},
                             where=req.where)

    if req.large_print and spec.large_print_budget is None:
        raise unsupported("large_print", "large_print_budget")
    if req.also and spec.bilingual_factor is None:
        raise unsupported("also", "bilingual_factor")
    sheet_options = (("bleed", req.bleed is not None), ("duplex_offset", req.duplex_offset is not None),
                     ("copies", req.copies is not None), ("patients", req.rows is not None))
    if (req.sheet or any(given for _, given in sheet_options)) and not spec.sheets:
        raise HandoutsError("document.no_sheets", "sheet", {"document": spec.name}, where=req.where)
    if not req.sheet:
        given = next((o for o, v in sheet_options if v), None)
        if given is not None:
            raise HandoutsError("option.only_with_sheet", given, {"sheets": spec.sheets}, where=req.where)
        return
    if req.sheet not in spec.sheets:
        raise HandoutsError("sheet.unknown", "sheet", {"value": req.sheet, "choices": spec.sheets}, where=req.where)
    if req.paper:
        raise HandoutsError("option.paper_with_sheet", "paper", where=req.where)
    if req.rows is not None and req.patient is not None:
        raise HandoutsError("option.list_and_patient", "patients", where=req.where)


def _locale(code: str, field: str, where: str) -> str:
    from .build import known_locale
    return known_locale(code, field, where).code


def resolve(req: Request, model: ContentModel) -> Resolved:
    """The request with its defaults, checked in one order (see the module's doc)."""
    from .build import check_patient, precheck, resolve_paper
    from .clock import check_not_before
    spec = registry.get(req.document)
    _refuse_unsupported(req, spec)
    check_not_before(model.meta.label_checked)
    recording = _Recording(record=bool(req.record or req.record_db),
                           record_target=record_target(req.record, req.record_db), ics=_calendar(req))
    patient = req.patient
    from_patient = req.locale is None and patient is not None and patient.locale is not None
    locale = _locale(req.locale or (patient.locale if from_patient and patient else None) or DEFAULT_LOCALE,
                     "locale", req.patient_where if from_patient else req.where)
    also = _locale(req.also, "also", req.where) if req.also else None
    bilingual = also if also and also != locale else None
    if req.sheet is None:
        if req.paper is not None and req.paper not in spec.papers:
            raise HandoutsError("paper.unknown", "paper", {"value": req.paper, "choices": spec.papers},
                                where=req.where)
        paper = resolve_paper(spec, locale, req.paper)
        check_patient(patient, locale, model, req.patient_where)
        precheck(patient, locale, model, req.patient_where, documents=(spec.name,),
                 **_check_options(spec, None, also))
        tag = patient_tag(patient, req.file_names) if patient is not None else None
        drug = model.meta.file_stem
        return Resolved(spec, locale, paper, also, req.large_print, patient,
                        spec.file_name(drug, locale, paper.name, tag, bilingual, req.large_print),
                        spec.file_name(drug, locale, paper.name, None, bilingual, req.large_print), **recording)
    from .cardlayout import imposition
    from .documents.wallet_card import Card
    imp = imposition(req.sheet, req.bleed or 0.0, req.duplex_offset or (0.0, 0.0), layout=spec.layout)
    options = _check_options(spec, imp, also)
    if req.rows is not None or req.patients:
        if req.rows is not None:
            cards = _cards_of(req.rows, req.locale, req.copies or 1, model, spec, options, req.date_order)
        else:
            cards = [Card(p.locale or locale, p) for p in req.patients for _ in range(req.copies or 1)]
            for p in req.patients:
                check_patient(p, p.locale or locale, model, req.patient_where)
        people = list(dict.fromkeys(c.patient for c in cards if c.patient is not None))
        codes = sorted({c.locale for c in cards})
        one = codes[0] if len(codes) == 1 else None
        tag = list_tag(req.rows.name if req.rows is not None else req.list_name, people)
        # A list's cards may be in several locales: the name says each of them, so that
        # the same list made for another default locale is another file.
        name = spec.file_name(model.meta.file_stem, "_".join(codes), req.sheet, tag,
                              also if also and also != one else None, options=sheet_options(imp, req.copies, 1))
        locale = one or locale
    else:
        check_patient(patient, locale, model, req.patient_where)
        precheck(patient, locale, model, req.patient_where, documents=(spec.name,), **options)
        cards = [Card(locale, patient)] * (req.copies or imp.per_sheet)
        tag = patient_tag(patient, req.file_names) if patient is not None else None
        name = spec.file_name(model.meta.file_stem, locale, req.sheet, tag, bilingual,
                              options=sheet_options(imp, req.copies, imp.per_sheet))
    if also:
        cards = [dataclasses.replace(c, also=also) for c in cards]
    return Resolved(spec, locale, papers.PAPERS[imp.preset.paper], also, False, patient, name, name,
                    sheet=req.sheet, imposition=imp, cards=tuple(cards), **recording)


def record_target(record: bool, record_db: str | None) -> str | None:
    """Where prints are recorded: --record-db, else (--record, the counter's setting) the
    settings file's record; None: not recorded. The settings file is read here, so a bad
    one stops a request before any file is written."""
    if not (record or record_db):
        return None
    from .records import config
    return record_db or config.load().record.target()


def _calendar(req: Request) -> bool:
    """--ics: one patient with a first dose (a list's calendars come from the batch)."""
    if not req.ics:
        return False
    if req.patient is None or req.rows is not None or req.patients:
        raise HandoutsError("ics.one_patient", "ics", where=req.where)
    if req.patient.first_dose is None:
        raise HandoutsError("ics.no_first_dose", "first_dose", where=req.patient_where)
    return True


def sheet_options(imp: Imposition, copies: int | None, default_copies: int) -> tuple[str, ...]:
    """How a sheet is made, as its file name says it: bleed, copies per patient and the
    backs' duplex offset, each only when it is not the default ("bleed3mm", "2copies",
    "offset0.5,-1mm")."""
    out = []
    if imp.bleed:
        out.append(f"bleed{imp.bleed:g}mm")
    if copies is not None and copies != default_copies:
        out.append(f"{copies}copies")
    if imp.offset.dx or imp.offset.dy:
        out.append(f"offset{imp.offset.dx:g},{imp.offset.dy:g}mm")
    return tuple(out)


def _check_options(spec: registry.DocumentSpec, imp: Imposition | None, also: str | None) -> dict[str, Any]:
    """What a document's own check needs to know: the card size it is laid out in (the
    sheet's, else the document's paper) and the back's language."""
    if spec.check is None:
        return {}
    return {"fmt": imp.preset.card_format if imp is not None else spec.papers[0], "also": also}


def list_columns(default_locale: str, date_order: str | None = None) -> Columns:
    """How a list's columns are read: its dates in `date_order`, else in the order of
    the list's default locale (en: month/day/year; zh-Hans, zh-Hant: year/month/day)."""
    from . import locales
    return Columns(date_order=date_order or date_order_of(locales.get(default_locale).babel))


def checked_rows(source: RowSource, default_locale: str, model: ContentModel, documents: Sequence[str] = (),
                 date_order: str | None = None, max_rows: int = MAX_CSV_ROWS,
                 **options: Any) -> list[tuple[int, Patient | HandoutsError]]:
    """Each row of a patient list (numbered as in a spreadsheet) with its validated
    patient, or the error naming its row, column and field: locale known, dates
    plausible, glyphs printable, each document's own check (`options` go to it, e.g. a
    card sheet's card size), and no row repeating another."""
    from .build import check_patient, known_locale, precheck
    out: list[tuple[int, Patient | HandoutsError]] = []
    letters: dict[str, str] = {}
    # A source may name its rows itself (a FHIR bundle: its Patients) and bring the rows
    # it could not read as errors.
    named = getattr(source, "where", None)
    read = read_patients(source, list_columns(default_locale, date_order), max_rows, letters)
    for row, item in sorted([*read, *getattr(source, "errors", [])], key=lambda r: r[0]):
        if isinstance(item, Patient):
            where = named(row) if named else f"{source.name} row {row}"
            code = item.locale or default_locale
            try:
                known_locale(code, "locale", where)
                check_patient(item, code, model, where=where)
                precheck(item, code, model, where, documents=tuple(documents) or None, **options)
            except HandoutsError as err:
                item = in_column(err, letters)
        out.append((row, item))
    dupes = duplicate_rows([(r, p) for r, p in out if isinstance(p, Patient)], source.name, default_locale)
    return [(r, dupes.get(r, p)) for r, p in out]


def duplicate_rows(rows: list[tuple[int, Patient]], source: str, default_locale: str = DEFAULT_LOCALE
                   ) -> dict[int, HandoutsError]:
    """Rows that repeat an earlier row: the same patient in the same language (an empty
    language is the list's default), listed twice; they would make the same files."""
    first: dict[tuple[str, str], int] = {}
    out: dict[int, HandoutsError] = {}
    for row, p in rows:
        key = (p.file_key(), p.locale or default_locale)
        if key in first:
            out[row] = HandoutsError("list.duplicate_row", "", {"row": first[key]}, where=f"{source} row {row}")
        else:
            first[key] = row
    return out


def _cards_of(source: RowSource, locale: str | None, copies: int, model: ContentModel,
              spec: registry.DocumentSpec, options: dict[str, Any], date_order: str | None = None) -> list[Card]:
    """One card per row (each in its row's locale), `copies` times; the first bad row
    stops the build, naming its row and field (and how many more are bad). Each row's
    card is laid out here, in the sheet's card size and languages, once: the render
    reuses it (the session keeps it)."""
    from .documents.wallet_card import Card
    from .session import use
    with use() as s, s.paused_gc():
        rows = checked_rows(source, locale or DEFAULT_LOCALE, model, (spec.name,), date_order, **options)
    if len(rows) * copies > MAX_CARDS:
        raise HandoutsError("cards.too_many", "copies", {"rows": len(rows), "copies": copies, "max": MAX_CARDS})
    if not rows:
        raise HandoutsError("list.no_rows", "patients", {"file": source.name})
    bad = [err for _, err in rows if isinstance(err, HandoutsError)]
    if len(bad) > 1:
        raise HandoutsError("list.bad_rows", bad[0].field, {"first": bad[0], "more": len(bad) - 1},
                            where=bad[0].where, label=bad[0].label)
    if bad:
        raise bad[0]
    cards: list[Card] = []
    for row, patient in rows:
        assert isinstance(patient, Patient)
        cards.extend([Card(patient.locale or locale or DEFAULT_LOCALE, patient, f"{source.name} row {row}")] * copies)
    return cards


@dataclass
class ListFile:
    """A patient list in a file (CSV or .xlsx), read when its rows are first asked for:
    after the request's options have been checked. A .json file is a FHIR bundle (its
    Patients are the rows; see fhir.BundleRows)."""
    path: Path
    _rows: RowSource | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def _read(self) -> RowSource:
        if self._rows is None:
            if self.path.suffix.lower() == ".json":
                from .fhir import BundleRows
                from .records import config
                self._rows = BundleRows.read(self.path, config.load().fhir)
            else:
                self._rows = read_list(self.path, "patients")
        return self._rows

    def header(self) -> list[str]:
        return self._read().header()

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return self._read().rows()

    @property
    def errors(self) -> list[tuple[int, HandoutsError]]:
        return list(getattr(self._read(), "errors", []))

    def where(self, row: int) -> str:
        named = getattr(self._read(), "where", None)
        return named(row) if named else f"{self.name} row {row}"

    def imported(self, row: int) -> Any:
        """What an EHR said about the row's patient (fhir.ImportedPatient), or None."""
        found = getattr(self._read(), "imported", None)
        return found(row) if found else None


def render(res: Resolved, model: ContentModel) -> Any:
    """The resolved request rendered in memory (build.render_document or render_sheet)."""
    from .build import render_document, render_sheet
    if res.imposition is not None:
        imp = res.imposition
        return render_sheet(res.document, res.locale, imp.name, list(res.cards), model, imp.bleed,
                            (imp.offset.dx, imp.offset.dy))
    return render_document(res.document, res.locale, res.paper, res.patient, model, res.large_print, res.also)
