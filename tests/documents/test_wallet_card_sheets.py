"""Wallet cards imposed on sheets: geometry to 0.1 mm, mirrored backs, duplex offset,
crop marks, bleed, partial sheets, QR on every card, text snapshot, determinism, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from pathlib import Path

import pdfplumber
import pytest

from tests.helpers import LOCALES, NCI_URL, cardpdf, check_snapshot, pdfcheck, run, run_refused
from tests.helpers.cardpdf import BUNDLED_PS, TOO_LONG

ID1_W, ID1_H = 85.60, 53.98
BC_W, BC_H = 88.90, 50.80
PAPER = {"letter": (215.9, 279.4), "a4": (210.0, 297.0)}

# Expected grids, worked out by hand from the presets (not from the code under test).
GRIDS = {
    # 2 x 4 ID-1, 6 mm gutters, centred: left (215.9 - 2*85.6 - 6)/2, top (279.4 - 4*53.98 - 3*6)/2
    "letter-8up": dict(paper="letter", w=ID1_W, h=ID1_H, xs=[19.35, 110.95], ys=[22.74, 82.72, 142.70, 202.68]),
    # 2 x 5 ID-1 on A4: 6 mm between columns, rows touching, 13.55 mm top and bottom
    "a4-10up": dict(paper="a4", w=ID1_W, h=ID1_H, xs=[16.40, 108.00],
                    ys=[13.55, 67.53, 121.51, 175.49, 229.47]),
    # Avery 8371: 0.75 in left, 0.5 in top, 3.5 x 2 in cards touching
    "avery-8371": dict(paper="letter", w=BC_W, h=BC_H, xs=[19.05, 107.95],
                       ys=[12.70, 63.50, 114.30, 165.10, 215.90]),
}


class Sheets:
    def __init__(self, model, root: Path):
        self.model, self.root = model, root
        self._done: dict[tuple, Path] = {}

    def get(self, sheet: str, n: int | None = None, bleed: float = 0.0, offset=(0.0, 0.0),
            locale: str = "en", cards=None) -> Path:
        from handouts import cardlayout
        from handouts.cards import build_sheets
        from handouts.documents.wallet_card import Card
        key = (sheet, n, bleed, offset, locale, None if cards is None else tuple(cards))
        if key not in self._done:
            imp = cardlayout.imposition(sheet, layout="wallet-card")
            items = list(cards) if cards is not None else [Card(locale, None)] * (n or imp.per_sheet)
            out = self.root / f"s{len(self._done)}" / f"{sheet}.pdf"
            self._done[key] = build_sheets(items, sheet, bleed, offset, out, self.model).path
        return self._done[key]


@pytest.fixture(scope="module")
def sheets(model, tmp_path_factory) -> Sheets:
    return Sheets(model, tmp_path_factory.mktemp("sheets"))


def named_cards(n: int, locales=("en",)):
    from handouts.documents.wallet_card import Card
    from handouts.patient import Patient
    return [Card(locales[i % len(locales)],
                 Patient(name=f"Patient Number{chr(65 + i)}", oncologist=f"Dr. Oncologist{chr(65 + i)}",
                         phone="+1 (555) 010-2030", first_dose=dt.date(2026, 12, 1)))
            for i in range(n)]


# -------------------------------------------------------------------------- geometry

@pytest.mark.parametrize("sheet", sorted(GRIDS))
def test_page_sizes_and_front_cells(sheets, sheet):
    g = GRIDS[sheet]
    path = sheets.get(sheet)
    sizes = pdfcheck.page_sizes_mm(path)
    assert len(sizes) == 2
    for w, h in sizes:
        assert (w, h) == (pytest.approx(PAPER[g["paper"]][0], abs=0.1), pytest.approx(PAPER[g["paper"]][1], abs=0.1))
    got = sorted(cardpdf.card_origins(path, 0, "front", g["h"]), key=lambda p: (round(p[1], 1), p[0]))
    want = [(x, y) for y in g["ys"] for x in g["xs"]]
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert gx == pytest.approx(wx, abs=0.1) and gy == pytest.approx(wy, abs=0.1)


@pytest.mark.parametrize("sheet", sorted(GRIDS))
@pytest.mark.parametrize("offset", [(0.0, 0.0), (1.5, -0.8)])
def test_backs_are_mirrored_and_offset(sheets, sheet, offset):
    g = GRIDS[sheet]
    W = PAPER[g["paper"]][0]
    path = sheets.get(sheet, offset=offset)
    fronts = cardpdf.card_origins(path, 0, "front", g["h"])
    backs = cardpdf.card_origins(path, 1, "back", g["h"])
    assert len(backs) == len(fronts)
    # Drawing order is card order on both pages: back i sits behind front i after a
    # long-edge flip, i.e. mirrored about the vertical centre line, then shifted.
    for (fx, fy), (bx, by) in zip(fronts, backs, strict=True):
        assert bx == pytest.approx(W - fx - g["w"] + offset[0], abs=0.1)
        assert by == pytest.approx(fy + offset[1], abs=0.1)


def _cell_text(path: Path, page: int, x: float, y: float, w: float, h: float) -> str:
    k = 72 / 25.4
    with pdfplumber.open(str(path)) as pdf:
        return pdf.pages[page].crop((x * k, y * k, (x + w) * k, (y + h) * k)).extract_text() or ""


def test_each_back_belongs_to_its_front(sheets):
    """Personalized cards: the back drawn behind front cell i names patient i's oncologist."""
    cards = named_cards(8)
    path = sheets.get("letter-8up", cards=cards)
    g = GRIDS["letter-8up"]
    i = 0
    for y in g["ys"]:
        for x in g["xs"]:
            mirror_x = PAPER["letter"][0] - x - g["w"]
            assert f"Patient Number{chr(65 + i)}" in _cell_text(path, 0, x, y, g["w"], g["h"])
            assert f"Dr. Oncologist{chr(65 + i)}" in _cell_text(path, 1, mirror_x, y, g["w"], g["h"])
            i += 1


