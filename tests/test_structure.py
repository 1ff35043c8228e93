"""Tagged structure of the handout and the poster, read from the PDF structure
tree with pypdf: headings in document order, lists as lists, the schedule as a table
with header cells, the QR code as a figure with alt text, language and title."""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from tests.helpers import LOCALES


def tree(path):
    """(tag, element) in document order, depth first."""
    reader = PdfReader(str(path))
    out = []

    def walk(node):
        node = node.get_object()
        if not isinstance(node, dict):
            return
        if "/S" in node:
            out.append((str(node["/S"]), node))
        kids = node.get("/K")
        if kids is None:
            return
        for kid in kids if isinstance(kids, list) else [kids]:
            try:
                walk(kid)
            except AttributeError:  # a marked-content id, not an element
                pass

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return reader, out


def children(element, tag=None):
    kids = element.get("/K")
    kids = kids if isinstance(kids, list) else [kids] if kids is not None else []
    out = []
    for k in kids:
        try:
            k = k.get_object()
        except AttributeError:
            continue
        if isinstance(k, dict) and "/S" in k and (tag is None or str(k["/S"]) == tag):
            out.append(k)
    return out


def html_of(document, locale, model, patient):
    from handouts import papers, registry
    from handouts.documents import handout, poster
    from handouts.documents.common import BuildRequest
    spec = registry.get(document)
    module = {"handout": handout, "poster": poster}[document]
    return module.html(BuildRequest(document, locale, papers.get(spec.papers[0], spec.papers), patient, model))


CASES = [("handout", loc) for loc in LOCALES] + [("poster", loc) for loc in LOCALES]


def rendered(renders, document, locale):
    from handouts import registry
    paper = registry.get(document).papers[0] if document == "poster" else "letter"
    return renders.get(document, locale, paper, personal=document == "handout")


@pytest.mark.parametrize("document,locale", CASES)
def test_headings_in_order(renders, model, sample_patient, document, locale):
    _, elements = tree(rendered(renders, document, locale))
    levels = [int(t[2]) for t, _ in elements if re.fullmatch(r"/H[1-6]", t)]
    html = html_of(document, locale, model, sample_patient if document == "handout" else None)
    expected = [int(n) for n in re.findall(r"<h([1-6])\b", html)]
    assert levels == expected
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels  # no skipped level


@pytest.mark.parametrize("document,locale", CASES)
def test_lists_are_lists(renders, model, sample_patient, document, locale):
    _, elements = tree(rendered(renders, document, locale))
    lists = [e for t, e in elements if t == "/L"]
    html = html_of(document, locale, model, sample_patient if document == "handout" else None)
    # Every <ul> is a list (the poster's timeline steps may add list-like groups).
    assert len(lists) >= len(re.findall(r"<ul\b", html)) > 0
    if document == "handout":
        assert len(lists) == len(re.findall(r"<ul\b", html))
    for lst in lists:
        items = children(lst, "/LI")
        assert items and all(children(li, "/LBody") for li in items)


@pytest.mark.parametrize("locale", LOCALES)
def test_schedule_is_a_table_with_header_cells(renders, locale):
    _, elements = tree(rendered(renders, "handout", locale))
    tables = [e for t, e in elements if t == "/Table"]
    assert len(tables) == 3  # care-team contacts, personal schedule (the personal part), step-up schedule
    schedule = tables[2]
    head = children(schedule, "/THead")
    assert head, "the schedule has a header row"
    header_cells = [c for row in children(head[0], "/TR") for c in children(row, "/TH")]
    assert len(header_cells) == 3  # When, Dose, After the infusion
    body_rows = [r for b in children(schedule, "/TBody") for r in children(b, "/TR")]
    assert len(body_rows) >= 4 and all(children(r, "/TD") for r in body_rows)


@pytest.mark.parametrize("document,locale", CASES)
def test_qr_figure_language_and_title(renders, model, document, locale):
    from handouts import locales
    reader, elements = tree(rendered(renders, document, locale))
    figures = [e for t, e in elements if t == "/Figure"]
    # The handout's code opens the NCI page; the poster adds the label on DailyMed for staff.
    urls = [model.meta.nci_url] + ([model.meta.dailymed_url] if document == "poster" else [])
    assert len(figures) == len(urls)
    for figure, url in zip(figures, urls, strict=True):
        assert url in str(figure.get("/Alt", ""))
    root = reader.trailer["/Root"]
    assert str(root["/Lang"]) == locales.get(locale).html_lang
    assert bool(root["/MarkInfo"]["/Marked"])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert str(reader.metadata["/Title"]).strip()
