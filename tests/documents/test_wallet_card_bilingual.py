"""Wallet card: Chinese cards say, in one short line, where the drug is not approved (as of
the date that was checked), never that it is approved in the United States only;
`--also LOCALE` prints the back (for clinicians) in another language, so a family member
reads the front and a clinician the back of the same card.

ReportLab cannot tag a PDF: a card has one /Lang (the front's locale), and its text runs
carry no language of their own. Each run is set in the fonts of its own language (a
Traditional front in Noto Sans TC, a Simplified back in Noto Sans SC)."""

from __future__ import annotations

import hashlib
import io
import itertools
import re

import pytest

from tests.helpers import LOCALES, NCI_URL, cardpdf, pdfcheck, run

PAIRS = list(itertools.permutations(LOCALES, 2))
ID1 = (85.60, 53.98)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def sides(path) -> tuple[str, str]:
    front, back = pdfcheck.text(path).split("=== page 2 ===")
    return front, back


@pytest.fixture(scope="module")
def bilingual(model, sample_patient, tmp_path_factory):
    """Each (locale, also) pair built once, through build() as the CLI does."""
    from handouts.build import build
    root = tmp_path_factory.mktemp("bilingual")
    done = {}

    def get(locale, also):
        if (locale, also) not in done:
            done[(locale, also)] = build("wallet-card", locale, None, sample_patient,
                                         root / f"{locale}-{also}", model, also=also).path
        return done[(locale, also)]
    return get


# ------------------------------------------------------- where it is not approved

@pytest.mark.parametrize("fmt", ["id1", "business-3.5x2"])
@pytest.mark.parametrize("locale", LOCALES)
def test_chinese_front_says_where_it_is_not_approved_in_one_short_line(model, locale, fmt):
    from handouts.documents.common import approval_statement
    from handouts.documents.wallet_card import static_texts
    from handouts.localizer import get
    L = get(locale, model)
    statement = approval_statement(L, model)
    lines = static_texts(locale, model, fmt)["front.intro"]
    if locale == "en":
        assert statement == ""
        return
    # One line of its own (it took one and a half of four lines), naming the regions of the
    # locale data and the date their status was checked.
    assert flat(statement) in [flat(line) for line in lines], lines
    for region in L.spec.approval_regions.values():
        assert region in statement
    assert "2026年12月4日" in statement


@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant"])
def test_printed_card_carries_the_statement(renders, model, locale):
    from handouts.documents.common import approval_statement
    from handouts.localizer import get
    front, back = sides(renders.get("wallet-card", locale, "id1", personal=True))
    assert flat(approval_statement(get(locale, model), model)) in flat(front)


# ----------------------------------------------------------------- bilingual

@pytest.mark.parametrize("locale,also", PAIRS)
def test_front_in_the_patients_language_back_in_the_other(bilingual, model, locale, also):
    from handouts.documents.common import approval_statement, danger_call
    from handouts.localizer import get
    L, A = get(locale, model), get(also, model)
    path = bilingual(locale, also)
    assert path.name.endswith(f"+{also}.pdf")
    front, back = sides(path)
    # The front: the patient's language, as without --also.
    assert flat(L._("I receive %(drug)s", drug=L.name("in_sentence"))) in flat(front)
    assert flat(danger_call(L)) in flat(front)
    # The back: the clinician's language, with the heading in the patient's too.
    for msg in ("For healthcare providers", "Treat suspected CRS or ICANS without delay; also contact:",
                "Oncologist:", "Most recent dose:", "Patient:"):
        assert flat(A._(msg)) in flat(back), msg
    assert flat(A._("Clinic-made card, not from %(maker)s.", maker=A.name("maker"))) in flat(back)
    from handouts.documents.wallet_card import _for_providers
    for sentence in _for_providers(A):
        assert flat(sentence) in flat(back), sentence
    assert flat(L._("For healthcare providers")) in flat(back)
    assert "Dr. Maria Gonzalez" in back and "+1 (555) 010-2030" in back
    assert A.date(__import__("datetime").date(2026, 12, 1), "medium") in back  # first dose, A's format
    # Each Chinese side says where the drug is not approved, in its own language.
    for X, text in ((L, front), (A, back)):
        if approval_statement(X, model):
            assert flat(approval_statement(X, model)) in flat(text)


@pytest.mark.parametrize("locale,also", PAIRS)
def test_bilingual_card_is_two_id1_pages_fonts_embedded_qr_decodes(bilingual, model, locale, also):
    from handouts import locales
    path = bilingual(locale, also)
    sizes = pdfcheck.page_sizes_mm(path)
    assert len(sizes) == 2
    for w, h in sizes:
        assert w == pytest.approx(ID1[0], abs=0.01) and h == pytest.approx(ID1[1], abs=0.01)
    pdfcheck.assert_fonts_bundled(path)
    assert sorted(r.text for r in cardpdf.decode(path, 1, 300)) == sorted([NCI_URL, model.meta.dailymed_url])
    # One /Lang per PDF in ReportLab: the front's (the patient's) language.
    assert str(pdfcheck.catalog(path)["/Lang"]) == locales.get(locale).html_lang