def _expected_marks(g, gap, length):
    xs = sorted({round(v, 2) for x in g["xs"] for v in (x, x + g["w"])})
    ys = sorted({round(v, 2) for y in g["ys"] for v in (y, y + g["h"])})
    top, bottom = g["ys"][0], g["ys"][-1] + g["h"]
    left, right = g["xs"][0], g["xs"][-1] + g["w"]
    marks = []
    for x in xs:
        marks += [(x, top - gap - length, x, top - gap), (x, bottom + gap, x, bottom + gap + length)]
    for y in ys:
        marks += [(left - gap - length, y, left - gap, y), (right + gap, y, right + gap + length, y)]
    return sorted(marks)


@pytest.mark.parametrize("sheet,bleed", [("letter-8up", 0.0), ("letter-8up", 3.0), ("a4-10up", 0.0), ("a4-10up", 3.0)])
def test_crop_marks_outside_cards(sheets, sheet, bleed):
    g = GRIDS[sheet]
    path = sheets.get(sheet, bleed=bleed)
    got = sorted(tuple(round(v, 2) for v in ln) for ln in _outside_cards(cardpdf.lines(path, 0), g, 0.0))
    want = _expected_marks(g, max(3.0, bleed + 1.0), 5.0)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a == pytest.approx(b, abs=0.1)
    # No mark touches a card or its bleed.
    assert _outside_cards(got, g, bleed) == got


def _outside_cards(lines, g, margin):
    """Lines that touch no card cell grown by `margin` (the cards' own rules are inside)."""
    out = []
    for x1, y1, x2, y2 in lines:
        if not any(cx - margin < max(x1, x2) and min(x1, x2) < cx + g["w"] + margin and
                   cy - margin < max(y1, y2) and min(y1, y2) < cy + g["h"] + margin
                   for cx in g["xs"] for cy in g["ys"]):
            out.append((x1, y1, x2, y2))
    return out


def test_perforated_stock_has_no_crop_marks(sheets):
    assert _outside_cards(cardpdf.lines(sheets.get("avery-8371"), 0), GRIDS["avery-8371"], 0.0) == []


