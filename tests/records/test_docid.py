"""Every document prints its document id small in its footer and carries it in its PDF
metadata (keywords); the print record names the document by the same id."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pypdf import PdfReader

from handouts import papers, registry
from handouts.build import render_document, render_sheet
from handouts.documents.common import BuildRequest
from handouts.documents.wallet_card import Card, card_id
from handouts.pdftext import extract
from handouts.records import docid

from tests.helpers import LOCALES, PACKS, TODAY, pdfcheck

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
    if document == "handout":
        # The running footer of every personal page; the rest, laid out once for every
        # patient (and cached), prints none. Its first page is the one that asks what
        # the medicine is.
        from handouts.localizer import get
        pages = extract(path).split("=== page")[1:]
        heading = "".join(get(locale, model)._("What is this medicine?").split())
        start = next(i for i, page in enumerate(pages) if heading in "".join(page.split()))
        assert start >= 1 and [len(_ids_in(page)) for page in pages] == [1] * start + [0] * (len(pages) - start)
    assert pdfcheck.document_ids(path) == [expected]
    keywords = PdfReader(path).metadata["/Keywords"]
    if document == "wallet-card":  # then the sources it cites (it has no room to print them)
        assert keywords.startswith(f"{expected}; ") and len(keywords) > len(expected) + 20
    else:
        assert keywords == expected


def test_the_id_names_the_patient_the_paper_the_day_and_the_content(model, sample_patient):
    def of(**change):
        args = dict(document="handout", locale="en", medium="letter", model=model, patient=sample_patient,
                    when=TODAY) | change
        return str(docid.of(**args))
    base = of()
    assert of() == base  # two copies printed the same day share it
    other = sample_patient.model_copy(update={"phone": "+1 555 010 9999"})
    changed = model.revised(facts={"stay_near_total": {"value": model.fact("stay_near_total").value + 24}})
    variants = [of(patient=other), of(medium="a4"), of(when=TODAY + dt.timedelta(days=1)), of(model=changed),
                of(large_print=True), of(also="zh-Hans"), of(patient=None)]
    assert len({base, *variants}) == len(variants) + 1
    assert of(also="en") == base  # a second language that is the first is none


def test_ids_made_for_many_patients_are_the_id_of_each(model, sample_patient):
    """docid.Ids writes the inputs the patients share once: each id is still of()'s."""
    people = [None, sample_patient, sample_patient.model_copy(update={"name": "陳大文", "locale": "zh-Hant"}),
              sample_patient.model_copy(update={"phone": None, "first_dose": None}),
              sample_patient.model_copy(update={"name": 'Ann "Nan" O\'Neil \\ Jr.'})]
    changed = model.revised(facts={"stay_near_total": {"value": model.fact("stay_near_total").value + 24}})
    for args in (("wallet-card", "en", "id1", model), ("wallet-card", "zh-Hant", "id1", model, "zh-Hans"),
                 ("wallet-card", "zh-Hans", "business-3.5x2", model, "zh-Hans"),
                 ("wallet-card", "en", "id1", changed), ("handout", "en", "letter", model, None, True),
                 ("poster", "zh-Hans", "a3", model, "en", False, TODAY)):
        ids = docid.Ids(*args)
        assert [ids(p) for p in people] == [str(docid.of(*args[:4], p, *args[4:])) for p in people]


def test_ids_made_for_many_patients_follow_an_input_that_sorts_after_the_patient(model, sample_patient,
                                                                                 monkeypatch):
    inputs = docid._inputs
    monkeypatch.setattr(docid, "_inputs", lambda *args: inputs(*args) | {"zone": "x"})
    patched = str(docid.of("wallet-card", "en", "id1", model, sample_patient))
    assert docid.Ids("wallet-card", "en", "id1", model)(sample_patient) == patched
    monkeypatch.undo()
    assert patched != str(docid.of("wallet-card", "en", "id1", model, sample_patient))  # the input counted


