"""The counter page with a print record (`handouts serve --record`): what it prints is
recorded under the id the paper prints, a patient's outdated paper is shown with a
button to print it again, the schedule downloads as a calendar file, and a patient
comes in from an EHR bundle with the first dose shown and confirmed before printing."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from icalendar import Calendar

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

from tests.helpers import FHIR, pdfcheck, run  # noqa: E402
from handouts import papers  # noqa: E402
from handouts.patient import from_mapping  # noqa: E402
from handouts.records import Record, document_id, entries, keyed_digest, load_key, recall  # noqa: E402

BASE = "http://127.0.0.1"
EHR = FHIR / "ehr_export_bundle.json"
PATIENT = {"name": "Ada Quill", "first_dose": "2026-12-01", "oncologist": "Dr. Maria Gonzalez",
           "phone": "+1 (555) 010-2030", "treatment_center": "Riverside Cancer Center"}


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    """A clinic's settings (record and key in a private folder), seen by the workers."""
    root = tmp_path_factory.mktemp("clinic")
    cfg = root / "config.toml"
    cfg.write_text(f'[record]\nurl = "{root / "record.sqlite3"}"\nkey_file = "{root / "record.key"}"\n')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HANDOUTS_CONFIG", str(cfg))
        yield root


@pytest.fixture(scope="module")
def client(clinic):
    from starlette.testclient import TestClient

    from handouts.web.app import create_app
    from handouts.web.server import check_record
    target = check_record(True, None)
    with TestClient(create_app(workers_count=1, warm=False, record=target), base_url=BASE) as c:
        yield c


def form(**over) -> dict:
    data = {"locale": "en", "documents": "wallet-card", "paper": "letter", "card": "card", **PATIENT}
    data.update(over)
    return data


def _record(clinic):
    return Record.open(clinic / "record.sqlite3")


def _older(model):
    """The content as it was when an earlier card was printed: one card fact differed."""
    fid = model.roles.card.onset_latest
    return model.revised(facts={fid: {"value": model.fact(fid).value + 5}})


def test_what_the_counter_prints_is_recorded_under_the_id_it_prints(client, clinic):
    r = client.post("/en/download", data=form(name="Rec Ord"))
    assert r.status_code == 200
    [printed_id] = pdfcheck.document_ids(r.content)
    secret = load_key(clinic / "record.key", create=False)
    key = keyed_digest(from_mapping({**PATIENT, "name": "Rec Ord"}, "p"), secret).value
    with _record(clinic) as rec:
        [row] = rec.prints(key)
    assert (row.document_id, row.channel, row.document) == (printed_id, "counter", "wallet-card")
    assert client.post("/en/preview", data=form(name="Rec Ord")).status_code == 200
    with _record(clinic) as rec:
        assert len(rec.prints(key)) == 1  # a preview prints nothing
    # A print button's PDF (opened in a tab to print) is a print too.
    r = client.post("/en/print", data=form(name="Rec Ord", documents="both", print="handout"))
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("inline")
    [handout_id] = pdfcheck.document_ids(r.content)
    with _record(clinic) as rec:
        assert [(p.document, p.document_id) for p in rec.prints(key)][-1] == ("handout", handout_id)


