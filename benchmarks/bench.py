"""Speed and memory figures for handouts, printed as JSON (not a test: nothing fails).

    make bench            # or: .venv/bin/python benchmarks/bench.py [--quick]

- seconds per document x locale: cold (a fresh `handouts build` process) and warm
  (in-process, fonts and templates already loaded; mean of N renders);
- cards per second when imposing 1000 personalized cards on letter-8up sheets (when the
  wallet card is registered);
- wall time of `handouts batch --all-locales` and of a 100-patient CSV batch, cold;
- peak resident memory of this process and of the largest child (batch worker);
- the issue-12 targets side by side with anchors measured in the same run: a warm
  personal handout (en, zh-Hans) against Typst rendering the same English content
  (benchmarks/typst_anchor.py; `pip install -r benchmarks/requirements.txt`), cold
  personal builds through the CLI, and 10,000 personalized cards through the CLI against
  a plain ReportLab program drawing the same cards (benchmarks/rl_floor.py).

    .venv/bin/python benchmarks/bench.py --only targets   # just the issue-12 figures
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


HERE = Path(__file__).resolve().parent
PATIENT_TOML = """name = "Li Wei"
first_dose = 2026-12-01
oncologist = "Dr. Maria Gonzalez"
phone = "+1 (555) 010-2030"
treatment_center = "Riverside Cancer Center"
"""


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cold_env() -> dict[str, str]:
    """The environment of the timed processes. An installed handouts runs from compiled
    bytecode (pip compiles it at install); with PYTHONDONTWRITEBYTECODE set, as on this
    kind of machine, every process would compile the package's sources again (about
    0.08 s of a cold card build that no user pays). So the timed processes may write and
    use bytecode, and run_timed makes one untimed run first."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_timed(cmd: list[str], cwd: Path, repeat: int = 3) -> tuple[float, float]:
    """Best wall and best CPU seconds (user + system) of `repeat` runs of a process,
    after one untimed run (bytecode written, page cache warm). On a shared machine CPU
    time is the steadier figure; ratios use it."""
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd, env=cold_env())
    wall = cpu = float("inf")
    for _ in range(repeat):
        c0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=cwd, env=cold_env())
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, _children_cpu() - c0)
    return wall, cpu


def run_cold(args: list[str], cwd: Path, repeat: int = 3) -> dict:
    """A fresh `handouts ...` process: {"s": wall, "cpu_s": CPU}."""
    wall, cpu = run_timed([sys.executable, "-m", "handouts", *args], cwd, repeat)
    return {"s": round(wall, 3), "cpu_s": round(cpu, 3)}


def warm_personal(locale: str, repeat: int) -> float:
    """Best mean of a warm personal handout (sample patient) over `repeat` rounds of 3."""
    model = content.default()
    spec = registry.get("handout")
    paper = resolve_paper(spec, locale, None)
    patient = spec.sample_patient()
    render_document("handout", locale, paper, patient, model)
    best = cpu = float("inf")
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(3):
            render_document("handout", locale, paper, patient, model)
        best = min(best, (time.perf_counter() - t0) / 3)
        cpu = min(cpu, (time.process_time() - c0) / 3)
    return best, cpu


def typst_anchor(repeat: int) -> dict | None:
    try:
        import typst  # noqa: F401
    except ImportError:
        return None
    sys.path.insert(0, str(HERE))
    import typst_anchor as ta
    src, fonts = ta.handout_source("en")
    comp = ta.compiler(src, fonts)
    ta.render(comp)
    best = cpu = float("inf")
    for _ in range(repeat):
        # A new source each round (as a new patient would be), fonts already loaded.
        comp = ta.compiler(src + f"\n// round {_}\n", fonts)
        c0, t0 = time.process_time(), time.perf_counter()
        ta.render(comp)
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    with tempfile.TemporaryDirectory() as tmp:
        typ = Path(tmp) / "handout.typ"
        typ.write_text(src, encoding="utf-8")
        code = ("import sys, typst; typst.compile(sys.argv[1], output=sys.argv[2], font_paths=[sys.argv[3]], "
                "ignore_system_fonts=True, pdf_standards='ua-1')")
        cold, cold_cpu = run_timed([sys.executable, "-c", code, str(typ), str(Path(tmp) / "a.pdf"), str(fonts)],
                                   Path(tmp))
    # Typst renders on several threads: its CPU time can exceed its wall time.
    return {"warm_s": round(best, 4), "warm_cpu_s": round(cpu, 4), "cold_process_s": round(cold, 3),
            "cold_process_cpu_s": round(cold_cpu, 3)}


