"""Reading wallet-card PDFs: where forms are placed, where lines are drawn, what a QR
code decodes to, what colour a point is. Millimetres, top-left origin (as the layouts)."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pypdfium2
import zxingcpp
from pypdf import PdfReader
from pypdf.generic import ContentStream

MM_PER_PT = 25.4 / 72


def placements(path: Path, page: int = 0) -> list[tuple[str, float, float]]:
    """Every form XObject drawn on a page: (name, x, y of its origin) in mm from the top-left.
    The origin of a card form is its bottom-left trim corner."""
    reader = PdfReader(path)
    pg = reader.pages[page]
    height = float(pg.mediabox.height)
    ops = ContentStream(pg.get_contents(), reader).operations
    ctm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    stack: list[list[float]] = []
    out = []
    for operands, op in ops:
        if op == b"q":
            stack.append(ctm[:])
        elif op == b"Q":
            ctm = stack.pop()
        elif op == b"cm":
            a, b, c, d, e, f = (float(v) for v in operands)
            A, B, C, D, E, F = ctm
            ctm = [a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
                   e * A + f * C + E, e * B + f * D + F]
        elif op == b"Do":
            out.append((str(operands[0]).lstrip("/"), ctm[4] * MM_PER_PT, (height - ctm[5]) * MM_PER_PT))
    return out


def card_origins(path: Path, page: int, side: str, card_h_mm: float) -> list[tuple[float, float]]:
    """Top-left trim corners (mm) of the cards of one side drawn on a page."""
    return [(x, y - card_h_mm) for name, x, y in placements(path, page) if f"Card_{side}" in name]


def lines(path: Path, page: int = 0) -> list[tuple[float, float, float, float]]:
    """Straight stroked lines drawn directly on the page (not inside forms), in mm."""
    with pdfplumber.open(str(path)) as pdf:
        p = pdf.pages[page]
        return [(ln["x0"] * MM_PER_PT, ln["top"] * MM_PER_PT, ln["x1"] * MM_PER_PT, ln["bottom"] * MM_PER_PT)
                for ln in p.lines]


def render(path: Path, page: int, dpi: int):
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return pdf[page].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        pdf.close()


def decode(path: Path, page: int, dpi: int = 200) -> list:
    return list(zxingcpp.read_barcodes(render(path, page, dpi)))


def pixel(image, dpi: int, x_mm: float, y_mm: float) -> tuple[int, int, int]:
    return image.getpixel((int(round(x_mm / 25.4 * dpi)), int(round(y_mm / 25.4 * dpi))))


# One word no line can hold, even at the smallest size: it must not be split or cut.
TOO_LONG = "Hubert Blaine Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaftschaferswessen"

# The fonts a card may embed: the bundled ones, by PostScript name.
BUNDLED_PS = {"NotoSans-Regular", "NotoSans-Bold", "NotoSansSC-Regular", "NotoSansSC-Bold",
              "NotoSansTC-Regular", "NotoSansTC-Bold"}
