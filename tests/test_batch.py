"""Batch export: manifests, incremental rebuilds, patient lists, safe names, interruption;
and a busy day: re-runs of a corrected list, a second language, things in the way inside
--out, two batches into one folder, odd clocks and odd file names."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from handouts import batch, clock, output
from handouts.cli import main
from handouts.errors import HandoutsError
from handouts.output import safe_name
from handouts.patient import Patient
from tests.helpers import assert_one_line_error, run, run_refused

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


# Batches and builds on a busy day: re-runs of a corrected list, a second language, things
# in the way inside --out, two batches into one folder, odd clocks and odd file names.

HEADER = "name,first_dose,oncologist,phone,treatment_center,locale\n"


# -- SOURCE_DATE_EPOCH: the range the date arithmetic needs -----------------------------

def _epoch(day: dt.date) -> str:
    return str(int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()))


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
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")  # 1970: before any label check, refused in one line
    assert_one_line_error(*run(capsys, "build", "poster", "--out", tmp_path / "o3"), "SOURCE_DATE_EPOCH",
                          tmp_path / "o3")


def test_no_document_is_dated_before_the_label_check_it_prints(capsys, tmp_path, monkeypatch, model):
    """Every document prints the day its facts were last compared with the label; a print
    date before that day is refused at every door (a single build, a list's sheet, a
    batch) and at the render itself, and the day of the check is accepted."""
    from handouts import build, papers
    checked = model.meta.label_checked
    day_before = dt.datetime(checked.year, checked.month, checked.day, tzinfo=dt.UTC) - dt.timedelta(days=1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(day_before.timestamp())))
    p = tmp_path / "p.toml"
    p.write_text('name = "Ann"\nfirst_dose = 2026-12-08\n')
    lst = tmp_path / "today.csv"
    lst.write_text(HEADER + "Ann,2026-12-08,,,,en\n")
    for args in (("build", "handout", "--patient", p), ("build", "poster"),
                 ("build", "wallet-card", "--sheet", "letter-8up", "--patients", lst),
                 ("batch", "--locale", "en"), ("batch", "--patients", lst)):
        err = run_refused(capsys, "SOURCE_DATE_EPOCH", tmp_path / "out", *args)
        assert checked.isoformat() in err, err
    with pytest.raises(HandoutsError) as refused:
        build.render_document("poster", "en", papers.PAPERS["letter"], None, model)
    assert refused.value.code == "clock.before_check"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(day_before.timestamp()) + 86400))
    assert run(capsys, "build", "poster", "--out", tmp_path / "ok")[0] == 0


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


@pytest.mark.parametrize("where", ["en/tarlatamab-handout-en-letter.pdf", "en/manifest.json"])
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


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("where", ["en/tarlatamab-handout-en-letter.pdf", "en/manifest.json"])
def test_a_fifo_where_a_file_goes_is_replaced_as_a_name_never_read(capsys, tmp_path, stub_render, where):
    out_dir = tmp_path / "o"
    (out_dir / "en").mkdir(parents=True)
    os.mkfifo(out_dir / where)
    code, out, err = run(capsys, "batch", "--locale", "en", "--out", out_dir, "--jobs", "1")
    assert code == 0, err
    assert (out_dir / where).is_file() and not (out_dir / where).is_fifo()


def test_a_folder_where_a_patients_manifest_goes(capsys, tmp_path, stub_render):
    csv = tmp_path / "today.csv"
    csv.write_text(HEADER + "Ann,2026-12-01,,,,en\n")
    out_dir = tmp_path / "o"
    (out_dir / "patients" / "manifest.json").mkdir(parents=True)
    for _ in range(2):  # and on every re-run
        code, out, err = run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")
        assert code == 1 and "internal error" not in err, err
        assert len(_errors(err)) == 1 and str(out_dir / "patients" / "manifest.json") in err, err
        assert len(list((out_dir / "patients").glob("Ann-*/tarlatamab-handout-en-letter.pdf"))) == 1
        assert len(list((out_dir / "patients").glob("tarlatamab-wallet-card-en-letter-8up-*.pdf"))) == 1


# -- two batches into one --out ------------------------------------------------------------

# A batch in its own process whose every render is a small fake PDF after a pause: two of
# them overlap for seconds without rendering anything real.
SLOW_BATCH = """
import sys, time
from types import SimpleNamespace
from handouts import build
def fake(document, locale, medium, *rest, **kw):
    time.sleep(float(sys.argv[1]))
    return SimpleNamespace(pdf=f"%PDF-1.7 {document} {locale} {getattr(medium, 'name', medium)}\\n%%EOF\\n".encode(),
                           pages=1)
