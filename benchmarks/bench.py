"""Speed and memory figures for handouts, printed as JSON (not a test: nothing fails).

    make bench            # or: .venv/bin/python benchmarks/bench.py [--quick]

- seconds per document x locale: cold (a fresh `handouts build` process) and warm
  (in-process, fonts and templates already loaded; mean of N renders);
- cards per second when imposing 1000 personalized cards on letter-8up sheets (when the
  wallet card is registered);
- wall time of `handouts batch --all-locales` and of a 100-patient CSV batch, cold;
- peak resident memory of this process and of the largest child (batch worker).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SOURCE_DATE_EPOCH", "1795392000")

from handouts import content, locales, registry  # noqa: E402
from handouts.build import render_document, resolve_paper  # noqa: E402


def cold_build(document: str, locale: str, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "handouts", "build", document, "--locale", locale, "--out", str(out)],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def warm_build(document: str, locale: str, repeat: int) -> float:
    model = content.default()
    spec = registry.get(document)
    paper = resolve_paper(spec, locale, None)
    render_document(document, locale, paper, None, model)  # load fonts, templates, catalogs
    t0 = time.perf_counter()
    for _ in range(repeat):
        render_document(document, locale, paper, None, model)
    return (time.perf_counter() - t0) / repeat


def cards_per_second(n: int) -> dict | None:
    if "wallet-card" not in registry.DOCUMENTS:
        return None
    from handouts.build import render_sheet
    from handouts.patient import Patient
    import datetime as dt
    model = content.default()
    patients = [Patient(name=f"Patient Number {i:04d}", first_dose=dt.date(2026, 12, 1),
                        oncologist="Dr. Maria Gonzalez", phone="+1 (555) 010-2030",
                        treatment_center="Riverside Cancer Center") for i in range(n)]
    render_sheet("wallet-card", "en", "letter-8up", patients[:8], model)  # warm up
    t0 = time.perf_counter()
    rendered = render_sheet("wallet-card", "en", "letter-8up", patients, model)
    seconds = time.perf_counter() - t0
    return {"cards": n, "sheets_pages": rendered.pages, "seconds": round(seconds, 3),
            "cards_per_second": round(n / seconds, 1)}


def batch_wall(args: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "handouts", "batch", *args], check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip the big batches")
    ap.add_argument("--repeat", type=int, default=5)
    opts = ap.parse_args()
    repeat = 2 if opts.quick else opts.repeat
    report: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "harfbuzz_subset": _has_hb_subset()}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        per_doc = {}
        for doc in registry.DOCUMENTS:
            for code in locales.available():
                per_doc[f"{doc}/{code}"] = {
                    "cold_s": round(cold_build(doc, code, tmp / "cold"), 3),
                    "warm_s": round(warm_build(doc, code, repeat), 3),
                }
        report["seconds_per_document"] = per_doc
        report["cards"] = cards_per_second(200 if opts.quick else 1000)
        if not opts.quick:
            report["batch_all_locales_s"] = round(batch_wall(["--all-locales", "--out", str(tmp / "all")], tmp), 2)
            csv = tmp / "patients.csv"
            rows = ["name,first_dose,oncologist,phone,treatment_center,locale"]
            codes = list(locales.available())
            rows += [f"Patient {i},2026-12-{1 + i % 28:02d},Dr. Gonzalez,+1 555 010 {i:04d},Riverside,"
                     f"{codes[i % len(codes)]}" for i in range(100)]
            csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
            report["batch_100_patients_s"] = round(
                batch_wall(["--patients", str(csv), "--out", str(tmp / "pat"), "--jobs", "2"], tmp), 2)
    report["peak_rss_mb"] = {
        "this_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "largest_child": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2))


def _has_hb_subset() -> bool:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    return "libharfbuzz-subset.so.0" in out


if __name__ == "__main__":
    main()
