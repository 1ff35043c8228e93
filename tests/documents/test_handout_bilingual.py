"""Bilingual handout: `--locale X --also Y` prints the patient's language and
then the other one on the same set of sheets, each part in an element with its own lang.
WeasyPrint writes only the document's /Lang (the first locale): it does not carry an
element's lang into the PDF structure tree, so the parts are tagged in the HTML only."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.helpers import LOCALES, pdfcheck

PAIRS = [(a, b) for a, b in itertools.permutations(LOCALES, 2)]


@pytest.mark.parametrize("locale,also", PAIRS)
def test_each_part_has_its_own_language(model, sample_patient, locale, also):
    from handouts import locales, papers, registry
    from handouts.documents import handout
    from handouts.documents.common import BuildRequest
    from handouts.localizer import get
    req = BuildRequest("handout", locale, papers.get("a4", registry.get("handout").papers), sample_patient,
                       model, also=also)
    html = handout.bilingual_html(req)
    parts = re.findall(r'<div class="part[^"]*" lang="([^"]+)">', html)
    assert parts == [locales.get(locale).html_lang, locales.get(also).html_lang]
    first, second = html.split('<div class="part also"', 1)
    assert get(locale, model)._("What is this medicine?") in first
    assert get(also, model)._("What is this medicine?") in second
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids must stay unique"


@pytest.mark.parametrize("locale,also", [("zh-Hant", "en"), ("en", "zh-Hans")])
def test_build_puts_both_languages_on_the_sheets(model, sample_patient, tmp_path, locale, also):
    from handouts.build import build
    from handouts import registry
    from handouts.localizer import get
    built = build("handout", locale, "a4", sample_patient, tmp_path, model, also=also)
    assert built.path.name.endswith(f"+{also}.pdf")
    text = pdfcheck.text(built.path)
    pages = text.split("=== page ")[1:]
    spec = registry.get("handout")
    assert 2 <= built.pages <= spec.page_budget[1] * spec.bilingual_factor
    heading = get(also, model).name("heading")
    starts = [i for i, p in enumerate(pages) if heading in p.split("\n", 2)[1]]
    assert starts and starts[0] > 0, "the second language starts on a page of its own"
    assert get(locale, model)._("What is this medicine?") in "".join(pages[:starts[0]])
    from handouts import locales
    assert str(pdfcheck.catalog(built.path)["/Lang"]) == locales.get(locale).html_lang


def test_only_the_handout_is_bilingual(tmp_path, model):
    from handouts.build import build
    from handouts.errors import HandoutsError
    with pytest.raises(HandoutsError, match="--also") as err:
        build("poster", "en", None, None, tmp_path, model, also="zh-Hans")
    assert err.value.field == "also"
    with pytest.raises(HandoutsError, match="^also: unknown locale") as err:
        build("handout", "en", None, None, tmp_path, model, also="fr")
    assert not list(tmp_path.iterdir())
