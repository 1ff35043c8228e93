"""Where a warm personal handout's time goes, and what merging static pages would save.
Prints one JSON object; nothing fails.

    .venv/bin/python benchmarks/profile_handout.py [--locale en] [--repeat 5]

- "phases": CPU seconds per render of WeasyPrint's phases, from cProfile (cumulative
  time of the phase's entry function, so the profiler's own overhead is included:
  compare shares, not seconds, with bench.py). Layout is split by the box types that
  cost most in this document: tables (auto layout measures every cell's min- and
  max-content width), grid lists, and line breaking.
- "handouts_own_s": the time spent in handouts itself (Jinja template, localizer,
  schedule), measured apart without the profiler.
- "static_merge_prototype": the design option the issue asks to weigh. The handout's
  body is split at its sections into a personal front (masthead, warning box with the
  care team's phone), the static middle (dosing to "where to learn more") and a
  personal end (care team, dated schedule, sources); each part is laid out as its own
  WeasyPrint document and the pages are joined with Document.copy() before one
  write_pdf(), so fonts are subset once per face and one structure tree is written.
  The static part is laid out once; per patient the two personal parts are laid out
  and all pages written. It forces a page break before the care team (the product
  keeps the care team on the page after "where to learn more") and does not number
  pages across parts, so it is a measurement, not a build path.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("SOURCE_DATE_EPOCH", "1796342400")

from handouts import content, paths, registry  # noqa: E402
from handouts.build import resolve_paper  # noqa: E402
from handouts.documents import handout  # noqa: E402
from handouts.documents.common import BuildRequest  # noqa: E402
from handouts.engines import weasy  # noqa: E402

# (label, module path fragment, function name): cumulative time of each entry point.
PHASES = (
    ("cascade (CSS matching and computed styles)", "weasyprint/css/__init__.py", "get_all_computed_styles"),
    ("box tree", "weasyprint/formatting_structure/build.py", "build_formatting_structure"),
    ("layout, all", "weasyprint/layout/__init__.py", "layout_document"),
    ("layout: tables (auto layout widths)", "weasyprint/layout/table.py", "auto_table_layout"),
    ("layout: tables (rows)", "weasyprint/layout/table.py", "table_layout"),
    ("layout: grid lists", "weasyprint/layout/grid.py", "grid_layout"),
    ("layout: line breaking (Pango)", "weasyprint/text/line_break.py", "split_first_line"),
    ("paint (draw pages)", "weasyprint/draw/__init__.py", "draw_page"),
    ("paint: text", "weasyprint/draw/text.py", "draw_text"),
    ("paint: QR code SVG", "weasyprint/svg/__init__.py", "draw"),
    ("PDF: font subsetting (HarfBuzz)", "weasyprint/pdf/fonts.py", "_harfbuzz_subset"),
    ("PDF: structure tree (tags)", "weasyprint/pdf/tags.py", "add_tags"),
    ("PDF: serialize and compress", "pydyf/__init__.py", "write"),
    ("write_pdf, all", "weasyprint/document.py", "write_pdf"),
)


def request(locale: str) -> BuildRequest:
    spec = registry.get("handout")
    return BuildRequest("handout", locale, resolve_paper(spec, locale, None), spec.sample_patient(),
                        content.default())


def phases(req: BuildRequest, repeat: int) -> dict:
    handout.render(req)  # fonts, templates, catalogs loaded
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        handout.render(req)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.items())
    out = {"profiled_total_s": round(total / repeat, 4)}
    for label, where, name in PHASES:
        cum = sum(ct for (path, _, fn), (_, _, _, ct, _) in stats.items() if fn == name and path.endswith(where))
        out[label] = {"s": round(cum / repeat, 4), "share": round(cum / total, 3)}
    return out


def best_cpu(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        best = min(best, time.process_time() - c0)
    return best


def _render_part(head: str, body: str, stack: tuple[str, ...], sheets: list):
    from weasyprint import HTML
    layout = paths.layouts_dir() / handout.LAYOUT
    text = f"{head}<body>{body}</body></html>"
    return HTML(string=text, base_url=str(layout) + os.sep, url_fetcher=weasy._fetcher()).render(
        font_config=weasy._font_config(), stylesheets=[weasy.font_face_css(stack), *sheets], pdf_variant="pdf/ua-1")


def merge_prototype(req: BuildRequest, repeat: int) -> dict:
    text = handout.html(req)
    head, rest = text.split("<body>", 1)
    sections = re.split(r"(?=<section)", rest.split("</body>", 1)[0])
    front = sections[0] + "".join(sections[1:3])   # masthead, what it is, warning box (phone)
    middle = "".join(sections[3:9])               # dosing .. where to learn more: no personal text
    end = "".join(sections[9:])                   # care team, dated schedule, sources
    layout = paths.layouts_dir() / handout.LAYOUT
    sheets = [weasy.stylesheet(layout / name) for name in handout.STYLESHEETS]
    families = tuple(handout.get_localizer(req.locale, req.model).spec.fonts)
    families = weasy._stack_for(text, families, sheets)  # the whole handout's fonts, as the product picks them
    static = _render_part(head, middle, families, sheets)

    parts = {}

    def per_patient():
        a = parts["front"] = _render_part(head, front, families, sheets)
        b = parts["end"] = _render_part(head, end, families, sheets)
        return a.copy([*a.pages, *static.pages, *b.pages]).write_pdf(pdf_variant="pdf/ua-1")

    pdf = per_patient()
    whole = merged = float("inf")
    for _ in range(repeat):  # alternated, so that a busy moment of the machine hits both
        whole = min(whole, best_cpu(lambda: handout.render(req), 1))
        merged = min(merged, best_cpu(per_patient, 1))
    static_s = best_cpu(lambda: _render_part(head, middle, families, sheets), repeat)
    fonts = _font_names(pdf)
    return {"whole_handout_cpu_s": round(whole, 4), "per_patient_cpu_s": round(merged, 4),
            "ratio": round(merged / whole, 2), "static_part_once_cpu_s": round(static_s, 4),
            "pages": {"front": len(parts["front"].pages), "static": len(static.pages),
                      "end": len(parts["end"].pages)},
            "embedded_fonts": fonts, "one_subset_per_face": len(fonts) == len(set(f.split("+", 1)[-1] for f in fonts))}


def _font_names(pdf: bytes) -> list[str]:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        try:
            out = subprocess.run(["pdffonts", f.name], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            from pypdf import PdfReader
            reader = PdfReader(f.name)
            names = set()
            for page in reader.pages:
                for font in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
                    names.add(str(font.get_object().get("/BaseFont")))
            return sorted(names)
    return [line.split()[0] for line in out.splitlines()[2:] if line.strip()]


def handouts_own(req: BuildRequest, repeat: int) -> float:
    handout.html(req)
    return best_cpu(lambda: handout.html(req), repeat * 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--locale", action="append", help="default: en and zh-Hans")
    ap.add_argument("--repeat", type=int, default=5)
    opts = ap.parse_args()
    report = {}
    for code in opts.locale or ["en", "zh-Hans"]:
        req = request(code)
        report[code] = {"phases": phases(req, opts.repeat),
                        "handouts_own_s": round(handouts_own(req, opts.repeat), 4),
                        "static_merge_prototype": merge_prototype(req, opts.repeat)}
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
