"""The clinic dosing poster, as printed: one page on every paper and in every locale, type
big enough to read from 2 m, nothing clipped, every section on the page, vector timeline,
pointers to the prescribing information wherever the content model refuses a fact."""

from __future__ import annotations

import hashlib
import re
import tomllib

import pypdfium2
import pytest
from pypdf import PdfReader

from tests.helpers import LOCALES, NCI_URL, check_snapshot, pdfcheck, weakened

from handouts import paths, registry
from handouts.content import ContentModel
from handouts.documents import poster
from handouts.documents.common import BuildRequest
from handouts.localizer import get as get_localizer
from handouts.papers import MM_PER_PT, PAPERS

POSTER_PAPERS = ("tabloid", "a3", "letter", "a4")
CASES = [(loc, paper) for loc in LOCALES for paper in POSTER_PAPERS]
LAYOUT = paths.layouts_dir() / "poster"
SCALES = tomllib.loads((LAYOUT / "papers.toml").read_text(encoding="utf-8"))


def stream_text(path) -> str:
    """Text in drawing order (WeasyPrint draws a block's lines together), without spaces:
    robust against two columns sharing a baseline, which pdfplumber reads across."""
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()
    return re.sub(r"\s+", "", text)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def chars(path):
    import pdfplumber
    with pdfplumber.open(str(path)) as pdf:
        page = pdf.pages[0]
        return page.width, page.height, list(page.chars)


def test_registered_with_its_papers_and_budget():
    spec = registry.get("poster")
    assert spec.papers == POSTER_PAPERS and spec.paper_default == "tabloid"
    assert spec.page_budget == (1, 1) and spec.engine == "weasyprint"
    assert set(SCALES["paper"]) == set(POSTER_PAPERS), "one scale entry per paper"


def test_one_template_and_scale_as_data(model):
    """Every paper prints the same page: the paper changes only the style block (page
    size, root font size, margin: papers.toml), the QR module size and the document id
    (which names the paper), never the markup."""
    from handouts.records import docid

    def body(paper):
        html = _poster_html(model, "en", paper)
        html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
        html = docid.PATTERN.sub("<document id>", html)
        return re.sub(r"<svg\b.*?</svg>", "<svg/>", html, flags=re.S)  # the QR code's module size
    pages = {paper: body(paper) for paper in POSTER_PAPERS}
    assert len(set(pages.values())) == 1, "a paper changed the poster's markup"
    assert SCALES["paper"]["tabloid"]["scale"] == 1.0
    for name, entry in SCALES["paper"].items():
        # Proportional scaling, never more room than tabloid gives.
        assert entry["scale"] <= PAPERS[name].height_mm / PAPERS["tabloid"].height_mm + 1e-9, name
        assert SCALES["base_pt"] * entry["scale"] >= SCALES["min_pt"], name


@pytest.mark.parametrize("locale,paper", CASES)
def test_exactly_one_page_of_the_paper(renders, locale, paper):
    sizes = pdfcheck.page_sizes_mm(renders.get("poster", locale, paper))
    assert len(sizes) == 1
    (w, h), = sizes
    assert w == pytest.approx(PAPERS[paper].width_mm, abs=0.1)
    assert h == pytest.approx(PAPERS[paper].height_mm, abs=0.1)


def reference_text(L, model, paper: str = "tabloid") -> str:
    """The poster's reference text, not read from 2 m: storage, the reporting numbers,
    versions, QR captions, sources and the document id, which names the paper
    (style.css: .reference and the footer, 0.9rem)."""
    html = poster.html(BuildRequest("poster", L.code, PAPERS[paper], None, model))
    parts = re.findall(r'<section class="storage reference">(.*?)</section>|<footer>(.*?)</footer>', html, re.S)
    text = re.sub(r"<[^>]+>", "", "".join(a + b for a, b in parts))
    import html as htmllib
    return squeeze(htmllib.unescape(text))


@pytest.mark.parametrize("locale,paper", CASES)
def test_type_readable_from_two_metres(renders, locale, paper, model):
    """Everything staff act on: 14 pt on tabloid, the same proportion on other papers,
    never below 9 pt; every section heading at 28 pt (scaled) or more. Reference text
    (storage, reporting numbers, versions, sources) at 0.9 of that, never below 8 pt."""
    _, _, cs = chars(renders.get("poster", locale, paper))
    scale = SCALES["paper"][paper]["scale"]
    body = 14 * scale
    def plain(text: str) -> str:  # list markers (• and ·) are drawn apart from their text,
        return re.sub("[•·\u2060]", "", text)  # word joiners not at all
    small = plain(squeeze("".join(c["text"] for c in cs if c["size"] < body - 0.01)))
    assert small in plain(reference_text(get_localizer(locale, model), model, paper)), small[:60]
    smallest = min(c["size"] for c in cs)
    assert smallest >= 0.9 * body - 0.01 and smallest >= 8 - 0.01, smallest
    big = squeeze("".join(c["text"] for c in cs if c["size"] >= 28 * scale - 0.01))
    for key, heading in poster.section_headings(get_localizer(locale, model)).items():
        assert squeeze(heading) in big, f"heading {key} {heading!r} is smaller than 28 pt (scaled)"


