"""Speed and memory figures for handouts, printed as JSON (not a test: nothing fails).

    make bench            # or: .venv/bin/python benchmarks/bench.py [--quick]

- seconds per document x locale: cold (a fresh `handouts build` process) and warm
  (in-process, fonts and templates already loaded; mean of N renders);
- cards per second when imposing 1000 personalized cards on letter-8up sheets (when the
  wallet card is registered);
- wall time of `handouts batch --all-locales`, cold;
- peak resident memory of this process and of the largest child (batch worker);
- the speed targets, each beside its anchor measured in the same run: a warm personal
  handout (en, zh-Hans; the personal part joined to the cached rest, and laid out whole)
  against Typst rendering the same English handout (benchmarks/typst_anchor.py;
  `pip install -r benchmarks/requirements.txt`), with `--instructions` also as
  instruction counts (valgrind), which a busy machine does not move; a cold
  `build handout --patient` with the rest in the cache folder against a cold Typst
  process; 100 patients (34 en, 33 zh-Hans, 33 zh-Hant) on 2 workers; the counter page
  with 8 clients asking for a handout at once (p95); the joined file's size against the
  whole document's; 10,000 personalized cards through the CLI against a plain ReportLab
  program drawing the same cards (benchmarks/rl_floor.py).

    .venv/bin/python benchmarks/bench.py --only targets [--instructions]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SOURCE_DATE_EPOCH", "1796342400")

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


def warm_pair(locale: str, repeat: int) -> tuple[float, float]:
    """Best CPU seconds of a warm personal handout (sample patient) as the product makes
    it (the personal part joined to the cached rest) and laid out whole (one document:
    the path of large print and --also), alternated so a busy moment hits both."""
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    model = content.default()
    spec = registry.get("handout")
    req = BuildRequest("handout", locale, resolve_paper(spec, locale, None), spec.sample_patient(), model)
    render_document("handout", locale, req.paper, req.patient, model)
    handout.render_whole(req)
    joined = whole = float("inf")
    for _ in range(repeat):
        for _ in range(3):
            c0 = time.process_time()
            render_document("handout", locale, req.paper, req.patient, model)
            joined = min(joined, time.process_time() - c0)
            c0 = time.process_time()
            handout.render_whole(req)
            whole = min(whole, time.process_time() - c0)
    return joined, whole


CALLGRIND_SCRIPT = """
import os, subprocess, sys
os.environ.setdefault("SOURCE_DATE_EPOCH", "1796342400")
os.environ["HANDOUTS_CACHE_DIR"] = ""
what, rounds = sys.argv[1], int(sys.argv[2])
if what == "typst":
    sys.path.insert(0, sys.argv[3])
    import typst_anchor as ta
    src, fonts = ta.handout_source("en")
    run = lambda i: ta.render(ta.compiler(src + f"\\n// round {i}\\n", fonts))
else:
    from handouts import content, registry
    from handouts.build import render_document, resolve_paper
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    mode, locale = what.split(":")
    spec = registry.get("handout")
    req = BuildRequest("handout", locale, resolve_paper(spec, locale, None), spec.sample_patient(), content.default())
    if mode == "joined":
        run = lambda i: render_document("handout", locale, req.paper, req.patient, req.model)
    else:
        run = lambda i: handout.render_whole(req)
run(-1)
run(-2)
subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
for i in range(rounds):
    run(i)
subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)
"""


def instructions(what: str, rounds: int = 2) -> int | None:
    """Instructions (valgrind's callgrind) of one warm render: `what` is "typst",
    "joined:LOCALE" or "whole:LOCALE". Instrumented only around the renders (the
    process starts uninstrumented and turns it on with callgrind_control), so imports
    and the first renders are not counted. None where valgrind is not installed."""
    import re
    import shutil
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "cg.py"
        script.write_text(CALLGRIND_SCRIPT, encoding="utf-8")
        res = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                              f"--callgrind-out-file={tmp}/callgrind.out", sys.executable, str(script), what,
                              str(rounds), str(HERE)], capture_output=True, text=True, env=cold_env())
    found = re.search(r"Collected : (\d+)", res.stderr)
    if res.returncode != 0 or found is None:
        return None
    return int(found.group(1)) // rounds


def counter_page(clients: int = 8, rounds: int = 5) -> dict:
    """`handouts serve` as a pharmacy runs it; `clients` walk-in handouts posted at once,
    `rounds` times: each request's seconds from sending to the whole PDF."""
    import concurrent.futures as cf
    import statistics
    import urllib.parse
    import urllib.request
    with socket.socket() as s:  # a free loopback port for the server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "handouts", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cold_env())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                return {"error": "the server did not start"}
            time.sleep(0.25)

        def one(i: int) -> float:
            form = {"locale": "en", "documents": "handout", "paper": "letter", "card": "card",
                    "name": f"Walk In {i}", "first_dose": "2026-12-01", "phone": f"+1 555 010 {i:04d}"}
            body = urllib.parse.urlencode(form).encode()
            t0 = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(base + "/en/download", data=body), timeout=300) as r:
                assert r.headers["content-type"] == "application/pdf"
                r.read()
            return time.perf_counter() - t0

        one(-1)  # the first request of a fresh server
        seconds: list[float] = []
        with cf.ThreadPoolExecutor(clients) as pool:
            for n in range(rounds):
                seconds += pool.map(one, range(n * clients, (n + 1) * clients))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    seconds.sort()
    return {"clients": clients, "requests": len(seconds), "median_s": round(statistics.median(seconds), 3),
            "p95_s": round(seconds[max(0, int(0.95 * len(seconds)) - 1)], 3), "max_s": round(seconds[-1], 3),
            "target_p95_s": 1.0}


