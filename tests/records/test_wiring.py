"""The print record wired into every door: `build` and `batch` with --record (the
settings file's record or --record-db), then a content change to one fact, `recall`
names exactly the patients and documents it made wrong, and `recall --reprint` prints
them again through the batch and records them. On SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pytest
from pypdf import PdfReader

from handouts import batch, content, paths
from handouts.records import Record, docid
from handouts.records.recalls import recall

from tests.helpers import pdfcheck, run

LIST = """name,first_dose,phone,locale
Ann Lee,2026-12-01,555 0100,en
Li Wei 李伟,2026-12-03,555 0101,zh-Hans
Chen Mei 陳美,2026-12-08,555 0102,zh-Hant
"""


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """A clinic's settings file; the record key in a temporary folder."""
    cfg = tmp_path / "config.toml"
    record, key = tmp_path / "settings-record.sqlite3", tmp_path / "record.key"
    cfg.write_text(f'[record]\nurl = "{record}"\nkey_file = "{key}"\n')
    monkeypatch.setenv("HANDOUTS_CONFIG", str(cfg))
    return cfg


@pytest.fixture
def content_file(tmp_path, monkeypatch):
    """The content pack as a copy this test may change (as a clinic edits its copy)."""
    shutil.copytree(paths.content_pack(), tmp_path / "pack")
    path = tmp_path / "pack" / "content.toml"
    monkeypatch.setenv(paths.CONTENT_ENV, str(path.parent))

    def reload():
        content._loaded.cache_clear()
        batch._content_digest.cache_clear()
    reload()
    yield path, reload
    monkeypatch.undo()
    reload()