@pytest.mark.parametrize("locale,paper", CASES)
def test_nothing_drawn_outside_the_margins(renders, locale, paper):
    """Text pushed past the edge (a long token, a too-wide cell) would be cut by the printer."""
    width, height, cs = chars(renders.get("poster", locale, paper))
    margin = SCALES["paper"][paper]["margin_mm"] / MM_PER_PT
    tol = 0.5
    out = [c["text"] for c in cs
           if c["x0"] < margin - tol or c["x1"] > width - margin + tol
           or c["top"] < margin - tol or c["bottom"] > height - margin + tol]
    assert not out, f"drawn outside the margins: {''.join(out)[:80]!r}"


def test_stylesheet_hides_or_clips_nothing():
    css = (LAYOUT / "style.css").read_text(encoding="utf-8")
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    html = (LAYOUT / "template.html").read_text(encoding="utf-8")
    for pattern in (r"overflow", r"text-overflow", r"max-height", r"\bclip\b", r"display\s*:\s*none",
                    r"visibility\s*:\s*hidden", r"line-clamp", r"position\s*:\s*fixed"):
        assert not re.search(pattern, rules.replace("line-height", "")), pattern
        assert not re.search(pattern, html.split("<body>")[0].replace("line-height", "")), pattern
    # nowrap only on .keep (a phone number or URL), narrower than any column.
    selectors = {sel.strip() for group in re.findall(r"([^{}]+)\{[^}]*white-space:\s*nowrap", rules)
                 for sel in group.split(",")}
    assert selectors == {".keep"}, selectors


@pytest.mark.parametrize("locale,paper", CASES)
def test_text_snapshot(renders, locale, paper, update_snapshots):
    check_snapshot(f"poster-{locale}-{paper}", pdfcheck.text(renders.get("poster", locale, paper)),
                   update_snapshots)


@pytest.mark.parametrize("locale,paper", CASES)
def test_every_section_and_figure_is_on_the_page(renders, locale, paper, model):
    text = stream_text(renders.get("poster", locale, paper))
    L = get_localizer(locale, model)
    expected = list(poster.headings(L).values())
    expected += [n["dose"] for n in poster.timeline(L, model.printable_schedule())]
    expected += [g["text"] for g in poster.monitoring_groups(L, model.printable_schedule())]
    expected += [L.q(f) for f in ("monitor_step_up", "monitor_c1d15_c2", "monitor_c3_c4", "monitor_c5_on",
                                  "stay_near_total", "stay_near_distance", "infusion_duration",
                                  "extended_monitoring_grade", "crs_onset_median", "crs_onset_latest",
                                  "restart_after_step_up_days", "restart_after_c1d8_days", "restart_after_c1d15_on",
                                  "premed_dexamethasone", "premed_within", "posthydration_saline",
                                  "posthydration_duration", "maker_phone", "fda_phone", "fda_url")]
    expected += L.items("labs_staff") + L.items("crs_signs_staff") + L.items("icans_signs_staff")
    expected += L.items("storage") + L.items("icans_timing") + L.items("driving")
    expected += L.items("restart_rule_c1d1") + L.items("restart_rule_c1d8") + L.items("restart_rule_c1d15")
    expected += [poster.lab_schedule_staff(L, set())]
    expected += [model.meta.dailymed_site, model.meta.content_version, L.month_year(model.meta.label_revised)]
    # Citations come from what the render printed: every record the localizer handed out.
    from handouts.session import RenderSession
    with RenderSession():  # the render's localizer is the session's
        L = get_localizer(locale, model)
        with L.tracking() as printed:
            poster.html(poster_request(locale, paper, model))
    assert {"schedule", "crs_signs_staff", "storage", "restart_rule_c1d15", "maker_phone", "lab_schedule",
            "premed_dexamethasone", "icans_signs_staff"} <= printed
    for s in poster.cited_sources(model, printed):
        expected.append(s.citation)
    missing = [e for e in expected if squeeze(e) not in text]
    assert not missing, missing


