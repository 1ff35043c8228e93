"""The patient handout, as printed: geometry, text, fonts, QR, metadata, determinism."""

from __future__ import annotations

import hashlib

import pytest

from tests.helpers import HANDOUT_PAPERS, LOCALES, NCI_URL, check_snapshot, pdfcheck

PAPER_MM = {"letter": (215.9, 279.4), "a4": (210.0, 297.0)}
CASES = [(loc, paper) for loc in LOCALES for paper in HANDOUT_PAPERS]


@pytest.mark.parametrize("locale,paper", CASES)
def test_page_size_and_budget(renders, locale, paper):
    from handouts import registry
    low, high = registry.get("handout").page_budget
    assert (low, high) == (2, 6)  # raised by two pages for 12 pt body text and the 2025 label's safety text
    path = renders.get("handout", locale, paper)
    sizes = pdfcheck.page_sizes_mm(path)
    assert low <= len(sizes) <= high, f"{len(sizes)} pages"
    for w, h in sizes:
        assert w == pytest.approx(PAPER_MM[paper][0], abs=0.1)
        assert h == pytest.approx(PAPER_MM[paper][1], abs=0.1)


@pytest.mark.parametrize("locale,paper", CASES)
def test_text_snapshot(renders, locale, paper, update_snapshots):
    check_snapshot(f"handout-{locale}-{paper}", pdfcheck.text(renders.get("handout", locale, paper)),
                   update_snapshots)


@pytest.mark.parametrize("locale", LOCALES)
def test_personal_text_snapshot(renders, locale, update_snapshots):
    paper = "letter" if locale == "en" else "a4"
    path = renders.get("handout", locale, paper, personal=True)
    assert len(pdfcheck.page_sizes_mm(path)) <= 6
    check_snapshot(f"handout-{locale}-{paper}-personal", pdfcheck.text(path), update_snapshots)


@pytest.mark.parametrize("locale,paper", CASES)
def test_fonts_embedded_and_bundled(renders, locale, paper):
    pdfcheck.assert_fonts_bundled(renders.get("handout", locale, paper, personal=(paper == "a4")))


@pytest.mark.parametrize("locale", LOCALES)
def test_qr_decodes_to_nci_url(renders, locale):
    path = renders.get("handout", locale, "letter")
    texts = pdfcheck.text(path)
    pages = texts.count("=== page")
    found = [t for p in range(pages) for t in pdfcheck.decode_qr(path, p)]
    assert found == [NCI_URL]


@pytest.mark.parametrize("locale", LOCALES)
def test_metadata_language_and_tags(renders, locale, model):
    from handouts import locales
    path = renders.get("handout", locale, "a4")
    root = pdfcheck.catalog(path)
    assert str(root["/Lang"]) == locales.get(locale).html_lang
    assert root["/MarkInfo"]["/Marked"] is True or str(root["/MarkInfo"]["/Marked"]) == "True"
    assert "/StructTreeRoot" in root
    meta = pdfcheck.metadata(path)
    assert "IMDELLTRA" in meta["/Title"]
    assert meta["/Author"]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_review_notice_agrees_with_the_review_record(renders, model, locale):
    """A catalog no qualified medical translator reviewed prints the notice; one with a
    review record (reviewer, date, scope) does not. The shipped record decides, so a real
    reviewer's sign-off passes this test unchanged."""
    from handouts import locales
    from handouts.localizer import get
    spec = locales.get(locale)
    notice = get(locale, model)._("This translation has not yet been checked by a qualified medical translator. "
                                  "If anything is unclear, ask your care team.")
    text = " ".join(pdfcheck.text(renders.get("handout", locale, "a4")).split())
    printed = " ".join(notice.split()) in text
    assert printed == (spec.catalog and not spec.medical_review.reviewed)
    if spec.medical_review.reviewed and spec.catalog:
        review = spec.medical_review
        assert review.reviewer and review.date and review.scope


def test_a_reviewers_record_removes_the_notice_and_a_bare_flag_is_refused(model, monkeypatch):
    from pydantic import ValidationError

    from handouts import locales, papers
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    from handouts.localizer import get
    spec = locales.get("zh-Hant")
    base = spec.model_dump()
    with pytest.raises(ValidationError, match="reviewer, the date and the scope"):
        locales.LocaleSpec(**{**base, "medical_review": {"reviewed": True, "reviewer": "A. Reviewer"}})
    with pytest.raises(ValidationError, match="reviewed = false"):
        locales.LocaleSpec(**{**base, "medical_review": {"reviewed": False, "reviewer": "A. Reviewer"}})
    signed = locales.LocaleSpec(**{**base, "medical_review": {
        "reviewed": True, "reviewer": "A. Reviewer, certified medical translator", "date": "2027-01-15",
        "scope": "handouts.po, every entry, content 2026.12.0"}})
    from handouts.session import RenderSession
    req = BuildRequest("handout", "zh-Hant", papers.get("a4", ("a4",)), None, model)
    with RenderSession():  # the render's localizer is the session's
        L = get("zh-Hant", model)
        assert "尚未經合格的醫學翻譯人員審核" in handout.html(req)
        monkeypatch.setattr(L, "spec", signed)
        assert "尚未經合格的醫學翻譯人員審核" not in handout.html(req)


@pytest.mark.parametrize("locale", LOCALES)
def test_footer_provenance_on_every_page(renders, locale):
    text = pdfcheck.text(renders.get("handout", locale, "letter"))
    marker = {"en": "revised November 2025", "zh-Hans": "2025年11月修订", "zh-Hant": "2025年11月修訂"}[locale]
    for page in text.split("=== page")[1:]:
        assert "2026.12.0" in page and marker in page, page[-300:]