def card_csv(path: Path, n: int) -> Path:
    sys.path.insert(0, str(HERE))
    from bench_cards import patients
    rows = ["name,first_dose,oncologist,phone,treatment_center"]
    rows += [f"{p.name},{p.first_dose.isoformat()},{p.oncologist},{p.phone},{p.treatment_center}"
             for p in patients(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def cli_cards_vs_floor(tmp: Path, n: int, repeat: int) -> dict:
    csv = card_csv(tmp / f"cards{n}.csv", n)
    cli = run_cold(["build", "wallet-card", "--sheet", "letter-8up", "--patients", str(csv),
                    "--out", str(tmp / "cards")], tmp, repeat)
    fw, fc = run_timed([sys.executable, str(HERE / "rl_floor.py"), str(csv), str(tmp / "floor.pdf")], tmp, repeat)
    return {"cards": n, "cli_s": cli["s"], "cli_cpu_s": cli["cpu_s"], "reportlab_floor_s": round(fw, 3),
            "reportlab_floor_cpu_s": round(fc, 3), "ratio_to_floor_cpu": round(cli["cpu_s"] / fc, 2),
            "ratio_to_floor_wall": round(cli["s"] / fw, 2), "target_ratio": 1.3}


def targets(tmp: Path, repeat: int, quick: bool) -> dict:
    out: dict = {}
    typ = typst_anchor(repeat)
    for code, goal in (("en", 0.100), ("zh-Hans", 0.130)):
        w, c = warm_personal(code, repeat)
        entry = {"warm_s": round(w, 4), "warm_cpu_s": round(c, 4), "target_s": goal}
        if typ:
            entry["ratio_to_typst_en_wall"] = round(w / typ["warm_s"], 1)
            entry["ratio_to_typst_en_cpu"] = round(c / typ["warm_cpu_s"], 1)
        out[f"handout_personal_warm/{code}"] = entry
    out["typst_anchor_en"] = typ or "typst not installed: pip install -r benchmarks/requirements.txt"
    toml = tmp / "p.toml"
    toml.write_text(PATIENT_TOML, encoding="utf-8")
    out["cold_build_handout_patient"] = {
        **run_cold(["build", "handout", "--patient", str(toml), "--out", str(tmp / "c")], tmp), "target_s": 0.7}
    if typ:
        out["cold_build_handout_patient"]["ratio_to_typst_cold_wall"] = round(
            out["cold_build_handout_patient"]["s"] / typ["cold_process_s"], 1)
        out["cold_build_handout_patient"]["ratio_to_typst_cold_cpu"] = round(
            out["cold_build_handout_patient"]["cpu_s"] / typ["cold_process_cpu_s"], 1)
    out["cold_build_wallet_card_patient"] = {
        **run_cold(["build", "wallet-card", "--patient", str(toml), "--out", str(tmp / "c")], tmp), "target_s": 0.3}
    out["cold_list"] = run_cold(["list"], tmp)
    out["cold_python_startup_s"] = round(_python_startup(), 3)
    out["cli_cards_1000"] = cli_cards_vs_floor(tmp, 1000, repeat)
    if not quick:
        out["cli_cards_10000"] = cli_cards_vs_floor(tmp, 10000, 2)
    return out


def _python_startup() -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def batch_wall(args: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "handouts", "batch", *args], check=True, capture_output=True, cwd=cwd,
                   env=cold_env())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip the big batches")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", choices=["all", "targets", "documents"], default="all",
                    help="targets: only the issue-12 figures (personal handout, cold builds, cards vs floor, "
                         "100-patient batch)")
    opts = ap.parse_args()
    repeat = 2 if opts.quick else opts.repeat
    report: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "harfbuzz_subset": _has_hb_subset(),
                                "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
                    "cold_processes": "bytecode cached (see cold_env), best of 3 after one untimed run"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if opts.only in ("all", "targets"):
            report["targets"] = targets(tmp, repeat, opts.quick)
        per_doc = {}
        for doc in (registry.DOCUMENTS if opts.only != "targets" else ()):
            for code in locales.available():
                per_doc[f"{doc}/{code}"] = {
                    "cold_s": round(cold_build(doc, code, tmp / "cold"), 3),
                    "warm_s": round(warm_build(doc, code, repeat), 3),
                }
        if per_doc:
            report["seconds_per_document"] = per_doc
            report["cards"] = cards_per_second(200 if opts.quick else 1000)
        if not opts.quick and opts.only == "all":
            report["batch_all_locales_s"] = round(batch_wall(["--all-locales", "--out", str(tmp / "all")], tmp), 2)
        if not opts.quick and opts.only in ("all", "targets"):
            csv = tmp / "patients.csv"
            rows = ["name,first_dose,oncologist,phone,treatment_center,locale"]
            codes = list(locales.available())
            rows += [f"Patient {i},2026-12-{1 + i % 28:02d},Dr. Gonzalez,+1 555 010 {i:04d},Riverside,"
                     f"{codes[i % len(codes)]}" for i in range(100)]
            csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
            c0 = _children_cpu()
            report["batch_100_patients_s"] = {"s": round(
                batch_wall(["--patients", str(csv), "--out", str(tmp / "pat"), "--jobs", "2"], tmp), 2),
                "cpu_s_all_processes": round(_children_cpu() - c0, 2), "target_s": 8.0}
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
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
