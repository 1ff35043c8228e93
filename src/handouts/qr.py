"""QR codes for printed URLs: error correction M, a quiet zone of 4 modules.

One module matrix feeds both engines: for WeasyPrint an SVG with a white background
(so nothing runs through the quiet zone) and the dark modules as one path of merged
rectangles, or a PNG image with one pixel per module drawn without smoothing (cheaper
for the engine to lay out and paint: a handout laid out whole uses it), for ReportLab
rectangles. (qrcode's SvgPathFillImage writes one subpath per
module, about 800 for the NCI URL, and parsing them was 8 % of a handout's render.)
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from dataclasses import dataclass
from functools import cache

import qrcode
from markupsafe import Markup, escape

QUIET_ZONE = 4
MIN_MODULE_MM = 0.4


@dataclass(frozen=True)
class QRCode:
    url: str
    matrix: tuple[tuple[bool, ...], ...]  # includes the quiet zone
    svg_source: str

    @property
    def size_modules(self) -> int:
        return len(self.matrix)

    def svg(self, module_mm: float, title: str) -> Markup:
        if module_mm < MIN_MODULE_MM:
            raise ValueError(f"QR module {module_mm} mm is below {MIN_MODULE_MM} mm")
        side = f"{self.size_modules * module_mm:.3f}mm"
        svg = re.sub(r'width="[^"]+" height="[^"]+"',
                     f'width="{side}" height="{side}" role="img"', self.svg_source, count=1)
        # WeasyPrint takes an inline SVG's alt text from its <title>.
        svg = svg.replace(">", f"><title>{escape(title)}</title>", 1)
        return Markup(svg)


    def png(self, module_mm: float, title: str) -> Markup:
        """The code as an <img> of a one-pixel-per-module PNG, scaled to `module_mm` per
        module without smoothing (`image-rendering: pixelated`), `title` as its alt text."""
        if module_mm < MIN_MODULE_MM:
            raise ValueError(f"QR module {module_mm} mm is below {MIN_MODULE_MM} mm")
        side = f"{self.size_modules * module_mm:.3f}mm"
        data = base64.b64encode(png_bytes(self.matrix)).decode("ascii")
        return Markup(f'<img class="qr-code" src="data:image/png;base64,{data}" alt="{escape(title)}" '
                      f'style="width: {side}; height: {side}">')


def png_bytes(matrix: tuple[tuple[bool, ...], ...]) -> bytes:
    """A 1-bit greyscale PNG, one pixel per module (dark modules black)."""
    width, height = len(matrix[0]), len(matrix)
    rows = bytearray()
    for row in matrix:
        rows.append(0)  # filter: none
        bits = 0
        for i, dark in enumerate(row):
            bits = (bits << 1) | (0 if dark else 1)
            if i % 8 == 7:
                rows.append(bits)
                bits = 0
        if width % 8:
            rows.append(bits << (8 - width % 8))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) \
        + chunk(b"IEND", b"")


def rectangles(matrix: tuple[tuple[bool, ...], ...]) -> list[tuple[int, int, int, int]]:
    """The dark modules as disjoint rectangles (x, y, w, h in modules): each horizontal
    run of dark modules, extended down over the rows that have the very same run."""
    runs: list[set[tuple[int, int]]] = []
    for row in matrix:
        found, col, n = set(), 0, len(row)
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                found.add((start, col - start))
            else:
                col += 1
        runs.append(found)
    out = []
    for y, found in enumerate(runs):
        for x, w in sorted(found):
            h = 1
            while y + h < len(runs) and (x, w) in runs[y + h]:
                runs[y + h].discard((x, w))
                h += 1
            out.append((x, y, w, h))
    return out


def svg_source(matrix: tuple[tuple[bool, ...], ...]) -> str:
    n = len(matrix)
    d = "".join(f"M{x} {y}h{w}v{h}h-{w}z" for x, y, w, h in rectangles(matrix))
    return (f'<svg width="{n}mm" height="{n}mm" version="1.1" viewBox="0 0 {n} {n}" '
            f'xmlns="http://www.w3.org/2000/svg"><rect fill="white" x="0" y="0" width="{n}" height="{n}"/>'
            f'<path d="{d}"/></svg>')


@cache
def make(url: str) -> QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    qr.add_data(url)
    qr.make(fit=True)
    matrix = tuple(tuple(bool(c) for c in row) for row in qr.get_matrix())
    return QRCode(url=url, matrix=matrix, svg_source=svg_source(matrix))