def test_byte_identical_across_runs(model, tmp_path):
    from handouts.build import build
    a = build("handout", "zh-Hant", "letter", None, tmp_path / "a", model)
    b = build("handout", "zh-Hant", "letter", None, tmp_path / "b", model)
    assert hashlib.sha256(a.path.read_bytes()).digest() == hashlib.sha256(b.path.read_bytes()).digest()


# ---------------------------------------------------------- page counter

def test_page_counter_comes_from_css_counters_and_the_catalog(model):
    from handouts import locales, papers, registry
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    from handouts.localizer import get
    for code in locales.available():
        css = handout.page_counter_css(get(code, model))
        assert css.count("counter(page)") == 1 and css.count("counter(pages)") == 1, css
    assert str(handout.page_counter_css(get("en", model))) == '"Page " counter(page) " of " counter(pages)'
    # Personal text cannot make counter markup: it never reaches the CSS string.
    spec = registry.get("handout")
    p = spec.sample_patient().model_copy(update={"name": '\x00P" counter(pages) "\x00N'})
    html = handout.html(BuildRequest("handout", "en", papers.get("letter", spec.papers), p, model))
    style = html.split("</style>")[0]
    assert style.count("counter(") == 2, style
    assert "\x00" not in style


@pytest.mark.parametrize("locale", LOCALES)
def test_page_counter_prints_page_of_pages(renders, locale):
    text = pdfcheck.text(renders.get("handout", locale, "a4", personal=True))
    pages = text.count("=== page ")
    marker = {"en": f"Page 1 of {pages}", "zh-Hans": f"第1页，共{pages}页",
              "zh-Hant": f"第 1 頁，共 {pages} 頁"}[locale]
    assert marker in text.replace("\u00a0", " ")


PT_MM = 25.4 / 72


@pytest.mark.parametrize("locale,paper", CASES)
def test_dose_column_holds_every_dose(renders, model, locale, paper):
    """The schedule tables have fixed column widths, the dose column 3.6em.
    Every dose printed in it (the general schedule and the dated one) must end inside
    its own cell, before the next column's padding: a longer unit in some locale fails
    here instead of printing over the monitoring text."""
    import pdfplumber

    from handouts.localizer import get
    L = get(locale, model)
    dose, after = L._("Dose"), L._("After the infusion").split()[0]
    tokens = {t for r in L.schedule() for t in L.q(r.dose).split()}
    cell_padding = 2.0  # mm, style.css th/td
    checked = tables = 0
    with pdfplumber.open(renders.get("handout", locale, paper, personal=True)) as pdf:
        for page in pdf.pages:
            words = page.extract_words()
            for head in (w for w in words if w["text"] == dose):
                nxt = min((w for w in words if abs(w["top"] - head["top"]) < 1 and w["x0"] > head["x1"]
                           and w["text"].startswith(after)), key=lambda w: w["x0"])
                tables += 1
                limit = nxt["x0"] * PT_MM - 2 * cell_padding
                # The table ends at the last rule under its dose cells (text below it is not in a cell).
                cell_x0 = head["x0"] - cell_padding / PT_MM
                end = max(line["top"] for line in page.lines
                          if abs(line["x0"] - cell_x0) < 1.5 and line["top"] > head["bottom"])
                for w in words:
                    if (head["bottom"] < w["top"] < end and w["text"] in tokens
                            and head["x0"] - 1 <= w["x0"] < nxt["x0"]):
                        checked += 1
                        assert w["x1"] * PT_MM <= limit + 0.15, (
                            f"{locale} {paper} page {page.page_number}: dose {w['text']!r} ends at "
                            f"{w['x1'] * PT_MM:.1f} mm, its cell at {limit:.1f} mm")
    assert tables >= 2 and checked >= 2 * len(L.schedule()), (tables, checked)


# ------------------------------------------------------------------ type sizes

BODY_PT, FOOTER_PT = 12.0, 8.0
BOTTOM_MARGIN_MM = 20  # style.css @page: the running footer lives below the text area


def small_text_outside_footers(path) -> tuple[float, list[str]]:
    """The smallest character on the pages, and any text under 12 pt that is not a footer:
    the running footer (the page's bottom margin) or the sources footer (from "Sources"
    to the end of the last page)."""
    import pdfplumber
    smallest, stray = 99.0, []
    with pdfplumber.open(str(path)) as pdf:
        last = len(pdf.pages) - 1
        for i, page in enumerate(pdf.pages):
            words = page.extract_words(extra_attrs=["size"])
            src = [w for w in words if w["text"].startswith(("Sources:", "资料来源", "資料來源"))] if i == last else []
            sources_top = min((w["top"] for w in src), default=page.height)
            for c in page.chars:
                smallest = min(smallest, c["size"])
                in_margin = c["top"] > page.height - BOTTOM_MARGIN_MM * PT_MM ** -1
                if c["size"] < BODY_PT - 0.01 and not in_margin and c["top"] < sources_top - 1:
                    stray.append(c["text"])
    return smallest, stray


@pytest.mark.parametrize("locale,paper", CASES)
def test_body_text_is_twelve_points_and_footers_eight(renders, locale, paper):
    """Body text at least 12 pt (US CMS guidance for written material), footers at least 8."""
    smallest, stray = small_text_outside_footers(renders.get("handout", locale, paper, personal=True))
    assert smallest >= FOOTER_PT - 0.01, smallest
    assert not stray, "".join(stray)[:80]
