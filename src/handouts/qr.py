"""QR codes for printed URLs: error correction M, a quiet zone of 4 modules.

One module matrix feeds both engines: qrcode's SvgPathFillImage (white background, so
nothing runs through the quiet zone) for WeasyPrint, rectangles for ReportLab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import qrcode
from markupsafe import Markup, escape
from qrcode.image.svg import SvgPathFillImage

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


@cache
def make(url: str) -> QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                       border=QUIET_ZONE, image_factory=SvgPathFillImage)
    qr.add_data(url)
    qr.make(fit=True)
    matrix = tuple(tuple(bool(c) for c in row) for row in qr.get_matrix())
    svg = qr.make_image().to_string(encoding="unicode")
    svg = re.sub(r"<\?xml[^>]*>\s*", "", svg)
    return QRCode(url=url, matrix=matrix, svg_source=svg)
