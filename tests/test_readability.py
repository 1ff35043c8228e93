"""Readability of the English handout (issue 10): Flesch-Kincaid grade 7 or below in every
section a patient reads, measured with textstat (pinned to 0.7.3, which works offline)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import textstat

from handouts import papers, registry
from handouts.documents import handout
from handouts.documents.common import BuildRequest

MAX_GRADE = 7.0
_BLOCKS = {"p", "li", "h1", "h2", "h3", "td", "th", "br", "tr"}
_HIDDEN = {"style", "title", "svg", "head"}


class _Sections(HTMLParser):
    """The text of each <section>, one line per block element."""

    def __init__(self):
        super().__init__()
        self.sections: list[list[str]] = []
        self._cur: list[str] | None = None
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self._cur = []
            self.sections.append(self._cur)
        elif tag == "footer":
            self._cur = None  # sources and versions: reference text, not patient prose
        if tag in _HIDDEN:
            self._hidden += 1
        if tag in _BLOCKS and self._cur is not None:
            self._cur.append("\n")

    def handle_endtag(self, tag):
        if tag in _HIDDEN:
            self._hidden -= 1

    def handle_data(self, data):
        if self._cur is not None and not self._hidden:
            self._cur.append(data)


def sections(html: str) -> dict[str, str]:
    """Heading -> prose. Headings, list items and table cells end like sentences, so a
    list is not read as one endless sentence."""
    parser = _Sections()
    parser.feed(html)
    out = {}
    for parts in parser.sections:
        lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
        lines = [line for line in lines if line]
        out[lines[0]] = " ".join(line if line[-1] in ".:!?" else line + "." for line in lines)
    return out


def english_handout_html(model, personal: bool) -> str:
    spec = registry.get("handout")
    patient = spec.sample_patient() if personal else None
    return handout.html(BuildRequest("handout", "en", papers.get("letter", spec.papers), patient, model))


def test_textstat_is_the_offline_version():
    from importlib.metadata import version
    assert version("textstat") == "0.7.3"  # later releases download a dictionary at run time
    # A known sentence pair gives a known grade (the syllable dictionary is bundled).
    assert textstat.flesch_kincaid_grade("The cat sat on the mat. It was happy there.") < 1


@pytest.mark.parametrize("personal", [False, True])
def test_every_english_section_reads_at_grade_seven_or_below(model, personal):
    found = sections(english_handout_html(model, personal))
    assert "The most important things to know" in found and "Where to learn more" in found
    grades = {h: textstat.flesch_kincaid_grade(t) for h, t in found.items()}
    too_hard = {h: g for h, g in grades.items() if g > MAX_GRADE}
    assert not too_hard, too_hard


def test_the_measure_can_fail():
    hard = ("Tarlatamab-dlle is a bispecific delta-like ligand 3-directed CD3 T-cell engager "
            "indicated for adult patients with extensive stage small cell lung cancer with "
            "disease progression on or after platinum-based chemotherapy.")
    assert textstat.flesch_kincaid_grade(hard) > MAX_GRADE
