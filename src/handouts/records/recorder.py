"""What every door does after it has printed: record each document (--record, the
counter's setting) and write its FHIR DocumentReference (--fhir-out).

    with Recorder.open(target, "batch", model, fhir_out=Path("fhir")) as rec:
        rec.add(document=spec.name, locale="en", paper="letter", patient=p, pdf=data)
    # rows are written in one transaction when the recorder closes (or every
    # FLUSH_EVERY prints): a batch of 10,000 waits for the disk a few times, not 10,000.

The document id a print is recorded under is the one the paper prints (the registry's
document_id hook; for a card on a sheet, the card's own): recall, a reprint and a nurse
reading the paper all name it the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from .. import papers, registry

if TYPE_CHECKING:
    from ..content import ContentModel
    from ..patient import Patient
    from .config import Settings
    from .keys import PatientKey
    from .store import PrintRow, Record

FLUSH_EVERY = 500
_SHARED: dict[str, Record] = {}  # Recorder.shared: records this process keeps open


@dataclass(frozen=True)
class Who:
    """Who a print is for, as the record keys them: the patient and, from an EHR, the
    medical record number (and the FHIR Patient id, for the DocumentReference)."""
    patient: Patient | None
    mrn: str | None = None
    mrn_system: str | None = None
    fhir_id: str | None = None


@dataclass
class _Pending:
    values: dict[str, Any]
    pdf: bytes | None
    who: Who
    file: str | None = None


@dataclass
class Recorder:
    """Records the prints of one run (a command, a batch, a counter request)."""
    record: Record | None  # None: DocumentReferences only (--fhir-out without --record)
    channel: str
    model: ContentModel
    settings: Settings
    fhir_out: Path | None = None
    _secret: bytes | None = None
    _owns_record: bool = True
    _pending: list[_Pending] = field(default_factory=list)
    # (patient key, document) -> (uid, locale) of its first print in this run
    _first_of: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    rows: list[PrintRow] = field(default_factory=list)  # what this recorder recorded
    written: list[Path] = field(default_factory=list)  # the DocumentReference files it wrote
    _whos: dict[Any, Who] = field(default_factory=dict)  # a list's patients, as an EHR keys them

    @classmethod
    def open(cls, target: str | None, channel: str, model: ContentModel, *, settings: Settings | None = None,
             fhir_out: Path | None = None, field: str = "record_db") -> Recorder:
        """`target`: the record (a path or URL), None to write DocumentReferences only."""
        from . import config
        from .store import Record
        settings = settings or config.load()
        rec = cls(None, channel, model, settings, fhir_out)
        if fhir_out is not None:
            from ..output import OutputDir
            OutputDir(fhir_out, field="fhir_out").ensure()
        if target is not None:
            # The key is made (owner-only) on first use, and checked against the one the
            # record was keyed with before anything is recorded.
            rec.record = Record.open(target, create=True, secret=rec.secret(), field=field)
        return rec

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            self.flush()  # also after a failure or Ctrl-C: what was printed is recorded
        finally:
            self.close()

    def close(self) -> None:
        if self.record is not None and self._owns_record:
            self.record.close()

    @classmethod
    def shared(cls, target: str, channel: str, model: ContentModel) -> Recorder:
        """A recorder on a record this process keeps open (the counter page's workers:
        opening a record checks its schema and key, too slow for every request). The
        open record holds content (wordings), never a patient."""
        from . import config
        record = _SHARED.get(target)
        if record is None:
            rec = cls.open(target, channel, model)
            assert rec.record is not None  # opened on a target: it has a record
            _SHARED[target] = rec.record
        else:
            rec = cls(record, channel, model, config.load())
        rec._owns_record = False
        return rec

    # -- a batch ------------------------------------------------------------------------
    def knows(self, patient: Patient, imported: Any = None) -> None:
        """What an EHR said about a list's patient (fhir.ImportedPatient): its MRN keys
        the patient's prints; its FHIR id goes into their DocumentReferences."""
        if imported is not None:
            self._whos[patient] = Who(patient, imported.mrn, imported.mrn_system, imported.fhir_id)

    def who(self, patient: Patient | None) -> Who:
        return self._whos.get(patient, Who(patient)) if patient is not None else Who(None)

    def watching(self, then: Callable[[Any], None]) -> Callable[[Any], None]:
        """A batch's on_result: record the result, then pass it on."""
        def on_result(result: Any) -> None:
            add_batch_result(self, result, self.who(result.job.patient))
            then(result)
        return on_result

    # -- patient keys -------------------------------------------------------------------
    def secret(self) -> bytes:
        """The clinic's record key (created on first use), loaded once."""
        if self._secret is None:
            from .keys import load_key
            self._secret = load_key(self.settings.record.key_path(), create=True)
        return self._secret

    def key(self, who: Who) -> PatientKey | None:
        from .keys import patient_key
        if who.patient is None:
            return None
        return patient_key(who.patient, None if who.mrn else self.secret(), who.mrn, who.mrn_system)

    # -- recording ----------------------------------------------------------------------
    def add(self, *, document: str, locale: str, paper: str, patient: Patient | Who | None, pdf: bytes | None = None,
            pdf_sha256: str | None = None, pdf_size: int | None = None, also: str | None = None,
            large_print: bool = False, card_format: str | None = None, file: str | None = None,
            only_new: bool = False) -> None:
        """One printed document (for a card on a sheet: one card; `paper` names the
        sheet, `card_format` its card size). Give the PDF, or its digest and size;
        `file`: where it was written, inside the output folder (a DocumentReference's
        URL, when the clinic serves the folder: settings [fhir] attachment = "url");
        `only_new`: not when the record already holds this document for this patient."""
        from ..documents.common import BuildRequest
        from .printed import entries
        who = patient if isinstance(patient, Who) else Who(patient)
        spec = registry.get(document)
        medium = papers.PAPERS.get(card_format or paper) or papers.PAPERS[spec.papers[0]]
        req = BuildRequest(document, locale, medium, who.patient, self.model, large_print, also)
        if card_format is not None:
            from ..documents.wallet_card import Card, card_id
            document_id = card_id(Card(locale, who.patient, also=also), self.model, card_format)
        else:
            assert spec.document_id is not None, document
            document_id = spec.document_id(req)
        if only_new and self.recorded(document_id, who):
            return
        printed = entries(document, locale, self.model, medium, who.patient, also=also, large_print=large_print)
        if pdf is not None:
            pdf_sha256, pdf_size = hashlib.sha256(pdf).hexdigest(), len(pdf)
        values = dict(document=document, locale=locale, paper=paper, printed=printed, document_id=document_id,
                      also=also if also and also != locale else None, large_print=large_print,
                      pdf_sha256=pdf_sha256, pdf_size=pdf_size)
        self._pending.append(_Pending(values, pdf if self.fhir_out is not None else None, who, file))
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def recorded(self, document_id: str, patient: Patient | Who | None) -> bool:
        """Whether the record already holds this document for this patient (a batch
        re-run records the files it did not make again only once)."""
        if self.record is None:
            return False
        who = patient if isinstance(patient, Who) else Who(patient)
        key = self.key(who)
        return self.record.has_print(document_id, key.value if key else None)

    def flush(self) -> list[PrintRow]:
        """Write what is pending: one transaction for the record, then one
        DocumentReference file per print."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        now = dt.datetime.now(dt.UTC)
        keep = self.settings.record.keep_patient_details
        rows: list[PrintRow] = []
        if self.record is not None:
            with self.record.transaction():
                for item in pending:
                    key = self.key(item.who)
                    row = self.record.record_printed(
                        model=self.model, channel=self.channel, patient_key=key, printed_at=now,
                        translation_of=self._translation_of(key, item.values),
                        keep_details=item.who.patient if keep and key is not None else None, **item.values)
                    self._first(row)
                    rows.append(row)
        else:
            for item in pending:
                rows.append(self._unrecorded(item, now))
                self._first(rows[-1])
        if self.fhir_out is not None:
            for item, row in zip(pending, rows, strict=True):
                self._document_reference(row, item)
        self.rows.extend(rows)
        return rows

    def _first(self, row: PrintRow) -> None:
        if row.patient_key:
            self._first_of.setdefault((row.patient_key, row.document), (row.uid, row.locale))

    def _translation_of(self, key: PatientKey | None, values: dict[str, Any]) -> str | None:
        """A patient's document in a second language, printed in the same run as the
        first, is a translation of it (FHIR relatesTo: transforms)."""
        first = self._first_of.get((key.value, values["document"])) if key is not None else None
        return first[0] if first is not None and first[1] != values["locale"] else None

    def _unrecorded(self, item: _Pending, now: dt.datetime) -> PrintRow:
        from .store import PrintRow
        key = self.key(item.who)
        v = item.values
        return PrintRow(id=0, uid=str(uuid.uuid4()), document_id=v["document_id"],
                        patient_key=key.value if key else None, key_kind=key.kind if key else None,
                        document=v["document"], locale=v["locale"], also=v["also"], paper=v["paper"],
                        large_print=v["large_print"], content_version=self.model.meta.content_version,
                        label_revision=self.model.meta.label_revised.isoformat(), printed_at=now,
                        channel=self.channel, printed_set="", pdf_sha256=v["pdf_sha256"], pdf_size=v["pdf_size"],
                        translation_of=self._translation_of(key, v))

    def _document_reference(self, row: PrintRow, item: _Pending) -> None:
        from .. import locales
        from ..fhir import docref
        from urllib.parse import quote
        fhir = self.settings.fhir
        url = None
        if fhir.attachment == "url" and fhir.url_base and item.file:
            url = fhir.url_base.rstrip("/") + "/" + quote(item.file)
        subject = docref.Subject(item.who.mrn, item.who.mrn_system, item.who.fhir_id,
                                 item.who.patient.name if item.who.patient is not None and
                                 self.settings.record.keep_patient_details else None) \
            if item.who.patient is not None else None
        doc = docref.document_reference(row, item.pdf, html_lang=locales.get(row.locale).html_lang, url=url,
                                        subject=subject, identifier_system=fhir.identifier_system)
        assert self.fhir_out is not None
        self.written.append(docref.write(doc, self.fhir_out))


def for_request(res: Any, channel: str, model: ContentModel, fhir_out: Path | None = None) -> Recorder | None:
    """The recorder a resolved request asks for (--record, --record-db, the counter's
    setting; --fhir-out), opened before anything is written; None when it asks for none."""
    if res.record_target is None and fhir_out is None:
        return None
    return Recorder.open(res.record_target, channel, model, fhir_out=fhir_out)


def add_resolved(rec: Recorder, res: Any, pdf: bytes, who: Who | None = None, file: str | None = None) -> None:
    """Everything a resolved request printed: one document, or each card of a sheet
    (every distinct card once; a sheet of blank cards is one pile of stock). A card on
    a sheet gets no PDF in its DocumentReference: the sheet holds other patients too."""
    if res.imposition is None:
        rec.add(document=res.document, locale=res.locale, paper=res.paper.name, patient=who or res.patient, pdf=pdf,
                also=res.also, large_print=res.large_print, file=file)
        return
    digest, size = hashlib.sha256(pdf).hexdigest(), len(pdf)
    for card in dict.fromkeys(res.cards):
        rec.add(document=res.document, locale=card.locale, paper=res.sheet, patient=card.patient,
                pdf_sha256=digest, pdf_size=size, also=card.also, card_format=res.imposition.preset.card_format)


def add_batch_result(rec: Recorder, result: Any, who: Who | None = None) -> None:
    """A batch's file (built now, or unchanged from an earlier run and not yet recorded)
    for one patient or for stock. A list's sheet of cards is not recorded again: its
    cards are the ones in the patients' folders, with the same ids."""
    from ..cardlayout import imposition
    job = result.job
    if result.status not in ("built", "unchanged") or job.patients:
        return
    from ..output import OutputDir
    pdf = OutputDir(job.root).read(job.rel) if rec.fhir_out is not None else None
    size = None if pdf is not None else job.out.lstat().st_size
    card_format = imposition(job.sheet, layout=registry.get(job.document).layout).preset.card_format \
        if job.sheet else None
    rec.add(document=job.document, locale=job.locale, paper=job.sheet or job.paper, patient=who or job.patient,
            pdf=pdf, pdf_sha256=result.sha256 if pdf is None else None, pdf_size=size,
            also=getattr(job, "also", None), large_print=getattr(job, "large_print", False),
            card_format=card_format, file=job.rel, only_new=result.status == "unchanged")


