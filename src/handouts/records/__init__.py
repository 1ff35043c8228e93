"""The print record (opt-in): who got which document, with the facts it printed, so a
content change names exactly the patients whose paper it made wrong.

    record = Record.open("record.sqlite3")            # or a postgresql:// URL
    printed = entries("wallet-card", "zh-Hans", model, paper, patient)
    record.record_printed(document="wallet-card", locale="zh-Hans", paper="id1", model=model,
                          printed=printed, document_id=str(doc_id), channel="cli",
                          patient_key=patient_key(patient, secret))
    recall(record, model)                             # who holds which outdated fact

Modules: schema (tables) and migrations/ (Alembic), store (Record), printed (what a
document printed; wordings), keys (patient keys), docid (document ids), recall,
config (the clinic's settings file), cli (`handouts recall`, `handouts record`).
"""

from __future__ import annotations

from .docid import DocumentId, document_id
from .keys import PatientKey, keyed_digest, load_key, mrn_key, patient_key
from .printed import Wordings, entries
from .recall import Recalled, recall
from .store import PrintRow, Record

__all__ = ["DocumentId", "PatientKey", "PrintRow", "Recalled", "Record", "Wordings", "document_id", "entries",
           "keyed_digest", "load_key", "mrn_key", "patient_key", "recall"]
