"""Recall: which patients hold paper that a content change has made wrong.

The current content model's wording of each fact is compared with the wording each
patient's latest documents printed (per document and language). A content version or
label revision that changed alone recalls nothing; a fact that changed recalls exactly
the documents that printed it. A patient appears once per document kind, with every
outdated document of that kind (one per language the patient was given) and what
changed in it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .printed import Wordings

if TYPE_CHECKING:
    from ..content import ContentModel
    from ..patient import Patient
    from .store import PrintRow, Record


@dataclass(frozen=True)
class Change:
    entry: str
    locale: str
    printed: str  # the wording as printed
    current: str  # the wording the content model gives today


@dataclass(frozen=True)
class Outdated:
    print: PrintRow
    changes: tuple[Change, ...]


@dataclass
class Recalled:
    """One patient (or, with patient_key None, one pile of stock) and document kind."""
    patient_key: str | None
    key_kind: str | None
    document: str
    outdated: list[Outdated] = field(default_factory=list)

    @property
    def entries(self) -> list[str]:
        return sorted({c.entry for o in self.outdated for c in o.changes})


def recall(record: Record, model: ContentModel, patient_key: str | None = None) -> list[Recalled]:
    latest = record.latest(patient_key)
    sets = record.set_entries(r.printed_set for r in latest)
    current = Wordings(model)
    changed: dict[str, list[tuple[str, str, str]]] = {}  # set -> [(entry, locale, printed digest)]
    for digest, items in sets.items():
        diffs = [(e, loc, w) for e, loc, w in items if current.get(e, loc).digest != w]
        if diffs:
            changed[digest] = diffs
    texts = record.wording_texts(w for diffs in changed.values() for _, _, w in diffs)
    out: dict[tuple, Recalled] = {}
    for row in latest:
        row_diffs = changed.get(row.printed_set)
        if not row_diffs:
            continue
        changes = tuple(Change(e, loc, texts.get(w, ""), current.get(e, loc).text)
                        for e, loc, w in sorted(row_diffs, key=lambda d: (d[1] != row.locale, d[1], d[0])))
        key = (row.patient_key, row.document) if row.patient_key else (None, row.document, row.locale,
                                                                          row.also, row.paper, row.large_print)
        group = out.setdefault(key, Recalled(row.patient_key, row.key_kind, row.document))
        group.outdated.append(Outdated(row, changes))
    return sorted(out.values(), key=lambda r: (r.patient_key is None, r.patient_key or "", r.document))


# -- output ---------------------------------------------------------------------------

CSV_COLUMNS = ("patient", "key_kind", "name", "document", "document_id", "locale", "paper", "printed_at",
               "channel", "fact", "fact_locale", "printed", "current")


def _one_line(text: str) -> str:
    return " / ".join(text.replace("\u00a0", " ").splitlines())


def as_csv(results: Iterable[Recalled], names: dict[str, str] | None = None) -> str:
    """One row per changed fact of each outdated document (a spreadsheet can filter and
    count them); the patient key in full, the name only where the caller knows it."""
    names = names or {}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in results:
        for o in r.outdated:
            p = o.print
            for c in o.changes:
                w.writerow([r.patient_key or "", r.key_kind or "stock", names.get(r.patient_key or "", ""),
                            r.document, p.document_id, p.locale, p.paper,
                            p.printed_at.isoformat(timespec="seconds"), p.channel, c.entry, c.locale,
                            _one_line(c.printed), _one_line(c.current)])
    return buf.getvalue()


def as_table(results: list[Recalled], names: dict[str, str] | None = None, width: int = 100) -> str:
    """For a person: one block per patient and document kind, what changed beneath."""
    from .keys import PatientKey
    names = names or {}
    if not results:
        return "No recorded document printed a fact that has changed since.\n"
    lines: list[str] = []
    patients = {r.patient_key for r in results if r.patient_key}
    documents = sum(len(r.outdated) for r in results)
    stock = sum(1 for r in results if r.patient_key is None)
    summary = f"{len(patients)} patient(s), {documents} outdated document(s)"
    lines.append(summary + (f", {stock} pile(s) of stock" if stock else "") + ":")
    for r in results:
        if r.patient_key:
            who = PatientKey(r.patient_key, r.key_kind or "keyed").short
            if r.patient_key in names:
                who = f"{names[r.patient_key]} ({who})"
        else:
            who = "stock (no patient)"
        lines.append("")
        lines.append(f"{who}: {r.document}")
        for o in r.outdated:
            p = o.print
            lines.append(f"  {p.document_id}  {p.locale} {p.paper}  printed "
                         f"{p.printed_at.strftime('%Y-%m-%d %H:%M')} UTC ({p.channel})")
            for c in o.changes:
                old, new = _one_line(c.printed), _one_line(c.current)
                lines.append(_clip(f"    {c.entry} [{c.locale}]: {old} -> {new}", width))
    return "\n".join(lines) + "\n"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


# -- reprint ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Reprint:
    """One document to print again: for whom (None: stock), and as it was printed."""
    patient: Patient | None
    patient_key: str | None
    document: str
    locale: str
    also: str | None
    paper: str
    large_print: bool
    replaces: str  # uid of the outdated print


def reprint_plan(results: Iterable[Recalled], patients: dict[str, Patient]) -> tuple[list[Reprint], list[str]]:
    """What `recall --reprint` prints: each outdated document again, for the patient the
    clinic's list (or the record's kept details) gives under that key. Returns the
    reprints and the keys no patient was found for (reported, never guessed)."""
    plan: list[Reprint] = []
    missing: list[str] = []
    for r in results:
        patient = patients.get(r.patient_key) if r.patient_key else None
        if r.patient_key and patient is None:
            missing.append(r.patient_key)
            continue
        for o in r.outdated:
            p = o.print
            plan.append(Reprint(patient, r.patient_key, r.document, p.locale, p.also, p.paper, p.large_print, p.uid))
    return plan, sorted(set(missing))
