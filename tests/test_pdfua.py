"""PDF/UA-1 checker in CI: the handout and the poster pass outloud, a free,
offline PDF/UA-1 checker from PyPI (Matterhorn Protocol checkpoints plus semantic checks
that a validator cannot make; Apache-2.0, reads the file with pikepdf and PyMuPDF).

veraPDF itself is Java and not packaged on PyPI, npm or Debian; `pdfua` (PyPI) was read
and tried too: its table rule looks for /Headers on header cells instead of data cells,
and its heading rule crashes on current pikepdf, so it would neither have caught the
contact table's missing row headers nor checked headings.

No error may appear. A warning may appear only if it is listed in ACCEPTED with the reason
it cannot be fixed in the layouts; any other finding, or a rule that crashed, fails."""

from __future__ import annotations

import pytest

from tests.helpers import LOCALES
from tests.helpers.pdfua import assert_conforms, findings

@pytest.fixture(scope="module")
def builds(model, sample_patient, tmp_path_factory):
    from handouts.build import build
    out = tmp_path_factory.mktemp("pdfua")

    def make(document, locale, paper, personal=True, **options):
        key = (document, locale, paper, personal, tuple(sorted(options.items())))
        if key not in cache:
            folder = out / "-".join(str(k) for k in key).replace(" ", "").replace("'", "")
            cache[key] = build(document, locale, paper, sample_patient if personal else None, folder,
                               model, **options).path
        return cache[key]

    cache: dict = {}
    return make


@pytest.mark.parametrize("large_print", [False, True], ids=["regular", "large-print"])
@pytest.mark.parametrize("locale", LOCALES)
def test_handout(builds, locale, large_print):
    assert_conforms(builds("handout", locale, "letter", large_print=large_print))


@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant"])
def test_bilingual_handout(builds, locale):
    assert_conforms(builds("handout", locale, "letter", also="en"))


def test_handout_without_patient(builds):
    """The blank handout (write-in lines instead of the patient's details)."""
    assert_conforms(builds("handout", "en", "letter", personal=False))


@pytest.mark.parametrize("locale", LOCALES)
def test_poster(renders, locale):
    from handouts import registry
    assert_conforms(renders.get("poster", locale, registry.get("poster").papers[0]))


# ------------------------------------------------------------------ the check can fail

def _handout_pdf(tmp_path, model, patient, edit=lambda html: html, tagged=True):
    """The real handout, its HTML edited, rendered the way documents.handout renders it."""
    from handouts import papers, paths, registry
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    from handouts.engines import weasy
    from handouts.localizer import get as get_localizer
    req = BuildRequest("handout", "en", papers.get("letter", registry.get("handout").papers), patient, model)
    layout = paths.layouts_dir() / handout.LAYOUT
    rendered = weasy.render(edit(handout.html(req)), layout, tuple(get_localizer("en", model).spec.fonts),
                            [weasy.stylesheet(layout / n) for n in handout.STYLESHEETS], tagged=tagged)
    path = tmp_path / "handout.pdf"
    path.write_bytes(rendered.pdf)
    return path


def test_an_untagged_handout_fails(tmp_path, model, sample_patient):
    path = _handout_pdf(tmp_path, model, sample_patient, tagged=False)
    _, found = findings(path)
    assert ("DOC-002", "error") in {f[:2] for f in found}, found
    with pytest.raises(AssertionError):
        assert_conforms(path)


def test_contact_table_without_row_headers_fails(tmp_path, model, sample_patient):
    """The care-team table's <th> are row headers (scope="row"); without the scope,
    WeasyPrint ties no data cell to them and the checker reports an error."""
    marker = '<th scope="row">'
    path = _handout_pdf(tmp_path, model, sample_patient, edit=lambda html: html.replace(marker, "<th>"))
    _, found = findings(path)
    assert ("TBL-002", "error") in {f[:2] for f in found}, found
    assert marker in _handout_html(model, sample_patient)


def _handout_html(model, patient):
    from handouts import papers, registry
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    return handout.html(BuildRequest("handout", "en", papers.get("letter", registry.get("handout").papers),
                                     patient, model))


def test_a_finding_outside_the_accepted_list_fails(tmp_path, model, sample_patient):
    """A poster-style inline list with stray whitespace puts a /Span inside the /L: an
    error (LST-003), which assert_conforms does not accept."""
    def stray(html):
        return html.replace("</li></ul>", "</li> <span>x</span></ul>", 1)
    path = _handout_pdf(tmp_path, model, sample_patient, edit=stray)
    _, found = findings(path)
    assert any(f[0].startswith("LST") and f[1] == "error" for f in found), found
    with pytest.raises(AssertionError):
        assert_conforms(path)