def test_bleed_extends_the_background(sheets, model):
    """3 mm of bleed: the front band's colour runs past the top, left and right trim, and
    into half of the gutter between columns; without bleed the paper stays white."""
    g = GRIDS["letter-8up"]
    dpi = 150
    with_bleed = cardpdf.render(sheets.get("letter-8up", bleed=3.0), 0, dpi)
    without = cardpdf.render(sheets.get("letter-8up"), 0, dpi)
    x0, y0 = g["xs"][0], g["ys"][0]
    probes = [(x0 + 20, y0 - 2.0), (x0 - 2.0, y0 + 3.0), (x0 + g["w"] + 2.0, y0 + 3.0)]
    for x, y in probes:
        r, gr, b = cardpdf.pixel(with_bleed, dpi, x, y)
        assert r > 150 and gr < 80 and b < 80, ((x, y), (r, gr, b))  # the warning red
        assert min(cardpdf.pixel(without, dpi, x, y)) > 240
    # Never past the crop marks' gap: 4 mm above the card is paper.
    assert min(cardpdf.pixel(with_bleed, dpi, x0 + 20, y0 - 4.5)) > 240


def test_partial_last_sheet_is_printed(sheets):
    path = sheets.get("letter-8up", cards=named_cards(10))
    assert len(pdfcheck.page_sizes_mm(path)) == 4
    assert len(cardpdf.card_origins(path, 2, "front", ID1_H)) == 2
    assert len(cardpdf.card_origins(path, 3, "back", ID1_H)) == 2
    text = pdfcheck.text(path)
    assert "Patient NumberJ" in text and "Dr. OncologistJ" in text


# ------------------------------------------------------------------------------- QR

@pytest.mark.parametrize("sheet", sorted(GRIDS))
def test_qr_decodes_on_every_card_of_every_sheet(sheets, sheet):
    path = sheets.get(sheet, cards=named_cards(12, LOCALES))
    pages = len(pdfcheck.page_sizes_mm(path))
    per = len(GRIDS[sheet]["xs"]) * len(GRIDS[sheet]["ys"])
    found = {}
    for back_page in range(1, pages, 2):
        results = cardpdf.decode(path, back_page, 200)
        found[back_page] = [r.text for r in results]
    # Every back carries both codes: the NCI page and the label on DailyMed.
    from handouts import content
    both = [NCI_URL, content.default().meta.dailymed_url]
    assert sorted(found[1]) == sorted(both * per)
    assert sorted(found[3]) == sorted(both * (12 - per))


# --------------------------------------------------------------------- text, fonts, bytes

def test_sheet_text_snapshot(sheets, update_snapshots):
    """One letter-8up sheet, one card per locale (a CSV with mixed locales)."""
    from handouts.documents.wallet_card import Card
    from handouts.patient import Patient
    cards = [Card("en", Patient(name="Alex Smith", phone="+1 (555) 010-2030", oncologist="Dr. Maria Gonzalez",
                                treatment_center="Riverside Cancer Center", first_dose=dt.date(2026, 12, 1))),
             Card("zh-Hans", Patient(name="李伟", phone="+86 755 8888 6666", oncologist="王医生",
                                     treatment_center="深圳市肿瘤医院", first_dose=dt.date(2026, 12, 3))),
             Card("zh-Hant", Patient(name="陳美玲", phone="+886 2 2312 3456", oncologist="林醫師",
                                     treatment_center="臺大醫院", first_dose=dt.date(2026, 12, 5)))]
    path = sheets.get("letter-8up", cards=cards)
    check_snapshot("wallet-card-sheet-letter-8up", pdfcheck.text(path), update_snapshots)


def test_sheet_fonts_embedded_subset_and_bundled(sheets):
    path = sheets.get("letter-8up", cards=named_cards(3, LOCALES))
    pdfcheck.assert_fonts_bundled(path)
    assert {pdfcheck.without_subset_prefix(n) for n in pdfcheck.fonts(path)} <= BUNDLED_PS


def test_sheet_byte_identical_across_runs(model, tmp_path):
    from handouts.cards import build_sheets
    cards = named_cards(9, ("en", "zh-Hant"))
    a = build_sheets(cards, "a4-10up", 3.0, (0.5, 0.5), tmp_path / "a" / "s.pdf", model).path
    b = build_sheets(cards, "a4-10up", 3.0, (0.5, 0.5), tmp_path / "b" / "s.pdf", model).path
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


# ------------------------------------------------------------------------- presets

