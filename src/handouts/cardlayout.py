"""Wallet-card layout as data: the card's zones (layouts/wallet-card/geometry.toml) and
the sheet presets that impose cards on paper (layouts/wallet-card/sheets.toml), both in
millimetres, validated here; plus the imposition arithmetic (card cells, mirrored backs,
crop marks, bleed). No drug, no engine: only geometry.

Coordinates are millimetres from the top-left corner, x to the right and y downwards:
a card's zones from the card's top-left trim corner, a sheet's cells from the paper's.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from functools import cache
from typing import Literal, NamedTuple

from pydantic import Field, PrivateAttr, field_validator, model_validator

from . import papers, paths
from .errors import HandoutsError, data_error
from .models import Strict as _Strict
from .models import load_toml as _load_toml
from .qr import MIN_MODULE_MM as MIN_QR_MODULE_MM

MAX_COPIES = 10_000  # --copies: cards per patient on imposed sheets
MIN_TEXT_PT = 6.0  # nothing on a card is printed smaller
EPS = 1e-6


class Rect(_Strict):
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    w: float = Field(gt=0)
    h: float = Field(gt=0)


class Fill(Rect):
    """A background rectangle. Where it touches the card's edge it runs into the bleed."""
    color: str


class Zone(Rect):
    """A text zone: its text is set at `size` pt, or smaller down to `min_size`, and
    must fit inside the rectangle; if it does not at `min_size`, the build fails."""
    size: float
    min_size: float = Field(ge=MIN_TEXT_PT)
    leading: float = Field(default=1.2, ge=1.0, le=2.0)
    bold: bool = False
    color: str = "text"
    label_color: str = "muted"
    align: Literal["left", "right", "center"] = "left"
    valign: Literal["top", "middle", "bottom"] = "top"
    paragraph_gap: float = Field(default=0.35, ge=0, description="space between blocks, in lines")

    @model_validator(mode="after")
    def _sizes(self):
        if self.size < self.min_size:
            raise ValueError(f"size {self.size} pt is below min_size {self.min_size} pt")
        return self


class QRPlace(_Strict):
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    module_mm: float = Field(ge=MIN_QR_MODULE_MM)


class Side(_Strict):
    fills: list[Fill] = []
    zones: dict[str, Zone]
    qr: QRPlace | None = None
    qr2: QRPlace | None = None  # a second code (the back: the label on DailyMed)


class CardFormat(_Strict):
    label: str
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    corner_radius: float = Field(ge=0)
    # Adjustments after stretching, per side: zone name (or "qr") -> fields to replace.
    front: dict[str, dict[str, float]] = {}
    back: dict[str, dict[str, float]] = {}


class Guides(_Strict):
    color: str
    width_pt: float = Field(gt=0)


class Geometry(_Strict):
    design_format: str
    safe_margin: float = Field(ge=0)
    formats: dict[str, CardFormat]
    colors: dict[str, str]
    corner_guide: Guides
    front: Side
    back: Side
    # Each card format's layout, made once per Geometry (it lives and dies with it; a
    # copy shares the dict, so each entry names the Geometry it was made from).
    _cards: dict[str, tuple[Geometry, CardLayout]] = PrivateAttr(default_factory=dict)

    @field_validator("colors")
    @classmethod
    def _hex(cls, v):
        for name, c in v.items():
            if not (len(c) == 7 and c[0] == "#" and all(ch in "0123456789abcdefABCDEF" for ch in c[1:])):
                raise ValueError(f"colour {name}: {c!r} is not #RRGGBB")
        return v

    @model_validator(mode="after")
    def _inside(self):
        if self.design_format not in self.formats:
            raise ValueError(f"design_format {self.design_format!r} is not in formats")
        fmt = self.formats[self.design_format]
        m = self.safe_margin
        for side_name, side in (("front", self.front), ("back", self.back)):
            for f in side.fills:
                if f.x + f.w > fmt.width + EPS or f.y + f.h > fmt.height + EPS:
                    raise ValueError(f"{side_name} fill runs off the card")
                if f.color not in self.colors:
                    raise ValueError(f"{side_name} fill: unknown colour {f.color!r}")
            for name, z in side.zones.items():
                if (z.x < m - EPS or z.y < m - EPS or z.x + z.w > fmt.width - m + EPS
                        or z.y + z.h > fmt.height - m + EPS):
                    raise ValueError(f"{side_name} zone {name} is outside the safe area "
                                     f"({m} mm from the trim)")
                for c in (z.color, z.label_color):
                    if c not in self.colors:
                        raise ValueError(f"{side_name} zone {name}: unknown colour {c!r}")
        return self

    def card(self, fmt_name: str) -> CardLayout:
        found = self._cards.get(fmt_name)
        if found is None or found[0] is not self:
            found = self._cards[fmt_name] = (self, _card_layout(self, fmt_name))
        return found[1]


