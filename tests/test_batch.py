"""Batch export: manifests, incremental rebuilds, patient lists, safe names, interruption."""

from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from handouts import batch
from handouts.output import safe_name
from handouts.patient import Patient
from tests.helpers import run

CSV_HEADER = "name,first_dose,oncologist,phone,treatment_center,locale\n"



def manifest(folder: Path) -> dict:
    return {f["file"]: f for f in json.loads((folder / "manifest.json").read_text())["files"]}


def test_locale_batch_writes_manifest_and_skips_when_unchanged(capsys, tmp_path):
    code, out, err = run(capsys, "batch", "--locale", "zh-Hans", "--out", str(tmp_path), "--jobs", "1")
    assert code == 0, err
    m = manifest(tmp_path / "zh-Hans")
    assert {"tarlatamab-handout-zh-Hans-letter.pdf", "tarlatamab-handout-zh-Hans-a4.pdf"} <= set(m)
    entry = m["tarlatamab-handout-zh-Hans-a4.pdf"]
    assert entry["document"] == "handout" and entry["locale"] == "zh-Hans" and entry["paper"] == "a4"
    assert entry["content_version"] and entry["label_revision"] == "2025-11-19" and entry["pages"] >= 2
    import hashlib
    assert entry["sha256"] == hashlib.sha256((tmp_path / "zh-Hans" / entry["file"]).read_bytes()).hexdigest()
    assert not (tmp_path / "en").exists()

    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "zh-Hans").glob("*.pdf")}
    code, out, err = run(capsys, "batch", "--locale", "zh-Hans", "--out", str(tmp_path), "--jobs", "1")
    assert code == 0 and "up to date" in out
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_only_dependents_rebuild(tmp_path, monkeypatch, stub_render):
    plan = batch.Plan(tmp_path, batch.plan_locale("en", tmp_path) + batch.plan_locale("zh-Hant", tmp_path))
    first = batch.run(plan, jobs=1)
    assert {r.status for r in first} == {"built"} and len(stub_render) == len(plan.jobs)
    # Pretend the zh-Hant catalog changed: only zh-Hant documents depend on it.
    real = batch._locale_digest
    monkeypatch.setattr(batch, "_locale_digest", lambda code: "changed" if code == "zh-Hant" else real(code))
    stub_render.clear()
    second = batch.run(plan, jobs=1)
    status = {r.job.rel: r.status for r in second}
    assert len(status) == len(plan.jobs)
    assert all(s == "built" for rel, s in status.items() if rel.startswith("zh-Hant/"))
    assert all(s == "unchanged" for rel, s in status.items() if rel.startswith("en/"))
    assert {locale for _, locale, _ in stub_render} == {"zh-Hant"}