def test_preset_validation_rejects_ten_id1_on_letter():
    from handouts import cardlayout
    from handouts.errors import HandoutsError
    preset = cardlayout.SheetPreset(label="x", paper="letter", card_format="id1", cols=2, rows=5,
                                    pitch_x=91.6, pitch_y=53.98, min_margin=6.35, crop_marks=True)
    with pytest.raises(HandoutsError, match="4.75 mm"):
        cardlayout._check_preset("letter-10up", preset, cardlayout.geometry("wallet-card"))


def test_geometry_refuses_small_text_and_small_qr_modules():
    from pydantic import ValidationError

    from handouts import cardlayout
    with pytest.raises(ValidationError):
        cardlayout.Zone(x=3, y=3, w=10, h=5, size=7, min_size=5.5)
    with pytest.raises(ValidationError):
        cardlayout.QRPlace(x=1, y=1, module_mm=0.35)


def test_every_card_format_has_room_for_its_qr_and_zones():
    from handouts import cardlayout, qr
    geo = cardlayout.geometry("wallet-card")
    modules = qr.make(NCI_URL).size_modules
    for fmt in geo.formats:
        cardlayout.check_card(geo.card(fmt), fmt, modules, geo.safe_margin)


# ------------------------------------------------------------------------------ CLI

def test_cli_single_card_with_patient_file(capsys, tmp_path):
    p = tmp_path / "patient.toml"
    p.write_text('name = "李伟"\nphone = "+86 755 8888 6666"\nfirst_dose = 2026-12-01\n', encoding="utf-8")
    code, out, err = run(capsys, "build", "wallet-card", "--locale", "zh-Hans", "--patient", str(p),
                         "--out", str(tmp_path / "o"))
    assert code == 0, err
    paths = out.split("\n")[:-1]
    stem = re.escape(str(tmp_path / "o" / "tarlatamab-wallet-card-zh-Hans-id1-李伟-"))
    assert re.fullmatch(stem + r"[0-9a-f]{8}\.pdf", paths[0]), paths
    assert len(pdfcheck.page_sizes_mm(Path(paths[0]))) == 2


def test_cli_sheet_with_options(capsys, tmp_path):
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", "a4-10up", "--bleed", "3",
                         "--duplex-offset", "0.5,-1", "--copies", "12", "--locale", "zh-Hant",
                         "--out", str(tmp_path))
    assert code == 0, err
    path = Path(out.strip())
    assert path == tmp_path / "tarlatamab-wallet-card-zh-Hant-a4-10up-bleed3mm-12copies-offset0.5,-1mm.pdf"
    assert len(pdfcheck.page_sizes_mm(path)) == 4  # 12 cards: a full sheet and a partial one
    assert "--bleed: a4-10up has 0.00 mm between rows" in err


def test_cli_patients_csv_one_card_per_row_in_its_locale(capsys, tmp_path):
    f = tmp_path / "today.csv"
    with f.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "locale", "phone", "first_dose"])
        w.writerow(["Alex Smith", "en", "+1 555 010 2030", "2026-12-01"])
        w.writerow(["李伟", "zh-Hans", "+86 755 8888 6666", "2026-12-02"])
        w.writerow(["陳美玲", "zh-Hant", "+886 2 2312 3456", ""])
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients", str(f),
                         "--out", str(tmp_path / "o"))
    assert code == 0, err
    path = Path(out.strip())
    assert re.fullmatch(r"tarlatamab-wallet-card-en_zh-Hans_zh-Hant-letter-8up-today-[0-9a-f]{8}\.pdf",
                        path.name), path.name
    text = pdfcheck.text(path)
    assert "I receive" in text and "我正在接受塔拉妥单抗" in text and "我正在使用 tarlatamab-dlle（塔拉妥單抗" in text
    assert len(cardpdf.card_origins(path, 0, "front", ID1_H)) == 3


@pytest.mark.parametrize("rows,field", [
    ([["Alex", "2026-02-30"]], "today.csv row 2: first_dose"),
    ([["Alex", "2026-12-01"], ["Bo", "2024-01-01"]], "today.csv row 3: first_dose"),
    ([["Alex", "2026-12-01"], [TOO_LONG, "2026-12-01"]], "today.csv row 3: wallet card front name (en)"),
])
def test_cli_bad_csv_row_names_row_and_field(capsys, tmp_path, rows, field):
    f = tmp_path / "today.csv"
    with f.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "first_dose"])
        w.writerows(rows)
    run_refused(capsys, field, tmp_path / "o", "build", "wallet-card", "--sheet", "letter-8up", "--patients", str(f))