@dataclass(frozen=True)
class CardLayout:
    """The design's zones mapped onto one card format: rectangles stretch to the
    format's size inside the safe margin (text re-flows inside them), the QR code
    keeps its module size, and the format may adjust zones (geometry.toml)."""
    format: CardFormat
    front: Side
    back: Side
    colors: dict[str, str]
    corner_guide: Guides

    @property
    def width(self) -> float:
        return self.format.width

    @property
    def height(self) -> float:
        return self.format.height


def _stretch(v: float, old: float, new: float, margin: float) -> float:
    """Map a coordinate from the design card to another size: the card's edges stay its
    edges, the safe margin stays the same, and the area inside it stretches."""
    if abs(v) <= EPS:
        return 0.0
    if abs(v - old) <= EPS:
        return new
    return margin + (v - margin) * (new - 2 * margin) / (old - 2 * margin)


def _scale_side(side: Side, design: CardFormat, fmt: CardFormat, margin: float) -> Side:
    def fx(v):
        return _stretch(v, design.width, fmt.width, margin)

    def fy(v):
        return _stretch(v, design.height, fmt.height, margin)

    def r(obj):
        return obj.model_copy(update={"x": fx(obj.x), "y": fy(obj.y),
                                      "w": fx(obj.x + obj.w) - fx(obj.x), "h": fy(obj.y + obj.h) - fy(obj.y)})
    def q(place):
        return place.model_copy(update={"x": fx(place.x), "y": fy(place.y)}) if place else None
    return Side(fills=[r(f) for f in side.fills], zones={k: r(z) for k, z in side.zones.items()},
                qr=q(side.qr), qr2=q(side.qr2))


def _card_layout(geo: Geometry, fmt_name: str) -> CardLayout:
    if fmt_name not in geo.formats:
        raise data_error("card format", f"unknown card format {fmt_name!r}")
    design = geo.formats[geo.design_format]
    fmt = geo.formats[fmt_name]
    front, back = geo.front, geo.back
    if (fmt.width, fmt.height) != (design.width, design.height):
        front = _scale_side(front, design, fmt, geo.safe_margin)
        back = _scale_side(back, design, fmt, geo.safe_margin)
    front = _override(front, fmt.front, "front", fmt_name)
    back = _override(back, fmt.back, "back", fmt_name)
    return CardLayout(fmt, front, back, dict(geo.colors), geo.corner_guide)


def _override(side: Side, changes: dict[str, dict[str, float]], side_name: str, fmt_name: str) -> Side:
    """A format's own adjustments (millimetres on that format) after stretching."""
    if not changes:
        return side
    zones = dict(side.zones)
    qr, qr2 = side.qr, side.qr2
    for name, update in changes.items():
        if name == "qr" and qr is not None:
            qr = qr.model_copy(update=update)
        elif name == "qr2" and qr2 is not None:
            qr2 = qr2.model_copy(update=update)
        elif name in zones:
            zones[name] = zones[name].model_copy(update=update)
        else:
            raise data_error(f"geometry.toml: formats.{fmt_name}.{side_name}", f"no zone {name!r} to adjust")
    return Side(fills=side.fills, zones=zones, qr=qr, qr2=qr2)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw - EPS and bx < ax + aw - EPS and ay < by + bh - EPS and by < ay + ah - EPS


def check_card(card: CardLayout, fmt_name: str, qr_modules: int, safe_margin: float,
               qr2_modules: int = 0) -> None:
    """Zones do not overlap each other nor the QR codes (quiet zone included), and all
    stay in the safe area: checked for every format, since formats stretch the design."""
    for side_name in ("front", "back"):
        side = getattr(card, side_name)
        boxes = {n: (z.x, z.y, z.w, z.h) for n, z in side.zones.items()}
        for key, place, modules in (("qr", side.qr, qr_modules), ("qr2", side.qr2, qr2_modules)):
            if place is not None:
                n = modules * place.module_mm
                boxes[key] = (place.x, place.y, n, n)
        names = list(boxes)
        for i, a in enumerate(names):
            x, y, w, h = boxes[a]
            m = safe_margin if a not in ("qr", "qr2") else 0.0
            if x < m - EPS or y < m - EPS or x + w > card.width - m + EPS or y + h > card.height - m + EPS:
                raise data_error(f"geometry.toml: {side_name}.{a}", f"leaves the safe area of the {fmt_name} card")
            for b in names[i + 1:]:
                if _overlap(boxes[a], boxes[b]):
                    raise data_error(f"geometry.toml: {side_name}.{a}", f"overlaps {b} on the {fmt_name} card")


