"""FHIR R4 in (a Bundle -> patients) and out (a DocumentReference per printed
document), read and validated with fhir.resources' R4B models."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from handouts import papers
from handouts.errors import HandoutsError
from handouts.fhir import Subject, document_reference, parse_bundle, read_bundle, write
from handouts.records import Record, document_id, entries, mrn_key
from tests.helpers import FHIR
from tests.helpers.fhirbundles import bundle, given, patient, request

HERE = FHIR
EHR = HERE / "ehr_export_bundle.json"
NDC_SYSTEM = "http://hl7.org/fhir/sid/ndc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def one(data, settings=None):
    [item] = parse_bundle(data, settings, source="b.json")
    return item


# -- import -------------------------------------------------------------------------

def test_a_real_ehr_export_gives_the_patient_and_says_where_each_value_came_from():
    [item] = read_bundle(EHR)
    assert item.error is None, item.error
    p = item.patient
    assert (p.name, p.first_dose, p.oncologist, p.phone, p.treatment_center, p.locale) == (
        "陳美玲", dt.date(2026, 11, 24), "Dr. Maria Gonzalez", "+1 (555) 010-2030", "Riverside Cancer Center",
        "zh-Hant")
    assert (item.mrn, item.mrn_system) == ("E123456", "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14")
    assert item.first_dose_status == "administered" and item.fhir_id == "e7Xq2"
    assert item.sources["first_dose"] == "MedicationAdministration/ma-1 effectivePeriod.start"
    assert item.sources["oncologist"] == "CareTeam/ct-thoracic participant[1]"
    # The export's Encounter, Observation, Coverage, AllergyIntolerance, a Provenance that
    # is not valid R4, the extensions and the not-done administration change nothing.
    raw = json.loads(EHR.read_text(encoding="utf-8"))
    assert {e["resource"]["resourceType"] for e in raw["entry"]} >= {"Encounter", "Observation", "Provenance"}


def test_first_dose_is_the_first_administration_of_tarlatamab():
    data = bundle(patient(), request(),
                  given("a2", when="2026-12-08T10:00:00-05:00"),
                  given("a1", when="2026-12-01T23:30:00-08:00"),  # the local date as written
                  given("a0", when="2026-11-20T09:00:00-05:00", status="not-done"),
                  given("a-other", when="2026-11-01", concept={"text": "dexamethasone"}))
    item = one(data)
    assert item.patient.first_dose == dt.date(2026, 12, 1) and item.first_dose_status == "administered"
    assert item.sources["first_dose"] == "MedicationAdministration/a1 effectiveDateTime"


def test_a_planned_first_dose_comes_from_the_request_and_is_marked():
    data = bundle(patient(), request(dosageInstruction=[
        {"timing": {"repeat": {"boundsPeriod": {"start": "2026-12-03"}}}},
        {"timing": {"event": ["2026-12-10T09:00:00Z"]}}]))
    item = one(data)
    assert item.patient.first_dose == dt.date(2026, 12, 3) and item.first_dose_status == "planned"
    assert "boundsPeriod.start" in item.sources["first_dose"]
    assert one(bundle(patient(), request())).patient.first_dose is None  # nothing dated: left empty


@pytest.mark.parametrize("concept, settings_rx", [
    ({"coding": [{"system": NDC_SYSTEM, "code": "55513-077-01"}]}, ()),  # 10 mg carton, 5-3-2
    ({"coding": [{"system": NDC_SYSTEM, "code": "55513007701"}]}, ()),  # 11 digits, no hyphens
    ({"coding": [{"system": NDC_SYSTEM, "code": "55513-0059-01"}]}, ()),  # 11 digits, 5-4-2
    ({"coding": [{"system": RXNORM, "code": "123456"}]}, ("123456",)),  # the clinic's RxNorm code
    ({"coding": [{"system": RXNORM, "code": "9", "display": "tarlatamab-dlle 10 MG Injection"}]}, ()),
    ({"text": "Imdelltra (TARLATAMAB) infusion"}, ()),
])
def test_tarlatamab_is_recognised_by_code_or_name(concept, settings_rx):
    from handouts.records.config import FhirSettings
    item = one(bundle(patient(), given(concept=concept)), FhirSettings(rxnorm=list(settings_rx)))
    assert item.error is None and item.patient.first_dose == dt.date(2026, 12, 1)


def test_an_unknown_code_is_not_tarlatamab():
    data = bundle(patient(), given(concept={"coding": [{"system": RXNORM, "code": "123456"}]}))
    item = one(data)
    assert item.patient is None and "no MedicationRequest or MedicationAdministration of tarlatamab" \
        in item.error.message and "Patient/p1" in item.error.subject and item.error.code == "fhir.no_drug"


def test_references_by_urn_absolute_url_and_contained():
    res = [patient("p9"),
           given(pid="ignored", medicationReference={"reference": "urn:uuid:med-1"}, concept=None),
           {"resourceType": "Medication", "id": "m1", "code": {"text": "IMDELLTRA"}}]
    del res[1]["medicationCodeableConcept"]
    res[1]["subject"] = {"reference": "urn:uuid:pat-9"}
    data = bundle(*res, urls=["urn:uuid:pat-9", "urn:uuid:ma-1", "urn:uuid:med-1"])
    assert one(data).patient.first_dose == dt.date(2026, 12, 1)
    res2 = copy.deepcopy(res)
    res2[1]["subject"] = {"reference": "https://ehr.example/fhir/Patient/p9"}
    res2[1]["medicationReference"] = {"reference": "#c1"}
    res2[1]["contained"] = [{"resourceType": "Medication", "id": "c1", "code": {"text": "tarlatamab"}}]
    assert one(bundle(*res2)).patient.first_dose == dt.date(2026, 12, 1)


def test_care_team_oncologist_and_phone_fallbacks():
    prac = {"resourceType": "Practitioner", "id": "dr",
            "name": [{"prefix": ["Dr."], "given": ["Wei"], "family": "Zhang"}],
            "telecom": [{"system": "phone", "value": "+1 555 010 4444"}]}
    org = {"resourceType": "Organization", "id": "o", "name": "Lakeside Oncology",
           "telecom": [{"system": "phone", "value": "+1 555 010 5555"}]}
    # No care team: the requester is the oncologist, whose phone is used.
    item = one(bundle(patient(managingOrganization={"reference": "Organization/o"}), prac, org,
                      request(requester={"reference": "Practitioner/dr"}), given()))
    p = item.patient
    assert (p.oncologist, p.phone, p.treatment_center) == ("Dr. Wei Zhang", "+1 555 010 4444", "Lakeside Oncology")
    assert item.sources["phone"] == "Practitioner/dr telecom"


def test_language_from_communication():
    def lang(*codes, preferred=None):
        comms = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": c}]},
                  **({"preferred": True} if c == preferred else {})} for c in codes]
        return one(bundle(patient(communication=comms), given()))
    assert lang("zh").patient.locale == "zh-Hans"
    assert lang("zh-CN").patient.locale == "zh-Hans"
    assert lang("zh-HK").patient.locale == "zh-Hant"
    assert lang("en", "zh-TW", preferred="zh-TW").patient.locale == "zh-Hant"
    assert lang("es", "en").patient.locale == "en"  # the first language this tool prints
    assert one(bundle(patient(), given())).patient.locale is None
    refused = lang("es")
    assert refused.patient is None and refused.error.field == "communication" and "es" in refused.error.message


def _no_date(r):
    del r[1]["effectiveDateTime"]


def _bad_date(r):
    r[1]["effectiveDateTime"] = "2026-13-01"


def _dangling_medication(r):
    del r[1]["medicationCodeableConcept"]
    r[1]["medicationReference"] = {"reference": "Medication/nowhere"}


def _bad_team_phone(r):
    r.append({"resourceType": "CareTeam", "id": "ct", "status": "active", "subject": {"reference": "Patient/p1"},
              "telecom": [{"system": "phone", "value": "call 555-0100 <b>now</b>"}]})


def _bidi_name(r):
    r[0]["name"] = [{"text": "Ann\u202eExample"}]


@pytest.mark.parametrize("mutate, where, words", [
    (_no_date, "MedicationAdministration/ma1 (entry 1)", "effectiveDateTime"),
    (_bad_date, "MedicationAdministration/ma1 (entry 1)", "effectiveDateTime"),
    (_dangling_medication, "MedicationAdministration/ma1",
     "medicationReference: Medication/nowhere is not in the bundle"),
    (_bad_team_phone, "CareTeam/ct telecom", "phone: a phone number has only digits"),
    (_bidi_name, "Patient/p1 name", "name: contains an invisible formatting character (U+202E"),
])
def test_what_cannot_be_taken_is_an_error_naming_resource_and_field(mutate, where, words):
    res = [patient(), given()]
    mutate(res)
    item = one(bundle(*res))
    assert item.patient is None
    assert where in item.error.subject and words in str(item.error), item.error
    assert "\n" not in str(item.error)


def test_the_other_patients_of_a_bundle_still_import():
    data = bundle(patient("ok"), given("g-ok", pid="ok"), patient("bad"), given("g-bad", pid="bad", status="completed",
                                                                               effectiveDateTime="garbage"))
    items = {i.fhir_id: i for i in parse_bundle(data, source="b.json")}
    assert items["ok"].patient is not None and items["bad"].error is not None


def test_the_same_patient_twice_is_refused():
    mr = {"identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                               "code": "MR"}]}, "system": "urn:x", "value": "7"}]}
    items = parse_bundle(bundle(patient("a", **mr), given("ga", pid="a"), patient("b", **mr), given("gb", pid="b")),
                         source="b.json")
    assert items[0].patient is not None and "the same patient as" in items[1].error.message


def test_a_file_that_is_not_a_bundle(tmp_path):
    cases = {"x.json": (b"{not json", "not valid JSON"),
             "y.json": (json.dumps({"resourceType": "Patient"}).encode(), "not a FHIR Bundle"),
             "z.json": (json.dumps(bundle(given())).encode(), "no Patient"),
             "w.json": (json.dumps({"resourceType": "Bundle", "entry": [{"x": 1}]}).encode(), r"Bundle\.entry\[0\]")}
    for name, (data, words) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(HandoutsError, match=words):
            read_bundle(tmp_path / name)


def test_r4b_models_accept_a_typical_r4_request():
    """fhir.resources' default (R5) models refuse an R4 MedicationRequest's
    medicationCodeableConcept; the importer reads R4B, which has R4's shape."""
    from fhir.resources.medicationrequest import MedicationRequest as R5
    from pydantic import ValidationError
    with pytest.raises(ValidationError):
        R5.model_validate(request())
    assert one(bundle(patient(), request(), given())).error is None


