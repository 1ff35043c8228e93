"""FHIR resources and bundles built in the tests (the import's input)."""

from __future__ import annotations

NDC_SYSTEM = "http://hl7.org/fhir/sid/ndc"


def patient(pid="p1", **extra):
    res = {"resourceType": "Patient", "id": pid, "name": [{"given": ["Ann"], "family": "Example"}]}
    res.update(extra)
    return res


def request(rid="mr1", pid="p1", concept=None, **extra):
    res = {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
           "subject": {"reference": f"Patient/{pid}"},
           "medicationCodeableConcept": concept or {"text": "IMDELLTRA 10 mg"}}
    res.update(extra)
    return res


def given(aid="ma1", pid="p1", when="2026-12-01T09:30:00-05:00", concept=None, status="completed", **extra):
    res = {"resourceType": "MedicationAdministration", "id": aid, "status": status,
           "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when,
           "medicationCodeableConcept": concept or {"coding": [{"system": NDC_SYSTEM, "code": "55513-059-01"}]}}
    res.update(extra)
    return res


def bundle(*resources, urls=None):
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r, **({"fullUrl": urls[i]} if urls else {})} for i, r in enumerate(resources)]}