# ------------------------------------------------------------------------- sheets

class SheetPreset(_Strict):
    label: str
    paper: str
    card_format: str
    cols: int = Field(ge=1)
    rows: int = Field(ge=1)
    pitch_x: float = Field(gt=0, description="left edge to left edge of neighbouring cards")
    pitch_y: float = Field(gt=0)
    left: float | None = Field(default=None, ge=0, description="None: centred")
    top: float | None = Field(default=None, ge=0, description="None: centred")
    min_margin: float = Field(ge=0, description="the printer's unprintable margin the cards must clear")
    crop_marks: bool
    mark_offset: float = Field(default=3.0, ge=0, description="gap between the trim and a crop mark")
    mark_length: float = Field(default=5.0, gt=0)
    mark_width_pt: float = Field(default=0.25, gt=0)
    note: str = ""


class Sheets(_Strict):
    presets: dict[str, SheetPreset]


class Bleed(NamedTuple):
    """How far (mm) a card's background runs past its trim on each side."""
    left: float = 0.0
    right: float = 0.0
    top: float = 0.0
    bottom: float = 0.0


NO_BLEED = Bleed()


class DuplexOffset(NamedTuple):
    """The duplex offset (mm): how far the backs are shifted right and down."""
    dx: float = 0.0
    dy: float = 0.0


@dataclass(frozen=True)
class Cell:
    """One card's place on a sheet: trim rectangle (top-left origin, mm) and how far
    its background may run into the bleed on each side."""
    index: int
    col: int
    row: int
    x: float
    y: float
    w: float
    h: float
    bleed: Bleed


@dataclass(frozen=True)
class Mark:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Imposition:
    name: str
    preset: SheetPreset
    paper: papers.Paper
    card: CardFormat
    bleed: float
    offset: DuplexOffset

    @property
    def per_sheet(self) -> int:
        return self.preset.cols * self.preset.rows

    @property
    def gutter_x(self) -> float:
        return self.preset.pitch_x - self.card.width

    @property
    def gutter_y(self) -> float:
        return self.preset.pitch_y - self.card.height

    @property
    def origin(self) -> tuple[float, float]:
        p = self.preset
        block_w = (p.cols - 1) * p.pitch_x + self.card.width
        block_h = (p.rows - 1) * p.pitch_y + self.card.height
        left = p.left if p.left is not None else (self.paper.width_mm - block_w) / 2
        top = p.top if p.top is not None else (self.paper.height_mm - block_h) / 2
        return left, top

    def block(self) -> tuple[float, float, float, float]:
        """The cards' bounding box: left, top, right, bottom."""
        p = self.preset
        left, top = self.origin
        return (left, top, left + (p.cols - 1) * p.pitch_x + self.card.width,
                top + (p.rows - 1) * p.pitch_y + self.card.height)

    def _bleed(self, col: int, row: int) -> Bleed:
        """Bleed stops halfway into a gutter so it never covers a neighbouring card;
        at the block's outer edges it stops before the crop marks."""
        p, b = self.preset, self.bleed
        if b == 0:
            return NO_BLEED
        inner_x, inner_y = max(self.gutter_x, 0) / 2, max(self.gutter_y, 0) / 2
        outer = min(b, self.outer_room())
        return Bleed(outer if col == 0 else min(b, inner_x),
                outer if col == p.cols - 1 else min(b, inner_x),
                outer if row == 0 else min(b, inner_y),
                outer if row == p.rows - 1 else min(b, inner_y))

    def outer_room(self) -> float:
        left, top, right, bottom = self.block()
        return min(left, top, self.paper.width_mm - right, self.paper.height_mm - bottom)

    def fronts(self) -> list[Cell]:
        p = self.preset
        left, top = self.origin
        return [Cell(r * p.cols + c, c, r, left + c * p.pitch_x, top + r * p.pitch_y,
                     self.card.width, self.card.height, self._bleed(c, r))
                for r in range(p.rows) for c in range(p.cols)]

    def backs(self) -> list[Cell]:
        """The back of front cell i, for long-edge duplex: mirrored left to right
        about the sheet's vertical centre line, then shifted by the duplex offset."""
        dx, dy = self.offset
        W = self.paper.width_mm
        out = []
        for cell in self.fronts():
            b = cell.bleed
            out.append(Cell(cell.index, self.preset.cols - 1 - cell.col, cell.row,
                            W - cell.x - cell.w + dx, cell.y + dy, cell.w, cell.h,
                            Bleed(b.right, b.left, b.top, b.bottom)))
        return out

    def marks(self, cells: list[Cell] | None = None) -> list[Mark]:
        """Crop marks in the margins, outside every card and its bleed, on the
        extension of each cut line."""
        if not self.preset.crop_marks:
            return []
        cells = cells if cells is not None else self.fronts()
        p = self.preset
        gap = max(p.mark_offset, self.bleed + 1.0)
        left = min(c.x for c in cells)
        right = max(c.x + c.w for c in cells)
        top = min(c.y for c in cells)
        bottom = max(c.y + c.h for c in cells)
        xs = sorted({round(v, 4) for c in cells for v in (c.x, c.x + c.w)})
        ys = sorted({round(v, 4) for c in cells for v in (c.y, c.y + c.h)})
        marks = []
        for x in xs:
            marks.append(Mark(x, top - gap - p.mark_length, x, top - gap))
            marks.append(Mark(x, bottom + gap, x, bottom + gap + p.mark_length))
        for y in ys:
            marks.append(Mark(left - gap - p.mark_length, y, left - gap, y))
            marks.append(Mark(right + gap, y, right + gap + p.mark_length, y))
        return marks


