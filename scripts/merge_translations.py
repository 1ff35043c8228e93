"""Merge translations from a Python dict file into a locale's handouts.po.

Used when a translator hands over a batch of strings outside a PO editor:
    python scripts/merge_translations.py zh_Hans /path/to/batch.py HANS
Only entries of locales/handouts.pot are merged; existing translations are replaced.
"""

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]


def main(locale_dir: str, batch: str, name: str) -> None:
    table = runpy.run_path(batch)[name]
    with (ROOT / "locales" / "handouts.pot").open("rb") as fh:
        pot = read_po(fh)
    po_path = ROOT / "locales" / locale_dir / "LC_MESSAGES" / "handouts.po"
    if po_path.exists():
        with po_path.open("rb") as fh:
            po = read_po(fh, locale=locale_dir)
    else:
        from babel.messages.catalog import Catalog
        po = Catalog(locale=locale_dir, project="handouts", version="", fuzzy=False)
    for msg in pot:
        if msg.id and msg.id in table:
            # Catalog.add keeps the old msgstr of an existing entry (such as the empty
            # one `make catalogs` just added), so drop the entry first.
            if msg.id in po:
                po.delete(msg.id)
            po.add(msg.id, table[msg.id], flags=[f for f in msg.flags if f != "fuzzy"])
    po_path.parent.mkdir(parents=True, exist_ok=True)
    with po_path.open("wb") as fh:
        write_po(fh, po, omit_header=False, sort_output=True, width=0, no_location=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
