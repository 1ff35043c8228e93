"""`handouts recall` and `handouts record ...` on the command line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys

import pytest

from handouts import papers
from handouts.records import Record, document_id, entries, keyed_digest, load_key, mrn_key

from tests.helpers import run

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """A clinic's settings file: the record and the key in a temporary folder."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[record]\nurl = "{tmp_path / "rec.sqlite3"}"\nkey_file = "{tmp_path / "record.key"}"\n')
    monkeypatch.setenv("HANDOUTS_CONFIG", str(cfg))
    return tmp_path


def _card(rec, model, patient, key, locale="en"):
    printed = entries("wallet-card", locale, model, papers.PAPERS["id1"], patient)
    did = document_id("wallet-card", locale, model.meta.content_version, model.meta.label_revised, {"x": 1})
    return rec.record_printed(document="wallet-card", locale=locale, paper="id1", model=model, printed=printed,
                              document_id=str(did), channel="batch", patient_key=key, printed_at=T0)


def _old_model(model):
    """The model as it was when the cards were printed: one fact had another value."""
    return model.revised(facts={"crs_onset_latest": {"value": 14}})


def test_recall_lists_the_outdated_cards_and_exits_1(settings, capsys, model, sample_patient, tmp_path):
    secret = load_key(tmp_path / "record.key")
    old = _old_model(model)
    with Record.open(tmp_path / "rec.sqlite3", secret=secret) as rec:
        _card(rec, old, sample_patient, keyed_digest(sample_patient, secret))
        _card(rec, old, sample_patient, mrn_key("E1", "urn:x"), locale="zh-Hans")
        _card(rec, model, sample_patient, mrn_key("E2", "urn:x"))  # printed after the change
    code, out, err = run(capsys, "recall")
    assert code == 1 and err == ""
    assert out.startswith("2 patient(s), 2 outdated document(s):")
    assert "mrn:urn:x|E1: wallet-card" in out and "E2" not in out and "crs_onset_latest" in out
    assert sample_patient.name not in out  # the record has no names
    # The clinic's own list names its patients.
    listing = tmp_path / "today.csv"
    listing.write_text("name,first_dose,oncologist,phone,treatment_center\n" + ",".join(
        str(getattr(sample_patient, f)) for f in ("name", "first_dose", "oncologist", "phone", "treatment_center"))
        + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "recall", "--csv", "--patients", listing)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1 and {r["name"] for r in rows} == {sample_patient.name, ""}
    code, out, _ = run(capsys, "recall", "--mrn", "urn:x|E2")
    assert code == 0 and out.startswith("No recorded document")


def test_record_info_upgrade_forget_prune(settings, capsys, model, sample_patient, tmp_path):
    secret = load_key(tmp_path / "record.key")
    patient_file = tmp_path / "p.toml"
    patient_file.write_text(f'name = "{sample_patient.name}"\nfirst_dose = {sample_patient.first_dose}\n'
                            f'oncologist = "{sample_patient.oncologist}"\nphone = "{sample_patient.phone}"\n'
                            f'treatment_center = "{sample_patient.treatment_center}"\n', encoding="utf-8")
    with Record.open(tmp_path / "rec.sqlite3", secret=secret) as rec:
        _card(rec, model, sample_patient, keyed_digest(sample_patient, secret))
        _card(rec, model, sample_patient, mrn_key("E1", "urn:x"))
        _card(rec, model, sample_patient, mrn_key("E2", "urn:x"))
    code, out, _ = run(capsys, "record", "info")
    assert code == 0 and "prints: 3" in out and "patients: 3" in out and "patient details kept: no" in out
    code, out, _ = run(capsys, "record", "upgrade")
    assert code == 0 and "schema 0001" in out
    assert run(capsys, "record", "forget", "--patient", patient_file)[1] == "forgot 1 print(s) of one patient\n"
    assert run(capsys, "record", "forget", "--mrn", "urn:x|E1")[1] == "forgot 1 print(s) of one patient\n"
    assert "holds nothing" in run(capsys, "record", "forget", "--mrn", "urn:x|E1")[1]
    code, _, err = run(capsys, "record", "forget", "--mrn", "x", "--key", "y")
    assert code == 2 and "exactly one" in err
    assert run(capsys, "record", "prune", "--before", "2027-01-01")[1] == "forgot 1 patient(s); deleted 1 print(s)\n"
    assert "prints: 0" in run(capsys, "record", "info")[1]


def test_errors_are_one_line(settings, capsys, tmp_path):
    code, out, err = run(capsys, "recall", "--record-db", tmp_path / "none.sqlite3")
    assert code == 2 and out == "" and err.count("\n") == 1 and "no print record" in err
    assert not (tmp_path / "none.sqlite3").exists()
    (tmp_path / "config.toml").write_text("[record]\nurl = 5\n")
    code, _, err = run(capsys, "recall")
    assert code == 2 and "record.url" in err and err.count("\n") == 1
    (tmp_path / "config.toml").write_text("[fhir]\nattachment = \"url\"\n")
    code, _, err = run(capsys, "record", "info")
    assert code == 2 and "url_base" in err


def test_record_commands_do_not_slow_down_the_others(tmp_path):
    """`handouts list` and `--help` import no database, FHIR or calendar library."""
    code = ("import sys; from handouts.cli import main; main(['list']); main(['--help']); "
            "print(sorted(m for m in ('sqlalchemy', 'alembic', 'fhir', 'icalendar', 'psycopg') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert json.loads(res.stdout.splitlines()[-1].replace("'", '"')) == []

