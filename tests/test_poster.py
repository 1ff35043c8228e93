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

from conftest import LOCALES, NCI_URL
import pdfcheck
from test_handout import check_snapshot

from handouts import paths, registry
from handouts.content import ContentModel
from handouts.documents import poster
from handouts.documents.common import BuildRequest, visit_label
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


def test_one_template_and_scale_as_data():
    assert sorted(p.name for p in LAYOUT.iterdir()) == ["papers.toml", "style.css", "template.html"]
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


@pytest.mark.parametrize("locale,paper", CASES)
def test_type_readable_from_two_metres(renders, locale, paper, model):
    """Smallest text: 14 pt on tabloid, the same proportion on other papers, never below
    9 pt; every section heading at 28 pt (scaled) or more."""
    _, _, cs = chars(renders.get("poster", locale, paper))
    scale = SCALES["paper"][paper]["scale"]
    smallest = min(c["size"] for c in cs)
    assert smallest >= 14 * scale - 0.01, smallest
    assert smallest >= 9 - 0.01
    if paper == "tabloid":
        assert smallest >= 14 - 0.01
    big = squeeze("".join(c["text"] for c in cs if c["size"] >= 28 * scale - 0.01))
    for key, heading in poster.headings(get_localizer(locale, model)).items():
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
    # nowrap only on .keep (a phone number or URL) and .nobr (the locale's keep-together
    # pieces: a date, 第N天, a paragraph's last characters), each narrower than any column.
    selectors = {sel.strip() for group in re.findall(r"([^{}]+)\{[^}]*white-space:\s*nowrap", rules)
                 for sel in group.split(",")}
    assert selectors == {".keep", ".nobr"}, selectors


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
                                  "restart_after_step_up_days", "restart_after_c1d8_days",
                                  "amgen_phone", "fda_phone", "fda_url")]
    expected += L.items("labs_before_each_dose") + L.items("crs_signs_staff") + L.items("storage")
    expected += L.items("restart_rule_c1d1") + L.items("restart_rule_c1d8")
    expected += [NCI_URL, model.meta.content_version, L.month_year(model.meta.label_revised)]
    # Citations come from what the render printed: every record the localizer handed out.
    from handouts.session import RenderSession
    with RenderSession():  # the render's localizer is the session's
        L = get_localizer(locale, model)
        with L.tracking() as printed:
            poster.html(poster_request(locale, paper, model))
    assert {"schedule", "crs_signs_staff", "storage", "restart_rule_c1d1", "amgen_phone"} <= printed
    for s in poster.cited_sources(model, printed):
        expected.append(s.citation)
    missing = [e for e in expected if squeeze(e) not in text]
    assert not missing, missing


@pytest.mark.parametrize("locale", LOCALES)
def test_unverified_facts_are_pointers_not_numbers(renders, locale, model):
    """The fact sheet does not verify these: the poster sends staff to the prescribing
    information and never prints the secondary figures."""
    text = stream_text(renders.get("poster", locale, "tabloid"))
    L = get_localizer(locale, model)
    for msg in ("Not verified for this poster: follow the current prescribing information.",
                "Premedication drug, dose and timing: see the current prescribing information.",
                "Hydration after the infusion: see the current prescribing information.",
                "Signs of neurologic toxicity and ICANS: see the current prescribing information."):
        assert squeeze(L._(msg)) in text, msg
    assert squeeze(L._("Last dose: %(dose)s on %(visit)s or later", dose=L.q("dose_target"),
                       visit=visit_label(L, 1, 15))) in text
    for fid in ("premed_dexamethasone", "posthydration_saline", "restart_after_c1d15_on"):
        assert not model.is_printable(fid)
    assert "exameth" not in text.lower() and "地塞米松" not in text and "saline" not in text.lower()
    for item in model.lists["neuro_signs"].items:
        assert squeeze(L._(item)) not in text


def _model_with(model: ContentModel, **confidences) -> ContentModel:
    data = model.model_dump()
    for fid, conf in confidences.items():
        (data["facts"] if fid in data["facts"] else data["lists"])[fid]["confidence"] = conf
    return ContentModel.model_validate(data)