@pytest.mark.parametrize("locale", LOCALES)
def test_the_2025_label_values_print_and_preparation_points_to_the_label(renders, locale, model):
    """Table 3 (premedication, hydration) and the third restart row are verified in the
    11/2025 label: the poster prints them. Preparation volumes stay a pointer (a poster is
    the wrong place for compounding numbers), and no 'not verified' pointer is left."""
    text = stream_text(renders.get("poster", locale, "tabloid"))
    L = get_localizer(locale, model)
    visits = poster.visits_label(L, [r for r in model.printable_schedule() if r.premedication])
    for line in poster.premedication(L, model, visits):
        assert line and squeeze(line) in text, line
    assert squeeze(L._("Reconstitution, dilution, IV Solution Stabilizer and hold times: see the current "
                       "prescribing information.")) in text
    for msg in ("Not verified for this poster: follow the current prescribing information.",
                "Premedication drug, dose and timing: see the current prescribing information.",
                "Hydration after the infusion: see the current prescribing information."):
        assert squeeze(L._(msg)) not in text, msg
    for volume in ("1.3", "4.4", "1.1", "4.2", "13mL", "14mL", "17mL"):  # PI 2.6 preparation volumes
        assert volume not in text.replace("100.4", "")


def _model_with(model: ContentModel, **confidences) -> ContentModel:
    return weakened(model, **confidences)


def _poster_html(model: ContentModel, locale="en", paper="tabloid") -> str:
    return poster.html(BuildRequest("poster", locale, PAPERS[paper], None, model)).replace("\u00a0", " ")


def test_pointers_follow_the_content_model(model):
    """Downgrade a verified restart row or the premedication fact: it becomes a pointer to
    the prescribing information. The layout follows the model, not a hard-coded list."""
    base = _poster_html(model)
    assert base.count("Not verified for this poster") == 0 and "dexamethasone 8 mg IV" in base
    weaker = _poster_html(_model_with(model, restart_after_step_up_days="unverified"))
    assert weaker.count("Not verified for this poster") == 1
    assert "14 days or less" not in weaker
    no_premed = _poster_html(_model_with(model, premed_dexamethasone="secondary"))
    assert "dexamethasone" not in no_premed and "Premedication drug, dose and timing" in no_premed
    no_hydration = _poster_html(_model_with(model, posthydration_duration="unverified"))
    assert "normal saline" not in no_hydration and "Hydration after the infusion" in no_hydration
    no_icans = _poster_html(_model_with(model, icans_signs_staff="secondary"))
    assert "Bradyphrenia" not in no_icans and "Signs of neurologic toxicity and ICANS" in no_icans


def sp(text: str) -> str:
    """No-break spaces glue numbers to units; compare as a reader reads."""
    return text.replace("\u00a0", " ")


def test_restart_rows_are_the_verified_rows_of_table_4(model):
    rows = poster.restart_rows(get_localizer("en", model), model)
    rows = [{"last": sp(r["last"]), "cases": [(sp(a), sp(b)) for a, b in r["cases"]]} for r in rows]
    assert [r["last"] for r in rows] == ["Last dose: 1 mg on Cycle 1, Day 1", "Last dose: 10 mg on Cycle 1, Day 8",
                                         "Last dose: 10 mg on Cycle 1, Day 15 or later"]
    assert [len(r["cases"]) for r in rows] == [2, 2, 2]
    assert rows[0]["cases"][0] == ("14 days or less:", "Give 10 mg; then resume the schedule.")
    assert rows[1]["cases"][1][0] == "More than 21 days:"
    # PI 2.4 row 3 (11/2025): 28 days; beyond, the step-up dose again (no "resume" in the label).
    assert rows[2]["cases"] == [("28 days or less:", "Give 10 mg; then resume the schedule."),
                                ("More than 28 days:", "Give 1 mg; if tolerated, 10 mg 1 week later.")]


