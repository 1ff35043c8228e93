"""The plain-ReportLab floor for personalized wallet cards (benchmark only).

    python benchmarks/rl_floor.py patients.csv out.pdf

What a minimal ReportLab program does to print the same cards on letter-8up sheets:
read the CSV, register the same bundled fonts, draw each side's static text once as a
form XObject, and for every card place the forms and draw its personal fields with
drawString (no fitting, no fallback, no checks); crop marks per sheet; backs mirrored.
handouts' card path is compared with this in bench.py (target: at most 1.3x).
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
import time
from pathlib import Path

import reportlab.rl_config as rl_config

rl_config.invariant = 1
rl_config.useA85 = 0

from reportlab.lib.colors import HexColor  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

FONTS = Path(__file__).resolve().parents[1] / "assets" / "fonts"
W, H = 85.6 * mm, 53.98 * mm  # ID-1
PAGE_W, PAGE_H = 215.9 * mm, 279.4 * mm
COLS, ROWS, GAP = 2, 4, 6 * mm


def cells() -> list[tuple[float, float]]:
    x0 = (PAGE_W - COLS * W - (COLS - 1) * GAP) / 2
    y0 = (PAGE_H - ROWS * H - (ROWS - 1) * GAP) / 2
    return [(x0 + c * (W + GAP), y0 + r * (H + GAP)) for r in range(ROWS) for c in range(COLS)]


def main(csv_path: str, out: str) -> float:
    t0 = time.perf_counter()
    pdfmetrics.registerFont(TTFont("NS", str(FONTS / "NotoSans_400Regular.ttf")))
    pdfmetrics.registerFont(TTFont("NSB", str(FONTS / "NotoSans_700Bold.ttf")))
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    c = Canvas(out, pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1)
    c.setTitle("Wallet cards")
    red, grey = HexColor("#b00020"), HexColor("#444444")
    for side in ("front", "back"):
        c.beginForm(side, 0, 0, W, H)
        c.setFillColor(red)
        c.rect(0, H - 9 * mm, W, 9 * mm, stroke=0, fill=1)
        c.setFillColor(HexColor("#ffffff"))
        c.setFont("NSB", 9)
        c.drawString(3 * mm, H - 6 * mm, "I receive tarlatamab-dlle (IMDELLTRA)" if side == "front"
                     else "For healthcare providers")
        c.setFillColor(grey)
        c.setFont("NS", 6)
        for i in range(6):
            c.drawString(3 * mm, H - (13 + 3 * i) * mm, "Static warning text of the card, one line of several.")
        c.roundRect(0, 0, W, H, 3.18 * mm, stroke=1, fill=0)
        c.endForm()
    pos = cells()
    for start in range(0, len(rows), len(pos)):
        chunk = rows[start:start + len(pos)]
        for side in ("front", "back"):
            c.setLineWidth(0.25)
            for x, y in pos:  # crop marks at each cell's corners
                for cx in (x, x + W):
                    c.line(cx, PAGE_H - y + 2 * mm, cx, PAGE_H - y + 5 * mm)
            for i, row in enumerate(chunk):
                x, y = pos[i]
                if side == "back":  # mirrored for long-edge duplex
                    x = PAGE_W - x - W
                by = PAGE_H - y - H
                c.saveState()
                c.translate(x, by)
                c.doForm(side)
                c.setFillColor(HexColor("#111111"))
                c.setFont("NS", 7)
                if side == "front":
                    c.drawString(3 * mm, 8 * mm, "Name: " + row["name"])
                    c.drawString(3 * mm, 4 * mm, row["phone"])
                else:
                    first = dt.date.fromisoformat(row["first_dose"]).strftime("%b %d, %Y")
                    for j, text in enumerate(("Oncologist: " + row["oncologist"],
                                              "Phone, day and night: " + row["phone"],
                                              "Treatment center: " + row["treatment_center"],
                                              "First dose: " + first, "Last dose: ")):
                        c.drawString(3 * mm, (17 - 3 * j) * mm, text)
                c.restoreState()
            c.showPage()
    c.save()
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(round(main(sys.argv[1], sys.argv[2]), 3))
