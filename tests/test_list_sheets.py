"""One list, one set of card sheets: every row's card in list order, each in its row's
language, mixed on the same sheets (as `build wallet-card --patients` does), and a
manifest that says which slot holds whose card."""

from __future__ import annotations

import json

from pypdf import PdfReader

from tests.helpers import run

from handouts import batch
from handouts.patient import CsvRows
from handouts.request import checked_rows

LOCALES = ("en", "zh-Hans", "zh-Hant")


def mixed_list(n: int) -> str:
    """n patients, their languages interleaved as a day's walk-ins come."""
    rows = [f"Patient {i},2026-12-{1 + i % 28:02d},+1 555 010 {2000 + i},{LOCALES[i % 3]}" for i in range(n)]
    return "name,first_dose,phone,locale\n" + "\n".join(rows) + "\n"


def test_a_mixed_list_is_one_set_of_sheets_in_list_order(model, tmp_path):
    rows = [(r, p) for r, p in checked_rows(CsvRows("today.csv", mixed_list(24)), "en", model)]
    jobs = batch.plan_patients(rows, "today.csv", tmp_path, "en", model)
    sheets = [j for j in jobs if j.sheet]
    assert len(sheets) == 1, [j.rel for j in sheets]
    [sheet] = sheets
    assert list(sheet.patients) == [p for _, p in rows]                 # list order
    assert [r for r, _ in sheet.rows] == list(range(2, 26))
    result = batch.render_job(sheet)
    assert result.status == "built", result.error
    pdf = PdfReader(sheet.out)
    assert len(pdf.pages) == 2 * 3                                        # 24 cards: 3 letter-8up sheets, front+back
    fronts = [pdf.pages[i].extract_text() for i in (0, 2, 4)]
    assert "Patient 0" in fronts[0] and "Patient 1" in fronts[0] and "Patient 23" in fronts[2]
    assert "我正在使用" in fronts[0] and "我正在接受" in fronts[0]           # zh-Hans and zh-Hant beside English


def test_the_manifest_says_which_slot_is_which_patient(capsys, tmp_path, stub_render):
    lst = tmp_path / "today.csv"
    lst.write_text(mixed_list(10), encoding="utf-8")
    code, out, err = run(capsys, "batch", "--patients", lst, "--jobs", "1", "--out", tmp_path / "out")
    assert code == 0, err
    patients = tmp_path / "out" / "patients"
    sheets = sorted(p.name for p in patients.glob("*.pdf"))
    # One file, named after every language its cards are in.
    assert len(sheets) == 1 and sheets[0].startswith("tarlatamab-wallet-card-en_zh-Hans_zh-Hant-letter-8up-today-"), \
        sheets
    entry = next(f for f in json.loads((patients / "manifest.json").read_text())["files"] if f["file"] == sheets[0])
    slots = entry["slots"]
    assert [(s["sheet"], s["slot"]) for s in slots] == [(1, i) for i in range(1, 9)] + [(2, 1), (2, 2)]
    assert [s["row"] for s in slots] == list(range(2, 12))
    assert [s["locale"] for s in slots] == [LOCALES[i % 3] for i in range(10)]
    assert entry["locales"] == sorted(LOCALES) and entry["cards"] == 10
    folders = {p.name.rsplit("-", 1)[-1] for p in patients.iterdir() if p.is_dir()}
    assert {s["patient"] for s in slots} == folders                       # each slot names its patient's folder
    assert "Patient" not in json.dumps(slots)                             # by digest, never by name
    # Each card's folder, in slot order: a corrected row's earlier pack takes this sheet aside with it.
    assert [f.rsplit("-", 1)[-1] for f in entry["folders"]] == [s["patient"] for s in slots]
    # The sheet was rendered once, for every row, with the list's default for rows without a language.
    assert [c for c in stub_render if c[2] == "letter-8up"] == [("wallet-card", "en", "letter-8up")]


def test_a_one_language_list_still_names_its_language(capsys, tmp_path, stub_render):
    lst = tmp_path / "today.csv"
    lst.write_text("name,locale\nA,zh-Hant\nB,zh-Hant\n", encoding="utf-8")
    assert run(capsys, "batch", "--patients", lst, "--jobs", "1", "--out", tmp_path / "out")[0] == 0
    assert [p.name.split("-today-")[0] for p in (tmp_path / "out" / "patients").glob("*.pdf")] == \
        ["tarlatamab-wallet-card-zh-Hant-letter-8up"]