build.render_document = fake
build.render_sheet = fake
from handouts.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _slow_batch(tmp_path: Path, delay: float, *args) -> subprocess.Popen:
    script = tmp_path / "slow_batch.py"
    script.write_text(SLOW_BATCH)
    return subprocess.Popen([sys.executable, str(script), str(delay), "batch", *map(str, args), "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_batches_into_one_folder_take_turns_and_keep_each_others_records(tmp_path):
    out_dir = tmp_path / "o"
    lists = []
    for name, who in (("monday.csv", "Ann"), ("tuesday.csv", "Bob")):
        lists.append(tmp_path / name)
        lists[-1].write_text(HEADER + "".join(f"{who} {i},2026-12-01,,,,en\n" for i in range(4)))
    first = _slow_batch(tmp_path, 0.4, "--patients", lists[0], "--out", out_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out_dir.rglob("*.pdf")):
        time.sleep(0.05)  # the first batch holds the folder
    second = _slow_batch(tmp_path, 0.0, "--patients", lists[1], "--out", out_dir)
    err1, err2 = first.communicate(timeout=120)[1], second.communicate(timeout=120)[1]
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert f"{out_dir} is in use by another handouts batch (process {first.pid}); waiting" in err2, err2
    # Each list's sheet is in the folder's manifest, and every patient folder is complete.
    sheets = json.loads((out_dir / "patients" / "manifest.json").read_text())["files"]
    assert sorted(f["list"].split(" ")[0] for f in sheets) == ["monday.csv", "tuesday.csv"]
    for folder in (p for p in (out_dir / "patients").iterdir() if p.is_dir()):
        assert len(json.loads((folder / "manifest.json").read_text())["files"]) == 2
    assert len([p for p in (out_dir / "patients").iterdir() if p.is_dir()]) == 8
    assert not list(out_dir.rglob("*.part"))


def test_manifest_writes_merge_with_what_the_file_holds_now(tmp_path, stub_render):
    """A writer that did not take the lock (another machine on a shared folder) added an
    entry while this batch ran: it is still there at the end."""
    from handouts import batch
    plan = batch.Plan(tmp_path, batch.plan_locale("en", tmp_path))
    theirs = {"file": "theirs.pdf", "pages": 1, "sha256": "0" * 64, "input_digest": "x"}

    def meanwhile(result):
        if result is not None and not (tmp_path / "en" / "theirs.pdf").exists():
            (tmp_path / "en" / "theirs.pdf").write_bytes(b"%PDF")
            m = json.loads((tmp_path / "en" / "manifest.json").read_text())
            m["files"].append(theirs)
            (tmp_path / "en" / "manifest.json").write_text(json.dumps(m))

    batch.run(plan, jobs=1, on_result=meanwhile)
    files = {f["file"] for f in json.loads((tmp_path / "en" / "manifest.json").read_text())["files"]}
    assert files == {j.name for j in plan.jobs} | {"theirs.pdf"}


def test_clean_up_deletes_only_its_own_stale_temporary_files(capsys, tmp_path, stub_render):
    from handouts import output
    folder = tmp_path / "o" / "en"
    folder.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        keep = [".notes.part", ".handout-en-letter.pdf.1234.part", "draft.part",
                f".handout-en-a4.pdf.{alive.pid}-0123abcd{output.TEMP_SUFFIX}"]  # another run still writing
        stale = f".handout-en-letter.pdf.{gone.pid}-89abcdef{output.TEMP_SUFFIX}"
        for name in (*keep, stale):
            (folder / name).write_text("x")
        code, out, err = run(capsys, "batch", "--locale", "en", "--out", tmp_path / "o", "--jobs", "1")
        assert code == 0, err
        assert sorted(p.name for p in folder.iterdir() if "part" in p.name) == sorted(keep)
    finally:
        alive.kill()
        alive.wait()
    # A file being written carries this pattern (and nothing else does).
    name = output.temp_name("handout-en-letter.pdf")
    assert output._TEMP.fullmatch(name) and not output._TEMP.fullmatch(".notes.part")


# -- a list's sheets in a second language, with bleed, with copies ----------------------

def test_a_lists_sheet_in_another_language_or_make_never_replaces_the_first(capsys, tmp_path):
    from handouts.pdftext import extract
    csv = tmp_path / "today.csv"
    csv.write_text("name,first_dose,locale\nAnn,2026-12-01,\nBo,2026-12-01,zh-Hans\n")
    out_dir = tmp_path / "o"
    made: dict[str, bytes] = {}
    for extra in ([], ["--locale", "zh-Hant"], ["--bleed", "3"], ["--copies", "2"], ["--duplex-offset", "0.5,-1"]):
        code, out, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients", csv,
                             "--out", out_dir, *extra)
        assert code == 0, err
        path = Path(out.strip())
        assert path.name not in made, f"{extra} replaced {path.name}"
        made[path.name] = path.read_bytes()
    for name, data in made.items():  # each is still what its own build wrote
        assert (out_dir / name).read_bytes() == data
    names = sorted(made)
    assert any(n.startswith("tarlatamab-wallet-card-en_zh-Hans-letter-8up-today-") for n in names), names
    zh_hant = next(n for n in names if n.startswith("tarlatamab-wallet-card-zh-Hans_zh-Hant-letter-8up-today-"))
    assert "我正在使用 tarlatamab-dlle" in extract(out_dir / zh_hant)  # Ann's card in the new default
    assert any("-bleed3mm-" in n for n in names) and any("-2copies-" in n for n in names)
    assert any("-offset0.5,-1mm-" in n for n in names)


# -- a corrected row: exactly one current pack ------------------------------------------

def _packs(patients: Path) -> dict[str, dict]:
    """The current packs: folder -> its manifest (the superseded/ folder is not one)."""
    return {p.name: json.loads((p / "manifest.json").read_text())
            for p in sorted(patients.iterdir()) if p.is_dir() and p.name != "superseded"}


def test_a_corrected_row_leaves_exactly_one_current_pack(capsys, tmp_path, stub_render):
    csv, other = tmp_path / "today.csv", tmp_path / "other.csv"
    out_dir = tmp_path / "o"
    patients = out_dir / "patients"
    other.write_text(HEADER + "Ann Lee,2026-12-01,Dr. Other,555 0999,,en\n")  # another list's Ann Lee
    assert run(capsys, "batch", "--patients", other, "--out", out_dir, "--jobs", "1")[0] == 0
    csv.write_text(HEADER + "Ann Lee,2026-12-01,Dr. A,555 0100,,en\nBo,2026-12-01,Dr. A,555 0101,,en\n")
    assert run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")[0] == 0
    before = _packs(patients)
    old = next(n for n, m in before.items() if n.startswith("Ann-Lee-") and "today.csv" in m["files"][0]["origin"])
    old_sheet = json.loads((patients / "manifest.json").read_text())["files"]
    # The phone number is corrected and the list run again.
    csv.write_text(HEADER + "Ann Lee,2026-12-01,Dr. A,555 0199,,en\nBo,2026-12-01,Dr. A,555 0101,,en\n")
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")
    assert code == 0, err
    after = _packs(patients)
    mine = [n for n, m in after.items() if n.startswith("Ann-Lee-") and "today.csv" in m["files"][0]["origin"]]
    assert len(mine) == 1 and mine[0] != old, after.keys()  # one current pack for the row
    assert len(after) == 3  # Bo's pack and the other list's Ann Lee stay where they were
    # Said, naming the row (never the patient), and counted in the summary.
    assert "today.csv row 2: the pack made earlier for this row" in err and "Ann" not in err, err
    assert "moved aside: 2 earlier pack(s) or sheet(s)" in out, out
    # The earlier pack is aside, whole, and its manifest still says what was printed.
    aside_manifest = json.loads((patients / "superseded" / old / "manifest.json").read_text())
    aside = aside_manifest["files"]
    assert {k: v for k, v in aside_manifest.items() if k != "files"} == \
        {k: v for k, v in before[old].items() if k != "files"}  # as written when it was printed
    assert [{k: v for k, v in f.items() if k != "superseded"} for f in aside] == before[old]["files"]
    assert all(f["superseded"] == {"by": mine[0], "on": "2026-12-04", "list": "today.csv", "row": 2} for f in aside)
    assert all((patients / "superseded" / old / f["file"]).is_file() for f in aside)
    # The new pack names the one it replaces; the list's old sheet (Ann's old card) went too.
    assert all(f["supersedes"] == [f"superseded/{old}"] for f in after[mine[0]]["files"])
    sheets = json.loads((patients / "manifest.json").read_text())["files"]
    assert [s["file"] for s in sheets if "today.csv" in s["list"]] != [s["file"] for s in old_sheet
                                                                       if "today.csv" in s["list"]]
    assert not any((patients / s["file"]).exists() for s in old_sheet if "today.csv" in s["list"])
    moved_sheets = json.loads((patients / "superseded" / "manifest.json").read_text())["files"]
    assert [s["superseded"]["by"] for s in moved_sheets] == [[mine[0]]]
    # A re-run moves nothing more, and keeps what the new pack supersedes.
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")
    assert code == 0 and "moved" not in out + err and _packs(patients) == after


def test_namesakes_in_one_list_each_keep_their_own_pack(capsys, tmp_path, stub_render):
    csv = tmp_path / "today.csv"
    out_dir = tmp_path / "o"
    rows = ["Li Wei,2026-12-01,Dr. A,555 0100,,en", "Li Wei,2026-12-01,Dr. B,555 0200,,en"]
    csv.write_text(HEADER + "\n".join(rows) + "\n")
    assert run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")[0] == 0
    first = set(_packs(out_dir / "patients"))
    csv.write_text(HEADER + rows[0] + "\n" + rows[1].replace("555 0200", "555 0299") + "\n")  # row 3 corrected
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")
    assert code == 0 and "today.csv row 3: the pack made earlier" in err, err
    now = set(_packs(out_dir / "patients"))
    assert len(now) == 2 and len(now & first) == 1  # row 2's pack untouched, row 3's replaced
    assert [p.name for p in (out_dir / "patients" / "superseded").iterdir() if p.is_dir()] == list(first - now)


def test_a_corrected_language_leaves_only_the_new_languages_files_current(capsys, tmp_path, stub_render):
    """A folder's digest leaves out the language (the file names say it), so a row whose
    language is corrected keeps its folder: the files printed in the old language leave
    it, as a corrected row's earlier pack does, and a row printed in two languages keeps
    both."""
    csv = tmp_path / "today.csv"
    out_dir = tmp_path / "o"
    patients = out_dir / "patients"
    both = "Bo,2026-12-01,Dr. A,555 0101,,en\nBo,2026-12-01,Dr. A,555 0101,,zh-Hant\n"
    csv.write_text(HEADER + "Ann Lee,2026-12-01,Dr. A,555 0100,,en\n" + both)
    assert run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")[0] == 0
    before = _packs(patients)
    [ann] = [n for n in before if n.startswith("Ann-Lee-")]
    old_files = sorted(f["file"] for f in before[ann]["files"])
    assert all("-en-" in f for f in old_files)
    csv.write_text(HEADER + "Ann Lee,2026-12-01,Dr. A,555 0100,,zh-Hans\n" + both)  # she reads Chinese
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")
    assert code == 0, err
    after = _packs(patients)
    assert set(after) == set(before)                                  # the same folders
    now = sorted(f["file"] for f in after[ann]["files"])
    assert now and all("-zh-Hans-" in f for f in now), now            # only the new language is current
    assert sorted(p.name for p in (patients / ann).glob("*.pdf")) == now
    assert "today.csv row 2: the pack made earlier for this row" in err and "Ann" not in err, err
    aside = json.loads((patients / "superseded" / ann / "manifest.json").read_text())["files"]
    assert sorted(f["file"] for f in aside) == old_files
    assert all(f["superseded"] == {"by": ann, "on": "2026-12-04", "list": "today.csv", "row": 2} for f in aside)
    assert all((patients / "superseded" / ann / f["file"]).is_file() for f in aside)
    assert all(f["supersedes"] == [f"superseded/{ann}"] for f in after[ann]["files"])
    [bo] = [n for n in after if n.startswith("Bo-")]
    assert {f["locale"] for f in after[bo]["files"]} == {"en", "zh-Hant"}  # two rows, two languages: both stay
    # The list's old sheet held her English card: it went aside too.
    sheets = json.loads((patients / "manifest.json").read_text())["files"]
    assert [s["locales"] for s in sheets] == [["en", "zh-Hans", "zh-Hant"]]
    assert len(list(patients.glob("*.pdf"))) == 1
    # A re-run moves nothing more.
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")
    assert code == 0 and "moved" not in out + err and _packs(patients) == after


def test_a_link_where_superseded_packs_go_is_never_followed(capsys, tmp_path, stub_render):
    csv = tmp_path / "today.csv"
    out_dir = tmp_path / "o"
    csv.write_text(HEADER + "Ann Lee,2026-12-01,Dr. A,555 0100,,en\n")
    assert run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out_dir / "patients" / "superseded").symlink_to(elsewhere)
    csv.write_text(HEADER + "Ann Lee,2026-12-01,Dr. A,555 0199,,en\n")
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", out_dir, "--jobs", "1")
    assert code == 1 and "could not be moved aside" in err and "symbolic link" in err, err
    assert list(elsewhere.iterdir()) == []
    assert len(_packs(out_dir / "patients")) == 2  # the earlier pack stays where it was, said so


