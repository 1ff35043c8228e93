"""Glyph coverage of the bundled fonts: the fallback order of a locale is only useful
if we know a character exists somewhere in it before we print it."""

from __future__ import annotations

from functools import cache

from fontTools.ttLib import TTFont

from . import locales, paths
from .errors import HandoutsError


@cache
def _cmap(filename: str) -> frozenset[int]:
    font = TTFont(paths.fonts_dir() / filename, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


@cache
def coverage(families: tuple[str, ...], weight: str = "regular") -> frozenset[int]:
    fams = locales.font_families()
    out: set[int] = set()
    for fam in families:
        out |= _cmap(getattr(fams[fam], weight))
    return frozenset(out)


@cache
def _drawable(families: tuple[str, ...]) -> frozenset[int]:
    """Code points present in both weights (a field may be set in either)."""
    return coverage(families) & coverage(families, "bold")


def missing(text: str, families: tuple[str, ...]) -> list[str]:
    cov = _drawable(families)
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cov})


def require(text: str, families: tuple[str, ...], field: str, locale: str) -> None:
    gone = missing(text, families)
    if gone:
        shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in gone[:3])
        raise HandoutsError(field, f"no bundled font for {locale} has {shown}")