def sizes() -> dict:
    """The joined handout's size against the same handout laid out whole (every locale
    and paper, the sample patient)."""
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    from handouts.staticcache import StaticCache
    spec = registry.get("handout")
    cache = StaticCache(None)
    out = {}
    for code in locales.available():
        for paper in spec.papers:
            from handouts import papers
            req = BuildRequest("handout", code, papers.get(paper, spec.papers), spec.sample_patient(),
                               content.default())
            joined = handout.render_joined(req, cache).pdf
            whole = handout.render_whole(req, qr_image="svg").pdf
            out[f"{code}/{paper}"] = {"whole_bytes": len(whole), "joined_bytes": len(joined),
                                      "ratio": round(len(joined) / len(whole), 3)}
    return out


def patients_csv(path: Path) -> Path:
    """100 patients: 34 en, 33 zh-Hans, 33 zh-Hant."""
    rows = ["name,first_dose,oncologist,phone,treatment_center,locale"]
    codes = ["en"] * 34 + ["zh-Hans"] * 33 + ["zh-Hant"] * 33
    rows += [f"Patient {i},2026-12-{1 + i % 28:02d},Dr. Gonzalez,+1 555 010 {i:04d},Riverside,{code}"
             for i, code in enumerate(codes)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def phases(locale: str, repeat: int) -> dict:
    """Where a warm joined personal handout's CPU goes (best of `repeat` each): the HTML
    of the personal part and of the rest (its digest keys the cache), WeasyPrint's parse,
    style and layout of the personal part, writing its PDF, and the join."""
    from weasyprint import HTML

    from handouts import paths, pdfjoin, staticcache
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    from handouts.engines import weasy
    from handouts.localizer import get as get_localizer
    spec = registry.get("handout")
    req = BuildRequest("handout", locale, resolve_paper(spec, locale, None), spec.sample_patient(), content.default())
    cache = staticcache.StaticCache(None)
    budget = spec.personal_pages
    rest = handout.static_part(req, budget + 1, cache)
    text = handout.with_total(handout.html(req, (handout.PERSONAL,)), budget + rest.pages)
    layout = paths.layouts_dir() / handout.LAYOUT
    sheets = [weasy.stylesheet(layout / n) for n in handout.STYLESHEETS]
    stack = weasy._stack_for(text, tuple(get_localizer(locale, req.model).spec.fonts), sheets)

    def laid_out():
        return HTML(string=text, base_url=str(layout) + os.sep, url_fetcher=weasy._fetcher()).render(
            font_config=weasy._font_config(), stylesheets=[weasy.font_face_css(stack), *sheets], pdf_variant="pdf/ua-1")

    doc = laid_out()
    personal = handout._render(req, text)

    def best(fn) -> float:
        out = float("inf")
        for _ in range(repeat):
            c0 = time.process_time()
            fn()
            out = min(out, time.process_time() - c0)
        return round(out, 4)

    return {"whole_joined_render_cpu_s": best(lambda: handout.render_joined(req, cache)),
            "personal_html": best(lambda: handout.html(req, (handout.PERSONAL,))),
            "rest_html_for_its_key": best(lambda: handout.html(req, (handout.STATIC,), budget + 1)),
            "personal_parse_style_layout": best(laid_out),
            "personal_write_pdf": best(lambda: doc.write_pdf(pdf_variant="pdf/ua-1")),
            "join": best(lambda: pdfjoin.join([personal.pdf, rest.pdf], prefixed=(False, True)))}


def targets(tmp: Path, repeat: int, quick: bool, count_instructions: bool = False) -> dict:
    """The speed targets, each as a ratio to its anchor measured in this run."""
    out: dict = {}
    typ = typst_anchor(repeat)
    out["typst_anchor_en"] = typ or "typst not installed: pip install -r benchmarks/requirements.txt"
    for code, limit in (("en", 3.0), ("zh-Hans", 5.0)):
        joined, whole = warm_pair(code, repeat)
        entry = {"joined_cpu_s": round(joined, 4), "whole_document_cpu_s": round(whole, 4),
                 "joined_vs_whole": round(joined / whole, 2), "target_ratio_to_typst": limit}
        if typ:
            entry["ratio_to_typst_cpu"] = round(joined / typ["warm_cpu_s"], 1)
            entry["whole_ratio_to_typst_cpu"] = round(whole / typ["warm_cpu_s"], 1)
        out[f"handout_personal_warm/{code}"] = entry
        out[f"handout_personal_warm_phases/{code}"] = phases(code, repeat)
    if count_instructions:
        anchor = instructions("typst")
        counts: dict = {"typst_anchor_en": anchor}
        for code in ("en", "zh-Hans"):
            for mode in ("joined", "whole"):
                n = instructions(f"{mode}:{code}")
                counts[f"{mode}/{code}"] = n
                if n and anchor:
                    counts[f"{mode}/{code}_ratio_to_typst"] = round(n / anchor, 1)
        out["instructions_per_warm_render"] = counts
    toml = tmp / "p.toml"
    toml.write_text(PATIENT_TOML, encoding="utf-8")
    cache = tmp / "static-cache"
    args = ["build", "handout", "--patient", str(toml), "--out", str(tmp / "c")]
    with _env(HANDOUTS_CACHE_DIR=str(cache)):  # run_timed's untimed first run fills the folder
        cached = run_cold(args, tmp)
    with _env(HANDOUTS_CACHE_DIR=""):  # memory only: the rest laid out in every process
        uncached = run_cold(args, tmp)
    cold = {"static_part_on_disk": cached, "no_cache_folder": uncached, "target_ratio_to_typst_cold": 8.0}
    if typ:
        cold["ratio_to_typst_cold_cpu"] = round(cached["cpu_s"] / typ["cold_process_cpu_s"], 1)
        cold["ratio_to_typst_cold_wall"] = round(cached["s"] / typ["cold_process_s"], 1)
        cold["no_cache_folder_ratio_to_typst_cold_cpu"] = round(uncached["cpu_s"] / typ["cold_process_cpu_s"], 1)
    out["cold_build_handout_patient"] = cold
    out["cold_build_wallet_card_patient"] = run_cold(["build", "wallet-card", "--patient", str(toml),
                                                      "--out", str(tmp / "c")], tmp)
    out["cold_python_startup_s"] = round(_python_startup(), 3)
    out["joined_size_vs_whole"] = sizes()
    if not quick:
        csv = patients_csv(tmp / "patients100.csv")
        with _env(HANDOUTS_CACHE_DIR=str(tmp / "batch-cache")):  # empty: the parent lays out each rest
            c0, t0 = _children_cpu(), time.perf_counter()
            subprocess.run([sys.executable, "-m", "handouts", "batch", "--patients", str(csv), "--out",
                            str(tmp / "batch100"), "--jobs", "2"], check=True, capture_output=True, cwd=tmp,
                           env=cold_env())
            out["batch_100_patients_2_workers"] = {
                "s": round(time.perf_counter() - t0, 2), "cpu_s_all_processes": round(_children_cpu() - c0, 2),
                "target_cpu_s": 14.0, "target_s_quiet": 8.0}
        with _env(HANDOUTS_CACHE_DIR=str(tmp / "counter-cache")):
            out["counter_page_handout"] = counter_page()
        out["cli_cards_10000"] = cli_cards_vs_floor(tmp, 10000, 2)
    else:
        out["cli_cards_1000"] = cli_cards_vs_floor(tmp, 1000, repeat)
    return out


@contextlib.contextmanager
def _env(**values: str):
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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
                    help="targets: only the speed-target figures (personal handout, cold build, 100-patient batch, "
                         "counter page, sizes, cards vs floor)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count the warm renders' instructions with valgrind (slow; steady on a busy machine)")
    opts = ap.parse_args()
    repeat = 2 if opts.quick else opts.repeat
    report: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "harfbuzz_subset": _has_hb_subset(),
                                "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
                    "cold_processes": "bytecode cached (see cold_env), best of 3 after one untimed run"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if opts.only in ("all", "targets"):
            report["targets"] = targets(tmp, repeat, opts.quick, opts.instructions)
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
