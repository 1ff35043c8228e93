"""Batch export: plan jobs, skip what is up to date, render the rest in parallel
processes, write every file atomically and record it in a manifest.

A job is rebuilt only when something it depends on changed: the content model, its
locale's catalog and settings, its layout folder, the code, its own parameters (patient,
paper, sheet) or the print date. That is what the input digest in manifest.json records.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Callable, Iterable

from . import __version__, content, locales, output, paths, registry
from .documents.common import print_date
from .errors import HandoutsError
from .patient import Patient

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Job:
    document: str
    locale: str
    paper: str
    out: Path
    patient: Patient | None = None
    sheet: str | None = None
    patients: tuple[Patient, ...] = ()
    origin: str = ""  # where the personal data came from, e.g. "today.csv row 4"

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
def _content_digest() -> str:
    return _hash_files([paths.content_file()])


def inputs(job: Job) -> dict:
    spec = registry.get(job.document)
    personal = [p.model_dump_json() for p in ((job.patient,) if job.patient else job.patients)]
    return {
        "content": _content_digest()[:16],
        "catalog": _locale_digest(job.locale)[:16],
        "layout": _layout_digest(spec.layout)[:16],
        "code": f"{__version__}+{_code_digest()[:12]}",
        "print_date": print_date().isoformat(),
        "personal": hashlib.sha256("\n".join(personal).encode()).hexdigest()[:16] if personal else None,
        "origin": job.origin or None,
    }


def digest(job: Job, inp: dict) -> str:
    key = {"job": [job.document, job.locale, job.paper, job.sheet, str(job.out)], **inp}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


# -- manifest ---------------------------------------------------------------------

def read_manifest(folder: Path) -> dict[str, dict]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {f["file"]: f for f in data.get("files", [])}
    except (OSError, ValueError):
        return {}


def write_manifest(folder: Path, entries: dict[str, dict]) -> None:
    model = content.default()
    body = {
        "tool": f"handouts {__version__}",
        "content_version": model.meta.content_version,
        "label_revision": model.meta.label_revised.isoformat(),
        "files": [entries[k] for k in sorted(entries)],
    }
    output.write_atomic(folder / MANIFEST,
                        (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _entry(result: Result, root: Path, inp: dict) -> dict:
    job = result.job
    model = content.default()
    return {
        "file": str(job.out.relative_to(root)) if job.out.is_relative_to(root) else job.out.name,
        "document": job.document, "locale": job.locale, "paper": job.paper, "sheet": job.sheet,
        "pages": result.pages, "sha256": result.sha256,
        "content_version": model.meta.content_version,
        "label_revision": model.meta.label_revised.isoformat(),
        "inputs": inp, "input_digest": result.digest,
    }


# -- rendering (runs in worker processes) ------------------------------------------

def _worker_init() -> None:
    content.default()  # parse and validate the model once per process


def render_job(job: Job) -> Result:
    from .build import render_document, render_sheet
    t0 = time.perf_counter()
    model = content.default()
    try:
        if job.sheet:
            rendered = render_sheet(job.document, job.locale, job.sheet, list(job.patients), model)
        else:
            spec = registry.get(job.document)
            from .build import resolve_paper
            rendered = render_document(job.document, job.locale, resolve_paper(spec, job.locale, job.paper),
                                       job.patient, model)
        output.write_atomic(job.out, rendered.pdf)
    except HandoutsError as err:
        return Result(job, "failed", error=err.one_line(), seconds=time.perf_counter() - t0)
    return Result(job, "built", pages=rendered.pages, sha256=hashlib.sha256(rendered.pdf).hexdigest(),
                  seconds=time.perf_counter() - t0)


# -- orchestration ----------------------------------------------------------------

def clean_partials(folders: Iterable[Path]) -> None:
    """Temporary files left by a killed run; the PDFs they were for are rebuilt."""
    for folder in set(folders):
        if folder.is_dir():
            for part in folder.glob(".*.part"):
                part.unlink(missing_ok=True)


@dataclass
class Plan:
    root: Path
    jobs: list[Job]
    skipped_rows: list[str] = field(default_factory=list)

    def folders(self) -> set[Path]:
        return {j.out.parent for j in self.jobs}


def run(plan: Plan, jobs: int = 0, fail_fast: bool = False,
        on_result: Callable[[Result], None] | None = None) -> list[Result]:
    jobs = jobs or os.cpu_count() or 1
    clean_partials(plan.folders())
    manifests = {f: read_manifest(f) for f in plan.folders()}
    results: list[Result] = []
    todo: list[tuple[Job, dict, str]] = []
    for job in plan.jobs:
        inp = inputs(job)
        dig = digest(job, inp)
        entry = manifests[job.out.parent].get(job.out.name)
        if entry and entry.get("input_digest") == dig and job.out.is_file() and \
                hashlib.sha256(job.out.read_bytes()).hexdigest() == entry.get("sha256"):
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
            folder = res.job.out.parent
            manifests[folder][res.job.out.name] = _entry(res, folder, inp)
            write_manifest(folder, manifests[folder])
        if on_result:
            on_result(res)

    if jobs == 1 or len(todo) <= 1:
        for job, inp, dig in todo:
            res = render_job(job)
            record(res, inp, dig)
            if fail_fast and res.status == "failed":
                break
    else:
        with cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)), initializer=_worker_init) as pool:
            futures = {pool.submit(render_job, job): (job, inp, dig) for job, inp, dig in todo}
            for fut in cf.as_completed(futures):
                job, inp, dig = futures[fut]
                res = fut.result()
                record(res, inp, dig)
                if fail_fast and res.status == "failed":
                    for f in futures:
                        f.cancel()
                    break
    for folder, entries in manifests.items():
        if entries:
            write_manifest(folder, entries)
    return results


# -- planning ---------------------------------------------------------------------

def plan_locale(code: str, root: Path) -> list[Job]:
    """Every document for one locale: each paper, and each card sheet."""
    folder = root / code
    jobs: list[Job] = []
    for spec in registry.DOCUMENTS.values():
        for paper in spec.papers:
            jobs.append(Job(spec.name, code, paper, folder / f"{spec.name}-{code}-{paper}.pdf"))
        for sheet in spec.sheets:
            jobs.append(Job(spec.name, code, spec.papers[0],
                            folder / f"{spec.name}-{code}-{sheet}.pdf", sheet=sheet))
    return jobs


def patient_folders(patients: list[tuple[int, Patient]]) -> dict[int, str]:
    """Safe, unique folder names: the same name twice gets -2, -3 ..."""
    used: dict[str, int] = {}
    out: dict[int, str] = {}
    for row, p in patients:
        base = output.safe_name(p.name or "", fallback=f"row-{row}")
        n = used.get(base.lower(), 0) + 1
        used[base.lower()] = n
        out[row] = base if n == 1 else f"{base}-{n}"
    return out


PATIENT_DOCUMENTS = ("handout", "wallet-card")
PATIENT_SHEET = "letter-8up"


def plan_patients(rows: list[tuple[int, Patient]], source: str, root: Path,
                  default_locale: str) -> list[Job]:
    folder = root / "patients"
    names = patient_folders(rows)
    jobs: list[Job] = []
    by_locale: dict[str, list[Patient]] = {}
    for row, p in rows:
        code = p.locale or default_locale
        origin = f"{source} row {row}"
        for doc in PATIENT_DOCUMENTS:
            if doc not in registry.DOCUMENTS:
                continue
            spec = registry.get(doc)
            paper = spec.paper_default or locales.get(code).default_paper
            paper = paper if paper in spec.papers else spec.papers[0]
            jobs.append(Job(doc, code, paper, folder / names[row] / f"{doc}-{code}-{paper}.pdf",
                            patient=p, origin=origin))
        by_locale.setdefault(code, []).append(p)
    card = registry.DOCUMENTS.get("wallet-card")
    if card and PATIENT_SHEET in card.sheets:
        for code, group in sorted(by_locale.items()):
            jobs.append(Job("wallet-card", code, card.papers[0],
                            folder / f"wallet-cards-{code}-{PATIENT_SHEET}.pdf",
                            sheet=PATIENT_SHEET, patients=tuple(group), origin=f"{source}, {len(group)} rows"))
    return jobs


def summary_counts(results: list[Result]) -> dict:
    return {
        "files": sum(r.status in ("built", "unchanged") for r in results),
        "built": sum(r.status == "built" for r in results),
        "unchanged": sum(r.status == "unchanged" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "pages": sum(r.pages for r in results),
    }


def as_dict(result: Result) -> dict:
    d = asdict(result)
    d["job"] = result.job.label
    return d
