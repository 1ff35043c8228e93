"""The CRS wallet card, single card: size, text, line breaking, fonts, QR, overflow,
personal data as text, determinism."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest

from tests.helpers import LOCALES, NCI_URL, cardpdf, check_snapshot, pdfcheck, weakened
from tests.helpers.cardpdf import TOO_LONG

ID1 = (85.60, 53.98)

# The longest realistic personal values, per locale.
LONG = {
    "en": dict(name="Maria Guadalupe Fernández-Castillo Rivas", oncologist="Dr. Konstantinos Papadopoulos-Williamson",
               phone="+44 (0)20 7946 0958 x 12345",
               treatment_center="Memorial Sloan Kettering Cancer Center, Basking Ridge Outpatient"),
    "zh-Hans": dict(name="Maria Guadalupe Fernández-Castillo Rivas", oncologist="欧阳明远 主任医师",
                    phone="+86 (0)755 8888 6666 x 8012",
                    treatment_center="国家癌症中心／中国医学科学院肿瘤医院深圳医院肿瘤内科日间病房"),
    "zh-Hant": dict(name="Maria Guadalupe Fernández-Castillo Rivas", oncologist="歐陽明遠 醫師",
                    phone="+886 (0)2 2312-3456 x 12345",
                    treatment_center="國立臺灣大學醫學院附設醫院癌醫中心分院 腫瘤內科門診"),
}


def patient(**kw):
    from handouts.patient import Patient
    base = dict(first_dose=dt.date(2026, 12, 1))
    return Patient(**{**base, **kw})


def build_card(tmp_path, locale, p, model):
    from handouts.build import build
    return build("wallet-card", locale, None, p, tmp_path, model).path


# ------------------------------------------------------------------ size, pages, text

@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("personal", [True, False])
def test_two_pages_exactly_id1(renders, locale, personal):
    sizes = pdfcheck.page_sizes_mm(renders.get("wallet-card", locale, "id1", personal))
    assert len(sizes) == 2
    for w, h in sizes:
        assert w == pytest.approx(ID1[0], abs=0.01) and h == pytest.approx(ID1[1], abs=0.01)


@pytest.mark.parametrize("locale", LOCALES)
def test_text_snapshot(renders, locale, update_snapshots):
    text = pdfcheck.text(renders.get("wallet-card", locale, "id1", personal=True))
    check_snapshot(f"wallet-card-{locale}-personal", text, update_snapshots)


@pytest.mark.parametrize("locale", LOCALES)
def test_front_in_patient_language_back_in_english(renders, locale, model):
    from handouts.localizer import get
    L = get(locale, model)
    text = pdfcheck.text(renders.get("wallet-card", locale, "id1", personal=True))
    front, back = text.split("=== page 2 ===")
    flat_front = re.sub(r"\s+", "", front)
    # The front: the drug, CRS and ICANS, when (from the content model), the signs, what to do.
    assert "IMDELLTRA" in front and "ICANS" in front
    assert re.sub(r"\s+", "", L.q("crs_onset_latest")) in flat_front
    for sign in L.items("crs_signs", card=True) + L.items("card_nervous_signs"):
        assert re.sub(r"\s+", "", sign) in flat_front, sign
    assert "+1 (555) 010-2030" in front and "Li Wei 李伟" in front
    # Carry the card; the one danger rule shared with the handout and poster, with the
    # emergency number (locale data) and the signs that cannot wait.
    from handouts.documents.common import danger_call, danger_emergency, emergency_signs
    for needle in (L._("Always carry this card. Show it to every doctor, dentist, nurse and emergency room."),
                   danger_call(L), danger_emergency(L), *emergency_signs(L)):
        assert re.sub(r"\s+", "", needle) in flat_front, needle
    for e in L.spec.emergency:
        assert e.number in flat_front
    # The back: English for providers, with the clinic label and the versions.
    flat_back = " ".join(back.split())
    assert "Last dose" not in flat_back  # the handout uses "last dose" for the final dose
    # For an emergency room at 3 a.m.: the patient's name, what the drug is, what to
    # suspect (CRS, ICANS, infection, neutropenia), what to treat without delay, whom to call.
    for needle in ("For healthcare providers", "Patient: Li Wei 李伟", "is a bispecific T-cell engager",
                   "Treat suspected CRS or ICANS without delay; also contact:",
                   "Dr. Maria Gonzalez", "Riverside Cancer Center", "First dose: Dec 1, 2026",
                   "Most recent dose:", "infection or neutropenia", "ICANS (can start weeks after a dose)",
                   "Clinic-made card, not from Amgen", "Printed Dec 4, 2026",
                   "16 hours", "15 days", "NCI page", "U.S. label"):
        assert needle in flat_back, needle
    # The versions: the card's document id carries the content version and the label
    # revision (YYMM) it follows.
    from handouts.records import docid
    [printed] = [docid.parse(m.group(0)) for m in docid.PATTERN.finditer(flat_back)]
    assert (printed.content_version, printed.label) == (model.meta.content_version,
                                                        f"{model.meta.label_revised:%y%m}")
    if locale != "en":
        assert L._("For healthcare providers") in back  # the heading in the patient's language too
        notice = re.sub(r"\s+", "", L._("Translation not yet checked by a medical translator."))
        assert (notice in flat_front) == (not L.spec.medical_review.reviewed)
        # The card calls itself 本卡, never 本资料 (this material).
        assert "本卡" in flat_front and "本资料" not in flat_front and "本資料" not in flat_front


def test_blank_card_has_lines_to_write_on(renders):
    path = renders.get("wallet-card", "en", "id1", personal=False)
    text = pdfcheck.text(path)
    assert "Name:" in text and "Oncologist:" in text and "Li Wei" not in text
    import pdfplumber
    with pdfplumber.open(str(path)) as pdf:
        # Inside forms or not, the write-on rules are horizontal lines on the card.
        front_rules = [ln for ln in pdf.pages[0].lines if abs(ln["top"] - ln["bottom"]) < 0.01]
        back_rules = [ln for ln in pdf.pages[1].lines if abs(ln["top"] - ln["bottom"]) < 0.01]
    assert len(front_rules) == 2  # name, phone
    assert len(back_rules) == 6   # name, oncologist, phone, treatment center, first dose, last dose


def test_engine_and_layout_do_not_know_the_drug():
    """Engines and layout code never import the content model or the localizer."""
    import ast

    from handouts import paths
    src = paths.resource_root() / "src" / "handouts" if (paths.resource_root() / "src").is_dir() else None
    if src is None:
        pytest.skip("installed without sources")
    for rel in ("engines/reportlab_canvas.py", "cardlayout.py", "linebreak.py"):
        tree = ast.parse((src / rel).read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(n.endswith(("content", "localizer", "catalogs")) for n in names), (rel, names)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_card_prints_only_printable_records_and_tracks_them(model, locale):
    """What the card prints is what the localizers' tracking collects (as for the handout
    and the poster): every record printable, the card's own and the shared rules'."""
    from handouts.documents import wallet_card
    printed = wallet_card.printed_records(locale, model)
    role = model.roles.card
    assert {role.signs, role.nervous_signs, role.onset_latest, role.onset_median, role.drug_class,
            role.provider_suspect, model.roles.emergency_signs} <= printed
    assert all(model.is_printable(rid) for rid in printed), printed


@pytest.mark.parametrize("fact", ["onset_latest", "onset_median"])
def test_a_card_fact_made_secondary_is_refused_not_printed(model, fact):
    """Mark a fact the card prints as secondary: the card refuses to render (the model
    hands it out no more, and the localizer formats nothing else)."""
    from handouts import papers
    from handouts.content import UnverifiedFact
    from handouts.documents import wallet_card
    from handouts.documents.common import BuildRequest
    from handouts.session import RenderSession
    fid = getattr(model.roles.card, fact)
    weak = weakened(model, **{fid: "secondary"})
    with RenderSession(), pytest.raises(UnverifiedFact, match=fid):
        wallet_card.render(BuildRequest("wallet-card", "en", papers.PAPERS["id1"], None, weak))


def test_the_card_cites_the_sources_of_what_it_printed(renders, model):
    """The card has no room for a source list: its PDF's document information cites them,
    from the same tracking, after the card's document id."""
    from handouts.documents import wallet_card
    path = renders.get("wallet-card", "en", "id1")
    keywords = str(pdfcheck.metadata(path)["/Keywords"])
    cited = [s.citation for s in model.sources_for(wallet_card.printed_records("en", model))]
    [printed_id] = pdfcheck.document_ids(path)
    assert cited and keywords == f"{printed_id}; Sources: {'; '.join(cited)}."