def _poster_html(model: ContentModel, locale="en", paper="tabloid") -> str:
    return poster.html(BuildRequest("poster", locale, PAPERS[paper], None, model)).replace("\u00a0", " ")


def test_pointers_follow_the_content_model(model):
    """Downgrade a verified restart row: it becomes a pointer. Upgrade the premedication
    fact: it is printed. The layout follows the model, not a hard-coded list."""
    base = _poster_html(model)
    assert base.count("Not verified for this poster") == 1
    weaker = _poster_html(_model_with(model, restart_after_step_up_days="unverified"))
    assert weaker.count("Not verified for this poster") == 2
    assert "14 days or less" not in weaker
    stronger = _poster_html(_model_with(model, premed_dexamethasone="label-verbatim"))
    assert "Dexamethasone 8 mg IV" in stronger
    assert "Premedication drug, dose and timing" not in stronger


def sp(text: str) -> str:
    """No-break spaces glue numbers to units; compare as a reader reads."""
    return text.replace("\u00a0", " ")


def test_restart_rows_are_the_verified_rows_of_table_4(model):
    rows = poster.restart_rows(get_localizer("en", model), model)
    rows = [{"last": sp(r["last"]), "cases": [(sp(a), sp(b)) for a, b in r["cases"]]} for r in rows]
    assert [r["last"] for r in rows] == ["Last dose: 1 mg on Cycle 1, Day 1", "Last dose: 10 mg on Cycle 1, Day 8",
                                         "Last dose: 10 mg on Cycle 1, Day 15 or later"]
    assert [len(r["cases"]) for r in rows] == [2, 2, 0]
    assert rows[0]["cases"][0] == ("14 days or less:", "Give 10 mg, then resume the schedule.")
    assert rows[1]["cases"][1][0] == "More than 21 days:"


@pytest.mark.parametrize("locale", LOCALES)
def test_chinese_says_us_fda_approval_only(renders, locale):
    text = stream_text(renders.get("poster", locale, "a3"))
    marker = {"en": "ApprovedbytheU.S.FDA", "zh-Hans": "本药已获美国食品药品监督管理局（FDA）批准",
              "zh-Hant": "本藥已獲美國食品藥物管理局（FDA）核准"}[locale]
    assert marker in text
    # Chinese posters say the approval is U.S. only and name the regions where it is not
    # (issue 10); no other regulator is named.
    if locale != "en":
        assert {"zh-Hans": "本药仅在美国获批", "zh-Hant": "本藥僅在美國核准上市"}[locale] in text
        for region in {"zh-Hans": ("中国大陆", "台湾", "香港"), "zh-Hant": ("中國大陸", "臺灣", "香港")}[locale]:
            assert region in text
    for elsewhere in ("NMPA", "国家药品监督管理局", "衛福部"):
        assert elsewhere not in text


def test_unreviewed_translation_notice(renders):
    assert "尚未经合格的医学翻译人员审核" in stream_text(renders.get("poster", "zh-Hans", "letter"))
    assert "尚未經合格的醫學翻譯人員審核" in stream_text(renders.get("poster", "zh-Hant", "letter"))
    assert "medicaltranslator" not in stream_text(renders.get("poster", "en", "letter"))


@pytest.mark.parametrize("locale,paper", [(loc, p) for loc in LOCALES for p in ("tabloid", "letter")])
def test_qr_decodes_to_nci_url(renders, locale, paper):
    assert pdfcheck.decode_qr(renders.get("poster", locale, paper)) == [NCI_URL]


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
    assert (tmp_path / "poster-zh-Hant-tabloid.pdf").read_bytes().startswith(b"%PDF-")
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
    handout (inside the page-1 warning box) and the card (tests/test_wallet_card.py)."""
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
    (("qr_module_mm = 0.45", "qr_module_mm = 0.3"), "papers.toml: paper.letter.qr_module_mm"),
    (("scale = 0.647", "scale = 0.5"), "papers.toml: paper.letter: base_pt x scale"),  # 7 pt < min_pt
    (("margin_mm = 8\n", "margin = 8\n"), "papers.toml: paper.tabloid.margin"),
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
