"""Line breaking for mixed Chinese and Latin text, with kinsoku (禁则) rules.

ReportLab's `wordWrap='CJK'` lets a line start with full-width closing punctuation,
end with an opening bracket, and splits Latin tokens such as ``ICANS`` or ``100.4``.
This breaker does not:

- a break is allowed at a space, and between two characters when either one is a
  Chinese character (ideograph, kana, full-width form);
- never before closing punctuation (，。、；：？！）」》 …), never after opening
  punctuation (（「《 …): such a character moves to the next line with its neighbour;
- never inside a run of Latin letters, digits and ASCII punctuation, so words and
  numbers are never split, and not at the space after a number ("15 days");
- never inside what the text's own locale's keep_together patterns match
  (locales/<dir>/locale.toml: 第N天, a date, a range, a bracketed brand), the same data
  the handout uses; the caller passes that locale's patterns (`keep`), so another
  locale's rules never change how this text breaks;
- a token wider than the line is not split: the caller gets `TooWide` and either
  chooses a smaller size or reports the overflow.

Pure Python, no engine: `measure(text) -> width` is passed in, so the same rules serve
any renderer and the tests.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from collections.abc import Callable

# Characters that must not start a line (closing brackets and punctuation, CJK and
# ASCII), and characters that must not end one (opening brackets).
NO_START = frozenset("，。、；：？！）」』》〉】〕〗〙〛”’・…‥ー％·,.;:?!)]}%°")
NO_END = frozenset("（「『《〈【〔〖〘〚“‘([{")
_SPACE = " "
_NUMBERISH = re.compile(r"^[+\-]?[\d.,]+[°%]?[A-Za-z]?$")


class TooWide(ValueError):
    """A token that may not be split is wider than the line."""

    def __init__(self, token: str):
        super().__init__(f"{token!r} is wider than the line")
        self.token = token


def is_cjk(ch: str) -> bool:
    """A character that allows a line break on either side (Chinese text)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _break_allowed(prev: str, cur: str) -> bool:
    """May a line end after `prev` and the next start with `cur` (no space between)?"""
    if cur in NO_START or prev in NO_END:
        return False
    return is_cjk(prev) or is_cjk(cur)


@cache
def keep_pattern(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One expression for a locale's keep_together patterns (None for a locale that lists
    none): what `segments` and `break_lines` never break inside."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _kept(text: str, keep: re.Pattern[str] | None) -> list[bool]:
    """For each character: does it continue a match (no break before it)?"""
    inside = [False] * len(text)
    if keep is not None:
        for m in keep.finditer(text):
            for i in range(m.start() + 1, m.end()):
                inside[i] = True
    return inside


def segments(text: str, keep: re.Pattern[str] | None = None) -> list[tuple[str, bool]]:
    """Split text into unbreakable pieces: (piece, space_before). A line may end
    before any piece; a piece with space_before starts after a (dropped) space.
    `keep`: text never broken inside (the text's locale's keep_pattern; None: none)."""
    inside = _kept(text, keep)
    raw: list[tuple[str, bool]] = []
    buf = ""
    space = False
    prev = ""
    for i, ch in enumerate(text):
        if inside[i] and buf:  # inside a kept match: the character joins its piece
            buf += ch
            prev = ch
            continue
        if ch == _SPACE or ch == "\n":
            if buf:
                raw.append((buf, space))
                buf = ""
            space = True
            prev = _SPACE
            continue
        if buf and not _break_allowed(prev, ch):
            buf += ch
        else:
            if buf:
                raw.append((buf, space))
                space = False
            buf = ch
        prev = ch
    if buf:
        raw.append((buf, space))
    # No break at a space before closing punctuation, nor after a number ("15 days").
    out: list[tuple[str, bool]] = []
    for piece, sp in raw:
        if out and sp and (piece[0] in NO_START or (
                _NUMBERISH.match(out[-1][0].rsplit(" ", 1)[-1]) and not is_cjk(piece[0]))):
            out[-1] = (out[-1][0] + " " + piece, out[-1][1])
        else:
            out.append((piece, sp))
    return out


def break_lines(text: str, width: float, measure: Callable[[str], float],
                first_width: float | None = None, keep_together: bool = False,
                keep: re.Pattern[str] | None = None) -> list[str]:
    """Greedy line filling; widths are additive (no kerning), so each piece is
    measured once. `first_width`: the room left on the first line (after a label);
    a value that cannot start there starts on the next line. `keep_together`: the
    whole text is one piece (a phone number). `keep`: what the text's locale keeps
    together (keep_pattern). Raises TooWide when a piece fits no line."""
    pieces = [(" ".join(text.split()), False)] if keep_together else segments(text, keep)
    # A piece the locale data keeps together but no line can hold breaks by the plain
    # rules instead (the keep_together patterns are a preference, never an overflow).
    plain: list[tuple[str, bool]] = []
    for piece, space in pieces:
        if not keep_together and measure(piece) > width:
            parts = segments(piece, keep=None)
            plain += [(parts[0][0], space)] + parts[1:]
        else:
            plain.append((piece, space))
    pieces = plain
    lines: list[str] = []
    line, line_w = "", 0.0
    limit = width if first_width is None else first_width
    space_w = measure(" ")
    for piece, space in pieces:
        w = measure(piece)
        if line:
            extra = w + (space_w if space else 0.0)
            if line_w + extra <= limit:
                line += (" " if space else "") + piece
                line_w += extra
                continue
            lines.append(line)
            limit = width
        if w > limit:
            if not lines and limit < width and w <= width:
                lines.append("")  # the value starts on the line after its label
                limit = width
            else:
                raise TooWide(piece)
        line, line_w = piece, w
    if line or not lines:
        lines.append(line)
    return lines


def violations(lines: list[str]) -> list[str]:
    """Kinsoku problems in already broken lines (for tests and self-checks)."""
    bad = []
    for i, ln in enumerate(lines):
        if ln and ln[0] in NO_START:
            bad.append(f"line {i + 1} starts with {ln[0]!r}: {ln!r}")
        if ln and ln[-1] in NO_END:
            bad.append(f"line {i + 1} ends with {ln[-1]!r}: {ln!r}")
    return bad