# --------------------------------------------------------------------- line breaking

def _latin_tokens(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9][A-Za-z0-9.°%]*[A-Za-z0-9°%]|[A-Za-z0-9]", text))


@pytest.mark.parametrize("locale", LOCALES)
def test_kinsoku_and_whole_tokens_in_every_card_text(locale, model):
    """Every text of the card, static and personal (longest values), as laid out on
    both card formats: no line starts with closing or ends with opening punctuation,
    and every Latin word or number of the source is whole on one line."""
    from handouts.documents.wallet_card import Card, personal_texts, static_texts
    from handouts.linebreak import violations
    cards = [Card(locale, None), Card(locale, patient(**LONG[locale])),
             Card(locale, patient(**{**LONG[locale], "name": "陳國瑋"}))]
    for fmt in ("id1", "business-3.5x2"):
        zones = dict(static_texts(locale, model, fmt))
        for c in cards:
            zones.update({f"{k} ({c.patient.name if c.patient else '-'})": v
                          for k, v in personal_texts(c, model, fmt).items()})
        for zone, lines in zones.items():
            assert violations(lines) == [], (fmt, zone, lines)
            source = " ".join(lines)
            joined_lines = "\n".join(lines)
            for token in _latin_tokens(source):
                if len(token) > 1 and token not in joined_lines:
                    pytest.fail(f"{fmt} {zone}: {token!r} split across lines: {lines}")


