"""Imposed card sheets written to a file (tests and scripts; the command line goes through
request.resolve), and the warnings a sheet's bleed may need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import cardlayout, content, output, registry
from .build import render_sheet
from .documents.wallet_card import Card
from .errors import HandoutsError



@dataclass(frozen=True)
class SheetBuilt:
    path: Path
    sheet: str
    cards: int
    sheets: int
    pages: int


def build_sheets(cards: list[Card], sheet: str, bleed: float, offset: tuple[float, float],
                 out_path: Path, model: content.ContentModel, also: str | None = None) -> SheetBuilt:
    """Render the cards on sheets (build.render_sheet, as batch and the web page do) and
    write the PDF atomically."""
    if not cards:
        raise HandoutsError("cards.none", "cards")
    output.ensure_writable_dir(out_path.parent)
    spec = registry.with_sheet(sheet)
    rendered = render_sheet(spec.name, cards[0].locale, sheet, cards, model, bleed, offset, also)
    path = output.write_atomic(out_path, rendered.pdf)
    n_sheets = -(-len(cards) // cardlayout.imposition(sheet, bleed, offset, layout=spec.layout).per_sheet)
    return SheetBuilt(path, sheet, len(cards), n_sheets, rendered.pages)


def bleed_warnings(sheet: str, bleed: float) -> list[HandoutsError]:
    """Where the preset's gutters leave less room than the bleed asked for."""
    if not bleed:
        return []
    imp = cardlayout.imposition(sheet, bleed, layout=registry.with_sheet(sheet).layout)
    out = []
    for code, gutter, count in (("sheet.bleed_columns", imp.gutter_x, imp.preset.cols),
                                ("sheet.bleed_rows", imp.gutter_y, imp.preset.rows)):
        if count > 1 and gutter / 2 < bleed:
            out.append(HandoutsError(code, "", {"sheet": sheet, "gutter": f"{gutter:.2f}",
                                                "bleed": f"{max(gutter, 0) / 2:.2f}"}, label="--bleed"))
    return out
