"""Glyph coverage of the bundled fonts: the fallback order of a locale is only useful
if we know a character exists somewhere in it before we print it.

Coverage is fixed data: assets/fonts/coverage.json holds, for every bundled font file,
its sha256 and the code points of its cmap as ranges. Reading it costs about a
millisecond; parsing the cmaps with fontTools cost 0.17-0.28 s per process (the CJK
fonts are 10 MB each). `python -m handouts.fonts` regenerates the file after a font
changes, and a test compares it with the real cmaps and file hashes.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from functools import cache

from . import locales, paths
from .errors import HandoutsError

COVERAGE_FILE = "coverage.json"


@cache
def _coverage_data() -> dict:
    return json.loads((paths.fonts_dir() / COVERAGE_FILE).read_text(encoding="utf-8"))


class Ranges:
    """Code points as sorted, disjoint inclusive ranges; membership by bisection (building
    sets of the CJK fonts' 30,000+ code points costs more than everything else here)."""

    def __init__(self, ranges: list[list[int]]):
        self.starts = [r[0] for r in ranges]
        self.ends = [r[1] for r in ranges]

    def __contains__(self, code: int) -> bool:
        i = bisect_right(self.starts, code) - 1
        return i >= 0 and code <= self.ends[i]

    def codes(self) -> frozenset[int]:
        return frozenset(c for s, e in zip(self.starts, self.ends, strict=True) for c in range(s, e + 1))


@cache
def _cmap(filename: str) -> Ranges:
    entry = _coverage_data()["fonts"].get(filename)
    if entry is None:
        raise HandoutsError(f"assets/fonts/{COVERAGE_FILE}",
                            f"no coverage for {filename}; run `python -m handouts.fonts`")
    return Ranges(entry["ranges"])


def has_glyph(filename: str, code: int) -> bool:
    """Whether the bundled font file maps the code point (from the precomputed cmap)."""
    return code in _cmap(filename)


def coverage(families: tuple[str, ...], weight: str = "regular") -> frozenset[int]:
    """Every code point some family of the stack maps in this weight (for tests)."""
    fams = locales.font_families()
    out: set[int] = set()
    for fam in families:
        out |= _cmap(getattr(fams[fam], weight)).codes()
    return frozenset(out)


@cache
def _stack(families: tuple[str, ...]) -> tuple[tuple[Ranges, ...], tuple[Ranges, ...]]:
    fams = locales.font_families()
    return (tuple(_cmap(fams[f].regular) for f in families),
            tuple(_cmap(fams[f].bold) for f in families))


_KNOWN: dict[tuple[str, ...], dict[int, bool]] = {}
_GOOD: dict[tuple[str, ...], set[str]] = {}  # characters known to need no check


def drawable(code: int, families: tuple[str, ...]) -> bool:
    """Present in both weights (a field may be set in either), in some family each.
    Answers are remembered per stack (a batch checks the same letters many times)."""
    known = _KNOWN.get(families)
    if known is None:
        known = _KNOWN[families] = {}
    out = known.get(code)
    if out is None:
        regular, bold = _stack(families)
        out = known[code] = any(code in r for r in regular) and any(code in b for b in bold)
    return out


def missing(text: str, families: tuple[str, ...]) -> list[str]:
    good = _GOOD.get(families)
    if good is None:
        good = _GOOD[families] = set()
    if good.issuperset(text):
        return []
    gone = set()
    for ch in set(text):
        if ch.isspace() or drawable(ord(ch), families):
            good.add(ch)
        else:
            gone.add(ch)
    return sorted(gone)


def require(text: str, families: tuple[str, ...], field: str, locale: str, where: str = "") -> None:
    gone = missing(text, families)
    if gone:
        # Code points, never the characters: the message goes to terminals, logs and
        # the page's status, and the characters are part of a patient's name.
        shown = ", ".join(f"U+{ord(c):04X}" for c in gone[:3])
        if len(gone) > 3:
            raise HandoutsError("font.missing_glyphs_more", field,
                                {"locale": locale, "shown": shown, "more": len(gone) - 3}, where=where)
        raise HandoutsError("font.missing_glyphs", field, {"locale": locale, "shown": shown}, where=where)


# ---------------------------------------------------------------- generating the data

def ranges(codes) -> list[list[int]]:
    """Sorted code points as inclusive [start, end] ranges."""
    out: list[list[int]] = []
    for c in sorted(codes):
        if out and c == out[-1][1] + 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def read_cmap(path) -> frozenset[int]:
    """The real cmap of a font file (fontTools: for generating and testing only)."""
    from fontTools.ttLib import TTFont
    font = TTFont(path, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def file_sha256(path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generate() -> dict:
    files = sorted({f for fam in locales.font_families().values() for f in (fam.regular, fam.bold)})
    return {"about": "cmap coverage of the bundled fonts; regenerate: python -m handouts.fonts",
            "fonts": {f: {"sha256": file_sha256(paths.fonts_dir() / f),
                          "ranges": ranges(read_cmap(paths.fonts_dir() / f))} for f in files}}


def dumps(data: dict) -> str:
    # One font per line-group, ranges on one line each: small and diff-friendly.
    lines = ["{", f'  "about": {json.dumps(data["about"])},', '  "fonts": {']
    items = list(data["fonts"].items())
    for i, (name, entry) in enumerate(items):
        lines.append(f"    {json.dumps(name)}: {{")
        lines.append(f'      "sha256": {json.dumps(entry["sha256"])},')
        lines.append(f'      "ranges": {json.dumps(entry["ranges"], separators=(",", ":"))}')
        lines.append("    }" + ("," if i < len(items) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = paths.fonts_dir() / COVERAGE_FILE
    target.write_text(dumps(generate()), encoding="utf-8")
    print(target)
