"""Reading PDFs the way the tests (and `handouts text`) see them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdfium2
import zxingcpp
from pypdf import PdfReader

MM_PER_PT = 25.4 / 72


def text(path: Path) -> str:
    from handouts.pdftext import extract
    return extract(path)


def table_rows(path: Path) -> list[list[str]]:
    """Every table row as the tagged structure gives it (TR, its TH/TD cells in order),
    each cell's text from the marked content it owns, lines joined by a space: what a
    screen reader reads, and a row whose cells wrap onto several lines still reads as
    one row."""
    import pdfplumber

    def ids(node) -> set:
        found = set(node.get("mcids") or ())
        for child in node.get("children") or ():
            found |= ids(child)
        return found

    rows: list[list[str]] = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            def cell(node, page=page) -> str:
                mine = ids(node)
                return " ".join(page.filter(lambda o: o.get("mcid") in mine).extract_text().split())

            def walk(node, page=page) -> None:
                if node.get("type") == "TR":
                    rows.append([cell(c) for c in node.get("children") or () if c.get("type") in ("TH", "TD")])
                    return
                for child in node.get("children") or ():
                    walk(child)

            for node in page.structure_tree:
                walk(node)
    return rows


def page_sizes_mm(path: Path) -> list[tuple[float, float]]:
    reader = PdfReader(path)
    return [(float(p.mediabox.width) * MM_PER_PT, float(p.mediabox.height) * MM_PER_PT) for p in reader.pages]


def fonts(path: Path) -> dict[str, bool]:
    """BaseFont name -> whether its program is embedded."""
    reader = PdfReader(path)
    found: dict[str, bool] = {}

    def walk_font(font):
        font = font.get_object()
        name = str(font.get("/BaseFont", "?"))
        desc = None
        if "/DescendantFonts" in font:
            desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        else:
            desc = font.get("/FontDescriptor")
        desc = desc.get_object() if desc is not None else {}
        embedded = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
        found[name] = embedded or font.get("/Subtype") == "/Type3"

    def walk_resources(res):
        res = res.get_object() if res is not None else None
        if not res:
            return
        for f in (res.get("/Font") or {}).values():
            walk_font(f)
        for xo in (res.get("/XObject") or {}).values():
            xo = xo.get_object()
            walk_resources(xo.get("/Resources"))

    for page in reader.pages:
        walk_resources(page.get("/Resources"))
    return found


def decode_qr(path: Path, page: int = 0, dpi: int = 144) -> list[str]:
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        image = pdf[page].render(scale=dpi / 72).to_pil()
    finally:
        pdf.close()
    return [r.text for r in zxingcpp.read_barcodes(image)]


def catalog(path: Path):
    return PdfReader(path).trailer["/Root"]


def metadata(path: Path) -> dict:
    reader = PdfReader(path)
    return {k: str(v) for k, v in (reader.metadata or {}).items()}


def document_ids(pdf: Path | bytes) -> list[str]:
    """The document ids a PDF's keywords name, in order (a card's keywords go on to cite
    its sources)."""
    from handouts.records import docid
    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    keywords = str((reader.metadata or {}).get("/Keywords", ""))
    return [m.group(0) for m in docid.PATTERN.finditer(keywords)]


def without_subset_prefix(name: str) -> str:
    return re.sub(r"^/?[A-Z]{6}\+", "", name.lstrip("/"))


def bundled_font_names() -> set[str]:
    """PostScript names of the fonts in assets/fonts (what a PDF may embed)."""
    from fontTools.ttLib import TTFont
    from handouts import paths
    return {TTFont(f, lazy=True)["name"].getDebugName(6) for f in paths.fonts_dir().glob("*.ttf")}


def assert_fonts_bundled(path: Path) -> None:
    """Every font in the PDF is embedded, subset, and one of ours (not a system font)."""
    found = fonts(path)
    assert found, "no fonts found"
    # WeasyPrint writes "Noto-Sans-SC-Bold", ReportLab "NotoSansSC-Bold": compare both
    # without dashes and without the implied "Regular".
    def key(n: str) -> str:
        return n.replace("-", "").removesuffix("Regular")
    ours = {key(n) for n in bundled_font_names()}
    for name, embedded in found.items():
        assert embedded, f"{name} not embedded"
        assert name.lstrip("/")[6] == "+", f"{name} is not subset"
        assert key(without_subset_prefix(name)) in ours, f"{name} is not a bundled font"