def test_an_outdated_card_is_shown_with_a_button_to_print_it_again(client, clinic, model):
    secret = load_key(clinic / "record.key", create=False)
    patient = from_mapping(PATIENT, "p")
    key = keyed_digest(patient, secret)
    old = _older(model)
    with _record(clinic) as rec:
        printed = entries("wallet-card", "en", old, papers.PAPERS["id1"], patient)
        did = str(document_id("wallet-card", "en", old.meta.content_version, old.meta.label_revised, {"x": 1}))
        rec.record_printed(document="wallet-card", locale="en", paper="id1", model=old, printed=printed,
                           document_id=did, channel="batch", patient_key=key,
                           printed_at=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC))
    page = client.post("/en/preview", data=form(documents="handout")).text
    notice = re.search(r'<section id="outdated".*?</section>', page, re.S)
    assert notice and did in notice.group(0) and "November 2, 2026" in notice.group(0)
    button = re.search(r'<button[^>]*name="documents" value="([^"]+)"[^>]*>', notice.group(0))
    assert button and button.group(1) == "wallet-card" and 'formaction="/en/download"' in button.group(0)
    # The button sends the form with that document: the new card, recorded; no notice now.
    r = client.post("/en/download", data=form(documents="wallet-card"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    with _record(clinic) as rec:
        assert recall(rec, model, key.value) == []
    assert 'id="outdated"' not in client.post("/en/preview", data=form()).text
    # A Chinese page words the notice in Chinese.
    other = from_mapping({**PATIENT, "name": "林美玲"}, "p")
    with _record(clinic) as rec:
        rec.record_printed(document="wallet-card", locale="zh-Hant", paper="id1", model=old,
                           printed=entries("wallet-card", "zh-Hant", old, papers.PAPERS["id1"], other),
                           document_id=did, channel="batch", patient_key=keyed_digest(other, secret),
                           printed_at=dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC))
    zh = client.post("/zh-Hant/preview", data=form(locale="zh-Hant", name="林美玲")).text
    assert "已過時" in re.search(r'<section id="outdated".*?</section>', zh, re.S).group(0)


def test_the_schedule_downloads_as_a_calendar_file(client, model):
    r = client.post("/zh-Hans/calendar", data=form(locale="zh-Hans"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert r.headers["content-disposition"].startswith("attachment;") and ".ics" in r.headers["content-disposition"]
    events = sorted(Calendar.from_ical(r.content).walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert events[0].decoded("dtstart") == dt.date(2026, 12, 1)
    assert PATIENT["phone"] in str(events[0]["description"])
    bad = client.post("/en/calendar", data=form(first_dose=""))
    assert bad.status_code == 422 and 'id="first_dose-error"' in bad.text


def _upload(client, data: bytes, ui="en"):
    return client.post(f"/{ui}/bundle", files={"bundle": ("today.json", data, "application/json")},
                       data={"locale": ui})


def test_a_patient_from_an_ehr_bundle_is_confirmed_before_printing(client, clinic):
    page = _upload(client, EHR.read_bytes())
    assert page.status_code == 200
    assert 'value="陳美玲"' in page.text and 'value="2026-11-24"' in page.text
    source = re.search(r'<p class="hint" id="first_dose-ehr">(.*?)</p>', page.text, re.S).group(1)
    assert "MedicationAdministration" in source and "effective" in source
    hidden = dict(re.findall(r'<input type="hidden" name="(mrn|mrn_system|first_dose_from)" value="([^"]*)"',
                             page.text))
    assert hidden["mrn"] == "E123456"
    values = {**form(locale="zh-Hant", name="陳美玲", first_dose="2026-11-24"), **hidden}
    refused = client.post("/zh-Hant/download", data=values)
    assert refused.status_code == 422 and 'id="first_dose-error"' in refused.text
    r = client.post("/zh-Hant/download", data={**values, "first_dose_confirmed": "yes"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    with _record(clinic) as rec:
        rows = rec.prints("mrn:" + hidden["mrn_system"] + "|E123456")
    assert len(rows) == 1 and rows[0].key_kind == "mrn"  # the EHR's MRN keys the record


def test_a_bundle_of_several_patients_lists_them_to_choose_one(client):
    from tests.helpers.fhirbundles import bundle, given, patient
    data = bundle(patient("p1", name=[{"text": "Ann One"}]), given("g1", pid="p1"),
                  patient("p2", name=[{"text": "Bo Two"}]), given("g2", pid="p2", when="2026-12-05T08:00:00Z"),
                  patient("p3", name=[{"text": "No Drug"}]))
    page = _upload(client, json.dumps(data).encode()).text
    listed = re.search(r'<section id="ehr-patients".*?</section>', page, re.S).group(0)
    assert "Ann One" in listed and "Bo Two" in listed and "Patient/p3" in listed  # p3: its error, by resource
    chosen = re.findall(r'<form method="post" action="/en/fill">(.*?)</form>', listed, re.S)[1]
    values = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', chosen))
    filled = client.post("/en/fill", data=values).text
    assert 'value="Bo Two"' in filled and 'value="2026-12-05"' in filled and 'id="first_dose_confirmed"' in filled


def test_a_file_that_is_not_a_bundle_is_a_plain_error(client):
    r = _upload(client, b"{not json")
    assert r.status_code == 422 and "JSON" in r.text
    r = client.post("/en/bundle", data={"locale": "en"}, files={"bundle": ("", b"", "application/json")})
    assert r.status_code == 400


def test_serve_refuses_a_record_it_cannot_use_before_any_worker(capsys, tmp_path):
    import socket
    bad = tmp_path / "record.sqlite3"
    bad.write_text("not a database")
    # the port is taken, so a record checked too late would be refused as --port (not hang serving)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = run(capsys, "serve", "--record-db", bad, "--port", taken.getsockname()[1])
    assert code == 2 and "--record-db" in err and err.count("\n") == 1
