"""Figures for the print record and the FHIR import (a script that prints JSON, not a
timed test):

- recording: 10,000 printed documents (wallet cards and handouts, three languages,
  half printed before a content change), seconds and prints per second;
- recall over those 10,000 documents after a one-fact change: seconds and the peak
  memory Python allocated during it (tracemalloc), plus the process's peak RSS;
- import of a 1,000-patient FHIR bundle shaped like an EHR export: seconds, peak memory.

    .venv/bin/python benchmarks/bench_records.py [--documents 10000] [--patients 1000]
        [--record-db postgresql://...]   # default: a SQLite file in a temporary folder
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("SOURCE_DATE_EPOCH", "1796342400")


def _model_with(model, fact_id, value):
    return model.revised(facts={fact_id: {"value": value}})


def bench_record_and_recall(target: str, documents: int) -> dict:
    """Recording as `batch --record` does it (records.recorder: each document's id as
    printed, what it printed, the patient's key, 500 prints per transaction), then recall."""
    from handouts import content, registry
    from handouts.records import Record, recall
    from handouts.records.config import Settings
    from handouts.records.recorder import Recorder
    model = content.default()
    old = _model_with(model, "crs_onset_latest", model.fact("crs_onset_latest").value - 1)
    sample = registry.get("handout").sample_patient()
    secret = bytes(range(32))
    kinds = [("wallet-card", "id1"), ("handout", "letter")]
    locales = ["en", "zh-Hans", "zh-Hant"]
    t = time.perf_counter()
    with Record.open(target, secret=secret) as rec:
        for half, m in ((0, old), (1, model)):  # half printed before a content change
            recorder = Recorder(rec, "batch", m, Settings())
            recorder._secret, recorder._owns_record = secret, False
            for i in range(half * documents // 2, (half + 1) * documents // 2):
                doc, paper = kinds[i % 2]
                locale = locales[(i // 2) % 3]
                patient = sample.model_copy(update={"name": f"Patient {i // 2}", "locale": locale})
                recorder.add(document=doc, locale=locale, paper=paper, patient=patient, pdf_sha256="0" * 64,
                             pdf_size=100_000)
            recorder.flush()
        record_s = time.perf_counter() - t
        recall(rec, model)  # warm: imports, catalogs, localizers
        tracemalloc.start()
        t = time.perf_counter()
        results = recall(rec, model)
        recall_s = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        counts = rec.counts()
    return {
        "documents": documents, "record_seconds": round(record_s, 2),
        "prints_per_second": round(documents / record_s, 1),
        "recall_seconds": round(recall_s, 3), "recall_peak_python_mb": round(peak / 2**20, 1),
        "recalled_patient_documents": len(results),
        "outdated_documents": sum(len(r.outdated) for r in results),
        "printed_sets_stored": counts["printed_sets"],
    }


def ehr_bundle(patients: int) -> dict:
    """A searchset like an EHR's bulk export: per patient a Patient, a tarlatamab order,
    two administrations, a care team, an encounter and two lab observations; shared
    practitioners and organization."""
    entry = []

    def add(res):
        entry.append({"fullUrl": f"https://ehr.example/fhir/{res['resourceType']}/{res['id']}", "resource": res})

    add({"resourceType": "Organization", "id": "org", "name": "Riverside Cancer Center",
         "telecom": [{"system": "phone", "value": "+1 555 010 9000"}]})
    for d in range(20):
        add({"resourceType": "Practitioner", "id": f"dr{d}", "name": [{"prefix": ["Dr."], "given": ["Alex"],
                                                                       "family": f"Oncologist{d}"}],
             "telecom": [{"system": "phone", "value": f"+1 555 010 {1000 + d}"}]})
    langs = ["en", "zh-CN", "zh-TW"]
    for i in range(patients):
        pid = f"p{i}"
        add({"resourceType": "Patient", "id": pid,
             "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
                            "valueCode": "F"}],
             "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                   "code": "MR"}]}, "system": "urn:oid:1.2.3", "value": f"E{i:06d}"}],
             "name": [{"use": "official", "family": f"Family{i}", "given": ["Given"]}],
             "birthDate": "1960-01-01",
             "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": langs[i % 3]}]},
                                "preferred": True}],
             "managingOrganization": {"reference": "Organization/org"}})
        add({"resourceType": "MedicationRequest", "id": f"mr{i}", "status": "active", "intent": "order",
             "medicationCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc",
                                                       "code": "55513-059-01"}],
                                           "text": "IMDELLTRA 1 mg"},
             "subject": {"reference": f"Patient/{pid}"}, "requester": {"reference": f"Practitioner/dr{i % 20}"}})
        for k, day in enumerate((1, 8)):
            add({"resourceType": "MedicationAdministration", "id": f"ma{i}-{k}", "status": "completed",
                 "medicationCodeableConcept": {"text": "tarlatamab-dlle"}, "subject": {"reference": f"Patient/{pid}"},
                 "effectiveDateTime": f"2026-12-{day:02d}T09:00:00-05:00"})
        add({"resourceType": "CareTeam", "id": f"ct{i}", "status": "active", "subject": {"reference": f"Patient/{pid}"},
             "participant": [{"role": [{"text": "Oncologist"}], "member": {"reference": f"Practitioner/dr{i % 20}"}}],
             "managingOrganization": [{"reference": "Organization/org"}],
             "telecom": [{"system": "phone", "value": "+1 555 010 2030"}]})
        add({"resourceType": "Encounter", "id": f"enc{i}", "status": "finished",
             "class": {"code": "AMB"}, "subject": {"reference": f"Patient/{pid}"}})
        for k in range(2):
            add({"resourceType": "Observation", "id": f"obs{i}-{k}", "status": "final",
                 "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
                 "subject": {"reference": f"Patient/{pid}"}, "valueQuantity": {"value": 2.1}})
    return {"resourceType": "Bundle", "type": "searchset", "entry": entry}


def bench_fhir(patients: int, folder: Path) -> dict:
    """The bundle read (fhir.read_bundle), then read and checked as `batch --patients
    bundle.json` does before it plans (request.checked_rows: dates, glyphs, each card laid out)."""
    from handouts import content, session
    from handouts.fhir import read_bundle
    from handouts.request import ListFile, checked_rows
    path = folder / "bundle.json"
    path.write_text(json.dumps(ehr_bundle(patients)), encoding="utf-8")
    read_bundle(path)  # warm: imports, R4B models
    tracemalloc.start()
    t = time.perf_counter()
    items = read_bundle(path)
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t = time.perf_counter()
    with session.RenderSession():
        rows = checked_rows(ListFile(path), "en", content.default())
    checked_s = time.perf_counter() - t
    return {"patients": patients, "bundle_mb": round(path.stat().st_size / 2**20, 1),
            "resources": patients * 8 + 21, "import_seconds": round(seconds, 2),
            "import_peak_python_mb": round(peak / 2**20, 1),
            "imported": sum(1 for i in items if i.patient is not None),
            "errors": sum(1 for i in items if i.error is not None),
            "import_and_check_seconds": round(checked_s, 2),
            "rows_ready_to_print": sum(1 for _, p in rows if not isinstance(p, Exception))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=10_000)
    ap.add_argument("--patients", type=int, default=1_000)
    ap.add_argument("--record-db", default=None, help="default: a SQLite file in a temporary folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        target = args.record_db or str(Path(tmp) / "record.sqlite3")
        out = {"python": sys.version.split()[0], "database": "postgresql" if "://" in target else "sqlite",
               "record": bench_record_and_recall(target, args.documents),
               "fhir_import": bench_fhir(args.patients, Path(tmp)),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