def test_each_chinese_side_in_its_own_script_font(bilingual):
    """A Traditional front and a Simplified back: each side's text in its own font."""
    import pdfplumber
    path = bilingual("zh-Hant", "zh-Hans")
    with pdfplumber.open(str(path)) as pdf:
        # Han characters of the card's own text (the sample name's 伟 is simplified: it
        # falls back to Noto Sans SC on a Traditional front, as it should).
        chars = [[(c["text"], pdfcheck.without_subset_prefix(c["fontname"])) for c in page.chars
                  if ord(c["text"]) > 0x2E80 and c["text"] not in "李伟"] for page in pdf.pages]
    used = [{f for _, f in page} for page in chars]
    assert used[0] and all(f.startswith("NotoSansTC") for f in used[0]), used[0]
    # The back's Simplified text ("请立即治疗，勿延误；同时联系：") is set in the SC font,
    # every character of it (these four exist only in Simplified Chinese).
    simplified = [(t, f) for t, f in chars[1] if t in "疗误时联"]
    assert {t for t, _ in simplified} == set("疗误时联"), chars[1]
    assert all(f.startswith("NotoSansSC") for _, f in simplified), simplified


def test_also_english_is_the_default_card(bilingual, renders):
    """The Chinese card's back is English already: --also en changes nothing but the name."""
    a = bilingual("zh-Hant", "en").read_bytes()
    b = renders.get("wallet-card", "zh-Hant", "id1", personal=True).read_bytes()
    assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()


def test_bilingual_is_deterministic(model, sample_patient, tmp_path):
    from handouts.build import build
    a = build("wallet-card", "en", None, sample_patient, tmp_path / "a", model, also="zh-Hant").path
    b = build("wallet-card", "en", None, sample_patient, tmp_path / "b", model, also="zh-Hant").path
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


@pytest.mark.parametrize("fmt", ["id1", "business-3.5x2"])
@pytest.mark.parametrize("locale,also", PAIRS)
def test_every_pair_fits_both_formats(model, locale, also, fmt):
    """Every static zone of every pair fits, on both card formats: static_texts raises
    LayoutOverflow when a zone does not fit at its minimum size (7 pt in geometry.toml)."""
    from handouts.documents.wallet_card import static_texts
    texts = static_texts(locale, model, fmt, also=also)
    assert texts["back.title"] and texts["front.intro"]


def test_personal_text_that_does_not_fit_names_the_field(model, tmp_path):
    from handouts.build import build
    from handouts.errors import LayoutOverflow
    from handouts.patient import Patient
    long = "Hubert Blaine Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaftschaferswessen"
    with pytest.raises(LayoutOverflow) as err:
        build("wallet-card", "zh-Hant", None, Patient(oncologist=long), tmp_path, model, also="zh-Hans")
    assert err.value.field == "oncologist" and "zh-Hant+zh-Hans" in err.value.subject
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------- sheets

@pytest.mark.parametrize("sheet", ["letter-8up", "a4-10up", "avery-8371"])
def test_bilingual_sheets_seven_points_both_languages(model, sheet):
    """Every pair imposed on every preset: nothing below 7 pt; each front page in its
    card's locale, each back page in the --also language."""
    import dataclasses

    import pdfplumber

    from handouts import cardlayout
    from handouts.documents.wallet_card import Card, render_sheets
    from handouts.localizer import get
    from handouts.patient import Patient
    imp = cardlayout.imposition(sheet, layout="wallet-card")
    p = Patient(name="Li Wei 李伟", oncologist="Dr. Maria Gonzalez", phone="+1 (555) 010-2030",
                treatment_center="Riverside Cancer Center")
    for locale, also in PAIRS:
        cards = [dataclasses.replace(Card(locale, p), also=also), Card(locale, None, also=also)]
        rendered = render_sheets(cards, imp, model)
        with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
            sizes = [c["size"] for page in pdf.pages for c in page.chars]
            front, back = (flat(pdf.pages[i].extract_text()) for i in (0, 1))
        assert min(sizes) >= 7.0 - 0.01, (locale, also, min(sizes))
        L = get(locale, model)
        assert flat(L._("I receive %(drug)s", drug=L.name("in_sentence"))) in front
        assert flat(get(also, model)._("Treat suspected CRS or ICANS without delay; also contact:")) in back


def test_cli_sheet_with_also(tmp_path, capsys):
    code, out, err = run(capsys, "build", "wallet-card", "--sample", "--locale", "en", "--also", "zh-Hant",
                         "--sheet", "a4-10up", "--copies", "2", "--out", tmp_path)
    assert code == 0, err
    path = tmp_path / out.strip().split("/")[-1]
    assert path.name.endswith("+zh-Hant.pdf") and path.is_file()
    front, back = pdfcheck.text(path).split("=== page 2 ===")
    assert "I receive tarlatamab-dlle" in front and "請立即治療" not in front
    assert "請立即治療" in back and "For healthcare providers" in back  # the heading in the patient's too


def test_cli_refuses_an_unknown_also(tmp_path, capsys):
    from tests.helpers import run_refused
    run_refused(capsys, "--also", tmp_path / "o", "build", "wallet-card", "--locale", "en", "--also", "fr")
    run_refused(capsys, "--also", tmp_path / "o", "build", "wallet-card", "--locale", "en", "--also", "fr",
                "--sheet", "letter-8up")
