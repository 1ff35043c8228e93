"""Batches and builds on a busy day: re-runs of a corrected list, a second language, things
in the way inside --out, two batches into one folder, odd clocks and odd file names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from handouts import clock
from conftest import run
from test_trust_input import assert_one_line_error

HEADER = "name,first_dose,oncologist,phone,treatment_center,locale\n"


# -- SOURCE_DATE_EPOCH: the range the date arithmetic needs -----------------------------

def _epoch(day: dt.date) -> str:
    return str(int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()))


@pytest.mark.parametrize("value", [
    "1" * 5000,                                    # int() refuses it: not an internal error
    "0" * 30 + "1" * 20,                           # leading zeros hide a huge number
    _epoch(dt.date(9998, 6, 1)),                   # any day of the last year(s) before 10000
    _epoch(dt.date(9999, 12, 31)),
])
def test_a_source_date_epoch_too_late_for_the_documents_is_refused(capsys, tmp_path, monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    p = tmp_path / "p.toml"
    p.write_text('name = "Ann"\nfirst_dose = 2026-12-01\n')
    code, out, err = run(capsys, "build", "handout", "--patient", p, "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "SOURCE_DATE_EPOCH", tmp_path / "o")
    assert len(err) < 400, err


def test_the_latest_accepted_print_date_builds_a_personal_schedule(capsys, tmp_path, monkeypatch):
    """The last second accepted: a first dose a year after it still gets its visits."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(clock.LATEST))
    last = dt.date(clock.LATEST_YEAR, 12, 31)
    assert clock.print_date() == last
    p = tmp_path / "p.toml"
    p.write_text(f'name = "Ann"\nfirst_dose = {last + dt.timedelta(days=366)}\n')
    for doc in ("handout", "wallet-card"):
        code, out, err = run(capsys, "build", doc, "--patient", p, "--out", tmp_path / "o")
        assert code == 0, err
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(clock.LATEST + 1))
    assert_one_line_error(*run(capsys, "build", "poster", "--out", tmp_path / "o2"), "SOURCE_DATE_EPOCH")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")  # 1970: every first dose is refused, nothing breaks
    assert run(capsys, "build", "poster", "--out", tmp_path / "o3")[0] == 0


# -- untrusted file names are printed escaped --------------------------------------------

def _no_raw_controls(text: str) -> None:
    assert "\x1b" not in text and "\r" not in text, text
    for line in text.splitlines():  # a newline in a name must not start a line of its own
        assert line.startswith(("handouts:", "[", "failed:")) or not line.strip() or "│" in line \
            or line.strip().startswith(("┏", "┃", "┡", "└", "handouts batch", "nothing to do")), line


def test_untrusted_file_names_are_printed_escaped(capsys, tmp_path):
    name = "y\x1b[31mred\nb.csv"
    csv = tmp_path / name
    csv.write_text(HEADER + "Ann,2026-12-01,,,,en\nBob,20261,,,,en\n")
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", tmp_path / "o", "--jobs", "1")
    assert code == 2
    _no_raw_controls(err)
    _no_raw_controls(out)
    assert "y\\x1b[31mred\\nb.csv row 3: first_dose" in err  # the bad row, escaped
    assert err.count("(y\\x1b[31mred\\nb.csv row 2)") == 2  # the progress lines, escaped
    # Errors about a file name, from handouts and from click (which quotes with repr), escape it too.
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients",
                         tmp_path / "z\x1b]0;owned\x07.csv", "--out", tmp_path / "o")
    assert code == 2 and "z\\x1b]0;owned\\x07.csv" in err
    _no_raw_controls(err)
    code, out, err = run(capsys, "text", tmp_path / "w\x1b[2J\u202e.pdf")
    assert code == 2 and "w\\x1b[2J\\u202e.pdf" in err
    _no_raw_controls(err)


def test_the_summary_prints_a_list_name_as_text_not_markup(capsys, tmp_path):
    from handouts import batch
    from handouts.progress import Reporter
    job = batch.Job("handout", "en", "letter", tmp_path, "patients/x/handout-en-letter.pdf",
                    origin="[red]today[/red].csv row 2")
    reporter = Reporter(1)
    reporter.summary([batch.Result(job, "failed", error="out: cannot write")], [])
    out = capsys.readouterr().out
    assert "failed: handout en letter ([red]today[/red].csv row 2): out: cannot write" in " ".join(out.split())


# -- a folder where a PDF or manifest.json goes ----------------------------------------

def _errors(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("handouts: error") or ln.startswith("failed:")]


@pytest.mark.parametrize("where", ["en/handout-en-letter.pdf", "en/manifest.json"])
def test_a_folder_where_a_file_goes_refuses_that_file_and_builds_the_rest(capsys, tmp_path, stub_render, where):
    out_dir = tmp_path / "o"
    (out_dir / where).mkdir(parents=True)
    (out_dir / where / "keep.txt").write_text("someone's")
    code, out, err = run(capsys, "batch", "--locale", "en", "--out", out_dir, "--jobs", "1")
    assert code == 1, err
    assert "internal error" not in err and "Traceback" not in err
    named = [ln for ln in (out + err).splitlines() if str(out_dir / where) in ln]
    assert named and all("is a folder where handouts writes a file" in ln for ln in named), out + err
    assert (out_dir / where / "keep.txt").read_text() == "someone's"
    built = {p.name for p in (out_dir / "en").glob("*.pdf") if p.is_file()}
    from handouts import batch
    expected = {j.name for j in batch.plan_locale("en", out_dir)} - {Path(where).name}
    assert built == expected
    if where.endswith(".pdf"):  # the others are recorded; the next run builds only the refused one again
        assert {f["file"] for f in json.loads((out_dir / "en" / "manifest.json").read_text())["files"]} == expected
        (out_dir / where / "keep.txt").unlink()
        (out_dir / where).rmdir()
        code, out, err = run(capsys, "batch", "--locale", "en", "--out", out_dir, "--jobs", "1")
        assert code == 0 and err.count(" built ") == 1, err
    else:  # once per run, not once per file
        assert len([ln for ln in err.splitlines() if "manifest" in ln]) == 1, err


def test_a_folder_where_a_patients_manifest_goes(capsys, tmp_path, stub_render):
    csv = tmp_path / "today.csv"
    csv.write_text(HEADER + "Ann,2026-12-01,,,,en\n")
    out_dir = tmp_path / "o"
    (out_dir / "patients" / "manifest.json").mkdir(parents=True)
    for _ in range(2):  # and on every re-run
        code, out, err = run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")
        assert code == 1 and "internal error" not in err, err
        assert len(_errors(err)) == 1 and str(out_dir / "patients" / "manifest.json") in err, err
        assert len(list((out_dir / "patients").glob("Ann-*/handout-en-letter.pdf"))) == 1
        assert len(list((out_dir / "patients").glob("wallet-card-en-letter-8up-*.pdf"))) == 1