def _change_fact(path, fact: str, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    block = re.search(rf"\[facts\.{fact}\]\nvalue = {old}\n", text)
    assert block, fact
    path.write_text(text.replace(block.group(0), f"[facts.{fact}]\nvalue = {new}\n"), encoding="utf-8")


def _who(results):
    return sorted((r.patient_key.split(":")[0] if r.patient_key else "stock", r.document, o.print.locale)
                  for r in results for o in r.outdated)


def test_batch_record_change_one_fact_recall_exactly_and_reprint(record_url, settings, content_file, tmp_path,
                                                                   capsys):
    path, reload = content_file
    listing = tmp_path / "today.csv"
    listing.write_text(LIST, encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run(capsys, "batch", "--patients", listing, "--record-db", record_url, "--out", out, "--jobs", "1")
    assert code == 0, err
    # A walk-in patient's card, printed by `build` into the same record.
    walk_in = tmp_path / "walk-in.toml"
    walk_in.write_text('name = "Walk In"\nfirst_dose = 2026-12-02\nlocale = "en"\n', encoding="utf-8")
    code, _, err = run(capsys, "build", "wallet-card", "--patient", walk_in, "--record-db", record_url,
                       "--out", tmp_path / "counter")
    assert code == 0, err
    with Record.open(record_url) as rec:
        prints = rec.prints()
        assert len(prints) == 7 and {p.channel for p in prints} == {"batch", "cli"}
        for p in prints:  # what the record names is what the paper prints
            assert docid.parse(p.document_id) is not None
    assert run(capsys, "recall", "--record-db", record_url)[0] == 0

    # One fact changes: how far from the treatment center to stay (handouts only).
    _change_fact(path, "stay_near_distance", "1", "2")
    reload()
    code, table, _ = run(capsys, "recall", "--record-db", record_url, "--csv")
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {(r["document"], r["locale"], r["fact"]) for r in rows} == {
        ("handout", "en", "stay_near_distance"), ("handout", "zh-Hans", "stay_near_distance"),
        ("handout", "zh-Hant", "stay_near_distance")}
    assert all(r["key_kind"] == "keyed" for r in rows) and len({r["patient"] for r in rows}) == 3
    with Record.open(record_url) as rec:
        assert _who(recall(rec, content.default())) == [("keyed", "handout", "en"), ("keyed", "handout", "zh-Hans"),
                                                         ("keyed", "handout", "zh-Hant")]
        before = {p.uid: p for p in rec.prints()}
    cards = sorted(out.glob("patients/*/tarlatamab-wallet-card-*.pdf"))
    assert len(cards) == 3
    card_bytes = [c.read_bytes() for c in cards]

    # --reprint: the three handouts, through the batch, into the same folders; recorded.
    code, _, err = run(capsys, "recall", "--record-db", record_url, "--patients", listing, "--reprint",
                       "--out", out, "--jobs", "1")
    assert code == 0, err
    assert [c.read_bytes() for c in cards] == card_bytes  # the cards were right: not printed again
    with Record.open(record_url) as rec:
        assert recall(rec, content.default()) == []
        new = [p for p in rec.prints() if p.uid not in before]
        assert sorted((p.document, p.locale, p.channel) for p in new) == [
            ("handout", "en", "recall"), ("handout", "zh-Hans", "recall"), ("handout", "zh-Hant", "recall")]
        assert all(before[p.replaces].document == "handout" and before[p.replaces].locale == p.locale for p in new)
    # The new papers, in the patients' folders, print the ids the record holds.
    handouts = list(out.glob("patients/*/tarlatamab-handout-*.pdf"))
    assert len(handouts) == 3 and {PdfReader(f).metadata["/Keywords"] for f in handouts} \
        == {p.document_id for p in new}
    assert run(capsys, "recall", "--record-db", record_url)[0] == 0


def test_a_batch_rerun_records_only_what_it_did_not_record(settings, tmp_path, capsys):
    listing = tmp_path / "today.csv"
    listing.write_text(LIST, encoding="utf-8")
    out = tmp_path / "out"
    assert run(capsys, "batch", "--patients", listing, "--out", out, "--jobs", "1")[0] == 0  # not recorded
    assert run(capsys, "batch", "--patients", listing, "--record", "--out", out, "--jobs", "1")[0] == 0
    with Record.open(tmp_path / "settings-record.sqlite3") as rec:  # --record: the settings file's record
        assert rec.counts()["prints"] == 6  # the files made by the first run, recorded once
    assert run(capsys, "batch", "--patients", listing, "--record", "--out", out, "--jobs", "1")[0] == 0
    with Record.open(tmp_path / "settings-record.sqlite3") as rec:
        assert rec.counts()["prints"] == 6


def test_a_record_that_cannot_be_used_refuses_before_any_file(settings, tmp_path, capsys):
    bad = tmp_path / "record.sqlite3"
    bad.write_text("not a database")
    out = tmp_path / "out"
    code, _, err = run(capsys, "build", "handout", "--sample", "--record-db", bad, "--out", out)
    assert code == 2 and "--record-db" in err and err.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())
    code, _, err = run(capsys, "build", "handout", "--record-db", "mysql://x/y", "--out", out)
    assert code == 2 and "mysql" in err and "--record-db" in err


def test_recall_of_one_paper_by_its_id(settings, content_file, tmp_path, capsys):
    path, reload = content_file
    patient = tmp_path / "p.toml"
    patient.write_text('name = "Ann Lee"\nfirst_dose = 2026-12-01\n', encoding="utf-8")
    code, out_text, _ = run(capsys, "build", "handout", "--patient", patient, "--record", "--out", tmp_path / "o")
    assert code == 0
    printed = Record.open(tmp_path / "settings-record.sqlite3").prints()[0].document_id
    assert run(capsys, "recall", "--document", printed.lower())[0] == 0  # typed from paper: current
    _change_fact(path, "stay_near_distance", "1", "2")
    reload()
    code, table, _ = run(capsys, "recall", "--document", printed)
    assert code == 1 and printed in table and "stay_near_distance" in table
    code, _, err = run(capsys, "recall", "--document", "H-en-2026.12.0-2511-AAAAAAAA")
    assert code == 2 and "H-en-2026.12.0-2511-AAAAAAAA" in err


# -- FHIR in, documents and DocumentReferences out; the calendar ------------------------

def _bundle_file(tmp_path):
    from tests.helpers.fhirbundles import bundle, given, patient
    mr = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
          "system": "urn:oid:1.2.3", "value": "E100"}
    comm = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "zh-TW"}]}, "preferred": True}]
    data = bundle(patient("p1", identifier=[mr], communication=comm), given("g1", pid="p1"),
                  patient("p2", name=[{"text": "Bo Lin"}], telecom=[{"system": "phone", "value": "555 0199"}]),
                  given("g2", pid="p2", when="2026-12-05T08:00:00-05:00"),
                  patient("p3", name=[{"text": "No Drug"}]))  # no tarlatamab: that row's error
    path = tmp_path / "today.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_bundle_in_documents_and_document_references_out(settings, tmp_path, capsys):
    import base64
    import hashlib

    from fhir.resources.R4B.documentreference import DocumentReference
    out, fhir = tmp_path / "out", tmp_path / "fhir"
    code, _, err = run(capsys, "batch", "--patients", _bundle_file(tmp_path), "--record", "--fhir-out", fhir,
                       "--ics", "--out", out, "--jobs", "1")
    assert code == 2 and "today.json Patient/p3" in err and "row skipped" in err  # the bad Patient only
    pdfs = {p.relative_to(out).as_posix(): p for p in out.glob("patients/*/*.pdf")}
    assert len(pdfs) == 4  # two patients, a handout and a card each
    files = sorted(fhir.glob("*.json"))
    refs = [DocumentReference.model_validate_json(f.read_text()) for f in files]  # validated as R4(B)
    assert len(refs) == 4
    by_sha = {hashlib.sha256(p.read_bytes()).hexdigest(): name for name, p in pdfs.items()}
    for f, ref in zip(files, refs, strict=True):
        assert ref.type.coding[0].code == "34895-3" and ref.type.coding[0].system == "http://loinc.org"
        att = ref.content[0].attachment
        data = base64.b64decode(json.loads(f.read_text())["content"][0]["attachment"]["data"])  # as the file holds it
        assert data == att.data and hashlib.sha256(data).hexdigest() in by_sha and att.size == len(data)
        assert pdfcheck.document_ids(data) == [ref.identifier[0].value]
    mrn = [r for r in refs if r.subject.identifier is not None]
    assert len(mrn) == 2 and all(r.subject.identifier.value == "E100" and r.subject.reference == "Patient/p1"
                                 and r.content[0].attachment.language == "zh-Hant" for r in mrn)
    with Record.open(tmp_path / "settings-record.sqlite3") as rec:
        keys = {p.patient_key for p in rec.prints()}
    assert "mrn:urn:oid:1.2.3|E100" in keys and len(keys) == 2  # an MRN when the EHR gives one, else keyed
    # Each patient's calendar, beside the documents.
    assert len(list(out.glob("patients/*/schedule-*.ics"))) == 2


