"""The print record wired into every door: `build` and `batch` with --record (the
settings file's record or --record-db), then a content change to one fact, `recall`
names exactly the patients and documents it made wrong, and `recall --reprint` prints
them again through the batch and records them. On SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import re

import pytest
from pypdf import PdfReader

from handouts import batch, content, paths
from handouts.records import Record, docid
from handouts.records.recalls import recall

from conftest import run

LIST = """name,first_dose,phone,locale
Ann Lee,2026-12-01,555 0100,en
Li Wei 李伟,2026-12-03,555 0101,zh-Hans
Chen Mei 陳美,2026-12-08,555 0102,zh-Hant
"""


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """A clinic's settings file; the record key in a temporary folder."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[record]\nurl = "{tmp_path / "settings-record.sqlite3"}"\nkey_file = "{tmp_path / "record.key"}"\n')
    monkeypatch.setenv("HANDOUTS_CONFIG", str(cfg))
    return cfg


@pytest.fixture
def content_file(tmp_path, monkeypatch):
    """The content model as a file this test may change (as a clinic edits its copy)."""
    path = tmp_path / "tarlatamab.toml"
    path.write_text(paths.content_file().read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(paths, "content_file", lambda: path)

    def reload():
        content.default.cache_clear()
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
    cards = sorted(out.glob("patients/*/wallet-card-*.pdf"))
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
    assert {PdfReader(f).metadata["/Keywords"] for f in out.glob("patients/*/handout-*.pdf")} \
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
