"""The personal handout as a personal part joined with the cached static part, measured
beside today's whole-document render and the Typst anchor, in one run. Prints JSON;
nothing fails. Uses the scratch split in tests/handout_split.py (the layouts are not
split yet), so it measures the join and the cache, not final pages.

    .venv/bin/python benchmarks/bench_join.py [--quick]

- warm personal handout (en, zh-Hans): CPU seconds of today's render and of the joined
  one (static part in memory), each as a ratio to the Typst anchor's warm render;
- where the joined handout's time goes: the personal part's HTML, layout and write,
  and the join (open, copy, fonts, save);
- cold `build handout --patient`: today's CLI, and a fresh process building the joined
  handout the way the CLI would (patient file read and checked, static part from the
  disk cache, file written), against a cold Typst process;
- 100 patients (34 en, 33 zh-Hans, 33 zh-Hant; handout and wallet card each, card
  sheets per locale) on 2 worker processes: today's `handouts batch`, and the same jobs
  with joined handouts (each worker keeps the static parts in memory, both share the
  disk cache);
- what a personal part costs by what it holds (pieces of today's handout);
- joined file size against today's, every locale and paper.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SOURCE_DATE_EPOCH", "1795392000")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import handout_split as split  # noqa: E402
from handouts import content, locales, papers, registry  # noqa: E402
from handouts.documents import handout  # noqa: E402
from handouts.documents.common import BuildRequest  # noqa: E402
from handouts.staticcache import StaticCache  # noqa: E402

PATIENT_TOML = """name = "Li Wei"
first_dose = 2026-12-01
oncologist = "Dr. Maria Gonzalez"
phone = "+1 (555) 010-2030"
treatment_center = "Riverside Cancer Center"
"""


def request(locale: str, paper: str | None = None, patient=None) -> BuildRequest:
    from handouts.build import resolve_paper
    spec = registry.get("handout")
    paper_obj = papers.get(paper, spec.papers) if paper else resolve_paper(spec, locale, None)
    return BuildRequest("handout", locale, paper_obj, patient or spec.sample_patient(), content.default())


def best_cpu(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        best = min(best, time.process_time() - c0)
    return best


def warm(locale: str, repeat: int, anchor_cpu: float | None) -> dict:
    req = request(locale)
    cache = StaticCache(None)
    split.render_joined(req, cache)
    handout.render(req)
    whole = joined = float("inf")
    for _ in range(repeat):  # alternated: a busy moment of the machine hits both
        whole = min(whole, best_cpu(lambda: handout.render(req), 1))
        joined = min(joined, best_cpu(lambda: split.render_joined(req, cache), 1))
    out = {"today_whole_cpu_s": round(whole, 4), "joined_cpu_s": round(joined, 4),
           "joined_vs_today": round(joined / whole, 2)}
    if anchor_cpu:
        out["today_ratio_to_typst_cpu"] = round(whole / anchor_cpu, 1)
        out["joined_ratio_to_typst_cpu"] = round(joined / anchor_cpu, 1)
    return out


PHASES = (
    ("personal: layout", "weasyprint/layout/__init__.py", "layout_document"),
    ("personal: cascade and box tree", "weasyprint/document.py", "_build_layout_context"),
    ("personal: write PDF", "weasyprint/document.py", "write_pdf"),
    ("join, all", "handouts/pdfjoin.py", "join"),
    ("join: open parts", "pikepdf/_methods.py", "open"),
    ("join: fonts (merge subsets, widths, text maps)", "handouts/pdfjoin.py", "_share_fonts"),
    ("join: font programs merged", "handouts/fontmerge.py", "merge"),
    ("join: save", "pikepdf/_methods.py", "save"),
)


def profile(locale: str, repeat: int) -> dict:
    req = request(locale)
    cache = StaticCache(None)
    split.render_joined(req, cache)
    own = best_cpu(lambda: split.personal_html(req, 2), repeat)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        split.render_joined(req, cache)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(tt for (_, _, tt, _, _) in stats.values())
    out = {"profiled_total_s": round(total / repeat, 4), "handouts_html_cpu_s (unprofiled)": round(own, 4)}
    for label, where, name in PHASES:
        cum = sum(v[3] for (path, _, fn), v in stats.items() if fn == name and path.endswith(where))
        out[label] = {"s": round(cum / repeat, 4), "share": round(cum / total, 3)}
    return out


def compositions(locale: str, repeat: int) -> dict:
    """CPU seconds of a personal part made of different pieces of today's handout: what
    the real split can afford per patient (the join adds its own time on top)."""
    req = request(locale)
    c = split._chunks(handout.html(req))
    masthead, what, warning = split._SECTION.split(c["front"])[:3]
    head = split._head(c["head"], ".personal { break-before: auto; }", 4)
    pieces = {
        "masthead only (a one-page document's floor)": masthead,
        "masthead + warning box with phone + care team": masthead + warning + c["care"],
        "care team + dated schedule": c["care"] + c["schedule"],
        "page 1 as today (masthead, what it is, warning box)": c["front"],
    }
    htmls = {label: split._document(head, body) for label, body in pieces.items()}
    htmls["the prototype's personal part (page 1, then care team + dated schedule)"] = split.personal_html(req, 2)
    out = {}
    for label, html in htmls.items():
        rendered = split._render(req, html)
        out[label] = {"cpu_s": round(best_cpu(lambda: split._render(req, html), repeat), 4), "pages": rendered.pages}
    return out


COLD_JOINED = """
import os, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from handouts import content, output
from handouts.build import output_name, precheck, resolve_paper, validate
from handouts.patient import load_toml
from handouts.staticcache import StaticCache
import handout_split as split
from handouts.documents.common import BuildRequest
from handouts import registry
patient = load_toml(Path(sys.argv[1]))
model = content.default()
out = Path(sys.argv[2])
paper = validate("handout", "en", None, patient, out, model)
precheck(patient, "en", model, "", documents=("handout",))
pdf, pages = split.render_joined(BuildRequest("handout", "en", paper, patient, model), StaticCache(Path(sys.argv[3])))
output.write_atomic(out / output_name("handout", "en", paper.name, patient), pdf)
"""


def cold(tmp: Path, anchor: dict | None) -> dict:
    import bench
    toml = tmp / "p.toml"
    toml.write_text(PATIENT_TOML, encoding="utf-8")
    today = bench.run_cold(["build", "handout", "--patient", str(toml), "--out", str(tmp / "c")], tmp)
    script = tmp / "cold_joined.py"
    script.write_text(COLD_JOINED.format(tests=str(HERE.parent / "tests")), encoding="utf-8")
    # run_timed's untimed first run fills the disk cache; the timed runs find it there.
    wall, cpu = bench.run_timed([sys.executable, str(script), str(toml), str(tmp / "j"), str(tmp / "cache")], tmp)
    out = {"today_cli": today, "joined_static_on_disk": {"s": round(wall, 3), "cpu_s": round(cpu, 3)}}
    if anchor:
        out["today_ratio_to_typst_cold_cpu"] = round(today["cpu_s"] / anchor["cold_process_cpu_s"], 1)
        out["joined_ratio_to_typst_cold_cpu"] = round(cpu / anchor["cold_process_cpu_s"], 1)
        out["today_ratio_to_typst_cold_wall"] = round(today["s"] / anchor["cold_process_s"], 1)
        out["joined_ratio_to_typst_cold_wall"] = round(wall / anchor["cold_process_s"], 1)
    return out


def patients_csv(path: Path) -> Path:
    rows = ["name,first_dose,oncologist,phone,treatment_center,locale"]
    codes = ["en"] * 34 + ["zh-Hans"] * 33 + ["zh-Hant"] * 33
    rows += [f"Patient {i},2026-12-{1 + i % 28:02d},Dr. Gonzalez,+1 555 010 {i:04d},Riverside,{code}"
             for i, code in enumerate(codes)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


_CACHE: StaticCache | None = None


def _batch_job(job):
    """One batch job, with the handout joined (in a worker process)."""
    from handouts import batch, output
    from handouts.build import resolve_paper
    if job.document != "handout":
        return batch.render_job(job)
    t0 = time.perf_counter()
    spec = registry.get("handout")
    req = BuildRequest("handout", job.locale, resolve_paper(spec, job.locale, job.paper), job.patient,
                       content.default())
    pdf, pages = split.render_joined(req, _CACHE)
    output.OutputDir(job.root).write(job.rel, pdf)
    return batch.Result(job, "built", pages=pages, seconds=time.perf_counter() - t0)


def _init(parent: int, folder: str) -> None:
    from handouts import batch
    global _CACHE
    batch._worker_init(parent)
    _CACHE = StaticCache(Path(folder))


def batch_run(mode: str, csv: Path, out: Path, cache: Path) -> None:
    """Runs in a fresh process (as the CLI would): every job of the patient list."""
    import concurrent.futures as cf

    from handouts import batch, output
    from handouts.build import checked_rows
    from handouts.patient import Patient
    output.ensure_writable_dir(out)
    rows = [(r, p) for r, p in checked_rows(csv, "en", content.default()) if isinstance(p, Patient)]
    jobs = batch.plan_patients(rows, csv.name, out, "en")
    fn = _batch_job if mode == "joined" else batch.render_job
    with cf.ProcessPoolExecutor(2, mp_context=batch._mp_context(), initializer=_init,
                                initargs=(os.getpid(), str(cache))) as pool:
        results = list(pool.map(fn, jobs))
    failed = [r.error for r in results if r.status != "built"]
    if failed:
        raise SystemExit(f"{len(failed)} failed: {failed[0]}")


def batches(tmp: Path) -> dict:
    import bench
    csv = patients_csv(tmp / "patients.csv")
    out = {}

    def timed(cmd):
        c0, t0 = bench._children_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=tmp, env=bench.cold_env())
        return {"s": round(time.perf_counter() - t0, 2), "cpu_s": round(bench._children_cpu() - c0, 2)}

    out["today_cli_batch"] = timed([sys.executable, "-m", "handouts", "batch", "--patients", str(csv),
                                    "--out", str(tmp / "b1"), "--jobs", "2"])
    out["today_same_harness"] = timed([sys.executable, __file__, "--batch", "whole", str(csv), str(tmp / "b2"),
                                       str(tmp / "bc")])
    out["joined_cold_cache"] = timed([sys.executable, __file__, "--batch", "joined", str(csv), str(tmp / "b3"),
                                      str(tmp / "bc")])
    out["joined_warm_disk_cache"] = timed([sys.executable, __file__, "--batch", "joined", str(csv),
                                           str(tmp / "b4"), str(tmp / "bc")])
    return out


def sizes() -> dict:
    out = {}
    cache = StaticCache(None)
    for code in locales.available():
        for paper in registry.get("handout").papers:
            req = request(code, paper)
            joined, _ = split.render_joined(req, cache)
            today = handout.render(req).pdf
            out[f"{code}/{paper}"] = {"today_bytes": len(today), "joined_bytes": len(joined),
                                      "ratio": round(len(joined) / len(today), 3)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats, no batches")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--batch", nargs=4, metavar=("MODE", "CSV", "OUT", "CACHE"), help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.batch:
        mode, csv, out, cache = opts.batch
        return batch_run(mode, Path(csv), Path(out), Path(cache))
    import bench
    repeat = 3 if opts.quick else opts.repeat
    report: dict = {"machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}}
    anchor = bench.typst_anchor(repeat)
    report["typst_anchor_en"] = anchor or "typst not installed: pip install -r benchmarks/requirements.txt"
    anchor_cpu = anchor["warm_cpu_s"] if anchor else None
    report["handout_personal_warm"] = {code: warm(code, repeat, anchor_cpu) for code in ("en", "zh-Hans")}
    report["profile_joined_warm"] = {code: profile(code, repeat) for code in ("en", "zh-Hans")}
    report["personal_part_compositions"] = {code: compositions(code, repeat) for code in ("en", "zh-Hans")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        report["cold_build_handout_patient"] = cold(tmp, anchor)
        if not opts.quick:
            report["batch_100_patients_2_workers"] = batches(tmp)
    report["sizes"] = sizes()
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
