"""--large-print: every character of the handout at least 18 pt, headings
larger, Letter and A4, every locale, within the raised page budget."""

from __future__ import annotations

import pdfplumber
import pytest

from tests.helpers import HANDOUT_PAPERS, LOCALES

MIN_PT = 18.0


def sizes(path) -> list[float]:
    with pdfplumber.open(str(path)) as pdf:
        return [c["size"] for page in pdf.pages for c in page.chars]


@pytest.fixture(scope="module")
def large(model, sample_patient, tmp_path_factory):
    from handouts.build import build
    out = tmp_path_factory.mktemp("large")
    return {(loc, paper): build("handout", loc, paper, sample_patient, out / f"{loc}-{paper}", model,
                                large_print=True)
            for loc in LOCALES for paper in HANDOUT_PAPERS}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("paper", HANDOUT_PAPERS)
def test_smallest_text_is_eighteen_points_and_headings_larger(large, locale, paper):
    from handouts import registry
    built = large[(locale, paper)]
    found = sizes(built.path)
    assert min(found) >= MIN_PT - 0.01, min(found)
    assert max(found) >= MIN_PT + 6  # the title and section headings stand out
    low, high = registry.get("handout").large_print_budget
    assert low <= built.pages <= high
    assert built.path.name.endswith("-large-print.pdf")


def test_regular_print_is_smaller(renders):
    """The check can fail: the regular handout has text below 18 pt."""
    assert min(sizes(renders.get("handout", "en", "letter"))) < MIN_PT


def test_cli_flag(tmp_path, capsys):
    from handouts.cli import main
    code = main(["build", "handout", "--locale", "zh-Hant", "--paper", "a4", "--large-print", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    path = tmp_path / "tarlatamab-handout-zh-Hant-a4-large-print.pdf"
    assert out.strip() == str(path) and min(sizes(path)) >= MIN_PT - 0.01
    code = main(["build", "poster", "--large-print", "--out", str(tmp_path / "p")])
    _, err = capsys.readouterr()
    assert code == 2 and "--large-print" in err
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


@pytest.mark.parametrize("document, flag, have", [
    ("poster", ["--large-print"], "documents that do: handout"),
    ("wallet-card", ["--large-print"], "documents that do: handout"),
    ("poster", ["--also", "en"], "documents that do: handout, wallet-card")])
def test_flag_refused_by_a_document_without_the_capability(capsys, tmp_path, document, flag, have):
    """The registry says which documents take --large-print and --also; the others refuse."""
    from tests.helpers import run
    code, out, err = run(capsys, "build", document, *flag, "--out", tmp_path)
    assert code == 2 and out == "" and not any(tmp_path.iterdir())
    assert err.splitlines()[-1] == f"handouts: error: {flag[0]}: {document} does not support {flag[0]}; {have}"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("paper", HANDOUT_PAPERS)
def test_warning_signs_phone_and_emergency_rule_on_one_page(large, model, sample_patient, locale, paper):
    """In large print the warning box's two sign lists, the care-team phone and the
    emergency rule with its signs print on one page (at 18 pt the box is most of a page)."""
    import re

    from handouts.documents.common import danger_call, danger_emergency, emergency_signs
    from handouts.localizer import get
    import pypdfium2
    L = get(locale, model)
    pdf = pypdfium2.PdfDocument(str(large[(locale, paper)].path))
    try:  # drawing order: the two columns of a sign list do not interleave
        pages = [re.sub(r"\s", "", pdf[i].get_textpage().get_text_range()) for i in range(len(pdf))]
    finally:
        pdf.close()
    needles = [*L.items("crs_signs"), *L.items("icans_signs"), danger_call(L), sample_patient.phone,
               danger_emergency(L), *(s[:1].upper() + s[1:] for s in emergency_signs(L))]
    holding = [i for i, page in enumerate(pages) if re.sub(r"\s", "", needles[0]) in page]
    assert len(holding) == 1
    page = pages[holding[0]]
    missing = [n for n in needles if re.sub(r"\s", "", n) not in page]
    assert not missing, (holding[0] + 1, missing)