# -- Ctrl-C guards: an idle worker ignores Ctrl-C (only the parent acts on it), and a
# second Ctrl-C while stopping does not cut the cleanup short.

def test_a_worker_ignores_ctrl_c_only_the_parent_acts_on_it():
    """Ctrl-C reaches the whole process group; an idle worker must not die of it
    (a dying worker prints a traceback and breaks the pool)."""
    pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=batch._mp_context(),
                                  initializer=batch._worker_init, initargs=(os.getpid(),))
    try:
        worker = pool.submit(os.getpid).result(timeout=60)
        os.kill(worker, signal.SIGINT)
        assert pool.submit(os.getpid).result(timeout=60) == worker
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_a_second_ctrl_c_does_not_interrupt_the_cleanup(capsys, tmp_path, monkeypatch):
    """First Ctrl-C during the 2nd file; a second one while stopping must not cut the
    cleanup short: the batch still ends with the resume message (exit 130)."""
    csv = tmp_path / "p.csv"
    csv.write_text(HEADER + "".join(f"P{i},2026-12-01,,,,en\n" for i in range(4)))
    real_render, real_clean = batch.render_job, output.OutputDir.clean_partials
    state = {"calls": 0, "interrupted": False, "cleaned": 0}

    def render(job):
        state["calls"] += 1
        if state["calls"] == 2:
            state["interrupted"] = True
            os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C
        return real_render(job)

    def clean(self, rel=""):
        if state["interrupted"]:
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C while stopping
        real_clean(self, rel)
        state["cleaned"] += state["interrupted"]

    monkeypatch.setattr(batch, "render_job", render)
    monkeypatch.setattr(output.OutputDir, "clean_partials", clean)
    try:
        code = main(["batch", "--patients", str(csv), "--out", str(tmp_path / "o"), "--jobs", "1"])
    except BaseException as exc:  # a KeyboardInterrupt must not reach pytest
        raise AssertionError(f"escaped: {exc!r}") from None
    err = capsys.readouterr().err
    assert code == 130 and "Run the same command again" in err, err
    assert state["cleaned"] >= 1 and not list((tmp_path / "o").rglob("*.part"))
