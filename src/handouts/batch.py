"""Batch export: plan jobs, skip what is up to date, render the rest in parallel
processes, write every file atomically inside the output folder and record it in a
manifest.

A job is rebuilt only when something it depends on changed: the content model, its
locale's catalog, settings and fonts, its layout folder, the code, its own parameters
(patient, paper, sheet) or the print date. That is what the input digest in
manifest.json records.

Every patient row gets its own folder, named from the patient's name and a digest of
the whole row, so the same row always lands in the same folder and two patients never
share one, whatever their names. Imposed card sheets are named after the list and a
digest of its rows, so a second list never replaces the first list's sheets.

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
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

from . import __version__, content, locales, output, paths, registry, scratch
from .clock import print_date
from .errors import HandoutsError, Interrupted
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
    rows: tuple[tuple[int, str], ...] = ()  # a sheet's cards: (list row, patient folder), in slot order

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
        """What progress lines show: never personal data."""
        parts = [self.document, self.locale, self.sheet or self.paper]
        if self.origin:
            parts.append(f"({self.origin})")
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

def _hash_files(files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@cache
def _code_digest() -> str:
    pkg = Path(__file__).resolve().parent
    return _hash_files(p for p in pkg.rglob("*.py"))


@cache
def _layout_digest(layout: str) -> str:
    folders = (paths.layouts_dir() / layout, paths.layouts_dir() / "_shared")
    return _hash_files(p for folder in folders for p in folder.rglob("*") if p.is_file())


@cache
def _locale_digest(code: str) -> str:
    spec = locales.get(code)
    files = [p for p in spec.directory.rglob("*") if p.is_file() and p.suffix in (".po", ".toml")]
    return _hash_files([*files, paths.fonts_dir() / "fonts.toml"])


@cache
def _fonts_digest(code: str) -> str:
    """The font files a locale prints with: a changed font changes every glyph."""
    spec = locales.get(code)
    return _hash_files({*locales.font_files(spec, "regular"), *locales.font_files(spec, "bold")})


@cache
def _content_digest() -> str:
    return _hash_files([paths.content_file()])


@cache
def _engines() -> dict[str, str | None]:
    """The engine libraries' versions and which of their patches are on: a new WeasyPrint
    or pydyf may change a file's bytes."""
    from .engines import patches
    return patches.engine_versions()


def _mixed(digests: Iterable[str]) -> str:
    """One digest for several locales' (a card sheet whose cards are in several languages)."""
    found = sorted(set(digests))
    return found[0] if len(found) == 1 else hashlib.sha256("".join(found).encode()).hexdigest()


def inputs(job: Job) -> dict:
    spec = registry.get(job.document)
    personal = [p.model_dump_json() for p in ((job.patient,) if job.patient else job.patients)]
    codes = {job.locale, *(p.locale or job.locale for p in job.patients)}
    return {
        "content": _content_digest()[:16],
        "catalog": _mixed(_locale_digest(c) for c in codes)[:16],
        "fonts": _mixed(_fonts_digest(c) for c in codes)[:16],
        "layout": _layout_digest(spec.layout)[:16],
        "code": f"{__version__}+{_code_digest()[:12]}",
        "engines": _engines(),
        "print_date": print_date().isoformat(),
        "personal": hashlib.sha256("\n".join(personal).encode()).hexdigest()[:16] if personal else None,
    }


def digest(job: Job, inp: dict) -> str:
    key = {"job": [job.document, job.locale, job.paper, job.sheet, job.rel], **inp}
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
    entry = {
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
        return render_sheet(job.document, job.locale, job.sheet, list(job.patients), model)
    spec = registry.get(job.document)
    return render_document(job.document, job.locale, resolve_paper(spec, job.locale, job.paper), job.patient, model)


# -- orchestration ----------------------------------------------------------------

@dataclass
class Plan:
    root: Path
    jobs: list[Job]

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
    jobs = jobs or os.cpu_count() or 1
    out = output.OutputDir(plan.root)
    for folder in plan.folders():
        out.clean_partials(folder)
    manifests = {f: read_manifest(out, f, warn) for f in plan.folders()}
    results: list[Result] = []
    todo: list[tuple[Job, dict, str]] = []
    for job in plan.jobs:
        inp = inputs(job)
        dig = digest(job, inp)
        entry = manifests[job.folder].get(job.name)
        current = out.read(job.rel) if entry and entry.get("input_digest") == dig else None
        if current is not None and hashlib.sha256(current).hexdigest() == entry.get("sha256"):
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
            manifests[res.job.folder][res.job.name] = _entry(res, inp)
            write_manifest(out, res.job.folder, manifests[res.job.folder])
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
    for spec in registry.DOCUMENTS.values():
        for paper in spec.papers:
            jobs.append(Job(spec.name, code, paper, root, f"{code}/{spec.file_name(code, paper)}"))
        for sheet in spec.sheets:
            jobs.append(Job(spec.name, code, spec.papers[0], root, f"{code}/{spec.file_name(code, sheet)}",
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
        base = output.safe_name(shown, fallback="patient", max_len=48)
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