def test_a_reprint_replaces_the_documentreference_it_supersedes(settings, content_file, tmp_path, capsys):
    from fhir.resources.R4B.documentreference import DocumentReference
    path, reload = content_file
    bundle_path = _bundle_file(tmp_path)
    out = tmp_path / "out"
    run(capsys, "batch", "--patients", bundle_path, "--record", "--fhir-out", tmp_path / "first", "--out", out,
        "--jobs", "1")
    first = {DocumentReference.model_validate_json(f.read_text()).id for f in (tmp_path / "first").glob("*.json")}
    _change_fact(path, "crs_onset_latest", r"\S+", "30")
    reload()
    code, _, err = run(capsys, "recall", "--patients", bundle_path, "--reprint", "--fhir-out", tmp_path / "again",
                       "--out", out, "--jobs", "1")
    assert code == 0, err
    again = [DocumentReference.model_validate_json(f.read_text()) for f in (tmp_path / "again").glob("*.json")]
    assert len(again) == 4  # the value is on the card and in the handout
    for ref in again:
        [rel] = ref.relatesTo
        assert rel.code == "replaces" and rel.target.reference.removeprefix("DocumentReference/") in first


def test_a_calendar_needs_one_patient_with_a_first_dose(settings, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run(capsys, "build", "handout", "--ics", "--out", out)
    assert code == 2 and "--ics" in err and not out.exists()
    p = tmp_path / "p.toml"
    p.write_text('name = "Ann Lee"\n', encoding="utf-8")
    code, _, err = run(capsys, "build", "handout", "--patient", p, "--ics", "--out", out)
    assert code == 2 and "first_dose" in err and not out.exists()
    p.write_text('name = "Ann Lee"\nfirst_dose = 2026-12-01\n', encoding="utf-8")
    code, printed, _ = run(capsys, "build", "handout", "--patient", p, "--ics", "--out", out)
    from icalendar import Calendar
    [ics] = [line for line in printed.splitlines() if line.endswith(".ics")]
    events = Calendar.from_ical(open(ics, "rb").read()).walk("VEVENT")
    assert min(e.decoded("dtstart") for e in events).isoformat() == "2026-12-01"


def test_cards_on_a_sheet_are_recorded_one_by_one_without_a_copy(settings, tmp_path, capsys):
    from fhir.resources.R4B.documentreference import DocumentReference
    listing = tmp_path / "today.csv"
    listing.write_text(LIST, encoding="utf-8")
    code, _, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients", listing, "--record",
                       "--fhir-out", tmp_path / "fhir", "--out", tmp_path / "out")
    assert code == 0, err
    with Record.open(tmp_path / "settings-record.sqlite3") as rec:
        prints = rec.prints()
    assert sorted((p.document, p.locale, p.paper) for p in prints) == [
        ("wallet-card", "en", "letter-8up"), ("wallet-card", "zh-Hans", "letter-8up"),
        ("wallet-card", "zh-Hant", "letter-8up")]
    [sheet] = (tmp_path / "out").glob("*.pdf")
    assert pdfcheck.document_ids(sheet) == [p.document_id for p in prints]
    for f in (tmp_path / "fhir").glob("*.json"):
        att = DocumentReference.model_validate_json(f.read_text()).content[0].attachment
        assert att.data is None and att.url is None  # the sheet holds other patients' cards