# ---------------------------------------------------------------------------- fonts

@pytest.mark.parametrize("locale", LOCALES)
def test_fonts_embedded_and_bundled(renders, locale):
    pdfcheck.assert_fonts_bundled(renders.get("wallet-card", locale, "id1", personal=True))


@pytest.mark.parametrize("locale,name,needs", [
    ("zh-Hant", "李伟 王㐀", "Noto Sans SC"),   # simplified 伟, rare 㐀: the bundled TC lacks them, SC has them
    ("zh-Hans", "龑䶮 陳國瑋", "Noto Sans SC"),  # rare name characters, traditional forms
    ("en", "陳國瑋 李伟", "Noto Sans SC"),      # a Chinese name on an English card
])
def test_rare_name_characters_fall_back_and_print(tmp_path, model, locale, name, needs):
    from handouts import fonts, locales
    fams = tuple(locales.get(locale).fonts)
    assert fonts.missing(name, fams) == []
    if locale == "zh-Hant":
        assert fonts.missing(name, fams[:1]) != []  # really a fallback
    path = build_card(tmp_path, locale, patient(name=name), model)
    text = pdfcheck.text(path)
    assert name in text
    used = {pdfcheck.without_subset_prefix(n) for n in pdfcheck.fonts(path)}
    assert any(u.startswith(needs.replace(" ", "")) for u in used), used


def test_character_in_no_font_is_refused(tmp_path, model):
    from handouts.build import build
    from handouts.errors import HandoutsError
    with pytest.raises(HandoutsError, match="patient: name"):
        build("wallet-card", "zh-Hant", None, patient(name="\U0003134A"), tmp_path, model)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("locale", LOCALES)
def test_every_character_has_a_glyph(renders, locale, model):
    """Every character on the card exists in the fonts the card uses for it."""
    from handouts import fonts, locales
    text = pdfcheck.text(renders.get("wallet-card", locale, "id1", personal=True))
    text = re.sub(r"=== page \d ===", "", text)
    stack = tuple(dict.fromkeys([*locales.get(locale).fonts, *locales.get("en").fonts]))
    assert fonts.missing(text, stack) == []


