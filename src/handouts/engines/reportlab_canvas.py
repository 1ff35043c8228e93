"""ReportLab adapter: exact geometry on a canvas. Knows paper, fonts and PDF, not the drug.

- Fonts: only the bundled TrueType files in assets/fonts, registered once per process.
  Text is drawn run by run with per-character fallback through a locale's font stack
  (glyph coverage: each font's cmap, and the precomputed coverage of fonts not yet
  registered), so a Traditional-Chinese name on a Simplified card still prints, and a
  character no bundled font has is an error.
- Text is never markup: strings go to `drawString`, never to a Paragraph parser.
- Lines are broken by handouts.linebreak (kinsoku for Chinese; Latin tokens and numbers
  never split), and a zone's text is set at the largest size, down to its minimum, at
  which it fits; below that the caller gets LayoutOverflow. Nothing is cut silently.
- Reusable parts are form XObjects, defined once per document and placed many times;
  so is personal text that repeats (the same oncologist on many cards, a field's label).
- Only ReportLab's public canvas API: text objects, saveState/translate, lines, forms.
- Output is byte-reproducible (`rl_config.invariant`).

Coordinates given to this module are millimetres from a top-left origin (y down), as in
the layout files; the adapter converts to PDF points (y up).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from functools import cache
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple

import reportlab.rl_config as rl_config

rl_config.invariant = 1  # byte-reproducible output (fixed dates and document id)
rl_config.useA85 = 0  # binary compressed streams: smaller and faster than ASCII85

from reportlab.lib.colors import Color, HexColor  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402 - points per millimetre
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from .. import paths  # noqa: E402
from ..errors import HandoutsError, LayoutOverflow  # noqa: E402
from ..fonts import has_glyph  # noqa: E402
from ..linebreak import NO_END, NO_START, TooWide, break_lines, is_cjk, keep_pattern  # noqa: E402
from ..locales import font_families  # noqa: E402
from ..session import RenderSession, current  # noqa: E402

SIZE_STEP = 0.25  # pt: how finely a zone's text size is reduced to fit


@dataclass
class Rendered:
    pdf: bytes
    pages: int


class MissingGlyph(HandoutsError):
    pass


# ----------------------------------------------------------------------------- fonts

@cache
def _registered(family: str, weight: str) -> TTFont:
    filename = getattr(font_families()[family], weight)
    font = TTFont(_font_name(family, weight), str(paths.fonts_dir() / filename))
    pdfmetrics.registerFont(font)
    return font


def _font_name(family: str, weight: str) -> str:
    return f"{family.replace(' ', '')}-{weight}"


class FontStack:
    """Fonts tried in order for each character; widths in points per point of size.

    The first font is registered at once; a fallback only when a character needs it
    (the bundled fonts' precomputed coverage says whether it has the character), since
    ReportLab parses a whole font on registration: 0.15 s for each 10 MB CJK font, which
    an English card with Latin names never uses."""

    def __init__(self, families: tuple[str, ...], bold: bool):
        weight = "bold" if bold else "regular"
        self.families = families
        self.weight = weight
        self.files = [getattr(font_families()[f], weight) for f in families]
        self.names = [_font_name(f, weight) for f in families]
        self._fonts: list[TTFont | None] = [None] * len(families)
        self._glyph: dict[str, tuple[int, float]] = {}
        self._width: dict[str, float] = {}
        self._runs: dict[str, list[tuple[str, str]]] = {}
        self._first: set[str] = set()  # characters known to be drawn in the first font
        self.font(0)

    def font(self, i: int) -> TTFont:
        f = self._fonts[i]
        if f is None:
            f = self._fonts[i] = _registered(self.families[i], self.weight)
        return f

    @property
    def fonts(self) -> list[TTFont]:
        return [self.font(i) for i in range(len(self.families))]

    def glyph(self, ch: str) -> tuple[int, float]:
        g = self._glyph.get(ch)
        if g is None:
            code = ord(ch)
            for i in range(len(self.families)):
                if self._fonts[i] is None and not has_glyph(self.files[i], code):
                    continue  # not registered yet, and it would not have the character
                face = self.font(i).face
                if code in face.charToGlyph:
                    g = (i, face.charWidths.get(code, face.defaultWidth) / 1000.0)
                    break
            else:
                raise MissingGlyph("font.no_glyph", "", {"families": self.families},
                                   label=f"character {ch!r} (U+{code:04X})")
            self._glyph[ch] = g
            self._width[ch] = g[1]
            if g[0] == 0:
                self._first.add(ch)
        return g

    def width(self, text: str, size: float = 1.0) -> float:
        w = self._width
        try:
            return sum(map(w.__getitem__, text)) * size
        except KeyError:
            for ch in text:
                self.glyph(ch)
            return sum(map(w.__getitem__, text)) * size

    def runs(self, text: str) -> list[tuple[str, str]]:
        """(font name, text) runs: each character in the first font that has it.
        Remembered per text (labels and headings repeat on every card)."""
        out = self._runs.get(text)
        if out is None:
            if len(self._runs) >= RUNS_MAX:
                self._runs.clear()
            if text and self._first.issuperset(text):  # all in the first font: one run
                out = [(self.names[0], text)]
            else:
                out = self._split(text)
            self._runs[text] = out
        return out

    def _split(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        cur = -1
        buf: list[str] = []
        glyphs = self._glyph
        for ch in text:
            g = glyphs.get(ch) or self.glyph(ch)
            i = g[0]
            if i != cur and buf:
                out.append((self.names[cur], "".join(buf)))
                buf = []
            cur = i
            buf.append(ch)
        if buf:
            out.append((self.names[cur], "".join(buf)))
        return out


RUNS_MAX = 20_000  # texts whose font runs a stack remembers


def font_stack(families: tuple[str, ...], bold: bool = False, session: RenderSession | None = None) -> FontStack:
    """The session's stack for these families (its glyph widths and the font runs of the
    texts it drew are remembered for the session: they hold personal text)."""
    stacks = (session or current()).cache("rl.font_stacks")
    key = (families, bold)
    stack = stacks.get(key)
    if stack is None:
        stack = stacks[key] = FontStack(families, bold)
    return stack


# ------------------------------------------------------------------------------ text

def _hash_once(self) -> int:
    """The hash of a frozen dataclass from all its fields (its class's `_hash_fields`),
    computed once per object. Set as `__hash__` in the class body, where dataclass keeps
    it instead of generating its own."""
    h = self.__dict__.get("_hash")
    if h is None:
        h = hash(type(self)._hash_fields(self))
        object.__setattr__(self, "_hash", h)
    return h


@dataclass(frozen=True)
class Block:
    """One paragraph of a zone. With `label`, a field: the label, then the value on the
    same line (wrapping under it); with `blank`, a line to write on after the label."""
    text: str = ""
    bold: bool | None = None  # None: the zone's weight
    bullet: str | None = None
    label: str | None = None
    blank: bool = False
    keep_together: bool = False
    scale: float = 1.0  # relative to the zone's size
    families: tuple[str, ...] | None = None  # None: the zone's stack

    __hash__ = _hash_once  # a field's block is hashed at every fit() of every card
    _hash_fields: ClassVar[Callable[[Any], tuple[Any, ...]]]


Block._hash_fields = attrgetter(*(f.name for f in fields(Block)))  # every field, in order


@dataclass(frozen=True)
class ZoneStyle:
    x: float
    y: float
    w: float
    h: float
    size: float
    min_size: float
    leading: float
    bold: bool
    color: str
    label_color: str
    rule_color: str
    align: str
    valign: str
    paragraph_gap: float

    __hash__ = _hash_once  # hashed on every fit(): it keys the caches
    _hash_fields: ClassVar[Callable[[Any], tuple[Any, ...]]]


ZoneStyle._hash_fields = attrgetter(*(f.name for f in fields(ZoneStyle)))


class Line(NamedTuple):
    """One run of text to draw at one size and colour: a line of a paragraph, a field's
    label or a bullet. (x, y) is where its baseline starts, in mm from the top-left."""
    x: float
    y: float
    text: str
    fonts: FontStack
    size: float  # pt
    color: str


class Rule(NamedTuple):
    """A horizontal line to write on, in mm from the top-left."""
    x1: float
    x2: float
    y: float
    color: str


class _OneLine(NamedTuple):
    """How a zone of one block, set on one line at the zone's full size, was measured:
    another text of that block fits the same way when the same test passes."""
    line: int  # the index of the text's Line in Laid.lines (not `index`: tuple has one)
    fonts: FontStack
    size: float  # pt
    room: float  # pt: the width the text may take


@dataclass
class Laid:
    """Text set in a zone: drawing instructions in millimetres (top-left origin)."""
    size: float
    lines: list[Line] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    one_line: _OneLine | None = field(default=None, compare=False, repr=False)

    def text(self) -> list[str]:
        return [ln.text for ln in self.lines]

    def refill(self, text: str) -> Laid | None:
        """This zone with `text` instead of its block's text, if `text` passes the same
        one-line test that _layout applies (single spaces, no wider than the room): then
        _layout would place every line where this one has it. None otherwise."""
        one = self.one_line
        if one is None or not text or text != " ".join(text.split()) or one.fonts.width(text, one.size) > one.room:
            return None
        lines = self.lines.copy()
        ln = lines[one.line]
        lines[one.line] = Line(ln.x, ln.y, text, ln.fonts, ln.size, ln.color)
        return Laid(self.size, lines, self.rules.copy(), one)


class _Entry(NamedTuple):
    """A Line while its block is being laid out: points from the block's top-left."""
    x: float
    dy: float
    text: str
    fonts: FontStack
    size: float
    color: str


class _Span(NamedTuple):
    """Where a write-on rule runs inside a block: points from the zone's left edge."""
    start: float
    end: float


class _BlockRow(NamedTuple):
    """One block laid out at one size, before the zone's vertical alignment is known."""
    top: float  # pt from the top of the zone's text
    entries: list[_Entry]
    line_height: float  # pt
    rule: _Span | None  # a line to write on (a blank field)
    size: float  # pt


def _layout(style: ZoneStyle, blocks: list[Block], families: tuple[str, ...], size: float,
            session: RenderSession, keep: re.Pattern[str] | None = None) -> Laid | None:
    """Lay out at one size; None when it does not fit the zone. `keep`: what the text's
    locale never breaks inside (linebreak.keep_pattern)."""
    laid = Laid(size)
    width_pt = style.w * mm
    y = 0.0
    block_rows: list[_BlockRow] = []
    for bi, blk in enumerate(blocks):
        fams = blk.families or families
        bold = style.bold if blk.bold is None else blk.bold
        stack = font_stack(fams, bold, session)
        bsize = size * blk.scale
        line_h = bsize * style.leading
        measure = lambda t, s=stack, z=bsize: s.width(t, z)  # noqa: E731
        entries: list[_Entry] = []
        indent = 0.0
        first_width: float | None = None  # set for a field: the room after its label
        if blk.label is not None:
            lstack = font_stack(fams, False, session)
            label = blk.label
            # A space after a Latin label; a full-width colon (：) already has its room.
            gap = "" if label and is_cjk(label[-1]) else " "
            label_w = lstack.width(label + gap, bsize)
            if label_w > width_pt:
                return None
            # The space is drawn too, so that extracted text reads "Name: Li Wei".
            entries.append(_Entry(0.0, 0.0, label + gap, lstack, bsize, style.label_color))
            indent = label_w
            first_width = width_pt - label_w
        if blk.bullet is not None:
            indent = stack.width(blk.bullet + " ", bsize)
            entries.append(_Entry(0.0, 0.0, blk.bullet + " ", stack, bsize, style.color))
        if blk.blank:
            # One line to write on, from after the label to the zone's right edge.
            laid_rule = _Span(indent, width_pt)
            n_lines = 1
            texts: list[str] = []
        else:
            laid_rule = None
            room = first_width if first_width is not None else width_pt - indent
            try:
                if blk.text == " ".join(blk.text.split()) and stack.width(blk.text, bsize) <= room:
                    texts = [blk.text]  # fits on its line: no break to choose (most fields)
                    if len(blocks) == 1 and blk.text and style.align == "left":
                        # Where its line goes does not depend on the text (see fit).
                        laid.one_line = _OneLine(len(entries), stack, bsize, room)
                elif blk.label is not None:
                    texts = break_lines(blk.text, width_pt, measure, first_width=first_width,
                                        keep_together=blk.keep_together, keep=keep)
                else:
                    texts = break_lines(blk.text, width_pt - indent, measure,
                                        keep_together=blk.keep_together, keep=keep)
            except TooWide:
                return None
            n_lines = len(texts)
        for li, t in enumerate(texts):
            # A field's value wraps under its label; a bullet item hangs under its text.
            x = indent if (blk.label is None or li == 0) else 0.0
            if t:
                entries.append(_Entry(x, li * line_h, t, stack, bsize, style.color))
        y += (style.paragraph_gap * size * style.leading) if bi else 0.0
        block_rows.append(_BlockRow(y, entries, line_h, laid_rule, bsize))
        y += n_lines * line_h
    total_h = y
    if total_h > style.h * mm + 1e-6:
        return None
    free = style.h * mm - total_h
    y0 = {"top": 0.0, "middle": free / 2, "bottom": free}[style.valign]
    for top, entries, line_h, rule, bsize in block_rows:
        # Baseline inside a line box: centred ink for Latin and CJK.
        base = (line_h - bsize) / 2 + bsize * 0.86
        for x, dy, t, stack, s, color in entries:
            if style.align != "left":
                w = stack.width(t, s)
                x = (width_pt - w) if style.align == "right" else (width_pt - w) / 2
            laid.lines.append(Line(style.x + x / mm, style.y + (y0 + top + dy + base) / mm, t, stack, s, color))
        if rule is not None:
            laid.rules.append(Rule(style.x + rule.start / mm + 0.3, style.x + rule.end / mm,
                                   style.y + (y0 + top + base + 0.15 * bsize) / mm, style.rule_color))
    return laid


# A zone of one block that fitted on one line at full size is remembered (cache
# "rl.one_line") by everything but the text: the zone's style, the stack, and every other
# field of the block.
_BLOCK_BUT_TEXT = attrgetter(*(f.name for f in fields(Block) if f.name != "text"))


Zone = str | tuple[str, str, str]  # a zone's name, or (where, field, label): see overflow()


def fit(style: ZoneStyle, blocks: list[Block], families: tuple[str, ...], what: Zone | Callable[[], Zone],
        session: RenderSession | None = None, keep: tuple[str, ...] = ()) -> Laid:
    """Set blocks in the zone at the largest size that fits; LayoutOverflow otherwise
    (`what` names the zone, or makes its name when needed). `keep`: the keep_together
    patterns of the text's locale (locale data; never another locale's).
    A result is shared by every zone with the same style and text (many cards print the
    same oncologist, centre or date): treat a Laid as read-only.

    A zone of one block on one line at full size (most personal fields) is laid out once
    per shape: another text of the same block is measured against the same room and, if
    it passes the same test, takes the same place (Laid.refill); else the full layout
    runs. Either way every text is measured; nothing is assumed to fit."""
    session = session or current()
    fitted, one_line = session.cache("rl.fitted"), session.cache("rl.one_line")
    key = (style, tuple(blocks), families, keep)
    laid = fitted.get(key)
    if laid is not None:
        return laid
    shape = (style, families, keep, _BLOCK_BUT_TEXT(blocks[0])) if len(blocks) == 1 else None
    if shape is not None:
        known = one_line.get(shape)
        if known is not None:
            laid = known.refill(blocks[0].text)
            if laid is not None:
                fitted[key] = laid
                return laid
    size = style.size
    while size >= style.min_size - 1e-9:
        laid = _layout(style, blocks, families, size, session, keep_pattern(keep))
        if laid is not None:
            fitted[key] = laid
            if shape is not None and laid.one_line is not None and size == style.size:
                one_line[shape] = laid
            return laid
        size = round(size - SIZE_STEP, 4)
    raise overflow(what() if callable(what) else what,
                   {"width": f"{style.w:g}", "height": f"{style.h:g}", "min": f"{style.min_size:g}"})


def overflow(what: Zone, params: dict[str, str]) -> LayoutOverflow:
    """`what`: the zone's name, or (where, field, label): the personal field that does not
    fit, the place it came from and how the zone is named."""
    if isinstance(what, str):
        return LayoutOverflow("layout.overflow", "", params, label=what)
    where, field_name, label = what
    return LayoutOverflow("layout.overflow", field_name, params, where=where, label=label)


class Ending(NamedTuple):
    """A zone of one block whose texts differ only in how they end (a document id's
    digest), laid out once: see fit_ending."""
    head: str  # what every such text starts with
    length: int  # how many characters follow it
    chars: frozenset[str]  # what they may be
    keep: re.Pattern[str] | None
    spans: list[tuple[int, int]]  # where `keep` matches, the same in every such text
    laid: Laid  # the zone laid out with the narrowest ending
    line: int  # the index of the line that ends with the ending

    def refill(self, text: str) -> Laid | None:
        """The zone with `text`, if it is the head and an ending of the same length made
        of the same characters, with the keep-together matches where the laid-out text
        has them; None otherwise."""
        n = self.length
        if len(text) != len(self.head) + n or not text.startswith(self.head) or not self.chars.issuperset(text[-n:]):
            return None
        if self.keep is not None and _spans(self.keep, text) != self.spans:
            return None
        lines = self.laid.lines.copy()
        ln = lines[self.line]
        lines[self.line] = ln._replace(text=ln.text[:-n] + text[-n:])
        return Laid(self.laid.size, lines, self.laid.rules.copy())


def _spans(keep: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in keep.finditer(text)]


def _unbreakable(ch: str) -> bool:
    """A character that the line breaker never breaks before or after by itself: not a
    space, not Chinese, no kinsoku punctuation."""
    return not ch.isspace() and not is_cjk(ch) and ch not in NO_START and ch not in NO_END


def fit_ending(style: ZoneStyle, block: Block, families: tuple[str, ...], length: int, alphabet: str,
               session: RenderSession | None = None, keep: tuple[str, ...] = ()) -> Ending | None:
    """How fit() sets `block` (one block in the zone) for any text that is its text
    with the last `length` characters replaced by as many of `alphabet`, or None when that
    cannot be known from two layouts (then each text is fitted in full).

    The zone is fitted with the narrowest such ending and with the widest. Every choice
    fit() makes (the size, where each line ends, whether the text fits at all) compares
    a sum of glyph widths with a room, and glyph widths add up (no kerning): with each
    ending character between the narrowest and the widest, every sum lies between the
    two layouts' sums. Characters that never allow a break split every such text into
    the same pieces. So where the two layouts are the same but for the ending, every
    such text is set the same way, with its own ending at the end of the same line."""
    session = session or current()
    stack = font_stack(block.families or families, style.bold if block.bold is None else block.bold, session)
    head = block.text[:-length] if length > 0 else ""
    chars = frozenset(alphabet)
    if not head or len(chars) < 2 or not all(map(_unbreakable, chars)):
        return None
    try:
        by_width = sorted(chars, key=stack.width)
        narrow, wide = by_width[0] * length, by_width[-1] * length
        lo, hi = (fit(style, [replace(block, text=head + end)], families, "ending", session, keep)
                  for end in (narrow, wide))
    except HandoutsError:  # an ending no font has, or one that does not fit: fit each text
        return None
    pattern = keep_pattern(keep)
    spans = _spans(pattern, head + narrow) if pattern is not None else []
    if pattern is not None and _spans(pattern, head + wide) != spans:
        return None
    if lo.size != hi.size or len(lo.lines) != len(hi.lines) or lo.rules != hi.rules:
        return None
    differ = [i for i, (a, b) in enumerate(zip(lo.lines, hi.lines, strict=True)) if a != b]
    if len(differ) != 1:
        return None
    a, b = lo.lines[differ[0]], hi.lines[differ[0]]
    if (a._replace(text="") != b._replace(text="") or not a.text.endswith(narrow) or not b.text.endswith(wide)
            or a.text[:-length] != b.text[:-length]):
        return None
    return Ending(head, length, chars, pattern, spans, lo, differ[0])


# --------------------------------------------------------------------------- drawing

_COLORS: dict[str, Color] = {}
RULE_WIDTH_PT = 0.4  # lines to write on


def _color(hexstr: str) -> Color:
    """Colours parsed once per process (a painter is made per card)."""
    col = _COLORS.get(hexstr)
    if col is None:
        col = _COLORS[hexstr] = HexColor(hexstr)
    return col


class Painter:
    """Draws in millimetres, top-left origin, inside a page or a form of height `h`,
    through ReportLab's public canvas API only."""

    def __init__(self, canvas: Canvas, h: float):
        self.c = canvas
        self.h = h

    def fill_rect(self, x: float, y: float, w: float, h: float, color: str) -> None:
        self.c.setFillColor(_color(color))
        self.c.rect(x * mm, (self.h - y - h) * mm, w * mm, h * mm, stroke=0, fill=1)

    def lines(self, segments: list[tuple[float, float, float, float]], color: str, width_pt: float) -> None:
        """Straight lines (x1, y1, x2, y2 in mm) in one colour and width, in one path."""
        if not segments:
            return
        c, h = self.c, self.h
        c.saveState()
        c.setStrokeColor(_color(color))
        c.setLineWidth(width_pt)
        c.lines([(x1 * mm, (h - y1) * mm, x2 * mm, (h - y2) * mm) for x1, y1, x2, y2 in segments])
        c.restoreState()

    def corner_guides(self, w: float, h: float, r: float, color: str, width_pt: float) -> None:
        """Quarter circles at the four corners of a w x h card (a corner rounder's guide)."""
        if r <= 0:
            return
        c = self.c
        c.setStrokeColor(_color(color))
        c.setLineWidth(width_pt)
        for cx, cy, start in ((r, r, 90), (w - r, r, 0), (w - r, h - r, 270), (r, h - r, 180)):
            # arc(x1, y1, x2, y2) takes the bounding box of the full circle.
            x1, y1 = (cx - r) * mm, (self.h - cy - r) * mm
            c.arc(x1, y1, x1 + 2 * r * mm, y1 + 2 * r * mm, startAng=start, extent=90)

    def qr(self, matrix: tuple[tuple[bool, ...], ...], x: float, y: float, module: float) -> None:
        """The module matrix (quiet zone included) as rectangles: a white square for the
        whole code, then one rectangle per horizontal run of dark modules."""
        n = len(matrix)
        self.fill_rect(x, y, n * module, n * module, "#FFFFFF")
        c = self.c
        c.setFillColor(_color("#000000"))
        m = module * mm
        x0, top = x * mm, (self.h - y) * mm
        path = c.beginPath()
        for r, row in enumerate(matrix):
            col = 0
            while col < n:
                if row[col]:
                    start = col
                    while col < n and row[col]:
                        col += 1
                    path.rect(x0 + start * m, top - (r + 1) * m, (col - start) * m, m)
                else:
                    col += 1
        c.drawPath(path, stroke=0, fill=1)

    def place(self, key: str, x: float = 0.0, y: float = 0.0, h: float | None = None) -> None:
        """Place form `key` (made for an area of height h, default this painter's) with
        that area's top-left corner at (x, y); at (0, 0) in this painter's own origin."""
        c = self.c
        dx, dy = x * mm, (self.h - y - (self.h if h is None else h)) * mm
        if dx == 0 and dy == 0:
            c.doForm(key)
            return
        c.saveState()
        c.translate(dx, dy)
        c.doForm(key)
        c.restoreState()

    def text(self, *zones: Laid) -> None:
        """Zones of text and their write-on rules (see text_lines)."""
        self.text_lines([ln for laid in zones for ln in laid.lines], [r for laid in zones for r in laid.rules])

    def text_lines(self, lines: list[Line], rules: Sequence[Rule] = ()) -> None:
        """Lines of text in one text object: a font is set when it changes, a colour when
        it changes (the layout measured the glyph widths that the text operators advance
        by); then write-on rules. Inside a saved graphics state."""
        c, h = self.c, self.h
        c.saveState()
        if lines:
            t = c.beginText(lines[0].x * mm, (h - lines[0].y) * mm)
            color = font = None
            for i, ln in enumerate(lines):
                if ln.color != color:
                    t.setFillColor(_color(ln.color))
                    color = ln.color
                if i:
                    t.setTextOrigin(ln.x * mm, (h - ln.y) * mm)
                runs = ln.fonts.runs(ln.text)
                last = len(runs) - 1
                for j, (name, run) in enumerate(runs):
                    if (name, ln.size) != font:
                        t.setFont(name, ln.size)
                        font = (name, ln.size)
                    # textOut moves along the run (it measures it); the line's last run
                    # needs no measuring: textLine, and the next line sets its own origin.
                    if j < last:
                        t.textOut(run)
                    else:
                        t.textLine(run)
            c.drawText(t)
        if rules:
            c.setLineWidth(RULE_WIDTH_PT)
            for col in dict.fromkeys(r.color for r in rules):
                c.setStrokeColor(_color(col))
                c.lines([(r.x1 * mm, (h - r.y) * mm, r.x2 * mm, (h - r.y) * mm) for r in rules if r.color == col])
        c.restoreState()


class Document:
    """A PDF of pages of any size, with form XObjects defined once and placed often."""

    def __init__(self, title: str, author: str, subject: str, lang: str, creator: str = "handouts",
                 group_text: bool = False, session: RenderSession | None = None):
        self._buf = io.BytesIO()
        self.group_text = group_text
        # A bundled font as the initial font: otherwise ReportLab's default (Helvetica,
        # not embedded) would be named in every page's resources.
        initial = font_stack((next(iter(font_families())),), session=session).names[0]
        # types-reportlab types initialFontName as a number; ReportLab takes a font name.
        self.c = Canvas(self._buf, invariant=1, pageCompression=1, lang=lang,
                        initialFontName=initial, initialFontSize=10)  # type: ignore[arg-type]
        self.c.setTitle(title)
        self.c.setAuthor(author)
        self.c.setSubject(subject)
        self.c.setCreator(creator)
        self.c.setProducer(creator)
        self._forms: set[str] = set()
        self._page: Painter | None = None
        self.pages = 0
        # Zones drawn so far, by identity (fit() shares one Laid per style and text):
        # the zone and, once it repeats, the form it was made into.
        self._zones: dict[int, tuple[Laid, str | None]] = {}
        self._lines: dict[Line, str] = {}  # lines drawn so far: "" once, else their form
        self._zone_forms = 0
        self._page_lines: list[Line] = []  # new text of this page, drawn when it ends
        self._page_rules: list[Rule] = []

    def form(self, key: str, bbox: tuple[float, float, float, float], h: float,
             draw: Callable[[Painter], None]) -> str:
        """Define a form once. bbox = (left, top, right, bottom) in mm around an origin at
        the bottom-left corner of an area of height h (a card: origin at its trim)."""
        if key not in self._forms:
            left, top, right, bottom = bbox
            # types-reportlab wants int corners; ReportLab writes any number into the /BBox.
            self.c.beginForm(key, lowerx=left * mm, lowery=(h - bottom) * mm,  # type: ignore[arg-type]
                             upperx=right * mm, uppery=(h - top) * mm)
            draw(Painter(self.c, h))
            self.c.endForm()
            self._forms.add(key)
        return key

    def zones(self, p: Painter, zones: list[Laid], w: float, x: float = 0.0, y: float = 0.0) -> None:
        """Draw laid-out zones in painter p's area (w x p.h mm), whose top-left corner is
        at (x, y) on the page. What this document has drawn before becomes a form on its
        second use, drawn once and placed after that: a whole zone (fit() shares one Laid
        per style and text: the same oncologist, centre or blank line on many cards), else
        a line (a field's label). The rest, text seen for the first time, is drawn with
        the page's other such text in one text object when the page ends."""
        new_lines: list[Line] = []
        rules: list[Rule] = []
        seen_zones, seen_lines = self._zones, self._lines
        place = p.c.doForm  # a form made for p's area goes at p's origin (Painter.place)
        for laid in zones:
            seen = seen_zones.get(id(laid))
            if seen is None:
                seen_zones[id(laid)] = (laid, None)  # kept, so that its id is not reused
                if laid.rules:
                    rules += laid.rules
                for ln in laid.lines:
                    key = seen_lines.get(ln)
                    if key is None:
                        seen_lines[ln] = ""
                        new_lines.append(ln)
                    else:
                        if not key:
                            key = seen_lines[ln] = self._new_form(w, p.h, _drawing_lines([ln]))
                        place(key)
                continue
            key = seen[1]
            if key is None:
                key = self._new_form(w, p.h, _drawing_zone(laid))
                seen_zones[id(laid)] = (laid, key)
            place(key)
        if x or y:
            new_lines = [Line(ln.x + x, ln.y + y, ln.text, ln.fonts, ln.size, ln.color) for ln in new_lines]
            rules = [Rule(r.x1 + x, r.x2 + x, r.y + y, r.color) for r in rules]
        self._page_lines += new_lines
        self._page_rules += rules

    def _new_form(self, w: float, h: float, draw: Callable[[Painter], None]) -> str:
        self._zone_forms += 1
        return self.form(f"Zone{self._zone_forms}", (0.0, 0.0, w, h), h, draw)

    def has_form(self, key: str) -> bool:
        return key in self._forms

    def begin_page(self, w: float, h: float) -> Painter:
        self.c.setPageSize((w * mm, h * mm))
        self._page = Painter(self.c, h)
        return self._page

    def at(self, x: float, y: float, h: float) -> Offset:
        """A painter whose origin is the top-left corner of an area of height h at (x, y)."""
        return Offset(self, x, y, h)

    def end_page(self) -> None:
        if self._page_lines or self._page_rules:
            lines = self._page_lines
            if self.group_text:
                # Many cards on a sheet: each font and colour set once for the page, not
                # once a line (the page is printed; its text is read per card, from the
                # single-card PDF, where lines keep their reading order).
                lines = sorted(lines, key=lambda ln: (ln.fonts.names[0], ln.size, ln.color))
            assert self._page is not None  # lines are placed on a page begun first
            self._page.text_lines(lines, self._page_rules)
            self._page_lines, self._page_rules = [], []
        self.c.showPage()
        self.pages += 1

    def finish(self, keywords: str = "") -> Rendered:
        """The PDF; `keywords` go to its document information (what it names: ids)."""
        if keywords:
            self.c.setKeywords(keywords)
        self.c.save()
        return Rendered(self._buf.getvalue(), self.pages)


def _drawing_lines(lines: list[Line]) -> Callable[[Painter], None]:
    return lambda q: q.text_lines(lines)


def _drawing_zone(laid: Laid) -> Callable[[Painter], None]:
    return lambda q: q.text(laid)


class Offset:
    def __init__(self, doc: Document, x: float, y: float, h: float):
        self.doc, self.x, self.y, self.h = doc, x, y, h

    def __enter__(self) -> Painter:
        c = self.doc.c
        c.saveState()
        assert self.doc._page is not None  # an offset is taken on a page begun first
        c.translate(self.x * mm, (self.doc._page.h - self.y - self.h) * mm)
        return Painter(c, self.h)

    def __exit__(self, *exc) -> None:
        self.doc.c.restoreState()
