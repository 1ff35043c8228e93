"""Batch export: plan jobs, skip what is up to date, render the rest in parallel
processes, write every file atomically inside the output folder and record it in a
manifest.

A job is rebuilt only when something it depends on changed: the content model, its
locale's catalog, settings and fonts, its layout folder, the code, its own parameters
(patient, paper, sheet) or the print date. That is what the input digest in
manifest.json records.

Every patient gets their own folder, named from the patient's name (or initials) and a
digest of the row's details but its language (the file names say that), so the same row
always lands in the same folder and two patients never share one, whatever their names.
A list's cards are imposed on one set of sheets, named after the list, a digest of its
rows and the languages of its cards, so a second list never replaces the first list's
sheets. A row corrected since the last run gets a new folder, and its earlier pack is
moved aside (supersede_earlier_packs). Two batches into one output folder take turns: each holds
the folder's lock while it cleans up, builds and records.

Ctrl-C stops the batch: workers ignore SIGINT, the parent stops them, removes their
temporary files and says how to resume. Workers die with their parent (SIGKILL
included), so nothing is written after the parent is gone.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

from . import __version__, content, digests, output, paths, registry, scratch
from .clock import print_date
from .errors import HandoutsError, Interrupted, escaped
from .patient import Patient
from .session import RenderSession

MANIFEST = "manifest.json"
PATIENTS_DIR = "patients"


@dataclass(frozen=True)
class Job:
    document: str
    locale: str
    paper: str
    root: Path
    rel: str  # path inside root, with "/" separators
    patient: Patient | None = None
    sheet: str | None = None
    patients: tuple[Patient, ...] = ()
    origin: str = ""  # where the personal data came from, e.g. "today.csv row 4"
    also: str | None = None  # a second language (a reprint prints a document as it was printed)
    large_print: bool = False
    rows: tuple[tuple[int, str], ...] = ()  # a list's sheet: its cards' (list row, patient folder), in slot order

    @property
    def out(self) -> Path:
        return self.root.joinpath(*PurePosixPath(self.rel).parts)

    @property
    def folder(self) -> str:
        return str(PurePosixPath(self.rel).parent)

    @property
    def name(self) -> str:
        return PurePosixPath(self.rel).name

    @property
    def label(self) -> str:
        """What progress lines show: never personal data, and the list's name escaped."""
        parts = [self.document, self.locale, self.sheet or self.paper]
        if self.origin:
            parts.append(f"({escaped(self.origin)})")
        return " ".join(parts)


@dataclass
class Result:
    job: Job
    status: str  # "built" | "unchanged" | "failed"
    pages: int = 0
    sha256: str = ""
    seconds: float = 0.0
    error: str = ""
    digest: str = ""


# -- input digests ----------------------------------------------------------------

# What a job depends on (digests.py: the static-part cache keys by the same digests).
_code_digest, _content_digest, _engines = digests.code_digest, digests.content_digest, digests.engines
_fonts_digest, _layout_digest, _locale_digest = digests.fonts_digest, digests.layout_digest, digests.locale_digest


def _mixed(each: Iterable[str]) -> str:
    """One digest for several locales' (a card sheet whose cards are in several languages)."""
    found = sorted(set(each))
    return found[0] if len(found) == 1 else hashlib.sha256("".join(found).encode()).hexdigest()


def inputs(job: Job) -> dict:
    spec = registry.get(job.document)
    personal = [p.model_dump_json() for p in ((job.patient,) if job.patient else job.patients)]
    codes = {job.locale, *(p.locale or job.locale for p in job.patients)}
    return {
        "content": _content_digest(paths.content_file().parent)[:16],
        "catalog": _mixed(_locale_digest(c) for c in codes)[:16],
        "fonts": _mixed(_fonts_digest(c) for c in codes)[:16],
        "layout": _layout_digest(spec.layout)[:16],
        "code": f"{__version__}+{_code_digest()[:12]}",
        "engines": _engines(),
        "print_date": print_date().isoformat(),
        "personal": hashlib.sha256("\n".join(personal).encode()).hexdigest()[:16] if personal else None,
    }


def digest(job: Job, inp: dict) -> str:
    variant = [job.also, job.large_print] if job.also or job.large_print else []
    key = {"job": [job.document, job.locale, job.paper, job.sheet, job.rel, *variant], **inp}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


