"""Paper sizes, in millimetres."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import HandoutsError

MM_PER_PT = 25.4 / 72  # millimetres per PostScript point


@dataclass(frozen=True)
class Paper:
    name: str
    label: str
    width_mm: float
    height_mm: float


PAPERS: dict[str, Paper] = {p.name: p for p in (
    Paper("letter", "US Letter (8.5 x 11 in)", 215.9, 279.4),
    Paper("a4", "A4 (210 x 297 mm)", 210.0, 297.0),
    Paper("tabloid", "Tabloid (11 x 17 in)", 279.4, 431.8),
    Paper("a3", "A3 (297 x 420 mm)", 297.0, 420.0),
    Paper("id1", "ID-1 card (85.60 x 53.98 mm)", 85.60, 53.98),
)}


# Regions whose office paper is US Letter (CLDR supplemental data, paperSize "US-Letter");
# everywhere else prints on A4.
LETTER_REGIONS = frozenset({"BZ", "CA", "CL", "CO", "CR", "GT", "MX", "NI", "PA", "PH", "PR", "SV", "US", "VE"})


def paper_for_region(region: str) -> str:
    """The office paper of a region (ISO 3166 code): letter or a4."""
    return "letter" if region.upper() in LETTER_REGIONS else "a4"


def get(name: str, allowed: tuple[str, ...], field: str = "paper") -> Paper:
    if name not in allowed:
        raise HandoutsError("paper.unknown", field, {"value": name, "choices": allowed})
    return PAPERS[name]
