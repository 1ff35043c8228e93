"""The print record (opt-in): who got which document, with the facts it printed, so a
content change names exactly the patients whose paper it made wrong.

    record = Record.open("record.sqlite3")            # or a postgresql:// URL
    printed = entries(document, "zh-Hans", model, paper, patient)
    record.record_printed(document=document, locale="zh-Hans", paper=paper.name, model=model,
                          printed=printed, document_id=str(doc_id), channel="cli",
                          patient_key=patient_key(patient, secret))
    recall(record, model)                             # who holds which outdated fact

Modules: schema (tables) and migrations/ (Alembic), store (Record), printed (what a
document printed; wordings), keys (patient keys), docid (document ids), recalls,
config (the clinic's settings file), cli (`handouts recall`, `handouts record`).
"""

from __future__ import annotations

import importlib

# Imported on first use: `handouts --help` and `handouts list` must not load SQLAlchemy.
_EXPORTS = {
    "DocumentId": "docid", "document_id": "docid",
    "PatientKey": "keys", "keyed_digest": "keys", "load_key": "keys", "mrn_key": "keys", "patient_key": "keys",
    "Wordings": "printed", "entries": "printed",
    "Recalled": "recalls", "recall": "recalls", "reprint_plan": "recalls",
    "PrintRow": "store", "Record": "store",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