# -- manifest ---------------------------------------------------------------------

class _ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    file: str
    pages: int
    sha256: str
    input_digest: str


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")
    files: list[_ManifestEntry]


def read_manifest(out: output.OutputDir, folder: str,
                  warn: Callable[[HandoutsError], None] | None = None) -> dict[str, dict]:
    """The files a folder's manifest records; a malformed manifest counts as absent (its
    files are rebuilt), and the caller is told."""
    rel = MANIFEST if folder in ("", ".") else f"{folder}/{MANIFEST}"
    raw = out.read(rel, limit=16 * 1024 * 1024)
    if raw is None:
        return {}
    try:
        data = _Manifest.model_validate_json(raw)
    except ValidationError as exc:  # bad JSON too
        if warn:
            where = "a patient folder" if folder.startswith(PATIENTS_DIR + "/") else (folder or ".")
            first = exc.errors()[0]
            detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}".strip(": ")[:80]
            warn(HandoutsError("manifest.malformed", "", {"file": MANIFEST, "folder": where, "detail": detail}))
        return {}
    return {e.file: e.model_dump() for e in data.files}


def write_manifest(out: output.OutputDir, folder: str, entries: dict[str, dict]) -> None:
    model = content.default()
    body = {
        "tool": f"handouts {__version__}",
        "content_version": model.meta.content_version,
        "label_revision": model.meta.label_revised.isoformat(),
        "files": [entries[k] for k in sorted(entries)],
    }
    rel = MANIFEST if folder in ("", ".") else f"{folder}/{MANIFEST}"
    out.write(rel, (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _entry(result: Result, inp: dict) -> dict:
    job = result.job
    model = content.default()
    entry: dict[str, Any] = {
        "file": job.name,
        "document": job.document, "locale": job.locale, "paper": job.paper, "sheet": job.sheet,
        "pages": result.pages, "sha256": result.sha256,
        "content_version": model.meta.content_version,
        "label_revision": model.meta.label_revised.isoformat(),
        "inputs": inp, "input_digest": result.digest,
        "origin": job.origin or None,  # not an input: a reordered list rebuilds nothing
    }
    if job.sheet and job.patients:
        entry["list"] = job.origin
        entry["cards"] = len(job.patients)
        if job.rows:
            entry["slots"] = sheet_slots(job)
            entry["locales"] = sorted({slot["locale"] for slot in entry["slots"]})
            # whose card is where: a sheet holding a superseded pack's card goes with it
            entry["folders"] = [folder for _, folder in job.rows]
    return entry


def sheet_slots(job: Job) -> list[dict[str, Any]]:
    """Which card is where on a list's sheets, in list order: sheet, slot (on the fronts
    page, counted left to right, top to bottom), the list's row, the card's language, and
    the digest its patient's folder ends with (never a name)."""
    from .cardlayout import imposition
    per = imposition(job.sheet or "", layout=registry.get(job.document).layout).per_sheet
    return [{"sheet": i // per + 1, "slot": i % per + 1, "row": row, "locale": p.locale or job.locale,
             "patient": folder.rsplit("-", 1)[-1]}
            for i, ((row, folder), p) in enumerate(zip(job.rows, job.patients, strict=True))]


# -- rendering (runs in worker processes) ------------------------------------------

def _die_with_parent(parent: int) -> None:
    """A worker must not outlive the batch: on Linux the kernel kills it with the
    parent; elsewhere (and as a second guard) a thread watches the parent's pid."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _own_font_folder() -> None:
    """A forked worker's WeasyPrint fonts go to a folder of its own (if the parent had
    loaded WeasyPrint at all: otherwise the worker loads it fresh)."""
    weasy = sys.modules.get(f"{__package__}.engines.weasy")
    if weasy is not None:
        weasy.start_own_fonts()


def _worker_init(parent: int, scratch_dir: str | None = None) -> None:
    # Ctrl-C goes to the whole process group; only the parent acts on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    if scratch_dir is not None:
        scratch.adopt(scratch_dir)  # removed by the parent, even if this worker is killed
    _own_font_folder()
    content.default()  # parse and validate the model once per process


def render_job(job: Job) -> Result:
    t0 = time.perf_counter()
    model = content.default()
    try:
        with RenderSession():  # one job's speed layer (its patient's text too) dies with it
            rendered = _render(job, model)
        output.OutputDir(job.root).write(job.rel, rendered.pdf)
    except HandoutsError as err:
        return Result(job, "failed", error=err.one_line(), seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a worker reports, it never dies with a traceback
        return Result(job, "failed", error=f"internal error: {type(exc).__name__}: {exc}",
                      seconds=time.perf_counter() - t0)
    return Result(job, "built", pages=rendered.pages, sha256=hashlib.sha256(rendered.pdf).hexdigest(),
                  seconds=time.perf_counter() - t0)


def _render(job: Job, model: content.ContentModel) -> Any:
    from .build import render_document, render_sheet, resolve_paper
    if job.sheet:
        return render_sheet(job.document, job.locale, job.sheet, list(job.patients), model, also=job.also)
    spec = registry.get(job.document)
    return render_document(job.document, job.locale, resolve_paper(spec, job.locale, job.paper), job.patient, model,
                           job.large_print, job.also)


# -- a corrected row: its earlier pack moved aside ------------------------------------
#
# Re-running a list after correcting a row (a phone number) makes a new folder, because a
# folder is named after a digest of the row's details (a corrected language keeps the
# folder: _move_old_languages_aside). The earlier pack still holds the old
# details (the wrong number on the card), so it must not stay beside the new one as if
# it were current. An earlier pack is taken as the same row's when it was made from a
# list of the same name for a patient of the same name (the folder's name, without its
# digest, compared without case) and this run does not make it again. It is moved, whole
# and with its manifest.json (which files were printed, their sha256, content version and
# print date: what the patient was given), into patients/superseded/, its manifest saying
# which pack replaced it and when; the new pack's manifest names the one it supersedes;
# a list sheet holding the earlier pack's card goes with it. Nothing is deleted, and each
# move is said, naming the list row (never the patient).

SUPERSEDED = "superseded"
_ORIGIN_ROW = re.compile(r"(?P<list>.+) row (?P<row>[0-9]+)")
_FOLDER = re.compile(r"(?P<base>.+)-(?:[0-9a-f]{8}|[0-9a-f]{16}|[0-9a-f]{64})")


def _list_row(origin: object) -> tuple[str, int] | None:
    m = _ORIGIN_ROW.fullmatch(origin) if isinstance(origin, str) else None
    return (m["list"], int(m["row"])) if m else None


def _base(folder: str) -> str | None:
    m = _FOLDER.fullmatch(folder)
    return m["base"].casefold() if m else None


def supersede_earlier_packs(plan: Plan, out: output.OutputDir,
                            notice: Callable[[HandoutsError], None] | None = None) -> dict[str, list[str]]:
    """Move aside every earlier pack that a row of this plan replaces (see above).
    Returns {new pack's folder: where its earlier packs now are, inside patients/}."""
    rows: dict[tuple[str, str], list[tuple[int, str]]] = {}  # (list, name) -> [(row, folder)]
    current: set[str] = set()
    for job in plan.jobs:
        list_row = _list_row(job.origin) if job.patient is not None else None
        parent = PurePosixPath(job.folder)
        if list_row is None or str(parent.parent) != PATIENTS_DIR:
            continue
        current.add(parent.name)
        base = _base(parent.name)
        if base is not None and (list_row[1], parent.name) not in rows.get((list_row[0], base), []):
            rows.setdefault((list_row[0], base), []).append((list_row[1], parent.name))
    if not rows:
        return {}
    lists = {lst for lst, _ in rows}
    today = print_date().isoformat()
    moved: dict[str, list[str]] = {}
    replaced_by: dict[str, str] = {}  # earlier pack's folder -> the new pack's
    for name in out.folders(PATIENTS_DIR):
        base = _base(name)
        if name in current or base is None or not any((lst, base) in rows for lst in lists):
            continue
        entries = read_manifest(out, f"{PATIENTS_DIR}/{name}")
        made_from = [w for w in (_list_row(e.get("origin")) for e in entries.values()) if w and w[0] in lists]
        match = next(((lst, old_row) for lst, old_row in made_from if (lst, base) in rows), None)
        if match is None:
            continue
        lst, old_row = match
        candidates = rows[(lst, base)]
        row, by = next(((r, f) for r, f in candidates if r == old_row), candidates[0])
        where = f"{lst} row {row}"
        aside = _move_aside(plan, out, f"{PATIENTS_DIR}/{name}", f"{PATIENTS_DIR}/{SUPERSEDED}", where, notice)
        if aside is None:
            continue
        _mark_superseded(out, aside, {"by": by, "on": today, "list": lst, "row": row})
        moved.setdefault(by, []).append(aside.removeprefix(PATIENTS_DIR + "/"))
        plan.moved_aside.append(aside)
        replaced_by[name] = by
        if notice:
            notice(HandoutsError("pack.superseded", "", {"folder": f"{PATIENTS_DIR}/{SUPERSEDED}"}, where=where))
    for folder, (made, printed) in _current_folders(plan).items():
        if _move_old_languages_aside(plan, out, folder, made, printed, today, notice, moved):
            replaced_by[folder] = folder
    if replaced_by:
        _move_sheets_aside(plan, out, replaced_by, today, notice)
    return moved


def _move_aside(plan: Plan, out: output.OutputDir, path: str, into: str, where: str,
                notice: Callable[[HandoutsError], None] | None) -> str | None:
    """Where `path` went in `into`, or None when it could not be moved: then it stays where
    it is and the run reports it (the rest of the pack is still moved)."""
    try:
        return out.move_aside(path, into)
    except HandoutsError as err:
        problem = HandoutsError("pack.not_moved", "", {"problem": err}, where=where)
        plan.problems.append(problem)
        if notice:
            notice(problem)
        return None


def _current_folders(plan: Plan) -> dict[str, tuple[set[str], set[tuple[str, int]]]]:
    """Each patient folder this run prints into: the files it makes there and the list
    rows it makes them from."""
    out: dict[str, tuple[set[str], set[tuple[str, int]]]] = {}
    for job in plan.jobs:
        list_row = _list_row(job.origin) if job.patient is not None else None
        parent = PurePosixPath(job.folder)
        if list_row is None or str(parent.parent) != PATIENTS_DIR:
            continue
        made, printed = out.setdefault(parent.name, (set(), set()))
        made.add(job.name)
        printed.add(list_row)
    return out


def _move_old_languages_aside(plan: Plan, out: output.OutputDir, folder: str, made: set[str],
                              printed: set[tuple[str, int]], today: str,
                              notice: Callable[[HandoutsError], None] | None, moved: dict[str, list[str]]) -> bool:
    """A folder's digest leaves the language out (the file names say it), so a row whose
    language was corrected comes back to its folder: the files made earlier from that
    same list row that this run does not make again (the old language's) are moved into
    patients/superseded/<folder>/ with their manifest entries, as a corrected row's
    earlier pack is. Files from another list, or from a row this run does not print
    (a patient's second language on a row since removed), stay."""
    rel = f"{PATIENTS_DIR}/{folder}"
    entries = read_manifest(out, rel)
    stale = {f: e for f, e in entries.items() if f not in made and _list_row(e.get("origin")) in printed}
    if not stale:
        return False
    into = f"{PATIENTS_DIR}/{SUPERSEDED}/{folder}"
    aside = read_manifest(out, into)
    done = False
    for file, entry in sorted(stale.items()):
        lst, row = _list_row(entry.get("origin")) or ("", 0)
        where = f"{lst} row {row}"
        if os.path.lexists(out.root / rel / file):  # else deleted by hand: only its entry moves
            moved_to = _move_aside(plan, out, f"{rel}/{file}", into, where, notice)
            if moved_to is None:
                continue
            file_aside = moved_to.rsplit("/", 1)[-1]
        else:
            file_aside = file
        aside[file_aside] = {**entry, "file": file_aside,
                             "superseded": {"by": folder, "on": today, "list": lst, "row": row}}
        entries.pop(file)
        if not done and notice:
            notice(HandoutsError("pack.superseded", "", {"folder": f"{PATIENTS_DIR}/{SUPERSEDED}"}, where=where))
        done = True
    if done:
        _annotate(out, into, aside)
        _annotate(out, rel, entries)
        moved.setdefault(folder, []).append(into.removeprefix(PATIENTS_DIR + "/"))
        plan.moved_aside.append(into)
    return done


def _mark_superseded(out: output.OutputDir, folder: str, note: dict) -> None:
    """Add `note` to each entry of a moved pack's manifest, keeping everything else as it
    was written (the content version it was printed from included)."""
    rel = f"{folder}/{MANIFEST}"
    try:
        data = json.loads(out.read(rel, limit=16 * 1024 * 1024) or b"")
        for entry in data["files"]:
            entry["superseded"] = note
        out.write(rel, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    except (ValueError, TypeError, KeyError, HandoutsError):  # no usable manifest: the pack is aside anyway
        pass


def _annotate(out: output.OutputDir, folder: str, entries: dict[str, dict]) -> None:
    try:
        write_manifest(out, folder, entries)
    except HandoutsError:  # reported by the run's own manifest writes, if it matters
        pass


def _move_sheets_aside(plan: Plan, out: output.OutputDir, replaced: dict[str, str], today: str,
                       notice: Callable[[HandoutsError], None] | None) -> None:
    """List sheets (in patients/) that hold a card of a pack just moved aside, unless this
    run makes them again: moved into patients/superseded/ with their manifest entries."""
    making = {job.name for job in plan.jobs if job.folder == PATIENTS_DIR}
    entries = read_manifest(out, PATIENTS_DIR)
    stale = {f: e for f, e in entries.items()
             if f not in making and any(folder in replaced for folder in e.get("folders") or ())}
    if not stale:
        return
    aside = read_manifest(out, f"{PATIENTS_DIR}/{SUPERSEDED}")
    for file, entry in stale.items():
        where = str(entry.get("list") or "")
        moved = file
        if os.path.lexists(out.root / PATIENTS_DIR / file):  # else deleted by hand: only its entry moves
            moved_to = _move_aside(plan, out, f"{PATIENTS_DIR}/{file}", f"{PATIENTS_DIR}/{SUPERSEDED}", where, notice)
            if moved_to is None:
                continue
            moved = moved_to.rsplit("/", 1)[-1]
            plan.moved_aside.append(f"{PATIENTS_DIR}/{SUPERSEDED}/{moved}")
        by = sorted({replaced[f] for f in entry.get("folders") or () if f in replaced})
        aside[moved] = {**entry, "file": moved, "superseded": {"by": by, "on": today}}
        entries.pop(file)
        if notice:
            notice(HandoutsError("sheet.superseded", "", {"folder": f"{PATIENTS_DIR}/{SUPERSEDED}"}, where=where))
    _annotate(out, f"{PATIENTS_DIR}/{SUPERSEDED}", aside)
    _annotate(out, PATIENTS_DIR, entries)


# -- orchestration ----------------------------------------------------------------

def fill_static_parts(jobs: Iterable[Job]) -> None:
    """Lay out, in this process, the patient-independent part of each document the jobs
    print that has one (the handout's rest, per locale and paper), once: forked workers
    find it in the cache they inherit, instead of each laying it out. A part that fails
    here is left to the job, which reports it."""
    model = content.default()
    done: set[tuple[str, str, str]] = set()
    for job in jobs:
        spec = registry.get(job.document)
        where = (job.document, job.locale, job.paper)
        if spec.fill_static is None or job.sheet or where in done:
            continue
        done.add(where)
        try:
            with RenderSession():
                spec.fill_static(job.locale, job.paper, model)
        except HandoutsError:
            pass


@dataclass
class Plan:
    root: Path
    jobs: list[Job]
    # What went wrong beside the jobs (a manifest that could not be written): each
    # reported once, as it happens; the run is then not a success.
    problems: list[HandoutsError] = field(default_factory=list)
    # Earlier packs and sheets that this run's corrected rows replace, moved aside
    # (their paths inside root).
    moved_aside: list[str] = field(default_factory=list)

    def folders(self) -> set[str]:
        return {j.folder for j in self.jobs}


def _stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Stop now: kill the workers (a half-written file is only ever a .part file, removed
    afterwards), then let the executor's own thread notice and end, so the interpreter
    does not wait for it at exit."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    terminate = getattr(pool, "kill_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
    for proc in procs:
        try:
            proc.kill()
        except (OSError, AttributeError, ValueError):
            pass
    pool.shutdown(wait=True, cancel_futures=True)


def _first_sigint_only(signum, frame):
    """The first Ctrl-C stops the batch; later ones must not interrupt the stopping."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _mp_context():
    # fork: workers start warm (imports, fonts, model); spawn where fork does not exist.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run(plan: Plan, jobs: int = 0, fail_fast: bool = False,
        on_result: Callable[[Result], None] | None = None,
        warn: Callable[[HandoutsError], None] | None = None) -> list[Result]:
    """Build the plan's jobs, holding the output folder: a second batch into the same
    folder waits for this one (and is told so), so that neither cleans up nor records
    over the other."""
    out = output.OutputDir(plan.root)

    def waiting(pid: int | None) -> None:
        if warn:
            warn(HandoutsError("output.in_use", "out", {"path": plan.root, "pid": pid}) if pid else
                 HandoutsError("output.in_use_unknown", "out", {"path": plan.root}))

    with out.locked(waiting):
        return _run(plan, out, jobs, fail_fast, on_result, warn)


def _run(plan: Plan, out: output.OutputDir, jobs: int, fail_fast: bool,
         on_result: Callable[[Result], None] | None, warn: Callable[[HandoutsError], None] | None) -> list[Result]:
    jobs = jobs or os.cpu_count() or 1
    replaced = supersede_earlier_packs(plan, out, warn)
    for folder in plan.folders():
        out.clean_partials(folder)
    manifests = {f: read_manifest(out, f, warn) for f in plan.folders()}
    results: list[Result] = []
    built: dict[str, dict[str, dict]] = {}  # folder -> file -> this run's manifest entry
    unrecorded: set[str] = set()  # folders whose manifest could not be written
    todo: list[tuple[Job, dict, str]] = []
    for job in plan.jobs:
        inp = inputs(job)
        dig = digest(job, inp)
        entry = manifests[job.folder].get(job.name)
        current = out.read(job.rel) if entry and entry.get("input_digest") == dig else None
        if current is not None and entry and hashlib.sha256(current).hexdigest() == entry.get("sha256"):
            res = Result(job, "unchanged", pages=entry["pages"], sha256=entry["sha256"], digest=dig)
            results.append(res)
            if on_result:
                on_result(res)
        else:
            todo.append((job, inp, dig))

    def record(res: Result, inp: dict, dig: str) -> None:
        res.digest = dig
        results.append(res)
        if res.status == "built":
            folder = res.job.folder
            entry = _entry(res, inp)
            # Which earlier packs this one replaces (kept when the pack is rebuilt later).
            earlier = replaced.get(PurePosixPath(folder).name) or \
                manifests[folder].get(res.job.name, {}).get("supersedes")
            if earlier and folder != PATIENTS_DIR:
                entry["supersedes"] = earlier
            built.setdefault(folder, {})[res.job.name] = entry
            if folder not in unrecorded:
                try:
                    # This run's entries merged into what the file holds now: a writer that
                    # does not take the lock (another machine on a network share) keeps its own.
                    write_manifest(out, folder, {**read_manifest(out, folder), **built[folder]})
                except HandoutsError as err:  # e.g. a folder named manifest.json: that file only
                    unrecorded.add(folder)
                    problem = HandoutsError("manifest.not_written", "", {"problem": err})
                    plan.problems.append(problem)
                    if warn:
                        warn(problem)
        if on_result:
            on_result(res)

    def interrupted() -> Interrupted:
        for folder in plan.folders():
            out.clean_partials(folder)
        done = sum(r.status in ("built", "unchanged") for r in results)
        return Interrupted("interrupted", "", {"done": done, "total": len(plan.jobs)})

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _first_sigint_only) if in_main else None
    stopping = False
    try:
        if jobs == 1 or len(todo) <= 1:
            for job, inp, dig in todo:
                res = render_job(job)
                record(res, inp, dig)
                if fail_fast and res.status == "failed":
                    break
        else:
            fill_static_parts([job for job, _, _ in todo])  # inherited by the workers forked next
            workspace = scratch.Scratch()
            pool = cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=_mp_context(),
                                          initializer=_worker_init, initargs=(os.getpid(), str(workspace.path)))
            try:
                futures = {pool.submit(render_job, job): (job, inp, dig) for job, inp, dig in todo}
                for fut in cf.as_completed(futures):
                    job, inp, dig = futures[fut]
                    try:
                        res = fut.result()
                    except cf.process.BrokenProcessPool as exc:
                        res = Result(job, "failed", error=f"worker process died: {exc}")
                    record(res, inp, dig)
                    if fail_fast and res.status == "failed":
                        break
            except BaseException:
                _stop_workers(pool)
                raise
            else:
                _stop_workers(pool) if fail_fast else pool.shutdown(wait=True)
            finally:
                workspace.close()
    except KeyboardInterrupt:
        stopping = True
        raise interrupted() from None
    finally:
        # After a Ctrl-C the process is on its way out: a second one stays ignored, or it
        # would turn the clean stop into a kill on the way (-SIGINT instead of exit 130).
        if in_main and not stopping:
            signal.signal(signal.SIGINT, previous)
    return results


# -- planning ---------------------------------------------------------------------

def plan_locale(code: str, root: Path) -> list[Job]:
    """Every document for one locale: each paper, and each card sheet."""
    jobs: list[Job] = []
    drug = content.default().meta.file_stem
    for spec in registry.DOCUMENTS.values():
        for paper in spec.papers:
            jobs.append(Job(spec.name, code, paper, root, f"{code}/{spec.file_name(drug, code, paper)}"))
        for sheet in spec.sheets:
            jobs.append(Job(spec.name, code, spec.papers[0], root, f"{code}/{spec.file_name(drug, code, sheet)}",
                            sheet=sheet))
    return jobs


def patient_folders(patients: list[tuple[int, Patient]], names: str = "full") -> dict[int, str]:
    """One folder per patient: the name made safe (or its initials, names="initials"),
    then a digest of the patient's details (request.patient_tag's). The same patient
    always gets the same folder (in another language too: the file names say which);
    patients that differ in any detail never share one, even where names collide once
    made safe ("Li Wei 2" and a second "Li Wei")."""
    from .patient import initials
    out: dict[int, str] = {}
    taken: dict[str, str] = {}  # case-folded folder -> file key (case-insensitive file systems)
    for row, p in patients:
        ident = p.file_key()
        shown = initials(p.name or "") if names == "initials" else p.name or ""
        base = output.safe_name(shown, fallback="patient", max_len=48, max_bytes=96)
        for n in (8, 16, 64):
            name = f"{base}-{ident[:n]}"
            owner = taken.get(name.casefold())
            if owner is None or owner == ident:
                break
        else:  # pragma: no cover - a full sha256 collision
            raise HandoutsError("list.same_folder", "patients")
        taken[name.casefold()] = ident
        out[row] = name
    return out


def plan_patients(rows: list[tuple[int, Patient]], source: str, root: Path,
                  default_locale: str, model: content.ContentModel | None = None,
                  file_names: str = "full") -> list[Job]:
    """Each row's documents (every document that prints a patient's details) in the
    row's own folder, and one set of sheets of all the rows' cards in list order, each
    card in its row's language (where a document names a list sheet), each resolved as
    the command line resolves it. The sheets' manifest entry says which slot is whose."""
    from .request import Request, resolve
    model = model or content.default()
    names = patient_folders(rows, file_names)
    jobs: list[Job] = []
    personal = [spec for spec in registry.DOCUMENTS.values() if spec.variables]
    for row, p in rows:
        code = p.locale or default_locale
        origin = f"{source} row {row}"
        for spec in personal:
            res = resolve(Request(spec.name, code, patient=p, patient_where=origin), model)
            jobs.append(Job(spec.name, res.locale, res.paper.name, root,
                            f"{PATIENTS_DIR}/{names[row]}/{res.plain_name}", patient=p, origin=origin))
    group = tuple(p for _, p in rows)
    for spec in personal:
        if spec.list_sheet is None or not rows:
            continue
        res = resolve(Request(spec.name, default_locale, sheet=spec.list_sheet, patients=group, list_name=source,
                              copies=1), model)
        key = res.file_name.removesuffix(".pdf").rsplit("-", 1)[-1]
        jobs.append(Job(spec.name, res.locale, spec.papers[0], root, f"{PATIENTS_DIR}/{res.file_name}",
                        sheet=spec.list_sheet, patients=group, origin=f"{source} ({len(group)} rows, list {key})",
                        rows=tuple((row, names[row]) for row, _ in rows)))
    return jobs


def summary_counts(results: list[Result]) -> dict:
    return {
        "files": sum(r.status in ("built", "unchanged") for r in results),
        "built": sum(r.status == "built" for r in results),
        "unchanged": sum(r.status == "unchanged" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "pages": sum(r.pages for r in results),
    }


def as_dict(result: Result) -> dict[str, Any]:
    d = asdict(result)
    d["job"] = result.job.label
    return d