@pytest.mark.parametrize("locale", LOCALES)
def test_approval_follows_the_us_label_and_the_regional_records(renders, locale, model):
    from handouts.documents.common import approval_statement
    text = stream_text(renders.get("poster", locale, "a3"))
    marker = {"en": "ApprovedbytheU.S.FDA", "zh-Hans": "本药已获美国食品药品监督管理局（FDA）批准",
              "zh-Hant": "本藥已獲美國食品藥物管理局（FDA）核准"}[locale]
    assert marker in text
    # Chinese posters name the regions where it is not approved, with the date that was
    # checked (content model [[approval]]); never "approved in the United States only".
    statement = approval_statement(get_localizer(locale, model), model)
    if locale != "en":
        assert squeeze(statement) in text
        for region in {"zh-Hans": ("中国大陆", "台湾", "香港"), "zh-Hant": ("中國大陸", "臺灣", "香港")}[locale]:
            assert region in text
    for wrong in ("UnitedStatesonly", "仅在美国", "僅在美國", "NMPA", "国家药品监督管理局", "衛福部"):
        assert wrong not in text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_review_notice_agrees_with_the_review_record(renders, model, locale):
    from handouts import locales
    spec = locales.get(locale)
    notice = get_localizer(locale, model)._(
        "This translation has not yet been checked by a qualified medical translator. If anything is unclear, "
        "follow the English prescribing information.")
    printed = squeeze(notice) in stream_text(renders.get("poster", locale, "letter"))
    assert printed == (spec.catalog and not spec.medical_review.reviewed)


@pytest.mark.parametrize("locale,paper", [(loc, p) for loc in LOCALES for p in ("tabloid", "letter")])
def test_qr_codes_decode_to_nci_and_dailymed(renders, model, locale, paper):
    """The NCI page for patients and, for staff, the label on DailyMed."""
    found = pdfcheck.decode_qr(renders.get("poster", locale, paper))
    assert sorted(found) == sorted([NCI_URL, model.meta.dailymed_url])


@pytest.mark.parametrize("locale,paper", [(loc, p) for loc in LOCALES for p in ("tabloid", "a4")])
def test_fonts_embedded_and_bundled(renders, locale, paper):
    pdfcheck.assert_fonts_bundled(renders.get("poster", locale, paper))


@pytest.mark.parametrize("locale", LOCALES)
def test_tagged_pdf_with_language_and_title(renders, locale):
    from handouts import locales
    path = renders.get("poster", locale, "tabloid")
    root = pdfcheck.catalog(path)
    assert str(root["/Lang"]) == locales.get(locale).html_lang
    assert str(root["/MarkInfo"]["/Marked"]) in ("True", "true") or root["/MarkInfo"]["/Marked"] is True
    assert "/StructTreeRoot" in root
    meta = pdfcheck.metadata(path)
    assert "IMDELLTRA" in meta["/Title"] and meta["/Author"]


def test_timeline_is_vector_not_a_picture(renders):
    """Boxes, rail and dots are drawn as shapes: the page holds no raster image."""
    for locale in LOCALES:
        reader = PdfReader(renders.get("poster", locale, "tabloid"))

        def images(res) -> int:
            res = res.get_object() if res is not None else None
            if not res:
                return 0
            n = 0
            for xo in (res.get("/XObject") or {}).values():
                xo = xo.get_object()
                n += xo.get("/Subtype") == "/Image"
                n += images(xo.get("/Resources"))
            return n

        assert images(reader.pages[0].get("/Resources")) == 0, locale