def test_patient_csv_batch(capsys, tmp_path):
    csv = tmp_path / "today.csv"
    csv.write_text(CSV_HEADER +
                   "Li Wei 李伟,2026-12-01,Dr. Gonzalez,+1 555 010 2030,Riverside,zh-Hans\n"
                   "../x,2026-12-02,,,,en\n"
                   "Bad Date,2026-02-30,,,,en\n"
                   "Li Wei 李伟,2026-12-03,,,,zh-Hant\n"
                   "Nobody,2026-12-04,,,,fr\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "batch", "--patients", str(csv), "--out", str(out_dir), "--jobs", "2")
    assert code == 2  # two rows were bad
    assert "row 4: first_dose" in err and "row 6: locale" in err
    assert "李伟" not in err and "Li Wei" not in err  # no personal data in progress lines
    folders = sorted(p.name for p in (out_dir / "patients").iterdir() if p.is_dir())
    assert [re.sub(r"-[0-9a-f]{8}$", "", f) for f in folders] == ["Li-Wei-李伟", "Li-Wei-李伟", "x"]
    first = next(p for p in (out_dir / "patients").glob("Li-Wei-李伟-*")
                 if (p / "tarlatamab-handout-zh-Hans-a4.pdf").exists())
    pdf = first / "tarlatamab-handout-zh-Hans-a4.pdf"
    assert "2026年12月8日" in "".join(p.extract_text() for p in PdfReader(pdf).pages)
    m = manifest(first)
    assert m["tarlatamab-handout-zh-Hans-a4.pdf"]["origin"] == "today.csv row 2"


def test_fail_fast_stops_at_first_bad_row(capsys, tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text(CSV_HEADER + "A,2026-02-30,,,,en\nB,2026-12-01,,,,en\n", encoding="utf-8")
    code, out, err = run(capsys, "batch", "--patients", str(csv), "--out", str(tmp_path / "o"), "--fail-fast")
    assert code == 2 and "row 2" in err
    assert not (tmp_path / "o" / "patients").exists()


@pytest.mark.parametrize("name,expected", [
    ("../x", "x"), ("/etc", "etc"), ("CON", "patient-CON"), ("", "patient"), ("?!.", "patient"),
    ("a" * 200, "a" * 60), ("Chen Mei 陳美", "Chen-Mei-陳美"), ("..", "patient"),
])
def test_safe_names(name, expected):
    assert safe_name(name) == expected


def test_duplicate_names_get_unique_stable_folders():
    rows = [(2, Patient(name="Ana", phone="555 0101")), (3, Patient(name="ana")), (4, Patient(name="Ana"))]
    names = batch.patient_folders(rows)
    assert len({n.casefold() for n in names.values()}) == 3
    # The same row gets the same folder whatever its position in the list.
    assert batch.patient_folders(list(reversed(rows))) == names


def test_interrupted_batch_leaves_no_partial_pdf_and_resumes(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text(CSV_HEADER + "".join(f"Patient {i},2026-12-01,,,,en\n" for i in range(12)), encoding="utf-8")
    out_dir = tmp_path / "out"
    cmd = [sys.executable, "-m", "handouts", "batch", "--patients", str(csv), "--out", str(out_dir), "--jobs", "1"]
    env = {**os.environ}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out_dir.rglob("*.pdf"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    pdfs = list(out_dir.rglob("*.pdf"))
    assert 0 < len(list(out_dir.rglob("tarlatamab-handout-*.pdf"))) < 12, "kill came too late to test an interruption"
    for pdf in pdfs:  # every PDF present is complete
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF")
        PdfReader(pdf)
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert len(list((out_dir / "patients").glob("*/tarlatamab-handout-*.pdf"))) == 12
    assert not list(out_dir.rglob("*.part"))
    assert "unchanged" in res.stderr and "built" in res.stderr


def test_check_reports_unreviewed_catalogs_as_needing_a_person(capsys):
    """An unreviewed catalog prints (with a notice): it needs a person, it does not stop
    shipping. Exit 3, not 1 (cannot ship), nor 0."""
    code, out, _ = run(capsys, "check", "--no-render")
    assert code == 3
    assert "needs a person: catalog zh-Hans: not yet reviewed" in out and "zh-Hant: not yet reviewed" in out
    assert "problem:" not in out and "untranslated" not in out and "fuzzy" not in out
    assert "0 problems (cannot ship), 2 for a person" in out


def test_check_tells_cannot_ship_from_needs_a_person(capsys, monkeypatch):
    from handouts import catalogs
    real = catalogs.problems
    monkeypatch.setattr(catalogs, "problems", lambda *a, **k: ["msgid 'x': untranslated"] + real(*a, **k))
    code, out, _ = run(capsys, "check", "--no-render")
    assert code == 1 and "problem: catalog zh-Hans: msgid 'x': untranslated" in out
    assert "needs a person: catalog zh-Hans" in out           # both kinds are reported


def test_check_on_a_fresh_clone_needs_a_person_only_for_the_catalogs(capsys, monkeypatch):
    """On the day of the last reviews nothing is past due: the NCI page was reviewed."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796342400")   # 2026-12-04
    code, out, _ = run(capsys, "check", "--no-render")
    assert code == 3 and "due for review" not in out and "S16" not in out
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1804118400")   # 2027-03-04: still within a quarter
    code, out, _ = run(capsys, "check", "--no-render")
    assert "S16" not in out
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1804377600")   # 2027-03-07: past due, a person must review it
    code, out, _ = run(capsys, "check", "--no-render")
    assert code == 3 and "needs a person: source S16" in out
    code, out, _ = run(capsys, "check", "--no-render", "--strict")
    assert code == 1 and "problem: sources:" in out


FORK_AFTER_RENDER = """
import sys
from pathlib import Path
from handouts import batch, content, papers
from handouts.build import render_document
model = content.default()
render_document("poster", "en", papers.get("tabloid", ("tabloid",)), None, model)  # Latin faces only
root = Path(sys.argv[1])
root.mkdir()
jobs = [j for j in batch.plan_locale("zh-Hant", root) if j.document == "poster"][:2]
assert [r.status for r in batch.run(batch.Plan(root, jobs), jobs=2)] == ["built", "built"]
Path(sys.argv[2]).write_bytes(render_document("poster", "zh-Hant", papers.get("a4", ("a4",)), None, model).pdf)
"""


def test_forked_workers_leave_the_parents_fonts_alone(tmp_path):
    """A process that rendered, then ran a batch in forked workers (which loaded the
    Chinese faces), still prints with the bundled Chinese font afterwards. It did not
    when the workers copied fonts into the parent's WeasyPrint folder."""
    from tests.helpers import pdfcheck
    out = tmp_path / "after.pdf"
    res = subprocess.run([sys.executable, "-c", FORK_AFTER_RENDER, str(tmp_path / "o"), str(out)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    pdfcheck.assert_fonts_bundled(out)
    assert any("NotoSansTC" in name.replace("-", "") for name in pdfcheck.fonts(out))
