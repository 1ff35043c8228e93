"""The extracted text of a PDF, normalised: what snapshot tests compare and what
`handouts text FILE.pdf` shows a reviewer."""

from __future__ import annotations

import re
from pathlib import Path


def extract(path: Path) -> str:
    import pdfplumber

    pages = []
    with pdfplumber.open(str(path)) as pdf:
        for i, page in enumerate(pdf.pages, start=1):
            raw = page.extract_text(layout=False) or ""
            # No-break spaces glue numbers to units on paper; a reader sees a space.
            lines = [re.sub(r"[ \t\u00a0]+", " ", ln).strip() for ln in raw.splitlines()]
            pages.append(f"=== page {i} ===\n" + "\n".join(ln for ln in lines if ln))
    return "\n".join(pages) + "\n"
