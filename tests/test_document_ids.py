"""Every document prints its document id small in its footer and carries it in its PDF
metadata (keywords); the print record names the document by the same id."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from handouts import papers, registry
from handouts.build import render_document, render_sheet
from handouts.documents.common import BuildRequest
from handouts.documents.wallet_card import Card, card_id
from handouts.pdftext import extract
from handouts.records import docid

from conftest import LOCALES, TODAY

PAPER = {"handout": "letter", "wallet-card": "id1", "poster": "tabloid"}


def _ids_in(text: str) -> list[str]:
    return [m.group(0) for m in docid.PATTERN.finditer(" ".join(text.split()))]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("document", ["handout", "wallet-card", "poster"])
def test_every_document_prints_its_id_and_keeps_it_in_its_metadata(document, locale, renders, model, sample_patient):
    personal = document != "poster"
    path = renders.get(document, locale, PAPER[document], personal=personal)
    spec = registry.get(document)
    patient = sample_patient if personal else None  # as the session's renders print it
    expected = spec.document_id(BuildRequest(document, locale, papers.PAPERS[PAPER[document]], patient, model))
    parsed = docid.parse(expected)
    assert parsed is not None and (parsed.document, parsed.locale) == (document, locale)
    assert parsed.content_version == model.meta.content_version
    found = _ids_in(extract(path))
    assert found and set(found) == {expected}, found
    if document == "handout":  # the running footer: on every page
        assert len(found) == len(PdfReader(path).pages), found
    assert PdfReader(path).metadata["/Keywords"] == expected


def test_the_id_names_the_patient_the_paper_the_day_and_the_content(model, sample_patient):
    def of(**change):
        args = dict(document="handout", locale="en", medium="letter", model=model, patient=sample_patient,
                    when=TODAY) | change
        return str(docid.of(**args))
    base = of()
    assert of() == base  # two copies printed the same day share it
    other = sample_patient.model_copy(update={"phone": "+1 555 010 9999"})
    facts = dict(model.facts)
    facts["stay_near_total"] = facts["stay_near_total"].model_copy(update={"value": 72})
    changed = model.model_copy(update={"facts": facts})
    variants = [of(patient=other), of(medium="a4"), of(when=TODAY + dt.timedelta(days=1)), of(model=changed),
                of(large_print=True), of(also="zh-Hans"), of(patient=None)]
    assert len({base, *variants}) == len(variants) + 1
    assert of(also="en") == base  # a second language that is the first is none


def test_a_card_on_a_sheet_has_the_id_of_the_same_card_alone(model, sample_patient, tmp_path):
    people = [sample_patient.model_copy(update={"name": f"Patient {i}", "locale": loc})
              for i, loc in enumerate(["en", "zh-Hans", "zh-Hant"])]
    sheet = render_sheet("wallet-card", "en", "a4-10up", people, model)
    ids = PdfReader(io.BytesIO(sheet.pdf)).metadata["/Keywords"].split(", ")
    alone = [card_id(Card(p.locale, p), model, "id1") for p in people]
    assert ids == alone
    single = render_document("wallet-card", "zh-Hans", papers.PAPERS["id1"], people[1], model)
    assert PdfReader(io.BytesIO(single.pdf)).metadata["/Keywords"] == alone[1]
    # On a business-card stock the card is laid out anew: its own id.
    avery = render_sheet("wallet-card", "en", "avery-8371", people[:1], model)
    assert PdfReader(io.BytesIO(avery.pdf)).metadata["/Keywords"] \
        == card_id(Card("en", people[0]), model, "business-3.5x2")


def test_a_chinese_card_with_an_english_back_is_the_default_card(model, sample_patient):
    p = sample_patient.model_copy(update={"locale": "zh-Hant"})
    assert card_id(Card("zh-Hant", p, also="en"), model, "id1") == card_id(Card("zh-Hant", p), model, "id1")
    assert card_id(Card("zh-Hant", p, also="zh-Hans"), model, "id1") != card_id(Card("zh-Hant", p), model, "id1")


def test_ids_are_read_back_as_typed():
    text = "W-zh-Hans-2026.12.0-2511-7KQ2M9XD"
    assert str(docid.parse(text)) == text
    assert str(docid.parse(" w-zh-Hans-2026.12.0-2511-7kq2m9xd ")) == text
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", docid.parse(text).digest)