# -- export -------------------------------------------------------------------------

def _print(rec, model, patient_, locale, at, also=None, translation_of=None):
    doc = "wallet-card"
    printed = entries(doc, locale, model, papers.PAPERS["id1"], patient_)
    did = document_id(doc, locale, model.meta.content_version, model.meta.label_revised, {"at": at.isoformat()})
    return rec.record_printed(document=doc, locale=locale, paper="id1", model=model, printed=printed,
                              document_id=str(did), channel="counter", patient_key=mrn_key("E1", "urn:x"),
                              printed_at=at, pdf=b"%PDF-1.7 test", translation_of=translation_of)


def test_document_reference_for_a_print_a_reprint_and_a_translation(tmp_path, model, sample_patient):
    from fhir.resources.R4B.documentreference import DocumentReference
    at = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
    with Record.open(tmp_path / "r.sqlite3") as rec:
        first = _print(rec, model, sample_patient, "en", at)
        again = _print(rec, model, sample_patient, "en", at + dt.timedelta(days=1))
        chinese = _print(rec, model, sample_patient, "zh-Hant", at + dt.timedelta(days=1), translation_of=again.uid)
    pdf = b"%PDF-1.7 test"
    subject = Subject(mrn="E1", mrn_system="urn:x", fhir_id="e7Xq2")
    docs = [document_reference(r, pdf, html_lang=lang, subject=subject)
            for r, lang in ((first, "en-US"), (again, "en-US"), (chinese, "zh-Hant-TW"))]
    out = tmp_path / "fhir"
    paths = [write(d, out) for d in docs]
    for path, row in zip(paths, (first, again, chinese), strict=True):
        data = json.loads(path.read_text(encoding="utf-8"))
        back = DocumentReference.model_validate(data)  # valid R4(B), read back
        assert path.name == f"DocumentReference-{row.uid}.json"
        assert data["type"]["coding"][0] == {"system": "http://loinc.org", "code": "34895-3",
                                             "display": "Education note"}
        assert data["identifier"][0]["value"] == row.document_id and data["status"] == "current"
        assert data["subject"]["reference"] == "Patient/e7Xq2" and data["subject"]["identifier"]["value"] == "E1"
        att = back.content[0].attachment
        assert att.contentType == "application/pdf" and att.size == len(pdf)
        import base64
        assert base64.b64decode(data["content"][0]["attachment"]["data"]) == pdf
    first_d, again_d, chinese_d = (json.loads(p.read_text()) for p in paths)
    assert "relatesTo" not in first_d
    assert again_d["relatesTo"] == [{"code": "replaces", "target": {"reference": f"DocumentReference/{first.uid}"}}]
    assert chinese_d["relatesTo"] == [{"code": "transforms", "target": {"reference": f"DocumentReference/{again.uid}"}}]
    assert chinese_d["content"][0]["attachment"]["language"] == "zh-Hant-TW"


