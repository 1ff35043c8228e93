"""Typst anchor: the same English personal handout content, rendered by Typst (tagged,
PDF/UA-1), for a side-by-side figure in bench.py. Benchmark-only: `typst` comes from
benchmarks/requirements.txt, never from the product's dependencies.

The Typst source is made from the handout's own HTML (the same words, lists, tables,
QR code as SVG, and a footer with page numbers), so both engines set the same content
with the same bundled fonts at the same sizes; only the engine differs.
"""

from __future__ import annotations

import html as htmlmod
import re
from html.parser import HTMLParser
from pathlib import Path

FOOTER = ('context [#set text(size: 7pt, fill: rgb("#444444")); {footer} #h(1fr) '
          'Page #counter(page).display() of #counter(page).final().first()]')
STYLE = """#set page(width: {w}mm, height: {h}mm, margin: (top: 16mm, x: 16mm, bottom: 20mm),
  footer: """ + FOOTER + """)
#set text(font: "Noto Sans", size: 10.5pt, lang: "en", fill: rgb("#111111"))
#set par(leading: 0.5em, spacing: 2mm)
#set document(title: "{title}", author: "handouts")
#show heading.where(level: 1): set text(size: 20pt, fill: rgb("#0b4f6c"))
#show heading.where(level: 2): set text(size: 13pt, fill: rgb("#0b4f6c"))
#show heading.where(level: 3): set text(size: 11pt)
#set table(stroke: (bottom: 0.5pt + rgb("#99aabb")), inset: (x: 2mm, y: 1.2mm), align: left + top)
"""


def _esc(text: str) -> str:
    return re.sub(r'([\\#*_`$<>@\[\]~"/=+-])', r"\\\1", text)


class _ToTypst(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0  # inside <head>/<style>/<title>
        self.svg: list[str] | None = None
        self.table: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.cols = 0

    def _emit(self, s: str) -> None:
        (self.cell if self.cell is not None else self.out).append(s)

    def handle_starttag(self, tag, attrs):
        if self.svg is not None:
            self.svg.append(self.get_starttag_text())
            return
        if tag in ("head", "style", "title"):
            self.skip += 1
        elif tag == "svg":
            self.svg = [self.get_starttag_text()]
        elif tag in ("h1", "h2", "h3"):
            self._emit("\n\n" + "=" * int(tag[1]) + " ")
        elif tag == "p":
            self._emit("\n\n")
        elif tag == "li":
            self._emit("\n- ")
        elif tag == "strong":
            self._emit("*")
        elif tag == "br":
            self._emit(" \\\n")
        elif tag == "table":
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.table.append([])
        elif tag in ("td", "th"):
            self.cell = ["*"] if tag == "th" else []

    def handle_startendtag(self, tag, attrs):
        if self.svg is not None:
            self.svg.append(self.get_starttag_text())
        else:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self.svg is not None:
            self.svg.append(f"</{tag}>")
            if tag == "svg":
                svg = "".join(self.svg)
                self.svg = None
                side = re.search(r'width="([\d.]+)mm"', svg).group(1)
                self._emit(f'\n#place(right, image(bytes("{_esc_str(svg)}"), format: "svg", width: {side}mm, '
                           f'alt: "QR code"))\n')
            return
        if tag in ("head", "style", "title"):
            self.skip -= 1
        elif tag == "strong":
            self._emit("*")
        elif tag in ("td", "th") and self.cell is not None:
            text = "".join(self.cell).strip()
            if tag == "th":
                text += "*"
            self.table[-1].append(text)
            self.cell = None
        elif tag == "table" and self.table is not None:
            rows = [r for r in self.table if r]
            cols = max(len(r) for r in rows)
            cells = ", ".join(f"[{c}]" for r in rows for c in r + [""] * (cols - len(r)))
            self.out.append(f"\n#table(columns: {cols}, {cells})\n")
            self.table = None

    def handle_data(self, data):
        if self.svg is not None:
            self.svg.append(htmlmod.escape(data))
        elif not self.skip:
            text = re.sub(r"\s+", " ", data)
            if text.strip() or (text and self.out and not self.out[-1].endswith("\n")):
                self._emit(_esc(text))


def _esc_str(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def typst_source(handout_html: str, width_mm: float, height_mm: float, footer: str, title: str) -> str:
    p = _ToTypst()
    p.feed(handout_html)
    body = "".join(p.out)
    return STYLE.format(w=width_mm, h=height_mm, footer=_esc(footer), title=_esc_str(title)) + body


def handout_source(locale: str = "en") -> tuple[str, Path]:
    """Typst source of the sample patient's English handout, and the fonts folder."""
    from handouts import content, paths, registry
    from handouts.build import resolve_paper
    from handouts.clock import print_date
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest, footer_line
    from handouts.localizer import get as get_localizer

    model = content.default()
    spec = registry.get("handout")
    paper = resolve_paper(spec, locale, None)
    req = BuildRequest("handout", locale, paper, spec.sample_patient(), model)
    text = handout.html(req)
    L = get_localizer(locale, model)
    title = L._("Tarlatamab-dlle (IMDELLTRA): a guide for patients and caregivers")
    return typst_source(text, paper.width_mm, paper.height_mm, footer_line(L, model, print_date()),
                        title), paths.fonts_dir()


def compiler(source: str, fonts: Path):
    import typst
    return typst.Compiler(source.encode("utf-8"), font_paths=[str(fonts)], ignore_system_fonts=True)


def render(comp) -> bytes:
    return comp.compile(format="pdf", pdf_standards="ua-1")


if __name__ == "__main__":
    import sys
    src, fonts = handout_source()
    pdf = render(compiler(src, fonts))
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "typst-anchor.pdf")
    out.write_bytes(pdf)
    print(out, len(pdf))