# ------------------------------------------------------------------------------- QR

@pytest.mark.parametrize("locale", LOCALES)
def test_qr_decodes_on_the_back_only(renders, locale, model):
    """The back: the NCI page and, for clinicians, the label on DailyMed."""
    path = renders.get("wallet-card", locale, "id1", personal=True)
    assert sorted(r.text for r in cardpdf.decode(path, 1, 300)) == sorted([NCI_URL, model.meta.dailymed_url])
    assert cardpdf.decode(path, 0, 300) == []


@pytest.mark.parametrize("fmt", ["id1", "business-3.5x2"])
def test_qr_module_size_and_quiet_zone(tmp_path, model, sample_patient, fmt):
    """Both codes of the back, measured on a 600 dpi raster: 0.4 mm per module (the
    smallest the layout allows), error correction M or higher, 4 white modules all round;
    each decodes to its own URL at its own place. Both card formats."""
    from handouts import cardlayout, qr
    from handouts.documents.wallet_card import Card, render_sheets
    if fmt == "id1":
        path = build_card(tmp_path, "en", sample_patient, model)
        page, origin = 1, (0.0, 0.0)
    else:
        imp = cardlayout.imposition("avery-8371", layout="wallet-card")
        path = tmp_path / "sheet.pdf"
        path.write_bytes(render_sheets([Card("en", sample_patient)], imp, model).pdf)
        page, cell = 1, imp.backs()[0]
        origin = (cell.x, cell.y)
    dpi = 600
    image = cardpdf.render(path, page, dpi)
    found = {r.text: r for r in zxingcpp_read(image)}
    card = cardlayout.geometry("wallet-card").card(fmt)
    for url, place in ((NCI_URL, card.back.qr), (model.meta.dailymed_url, card.back.qr2)):
        res = found[url]
        assert res.ec_level in ("M", "Q", "H")
        code = qr.make(url)
        core = code.size_modules - 2 * qr.QUIET_ZONE
        p = res.position
        side_px = ((p.top_right.x - p.top_left.x) ** 2 + (p.top_right.y - p.top_left.y) ** 2) ** 0.5
        module_mm = (side_px + 1) / core / dpi * 25.4  # the corners are the symbol's outer pixels
        assert module_mm == pytest.approx(place.module_mm, abs=0.005)
        assert module_mm >= 0.4 and place.module_mm == 0.4
        # The symbol sits where the layout puts it (so the caption under it names it).
        assert p.top_left.x / dpi * 25.4 == pytest.approx(origin[0] + place.x + qr.QUIET_ZONE * place.module_mm,
                                                         abs=0.3)
        # The quiet zone: 4 modules of white around the symbol.
        x0 = origin[0] + place.x + 0.5 * place.module_mm
        y0 = origin[1] + place.y + 0.5 * place.module_mm
        for i in range(code.size_modules):
            for j in range(code.size_modules):
                if min(i, j) < qr.QUIET_ZONE or max(i, j) >= code.size_modules - qr.QUIET_ZONE:
                    px = cardpdf.pixel(image, dpi, x0 + j * place.module_mm, y0 + i * place.module_mm)
                    assert min(px) > 200, (url, i, j, px)


def zxingcpp_read(image):
    import zxingcpp
    return list(zxingcpp.read_barcodes(image))


# ------------------------------------------------------------------------- overflow

@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("fmt", ["id1", "business-3.5x2"])
def test_longest_realistic_values_fit(locale, fmt, model):
    from handouts.documents.wallet_card import Card, personal_texts
    assert len(LONG[locale]["name"]) == 40
    texts = personal_texts(Card(locale, patient(**LONG[locale])), model, fmt)
    flat = {k: " ".join(v) for k, v in texts.items()}
    assert LONG[locale]["name"] in flat["front.name"]
    assert LONG[locale]["phone"] in flat["back.phone"] and LONG[locale]["phone"] in flat["front.phone"]
    assert re.sub(r"\s", "", LONG[locale]["treatment_center"]) in re.sub(r"\s", "", flat["back.center"])