def test_default_paper_and_cli(tmp_path):
    from handouts.cli import main
    assert main(["build", "poster", "--locale", "zh-Hant", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "tarlatamab-poster-zh-Hant-tabloid.pdf").read_bytes().startswith(b"%PDF-")
    assert main(["build", "poster", "--paper", "a5", "--out", str(tmp_path / "x")]) == 2


def test_byte_identical_across_runs(model, tmp_path):
    from handouts.build import build
    a = build("poster", "zh-Hans", "tabloid", None, tmp_path / "a", model)
    b = build("poster", "zh-Hans", "tabloid", None, tmp_path / "b", model)
    assert hashlib.sha256(a.path.read_bytes()).digest() == hashlib.sha256(b.path.read_bytes()).digest()


def poster_request(locale, paper, model):
    from handouts import papers, registry
    from handouts.documents.common import BuildRequest
    return BuildRequest("poster", locale, papers.get(paper, registry.get("poster").papers), None, model)


@pytest.mark.parametrize("locale", LOCALES)
def test_one_danger_rule_on_poster_and_handout(renders, locale, model):
    """The words for what to do at the moment of danger are the same on the poster, the
    handout (inside the page-1 warning box) and the card (tests/documents/test_wallet_card.py)."""
    from handouts.documents.common import danger_call, danger_emergency
    L = get_localizer(locale, model)
    rule = [squeeze(danger_call(L)), squeeze(danger_emergency(L))]
    poster_text = stream_text(renders.get("poster", locale, "letter"))
    handout_pages = pdfcheck.text(renders.get("handout", locale, "a4", personal=True)).split("=== page ")
    page_one = squeeze(handout_pages[1])
    for sentence in rule:
        assert sentence in poster_text, sentence
        assert sentence in page_one, sentence
    assert squeeze("+1 (555) 010-2030") in page_one  # the care-team phone is in the box


@pytest.mark.parametrize("edit, key", [
    (("qr_module_mm = 0.45", "qr_module_mm = 0.3"), "papers.toml: paper.tabloid.qr_module_mm"),
    (("scale = 0.647", "scale = 0.5"), "papers.toml: paper.letter: base_pt x scale"),  # 7 pt < min_pt
    (("margin_mm = 6\n", "margin = 6\n"), "papers.toml: paper.tabloid.margin"),
    (("base_pt = 14", "base_pt = [14"), "papers.toml: not valid TOML"),
])
def test_bad_papers_toml_is_one_error_naming_the_key(tmp_path, monkeypatch, edit, key):
    """papers.toml is validated on load; a bad value names its key, not a KeyError later."""
    from handouts.errors import HandoutsError
    layouts = tmp_path / "layouts"
    (layouts / "poster").mkdir(parents=True)
    text = (LAYOUT / "papers.toml").read_text(encoding="utf-8")
    assert edit[0] in text
    (layouts / "poster" / "papers.toml").write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    monkeypatch.setattr(paths, "layouts_dir", lambda: layouts)
    poster._paper_data.cache_clear()
    try:
        with pytest.raises(HandoutsError) as exc:
            poster.paper_style(PAPERS["letter"])
    finally:
        poster._paper_data.cache_clear()
    assert key in exc.value.one_line(), exc.value.one_line()


# ------------------------------------------------------- for staff, in staff's words

@pytest.mark.parametrize("locale", LOCALES)
def test_tells_staff_what_to_tell_patients_and_what_to_give(renders, locale, model):
    """What to tell patients (the signs, whom to call, the emergency number and its signs,
    ICANS weeks later, driving), and before the first dose: the Medication Guide, the
    wallet card, a caregiver for the stay-near period, the pregnancy check."""
    from handouts.documents.common import danger_call, danger_emergency_inline
    L = get_localizer(locale, model)
    text = stream_text(renders.get("poster", locale, "tabloid"))
    stay = poster.visits_label(L, model.stay_near_rows())
    inform, pregnancy = L.items("staff_before_start")
    for needle in (danger_call(L), danger_emergency_inline(L), *L.items("icans_timing"), *L.items("driving"),
                   L._("Give the Medication Guide, the wallet card and the patient handout, and %(inform)s.",
                       inform=inform), pregnancy,
                   L._("Confirm a caregiver for the %(total)s from the start of the infusions on %(visits)s.",
                       total=L.q("stay_near_total"), visits=stay)):
        assert squeeze(needle) in text, needle
    for e in L.spec.emergency:
        assert e.number in text
    assert squeeze(L._("Tell patients:")) not in text or locale != "en"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_staff_footer(renders, locale, model):
    from handouts.documents.common import footer_line, staff_footer_line
    from handouts.clock import print_date
    L = get_localizer(locale, model)
    text = stream_text(renders.get("poster", locale, "letter"))
    assert squeeze(staff_footer_line(L, model, print_date())) in text
    assert squeeze(L._("Not a substitute for advice from your care team").split("·")[-1]) not in text
    assert squeeze(footer_line(L, model, print_date())) not in text


@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant"])
def test_chinese_posters_spell_out_crs_and_icans_at_first_use(renders, locale):
    from handouts import locales
    regional = locales.get(locale).regional
    text = stream_text(renders.get("poster", locale, "tabloid"))
    for short, full in (("CRS", regional["crs"]), ("ICANS", regional["icans"])):
        first = text.index(short)
        around = text[first - len(full) - 2:first + len(short) + len(full) + 2]
        assert full in around, (short, text[first - 30:first + 40])


@pytest.mark.parametrize("document", ["poster", "handout"])
@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant"])
def test_chinese_punctuation_is_tidy(model, sample_patient, document, locale):
    """No half-width space after 。 and no English full stop before 资料来源."""
    import html as htmllib

    from handouts.documents import handout
    spec = registry.get(document)
    module = {"handout": handout, "poster": poster}[document]
    html = module.html(BuildRequest(document, locale, PAPERS[spec.papers[0]],
                                    sample_patient if document == "handout" else None, model))
    body = htmllib.unescape(re.sub(r"<[^>]+>", "", html.split("<body>", 1)[1]))
    assert not re.search(r"[。！？；：] ", body), re.search(r".{12}[。！？；：] .{12}", body)
    assert not re.search(r"\.\s*(资料来源|資料來源)", body)
    assert not re.search(r"[\u3400-\u9fff）]\.", body), re.search(r".{12}[\u3400-\u9fff）]\..{5}", body)