@pytest.mark.parametrize("args,field", [
    (["--bleed", "3"], "--bleed"),
    (["--copies", "3"], "--copies"),
    (["--sheet", "letter-10up"], "--sheet"),
    (["--sheet", "letter-8up", "--duplex-offset", "1;2"], "--duplex-offset"),
    (["--sheet", "letter-8up", "--duplex-offset", "20,0"], "--duplex-offset"),
    (["--sheet", "letter-8up", "--bleed", "9"], "--bleed"),
    (["--sheet", "letter-8up", "--copies", "0"], "--copies"),
    (["--sheet", "letter-8up", "--paper", "a4"], "--paper"),
    (["--sheet", "letter-8up", "--patients", "/nonexistent.csv"], "--patients"),
])
def test_cli_bad_sheet_options(capsys, tmp_path, args, field):
    run_refused(capsys, field, tmp_path / "o", "build", "wallet-card", *args)


def test_cli_handout_has_no_sheets(capsys, tmp_path):
    code, _, err = run(capsys, "build", "handout", "--sheet", "letter-8up", "--out", str(tmp_path))
    assert code == 2 and "--sheet" in err


@pytest.mark.parametrize("sheet", ["letter-8up", "avery-8371"])
def test_a_lists_cards_are_laid_out_once(capsys, tmp_path, monkeypatch, sheet):
    """Each row's card is fitted once, when the row is checked, and the render reuses that
    layout (it was fitted two or three times: the 10,000-card benchmark paid for each)."""
    from handouts.documents import wallet_card
    calls = []
    real = wallet_card.CardRenderer.lay_out
    monkeypatch.setattr(wallet_card.CardRenderer, "lay_out",
                        lambda self, side, item: calls.append((side, item.patient.name)) or real(self, side, item))
    rows = [f"Card Once {i} {sheet},2026-12-0{i + 1},Dr. Gonzalez,+1 555 010 000{i},Riverside,en" for i in range(3)]
    path = tmp_path / "once.csv"
    path.write_text("name,first_dose,oncologist,phone,treatment_center,locale\n" + "\n".join(rows) + "\n")
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", sheet, "--patients", path,
                         "--copies", "2", "--out", tmp_path / "out")
    assert code == 0, err
    assert sorted(calls) == sorted((side, f"Card Once {i} {sheet}") for i in range(3) for side in ("front", "back"))


def test_a_sheet_checks_the_patients_no_list_checked(model, sample_patient):
    """render_sheet's own check, for callers that did not read a list: a first dose
    before the drug's approval, a name no bundled font has."""
    from handouts.build import render_sheet
    from handouts.errors import HandoutsError
    early = sample_patient.model_copy(update={"name": "Early", "first_dose": dt.date(2020, 1, 1)})
    unprintable = sample_patient.model_copy(update={"name": "Kim 김민준"})
    for bad, code in ((early, "first_dose.before_approval"), (unprintable, "font.missing_glyphs")):
        with pytest.raises(HandoutsError) as err:
            render_sheet("wallet-card", "en", "letter-8up", [sample_patient, bad], model)
        assert err.value.code == code


def test_a_patient_passes_against_the_model_it_was_checked_with(model, sample_patient):
    """The session remembers who passed and the approval date per content model: the
    same patient against a model whose approval came after the first dose is refused."""
    from handouts.build import render_sheet
    from handouts.errors import HandoutsError
    from handouts.session import RenderSession
    approval = model.roles.first_approval
    later = model.revised(facts={approval: {"value": sample_patient.first_dose + dt.timedelta(days=1)}})
    with RenderSession():
        render_sheet("wallet-card", "en", "letter-8up", [sample_patient], model)
        with pytest.raises(HandoutsError) as err:
            render_sheet("wallet-card", "en", "letter-8up", [sample_patient], later)
        assert err.value.code == "first_dose.before_approval"
        render_sheet("wallet-card", "en", "letter-8up", [sample_patient], model)
