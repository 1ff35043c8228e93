"""Imposed wallet-card builds: check every input, render all cards in memory, then write
one PDF atomically. Bad input (a CSV row, a locale, a name that does not fit) stops the
build with one line naming the row and field, and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import cardlayout, content, output
from .build import checked_rows, render_sheet
from .documents.wallet_card import Card
from .session import use
from .errors import HandoutsError
from .patient import Patient

MAX_CARDS = 10_000  # rows x copies in one build: 1,250 letter sheets


@dataclass(frozen=True)
class SheetBuilt:
    path: Path
    sheet: str
    cards: int
    sheets: int
    pages: int


def cards_from_csv(path: Path, default_locale: str | None, copies: int,
                   model: content.ContentModel, fmt: str = "id1", also: str | None = None) -> list[Card]:
    """One card per row (each in its row's locale), `copies` times; the first bad row
    stops the build, naming its row number and field. Each row's card is laid out
    here, in the sheet's card format and languages, once: the render reuses it."""
    with use() as s, s.paused_gc():
        return _cards_from_csv(path, default_locale, copies, model, fmt, also)


def _cards_from_csv(path: Path, default_locale: str | None, copies: int,
                    model: content.ContentModel, fmt: str, also: str | None) -> list[Card]:
    rows = checked_rows(path, default_locale or "en", model, documents=("wallet-card",), fmt=fmt, also=also)
    if len(rows) * copies > MAX_CARDS:
        raise HandoutsError("cards.too_many", "copies", {"rows": len(rows), "copies": copies, "max": MAX_CARDS})
    if not rows:
        raise HandoutsError("list.no_rows", "patients", {"file": path.name})
    bad = [err for _, err in rows if isinstance(err, HandoutsError)]
    if len(bad) > 1:
        raise HandoutsError("list.bad_rows", bad[0].field, {"first": bad[0], "more": len(bad) - 1},
                            where=bad[0].where, label=bad[0].label)
    if bad:
        raise bad[0]
    cards: list[Card] = []
    for i, patient in rows:
        cards.extend([Card(patient.locale or default_locale or "en", patient, f"{path.name} row {i}")] * copies)
    return cards


def sheet_file_name(sheet: str, locale: str | None, patient: Patient | None, csv: Path | None,
                    list_key: str | None = None) -> str:
    """Named after the list (and a digest of its rows) or the patient (name and a digest
    of the record): another list or patient never replaces this file."""
    from .build import patient_tag
    parts = ["wallet-card"]
    if csv is not None:
        parts += [sheet, output.safe_name(csv.stem, "patients", max_len=40), list_key or "list"]
    else:
        parts += [locale or "en", sheet]
        if patient is not None:
            parts.append(patient_tag(patient))
    return "-".join(parts) + ".pdf"


def build_sheets(cards: list[Card], sheet: str, bleed: float, offset: tuple[float, float],
                 out_path: Path, model: content.ContentModel, also: str | None = None) -> SheetBuilt:
    """Render the cards on sheets (build.render_sheet, as batch and the web page do) and
    write the PDF atomically."""
    if not cards:
        raise HandoutsError("cards.none", "cards")
    output.ensure_writable_dir(out_path.parent)
    rendered = render_sheet("wallet-card", cards[0].locale, sheet, cards, model, bleed, offset, also)
    path = output.write_atomic(out_path, rendered.pdf)
    n_sheets = -(-len(cards) // cardlayout.imposition(sheet, bleed, offset).per_sheet)
    return SheetBuilt(path, sheet, len(cards), n_sheets, rendered.pages)


def bleed_warnings(sheet: str, bleed: float) -> list[HandoutsError]:
    """Where the preset's gutters leave less room than the bleed asked for."""
    if not bleed:
        return []
    imp = cardlayout.imposition(sheet, bleed)
    out = []
    for code, gutter, count in (("sheet.bleed_columns", imp.gutter_x, imp.preset.cols),
                                ("sheet.bleed_rows", imp.gutter_y, imp.preset.rows)):
        if count > 1 and gutter / 2 < bleed:
            out.append(HandoutsError(code, "", {"sheet": sheet, "gutter": f"{gutter:.2f}",
                                                "bleed": f"{max(gutter, 0) / 2:.2f}"}, label="--bleed"))
    return out
