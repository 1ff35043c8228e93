"""Patient texts a render must not keep, and the search for them among live objects (run
in the process that rendered: a worker, or a child python)."""

from __future__ import annotations

import gc

# Made of two halves, so that the test process itself holds the whole only briefly.
HALVES = [("Zebediah ", "Quillfeather"), ("Xanthippe ", "Ormsbury"), ("Quintilla ", "Varganova")]
ONCOLOGIST = ("Dr. Umberto ", "Flaxweiler")
CENTRE = ("Marrowgate ", "Oncology Annex")


def leftovers(halves: list[tuple[str, str]]) -> list[str]:
    """Every live container (gc.get_objects) holding a string or bytes with one of the
    texts: the container's type and the text found (run where the rendering ran)."""
    wanted = ["".join(h) for h in halves]
    encoded = [w.encode("utf-8") for w in wanted]
    gc.collect()
    found = []
    for obj in gc.get_objects():
        if obj is wanted or obj is encoded:
            continue
        for ref in gc.get_referents(obj):
            if isinstance(ref, str) and any(w in ref for w in wanted):
                found.append(f"{type(obj).__name__}: {ref[:60]!r}")
            elif isinstance(ref, bytes) and any(e in ref for e in encoded):
                found.append(f"{type(obj).__name__}: bytes")
    return found


def patient_fields(i: int) -> dict[str, str]:
    return {"name": "".join(HALVES[i]), "oncologist": "".join(ONCOLOGIST), "phone": f"+1 555 010 {4000 + i}",
            "treatment_center": "".join(CENTRE), "first_dose": "2026-12-01"}
