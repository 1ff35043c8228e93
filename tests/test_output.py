"""Output (output.py and the batch that writes through it): every patient its own file,
nothing outside --out and nothing through a symbolic link, one batch never destroys
another's, a write that fails midway, Ctrl-C and a killed parent leave only complete files."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from handouts import batch, output
from handouts.errors import HandoutsError
from handouts.patient import Patient
from handouts.pdftext import extract
from tests.helpers import run
from tests.helpers.processes import alive, children

HEADER = "name,first_dose,oncologist,phone,treatment_center,locale\n"



def test_same_names_each_get_their_own_files(capsys, tmp_path):
    csv = tmp_path / "today.csv"
    csv.write_text(HEADER + "Li Wei,2026-12-01,Dr. Alpha,,,en\n"
                            "Li Wei,2026-12-01,Dr. Bravo,,,en\n"
                            "Li Wei 2,2026-12-01,Dr. Charlie,,,en\n"
                            "li wei,2026-12-01,Dr. Delta,,,en\n", encoding="utf-8")
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", tmp_path / "o", "--jobs", "2")
    assert code == 0, err
    handouts = sorted((tmp_path / "o" / "patients").glob("*/tarlatamab-handout-en-letter.pdf"))
    assert len(handouts) == 4
    doctors = {d for h in handouts for d in ("Alpha", "Bravo", "Charlie", "Delta") if f"Dr. {d}" in extract(h)}
    assert doctors == {"Alpha", "Bravo", "Charlie", "Delta"}
    for h in handouts:  # each file carries exactly one patient's oncologist
        assert sum(f"Dr. {d}" in extract(h) for d in ("Alpha", "Bravo", "Charlie", "Delta")) == 1
        m = json.loads((h.parent / "manifest.json").read_text())
        assert {f["file"] for f in m["files"]} == {"tarlatamab-handout-en-letter.pdf",
                                                   "tarlatamab-wallet-card-en-id1.pdf"}
    # Stable: the same list in another order lands in the same folders, unchanged.
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", tmp_path / "o", "--jobs", "1")
    assert code == 0 and sorted((tmp_path / "o" / "patients").glob("*/tarlatamab-handout-en-letter.pdf")) == handouts
    assert err.count(" built ") == 1, err  # only the list's own card sheet (new order) is rebuilt


def test_an_exact_duplicate_row_is_reported(capsys, tmp_path):
    csv = tmp_path / "today.csv"
    csv.write_text(HEADER + "Li Wei,2026-12-01,Dr. A,,,en\n" * 2, encoding="utf-8")
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", tmp_path / "o", "--jobs", "1")
    assert code == 2 and "today.csv row 3" in err and "repeats row 2" in err


def test_a_second_list_does_not_replace_the_first_lists_sheets(capsys, tmp_path):
    a, b = tmp_path / "a" / "today.csv", tmp_path / "b" / "today.csv"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_text(HEADER + "Ann,2026-12-01,Dr. A,,,en\n")
    b.write_text(HEADER + "Bob,2026-12-01,Dr. B,,,en\n")
    for f in (a, b):
        code, out, err = run(capsys, "batch", "--patients", f, "--out", tmp_path / "o", "--jobs", "1")
        assert code == 0, err
    sheets = sorted((tmp_path / "o" / "patients").glob("tarlatamab-wallet-card-en-letter-8up-today-*.pdf"))
    assert len(sheets) == 2
    texts = [extract(s) for s in sheets]
    assert sorted(("Ann" in t, "Bob" in t) for t in texts) == [(False, True), (True, False)]
    m = json.loads((tmp_path / "o" / "patients" / "manifest.json").read_text())
    assert {f["file"] for f in m["files"]} == {s.name for s in sheets}
    assert all(f["list"].startswith("today.csv") for f in m["files"])


def test_two_single_builds_for_namesakes_do_not_overwrite(capsys, tmp_path):
    for doctor in ("Dr. A", "Dr. B"):
        p = tmp_path / "p.toml"
        p.write_text(f'name = "Li Wei"\noncologist = "{doctor}"\n')
        assert run(capsys, "build", "handout", "--patient", p, "--out", tmp_path / "o")[0] == 0
    assert len(list((tmp_path / "o").glob("tarlatamab-handout-en-letter-Li-Wei-*.pdf"))) == 2


# -- nothing outside --out -------------------------------------------------------------

def _elsewhere(tmp_path: Path) -> Path:
    d = tmp_path / "elsewhere"
    d.mkdir()
    (d / "precious.txt").write_text("keep me")
    (d / ".tarlatamab-handout-en-letter.pdf.1234.part").write_text("not ours to delete")
    (d / "tarlatamab-handout-en-letter.pdf").write_text("not ours to replace")
    return d


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_symlinked_patient_folder_is_refused(capsys, tmp_path):
    elsewhere = _elsewhere(tmp_path)
    before = _snapshot(elsewhere)
    csv = tmp_path / "p.csv"
    csv.write_text(HEADER + "Ann Lee,2026-12-01,,,,en\nBo,2026-12-01,,,,en\n")
    rows = [(2, Patient(name="Ann Lee", first_dose="2026-12-01", locale="en"))]
    folder = batch.patient_folders(rows)[2]
    (tmp_path / "o" / "patients").mkdir(parents=True)
    (tmp_path / "o" / "patients" / folder).symlink_to(elsewhere)
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", tmp_path / "o", "--jobs", "2")
    assert code == 1 and "symbolic link" in err
    assert _snapshot(elsewhere) == before
    assert len(list((tmp_path / "o" / "patients").glob("Bo-*/tarlatamab-handout-*.pdf"))) == 1


def test_symlinked_patients_folder_and_files_are_never_followed(capsys, tmp_path):
    elsewhere = _elsewhere(tmp_path)
    before = _snapshot(elsewhere)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "en").symlink_to(elsewhere)
    code, out, err = run(capsys, "batch", "--locale", "en", "--out", tmp_path / "o", "--jobs", "1")
    assert code == 1 and "symbolic link" in err
    assert _snapshot(elsewhere) == before
    # A link where a file goes is replaced as a name, never written through.
    (tmp_path / "o2").mkdir()
    (tmp_path / "o2" / "tarlatamab-handout-en-letter.pdf").symlink_to(elsewhere / "tarlatamab-handout-en-letter.pdf")
    code, out, err = run(capsys, "build", "handout", "--out", tmp_path / "o2")
    assert code == 0, err
    assert _snapshot(elsewhere) == before
    assert not (tmp_path / "o2" / "tarlatamab-handout-en-letter.pdf").is_symlink()


@pytest.mark.parametrize("rel", ["../x.pdf", "/etc/x.pdf", "a/../../x.pdf", ""])
def test_output_dir_refuses_paths_that_climb_out(tmp_path, rel):
    with pytest.raises(HandoutsError):
        output.OutputDir(tmp_path).write(rel, b"x")
    assert not (tmp_path.parent / "x.pdf").exists()


@pytest.mark.parametrize("body", ['{"files": {"a": 1}}', '[1, 2]', '{"files": [1]}', "{not json", '""'])
def test_malformed_manifest_is_treated_as_absent(capsys, tmp_path, body, stub_render):
    (tmp_path / "o" / "en").mkdir(parents=True)
    (tmp_path / "o" / "en" / "manifest.json").write_text(body)
    code, out, err = run(capsys, "batch", "--locale", "en", "--out", tmp_path / "o", "--jobs", "1")
    assert code == 0 and "malformed" in err and "Traceback" not in err, err
    m = json.loads((tmp_path / "o" / "en" / "manifest.json").read_text())
    assert len(m["files"]) == len(batch.plan_locale("en", tmp_path)) == len(stub_render)


# -- long values print whole --------------------------------------------------------

@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_long_unbroken_values_print_whole_inside_the_page(tmp_path, locale):
    import pdfplumber

    from handouts.build import build
    long_name = "Wolfeschlegelsteinhausenbergerdorff" * 3
    p = Patient(name=long_name, treatment_center="X" * 110, oncologist="Dr. " + "Y" * 100, locale=locale)
    built = build("handout", locale, None, p, tmp_path)
    text = "".join(extract(built.path).split())
    for value in (long_name, "X" * 110, "Y" * 100):
        assert value in text
    with pdfplumber.open(built.path) as pdf:
        for page in pdf.pages:
            assert all(ch["x1"] <= page.width - 20 for ch in page.chars), "text runs off the page"


# -- Ctrl-C and a killed parent ---------------------------------------------------------

def _big_list(tmp_path: Path, n: int = 24) -> Path:
    csv = tmp_path / "p.csv"
    csv.write_text(HEADER + "".join(f"Patient {i},2026-12-01,,,,zh-Hant\n" for i in range(n)))
    return csv


def _start(tmp_path: Path, csv: Path, jobs: int = 2):
    cmd = [sys.executable, "-m", "handouts", "batch", "--patients", str(csv), "--out", str(tmp_path / "o"),
           "--jobs", str(jobs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline and len(list((tmp_path / "o").rglob("tarlatamab-handout-*.pdf"))) < 2:
        time.sleep(0.05)
    # The tests interrupt a batch that is under way, not one still starting up.
    assert len(list((tmp_path / "o").rglob("tarlatamab-handout-*.pdf"))) >= 2, "the batch did not start"
    return cmd, proc


def _assert_complete(folder: Path) -> None:
    assert not list(folder.rglob("*.part")), "temporary files left behind"
    for pdf in folder.rglob("*.pdf"):
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF")
        PdfReader(pdf)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc (Linux)")
def test_ctrl_c_stops_the_batch_quickly_and_says_how_to_resume(tmp_path):
    csv = _big_list(tmp_path)
    cmd, proc = _start(tmp_path, csv)
    workers = children(proc.pid)
    assert workers, "no worker processes"
    t0 = time.time()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    out, err = proc.communicate(timeout=20)
    stopped = time.time() - t0
    assert proc.returncode == 130, err
    assert stopped < 3.0, f"took {stopped:.1f} s to stop"
    assert "Run the same command again" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not [w for w in workers if alive(w)], "workers outlived the batch"
    _assert_complete(tmp_path / "o")
    assert len(list((tmp_path / "o").rglob("tarlatamab-handout-*.pdf"))) < 24
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "o" / "patients").glob("*/tarlatamab-handout-*.pdf"))) == 24
    _assert_complete(tmp_path / "o")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc (Linux)")
def test_second_ctrl_c_does_not_hang(tmp_path):
    cmd, proc = _start(tmp_path, _big_list(tmp_path))
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err  # not killed by the second Ctrl-C: it stopped as asked
    assert "Run the same command again" in err
    _assert_complete(tmp_path / "o")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc (Linux)")
def test_workers_die_with_a_killed_parent(tmp_path):
    cmd, proc = _start(tmp_path, _big_list(tmp_path))
    workers = children(proc.pid)
    assert workers
    proc.send_signal(signal.SIGKILL)  # only the parent
    proc.communicate(timeout=20)
    deadline = time.time() + 3
    while time.time() < deadline and [w for w in workers if alive(w)]:
        time.sleep(0.05)
    assert not [w for w in workers if alive(w)], "workers went on after the parent was killed"
    files = {p: p.stat().st_mtime_ns for p in (tmp_path / "o").rglob("*.pdf")}
    time.sleep(1.0)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "o").rglob("*.pdf")} == files, "written after death"
    for pdf in files:
        PdfReader(pdf)


# -- atomic writes: a write that fails midway (a full disk) keeps the previous file whole
# and leaves no half file under the final name.

def _disk_full(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_midway_keeps_the_previous_file_whole(tmp_path, monkeypatch):
    out = output.OutputDir(tmp_path)
    out.write("a/x.pdf", b"%PDF- old, complete %%EOF")
    monkeypatch.setattr(output.os, "fsync", _disk_full)
    with pytest.raises(HandoutsError):
        out.write("a/x.pdf", b"%PDF- new, cut short")
    monkeypatch.undo()
    assert (tmp_path / "a" / "x.pdf").read_bytes() == b"%PDF- old, complete %%EOF"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.pdf"]


def test_a_write_that_fails_midway_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    out = output.OutputDir(tmp_path)
    monkeypatch.setattr(output.os, "fsync", _disk_full)
    with pytest.raises(HandoutsError):
        out.write("a/new.pdf", b"%PDF- cut short")
    monkeypatch.undo()
    assert list((tmp_path / "a").iterdir()) == []


# -- a symbolic link inside --out is never written through, whether output.py writes by
# dir_fd or, where the platform lacks it, by path.

@pytest.mark.parametrize("fd_safe", [True, False], ids=["dir-fd", "by-path-fallback"])
def test_a_symlinked_folder_is_never_written_through(tmp_path, monkeypatch, fd_safe):
    monkeypatch.setattr(output, "_FD_SAFE", fd_safe)  # False: the path used where dir_fd is missing
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "o"
    (root / "patients").mkdir(parents=True)
    (root / "patients" / "Ann").symlink_to(elsewhere)
    with pytest.raises(HandoutsError, match="symbolic link"):
        output.OutputDir(root).write("patients/Ann/handout.pdf", b"x")
    assert list(elsewhere.iterdir()) == []