def batch_recorder(record: bool, record_db: str | None, model: ContentModel,
                   fhir_out: Path | None) -> Recorder | None:
    """The recorder of a batch (channel "batch"), or None when it records nothing."""
    from ..request import record_target
    target = record_target(record, record_db)
    if target is None and fhir_out is None:
        return None
    return Recorder.open(target, "batch", model, fhir_out=fhir_out)


def write_calendars(out_dir: Path, rows: list[tuple[int, Patient]], model: ContentModel, default_locale: str = "en",
                    whos: Callable[[Patient], Who] | None = None, file_names: str = "full") -> list[str]:
    """Each listed patient with a first dose gets the dated schedule as a calendar file
    in the patient's folder (patients/<folder>/schedule-<locale>.ics; the folders the
    batch names with `file_names`)."""
    from .. import ics
    from ..batch import PATIENTS_DIR, patient_folders
    from ..output import OutputDir
    out = OutputDir(out_dir)
    folders = patient_folders(rows, file_names)
    written = []
    for row, p in rows:
        if p.first_dose is None:
            continue
        locale = p.locale or default_locale
        who = whos(p) if whos else Who(p)
        key = f"mrn:{who.mrn_system or ''}|{who.mrn}" if who.mrn else None
        rel = f"{PATIENTS_DIR}/{folders[row]}/{ics.file_name(locale)}"
        out.write(rel, ics.schedule_calendar(p, model, locale, key=key))
        written.append(rel)
    return written


def add_sheet_result(rec: Recorder, result: Any) -> None:
    """A sheet of patients' cards printed on its own (a reprint of cards that were on a
    sheet): each card, as the sheet prints it (no copy in its DocumentReference)."""
    from ..cardlayout import imposition
    from ..output import OutputDir
    job = result.job
    if result.status not in ("built", "unchanged"):
        return
    data = OutputDir(job.root).read(job.rel)
    fmt = imposition(job.sheet, layout=registry.get(job.document).layout).preset.card_format
    for p in dict.fromkeys(job.patients):
        rec.add(document=job.document, locale=p.locale or job.locale, paper=job.sheet, patient=rec.who(p),
                pdf_sha256=hashlib.sha256(data).hexdigest() if data else result.sha256,
                pdf_size=len(data) if data else None, also=job.also, card_format=fmt, file=job.rel,
                only_new=result.status == "unchanged")