def test_one_document_in_two_languages_in_one_run_is_a_translation(settings, content_file, tmp_path, capsys):
    """A patient who holds the handout in English and in Chinese gets both again in one
    reprint: the second's DocumentReference transforms the first (and each replaces its own)."""
    from fhir.resources.R4B.documentreference import DocumentReference
    path, reload = content_file
    p = tmp_path / "p.toml"
    p.write_text('name = "Ann Lee"\nfirst_dose = 2026-12-01\n', encoding="utf-8")
    for locale in ("en", "zh-Hans"):
        assert run(capsys, "build", "handout", "--patient", p, "--locale", locale, "--record",
                   "--out", tmp_path / "o")[0] == 0
    listing = tmp_path / "list.csv"
    listing.write_text("name,first_dose\nAnn Lee,2026-12-01\n", encoding="utf-8")
    _change_fact(path, "stay_near_distance", "1", "2")
    reload()
    code, _, err = run(capsys, "recall", "--patients", listing, "--reprint", "--fhir-out", tmp_path / "fhir",
                       "--out", tmp_path / "out", "--jobs", "1")
    assert code == 0, err
    refs = {r.content[0].attachment.language: r for r in
            (DocumentReference.model_validate_json(f.read_text()) for f in (tmp_path / "fhir").glob("*.json"))}
    assert set(refs) == {"en-US", "zh-Hans"}
    first, second = sorted(refs.values(), key=lambda r: len(r.relatesTo))
    assert [x.code for x in first.relatesTo] == ["replaces"]
    assert sorted(x.code for x in second.relatesTo) == ["replaces", "transforms"]
    [transforms] = [x for x in second.relatesTo if x.code == "transforms"]
    assert transforms.target.reference == f"DocumentReference/{first.id}"


def test_a_reprint_reads_the_list_and_names_the_folders_as_the_batch_did(settings, content_file, tmp_path, capsys):
    """A list with the clinic's own dates (12/01/2026) printed into folders named by
    initials: recall reads the list as the batch read it and reprints into the same
    folders (never beside them under full names)."""
    path, reload = content_file
    listing = tmp_path / "today.csv"
    listing.write_text("name,first_dose,phone\nAnn Lee,12/01/2026,555 0100\nBo Chen,12/08/2026,555 0101\n",
                       encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run(capsys, "batch", "--patients", listing, "--file-names", "initials", "--record",
                       "--out", out, "--jobs", "1")
    assert code == 0, err
    folders = sorted(p.name for p in (out / "patients").iterdir() if p.is_dir())
    assert len(folders) == 2 and all(f.startswith(("AL-", "BC-")) for f in folders), folders
    before = {f: f.read_bytes() for f in out.glob("patients/*/tarlatamab-handout-*.pdf")}
    assert len(before) == 2
    _change_fact(path, "stay_near_distance", "1", "2")
    reload()
    code, _, err = run(capsys, "recall", "--patients", listing, "--file-names", "initials", "--reprint",
                       "--out", out, "--jobs", "1")
    assert code == 0, err
    assert sorted(p.name for p in (out / "patients").iterdir() if p.is_dir()) == folders
    after = {f: f.read_bytes() for f in out.glob("patients/*/tarlatamab-handout-*.pdf")}
    assert set(after) == set(before) and all(after[f] != before[f] for f in after)  # printed again, in place
    with Record.open(tmp_path / "settings-record.sqlite3") as rec:
        assert recall(rec, content.default()) == []