def _check_preset(name: str, preset: SheetPreset, geo: Geometry) -> None:
    if preset.paper not in papers.PAPERS:
        raise data_error(f"sheets.toml: {name}", f"unknown paper {preset.paper!r}")
    if preset.card_format not in geo.formats:
        raise data_error(f"sheets.toml: {name}", f"unknown card format {preset.card_format!r}")
    imp = Imposition(name, preset, papers.PAPERS[preset.paper], geo.formats[preset.card_format], 0.0, DuplexOffset())
    if imp.gutter_x < -EPS or imp.gutter_y < -EPS:
        raise data_error(f"sheets.toml: {name}", "the pitch is smaller than the card: cards overlap")
    room = imp.outer_room()
    if room < preset.min_margin - EPS:
        raise data_error(f"sheets.toml: {name}", f"the cards leave {room:.2f} mm at the paper's edge, less "
                                                  f"than min_margin {preset.min_margin} mm")
    if preset.crop_marks and room < preset.mark_offset + preset.mark_length - EPS:
        raise data_error(f"sheets.toml: {name}", f"no room for crop marks ({room:.2f} mm margin)")


@cache
def geometry(layout: str) -> Geometry:
    return _load_toml(paths.layouts_dir() / layout / "geometry.toml", Geometry)


@cache
def sheets(layout: str) -> dict[str, SheetPreset]:
    data = _load_toml(paths.layouts_dir() / layout / "sheets.toml", Sheets)
    geo = geometry(layout)
    for name, preset in data.presets.items():
        _check_preset(name, preset, geo)
    return dict(data.presets)


def imposition(sheet: str, bleed: float = 0.0, offset: tuple[float, float] = (0.0, 0.0), *,
               layout: str) -> Imposition:
    presets = sheets(layout)
    if sheet not in presets:
        raise HandoutsError("sheet.unknown", "sheet", {"value": sheet, "choices": tuple(presets)})
    if not 0 <= bleed <= 5:  # nan too: every comparison with it is false
        raise HandoutsError("option.bleed_range", "bleed", {"value": bleed})
    if not all(math.isfinite(v) for v in offset):  # "nan,0" is not a distance
        raise HandoutsError("option.offset_format", "duplex_offset", {"value": ",".join(f"{v:g}" for v in offset)})
    if any(abs(v) > 10 for v in offset):
        raise HandoutsError("option.offset_range", "duplex_offset", {"x": offset[0], "y": offset[1]})
    preset = presets[sheet]
    geo = geometry(layout)
    return Imposition(sheet, preset, papers.PAPERS[preset.paper], geo.formats[preset.card_format],
                      float(bleed), DuplexOffset(float(offset[0]), float(offset[1])))