@pytest.mark.parametrize("locale", LOCALES)
def test_text_that_does_not_fit_is_an_error(tmp_path, model, locale):
    from handouts.build import build
    from handouts.errors import LayoutOverflow
    with pytest.raises(LayoutOverflow) as err:
        build("wallet-card", locale, None, patient(name=TOO_LONG), tmp_path, model)
    assert err.value.field == "name" and locale in err.value.subject
    assert not any(tmp_path.iterdir())


def test_cli_overflow_one_line_exit_2_no_file(tmp_path, capsys):
    from handouts.cli import main
    p = tmp_path / "p.toml"
    p.write_text(f'name = "{TOO_LONG}"\nlocale = "zh-Hans"\n', encoding="utf-8")
    out_dir = tmp_path / "out"
    code = main(["build", "wallet-card", "--patient", str(p), "--out", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "name" in err and "zh-Hans" in err, err
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_static_zone_overflow_names_zone_and_locale(model, monkeypatch):
    from handouts import cardlayout
    from handouts.documents import wallet_card
    from handouts.errors import LayoutOverflow
    geo = cardlayout.geometry("wallet-card")
    small = geo.front.zones["intro"].model_copy(update={"h": 3.0})
    front = geo.front.model_copy(update={"zones": {**geo.front.zones, "intro": small}})
    tight = geo.model_copy(update={"front": front})
    monkeypatch.setattr(cardlayout, "geometry", lambda layout="wallet-card": tight)
    with pytest.raises(LayoutOverflow, match=r"front intro \(zh-Hant\)"):
        wallet_card.static_texts("zh-Hant", model)


# --------------------------------------------------------------- personal data as text

def test_personal_fields_are_text_not_markup(tmp_path, model):
    name = "<b>x</b> </para> &amp;"
    path = build_card(tmp_path, "en", patient(name=name, oncologist="<i>Dr</i> & <br/>",
                                              treatment_center="<font size=40>C</font>"), model)
    text = pdfcheck.text(path)
    assert name in text
    flat = re.sub(r"\s+", "", text)
    assert "<i>Dr</i>&<br/>" in flat and "<fontsize=40>C</font>" in flat


# ---------------------------------------------------------------------- determinism

def test_byte_identical_across_runs(model, tmp_path, sample_patient):
    a = build_card(tmp_path / "a", "zh-Hant", sample_patient, model)
    b = build_card(tmp_path / "b", "zh-Hant", sample_patient, model)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_metadata(renders):
    meta = pdfcheck.metadata(renders.get("wallet-card", "zh-Hans", "id1", personal=True))
    assert "IMDELLTRA" in meta["/Title"] and meta["/Author"]
    assert str(pdfcheck.catalog(renders.get("wallet-card", "zh-Hans", "id1"))["/Lang"]) == "zh-Hans"


# ------------------------------------------------------------------ 7 pt

MIN_BODY_PT = 7.0


def test_geometry_never_below_seven_points():
    from handouts import cardlayout
    geo = cardlayout.geometry("wallet-card")
    for fmt in geo.formats:
        card = geo.card(fmt)
        for side in ("front", "back"):
            for name, zone in getattr(card, side).zones.items():
                assert zone.min_size >= MIN_BODY_PT, (fmt, side, name, zone.min_size)


@pytest.mark.parametrize("sheet", ["letter-8up", "a4-10up", "avery-8371"])
def test_smallest_text_on_every_sheet_is_seven_points(model, sheet):
    """Every character drawn on every sheet preset, in every locale and with the longest
    realistic personal values, is at least 7 pt (words were cut, not sizes)."""
    import io
    import pdfplumber
    from handouts.build import render_sheet
    people = [patient(locale=loc, **LONG[loc]) for loc in LOCALES] + [patient(locale=loc) for loc in LOCALES]
    rendered = render_sheet("wallet-card", "en", sheet, people, model)
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        sizes = [c["size"] for page in pdf.pages for c in page.chars]
    assert sizes and min(sizes) >= MIN_BODY_PT - 0.01, min(sizes)
