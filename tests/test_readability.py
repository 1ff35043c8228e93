"""Readability of the English handout, measured on the text as printed (what `handouts
text` shows, tests/helpers/readability.py): every section a patient reads at Flesch-Kincaid grade
7 or below, the whole handout at grade 6 or below, with each heading, list item and table
row counted as a sentence. textstat is pinned to 0.7.3, which works offline."""

from __future__ import annotations

import pytest
import textstat

from tests.helpers import HANDOUT_PAPERS, pdfcheck
from tests.helpers.readability import grade, printed_sections, sentence_count


MAX_SECTION_GRADE = 7.0
MAX_HANDOUT_GRADE = 6.0


def english_sections(renders, model, paper: str, personal: bool) -> dict[str, list[str]]:
    from handouts import papers, registry
    from handouts.clock import print_date
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest, footer_line
    from handouts.localizer import get
    spec = registry.get("handout")
    patient = spec.sample_patient() if personal else None
    html = handout.html(BuildRequest("handout", "en", papers.get(paper, spec.papers), patient, model))
    L = get("en", model)
    text = pdfcheck.text(renders.get("handout", "en", paper, personal))
    return printed_sections(text, html, footer_line(L, model, print_date()), L._("Sources: %(sources)s.").split("%")[0])


def test_textstat_is_the_offline_version():
    from importlib.metadata import version
    assert version("textstat") == "0.7.3"  # later releases download a dictionary at run time
    # A known sentence pair gives a known grade (the syllable dictionary is bundled).
    assert textstat.flesch_kincaid_grade("The cat sat on the mat. It was happy there.") < 1


@pytest.mark.parametrize("paper", HANDOUT_PAPERS)
@pytest.mark.parametrize("personal", [False, True])
def test_every_english_section_and_the_whole_handout_read_easily(renders, model, paper, personal):
    found = english_sections(renders, model, paper, personal)
    assert "The most important things to know" in found and "Where to learn more" in found
    assert ("Your planned schedule" in found) == personal
    grades = {h: round(grade(pieces), 1) for h, pieces in found.items()}
    too_hard = {h: g for h, g in grades.items() if g > MAX_SECTION_GRADE}
    assert not too_hard, too_hard
    whole = grade([p for pieces in found.values() for p in pieces])
    assert whole <= MAX_HANDOUT_GRADE, (whole, grades)


def test_lists_and_headings_count_as_sentences():
    """A heading and each list item end a sentence; a full stop in "U.S." or "100.4" does
    not; two sentences in one paragraph are two."""
    assert sentence_count(["Warning signs of CRS.", "Headache.", "Fever of 100.4°F or higher."]) == 3
    assert sentence_count(["The U.S. FDA approved it. It is a medicine."]) == 2


def test_the_measure_can_fail():
    hard = ("Tarlatamab-dlle is a bispecific delta-like ligand 3-directed CD3 T-cell engager "
            "indicated for adult patients with extensive stage small cell lung cancer with "
            "disease progression on or after platinum-based chemotherapy.")
    assert grade([hard]) > MAX_SECTION_GRADE