def test_a_card_on_a_sheet_has_the_id_of_the_same_card_alone(model, sample_patient, tmp_path):
    people = [sample_patient.model_copy(update={"name": f"Patient {i}", "locale": loc})
              for i, loc in enumerate(["en", "zh-Hans", "zh-Hant"])]
    sheet = render_sheet("wallet-card", "en", "a4-10up", people, model)
    ids = pdfcheck.document_ids(sheet.pdf)
    alone = [card_id(Card(p.locale, p), model, "id1") for p in people]
    assert ids == alone
    single = render_document("wallet-card", "zh-Hans", papers.PAPERS["id1"], people[1], model)
    assert pdfcheck.document_ids(single.pdf) == [alone[1]]
    # On a business-card stock the card is laid out anew: its own id.
    avery = render_sheet("wallet-card", "en", "avery-8371", people[:1], model)
    assert pdfcheck.document_ids(avery.pdf) == [card_id(Card("en", people[0]), model, "business-3.5x2")]


def test_sheets_in_one_session_print_the_ids_of_their_own_cards(model, sample_patient, tmp_path):
    """A session computes a card's id once, for the check and the sheet: a sheet of the
    same patients in another card size, content or back language in that session prints
    and names its own ids, each the id of the card alone."""
    from handouts.session import RenderSession
    people = [sample_patient.model_copy(update={"name": f"Patient {i}", "locale": loc})
              for i, loc in enumerate(["en", "zh-Hans", "zh-Hant"])]
    changed = model.revised(facts={"stay_near_total": {"value": model.fact("stay_near_total").value + 24}})
    seen = set()
    with RenderSession():
        for m, sheet, fmt, also in ((model, "a4-10up", "id1", None), (changed, "a4-10up", "id1", None),
                                    (model, "avery-8371", "business-3.5x2", None),
                                    (model, "a4-10up", "id1", "zh-Hans"), (model, "a4-10up", "id1", None)):
            alone = [card_id(Card(p.locale, p, also=also), m, fmt) for p in people]
            pdf = tmp_path / f"{len(seen)}.pdf"
            pdf.write_bytes(render_sheet("wallet-card", "en", sheet, people, m, also=also).pdf)
            assert pdfcheck.document_ids(pdf) == alone
            assert sorted(_ids_in(extract(pdf))) == sorted(alone)  # printed on the backs
            seen.add(tuple(alone))
    assert len(seen) == 4  # the last sheet repeats the first


def test_a_chinese_card_with_an_english_back_is_the_default_card(model, sample_patient):
    p = sample_patient.model_copy(update={"locale": "zh-Hant"})
    assert card_id(Card("zh-Hant", p, also="en"), model, "id1") == card_id(Card("zh-Hant", p), model, "id1")
    assert card_id(Card("zh-Hant", p, also="zh-Hans"), model, "id1") != card_id(Card("zh-Hant", p), model, "id1")


def test_ids_are_read_back_as_typed():
    text = "W-zh-Hans-2026.12.0-2511-7KQ2M9XD"
    assert str(docid.parse(text)) == text
    assert str(docid.parse(" w-zh-Hans-2026.12.0-2511-7kq2m9xd ")) == text
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", docid.parse(text).digest)


@pytest.mark.parametrize("back", LOCALES)
def test_the_cards_last_lines_fit_on_any_day_with_any_id(back, model):
    """The back's last lines (clinic-made, print date, the card's id) are laid out per
    card: they must fit their two lines of 7 pt on every day of a year, with the widest
    digest, on each card format, also for a maker with a long name (the fictional pack)."""

    from handouts import cardlayout, content, localizer
    from handouts.documents import wallet_card
    from handouts.session import RenderSession
    fictional = content.load(PACKS / "quorvatamab")
    days = [dt.date(2028, 1, 1) + dt.timedelta(days=k) for k in range(366)]
    with RenderSession():
        for pack in (model, fictional):
            E = localizer.get(back, pack)
            widest = f"W-{back}-{pack.meta.content_version}-2511-MWMWMWMW"
            for fmt in ("id1", "business-3.5x2"):
                card = cardlayout.geometry(wallet_card.LAYOUT).card(fmt)
                for day in days:
                    notes = {"notes": wallet_card.card_notes(E, day, widest)}
                    wallet_card._fit_zones("back", card, notes, wallet_card.families(back), back)
