"""Benchmark: personalized wallet cards per second when imposing many cards on sheets.

    python benchmarks/bench_cards.py [--cards 1000] [--sheet letter-8up] [--locale en]

Prints one JSON object. `cards_per_second()` is importable for a wider benchmark
script. Fonts and catalogs are loaded by a warm-up run first (once per process in real
use too); the timed run lays out and draws every card's personal fields, places the
static parts (form XObjects) and writes the PDF to memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time

os.environ.setdefault("SOURCE_DATE_EPOCH", "1796342400")

FIRST = ["Maria", "Wei", "Chen", "Aisha", "John", "Mei-Ling", "Olusegun", "Ana", "Hiroshi", "Fatima",
         "Pedro", "Yuki", "Grace", "Mohammed", "Elena", "Raj", "Sofia", "Kwame", "Linh", "Ingrid"]
LAST = ["Gonzalez", "Li", "Wang", "Okafor", "Smith", "Nguyen", "Fernandez", "Kowalski", "Haddad",
        "Tanaka", "Johansson", "Patel", "Silva", "Mensah", "Ivanova", "Cohen", "Garcia", "Kim"]


def patients(n: int):
    from handouts.patient import Patient
    out = []
    for i in range(n):
        initials = f"{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}"
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {initials}"
        out.append(Patient(name=name, first_dose=dt.date(2026, 12, 1) + dt.timedelta(days=i % 60),
                           oncologist=f"Dr. {LAST[i % len(LAST)]}", phone=f"+1 (555) 010-{i % 10000:04d}",
                           treatment_center="Riverside Cancer Center"))
    return out


def cards_per_second(n: int = 1000, sheet: str = "letter-8up", locale: str = "en") -> dict:
    from handouts import cardlayout, content
    from handouts.build import render_sheet
    from handouts.documents.wallet_card import Card
    from handouts.session import RenderSession

    model = content.default()
    imp = cardlayout.imposition(sheet, layout="wallet-card")
    cards = [Card(locale, p) for p in patients(n)]
    with RenderSession():  # warm-up: fonts, catalogs (what a process loads once)
        render_sheet("wallet-card", locale, sheet, cards[: imp.per_sheet], model)
    c0, t0 = time.process_time(), time.perf_counter()
    with RenderSession():  # one run, as a command is
        rendered = render_sheet("wallet-card", locale, sheet, cards, model)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    # CPU seconds too: on a shared machine they are the steadier figure.
    return {"cards": n, "sheet": sheet, "locale": locale, "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu, 3), "cards_per_second": round(n / seconds, 1),
            "cards_per_cpu_second": round(n / cpu, 1), "pages": rendered.pages,
            "pdf_bytes": len(rendered.pdf)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", type=int, default=1000)
    ap.add_argument("--sheet", default="letter-8up")
    ap.add_argument("--locale", default="en")
    args = ap.parse_args()
    print(json.dumps(cards_per_second(args.cards, args.sheet, args.locale)))


if __name__ == "__main__":
    main()