def test_document_reference_by_url_carries_hash_and_size_not_the_pdf(tmp_path, model, sample_patient):
    import base64
    import hashlib
    with Record.open(tmp_path / "r.sqlite3") as rec:
        row = _print(rec, model, sample_patient, "en", dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    pdf = b"%PDF-1.7 test"
    doc = document_reference(row, pdf, html_lang="en-US", url=f"https://docs.example.org/h/{row.uid}.pdf")
    att = json.loads(doc.model_dump_json(exclude_none=True))["content"][0]["attachment"]
    assert "data" not in att and att["url"].endswith(".pdf") and att["size"] == len(pdf)
    assert att["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()


def test_a_link_where_a_document_reference_goes_is_replaced_not_written_through(tmp_path, model, sample_patient):
    with Record.open(tmp_path / "r.sqlite3") as rec:
        row = _print(rec, model, sample_patient, "en", dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    doc = document_reference(row, b"%PDF", html_lang="en-US")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "fhir"
    out.mkdir()
    (out / f"DocumentReference-{row.uid}.json").symlink_to(victim)
    path = write(doc, out)
    assert victim.read_text() == "keep me" and not path.is_symlink()
    assert json.loads(path.read_text())["id"] == row.uid
    assert sorted(p.name for p in out.iterdir()) == [path.name]  # no temporary file left


def test_bundle_size_limit_and_special_files(tmp_path, monkeypatch):
    from handouts.fhir import bundle_in
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    monkeypatch.setattr(bundle_in, "MAX_BUNDLE_BYTES", 1024)
    with pytest.raises(HandoutsError, match="larger than"):
        read_bundle(big)
    with pytest.raises(HandoutsError, match="folder"):
        read_bundle(tmp_path)
    with pytest.raises(HandoutsError, match="no such file"):
        read_bundle(tmp_path / "none.json")
