"""Recall at the level of a fact: what each document printed, and which recorded
documents a content change made wrong (on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io

import pytest

from handouts import content, localizer, papers
from handouts.documents import handout, poster, wallet_card
from handouts.documents.common import BuildRequest
from handouts.records import Record, docid, document_id, entries, mrn_key, recall
from handouts.records.printed import APPROVAL, CARD, LAB_SCHEDULE, PREMEDICATION, SCHEDULE, WITHHELD, Wordings
from handouts.records.recalls import CSV_COLUMNS, as_csv, as_table

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PAPER = {"handout": "letter", "wallet-card": "id1", "poster": "tabloid"}


def bump(value):
    """A different value of the same kind (a range gets a wider top)."""
    if isinstance(value, tuple):
        return (value[0], value[1] + 1)
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=40)
    if isinstance(value, (int, float)):
        return value + 1
    return value + "9"


def with_fact(model, fact_id, **update):
    return model.revised(facts={fact_id: update})


def with_item(model, list_id, index, text, card=False):
    lst = content.raw()["lists"][list_id]
    items = list(lst["items"])
    old = items[index]
    items[index] = text
    card_items = [text if c == old else c for c in lst.get("card_items", [])]
    return model.revised(lists={list_id: {"items": items, "card_items": card_items}})


def printed_text(document: str, model, patient, locale="en") -> str:
    """Everything the document's text says (its engine adds nothing from the model),
    without its document id, which names the content model as a whole."""
    paper = papers.PAPERS[PAPER[document]]
    req = BuildRequest(document, locale, paper, patient, model)
    if document == "handout":
        return docid.PATTERN.sub("<id>", handout.html(req))
    if document == "poster":
        return docid.PATTERN.sub("<id>", poster.html(req))
    L = localizer.get(locale, model)
    E = localizer.get(wallet_card.Card(locale, patient).back, model)
    return repr(wallet_card.front_static(L)) + repr(wallet_card.back_static(E, L, model))


@pytest.mark.parametrize("document", ["handout", "wallet-card", "poster"])
def test_what_a_document_printed_is_exactly_what_recall_compares(document, model, sample_patient):
    """For every fact and list of the content model: if changing it changes what the
    document says, the document's entries name it; if it does not, they do not. So a
    change recalls exactly the documents whose words it changed."""
    patient = sample_patient if document != "poster" else None
    found = entries(document, "en", model, papers.PAPERS[PAPER[document]], patient)["en"]
    base = printed_text(document, model, patient)
    missing, extra = [], []
    raw = content.raw()
    for fact_id in model.fact_ids():
        value = raw["facts"][fact_id]["value"]  # the model hands out only printable values
        value = tuple(value) if isinstance(value, list) else value
        changed = printed_text(document, with_fact(model, fact_id, value=bump(value)), patient) != base
        (missing if changed and fact_id not in found else extra if not changed and fact_id in found else []) \
            .append(fact_id)
    for list_id in model.list_ids():
        if not model.provenance(list_id).printable:
            continue
        lst = model.text_list(list_id)
        for index, item in enumerate(lst.items):
            trial = with_item(model, list_id, index, item + " (changed)")
            changed = printed_text(document, trial, patient) != base
            on_card = item in lst.card_items
            names = {list_id, list_id + CARD} if on_card else {list_id}
            if changed and not names & found:
                missing.append(f"{list_id}[{index}]")
            if not changed and list_id in found:
                extra.append(f"{list_id}[{index}]")
    assert missing == [], f"printed but not recorded: {missing}"
    assert extra == [], f"recorded but not printed: {extra}"
    assert all(e in (SCHEDULE, LAB_SCHEDULE, PREMEDICATION) or e.startswith(APPROVAL)
               or e.removesuffix(CARD) in (*model.fact_ids(), *model.list_ids()) for e in found)


def _beyond_facts_and_lists(model):
    """The records a document prints other than facts and lists, each changed the way a
    new label or a new check would change it: (entries that stand for it, changed model)."""
    lab = model.printable_lab_schedule()
    cycle, day = lab.every_dose_through
    later_labs = model.revised(lab_schedule={"every_dose_through": (cycle + 1, day), "from_cycle": lab.from_cycle + 1})
    out = [({LAB_SCHEDULE}, later_labs)]
    for region in ("CN", "TW", "HK"):
        approval = [(a.model_copy(update={"status": "approved", "since": a.checked}) if a.region == region else a)
                    .model_dump() for a in model.approval]
        out.append(({APPROVAL + region}, model.revised(approval=approval)))
    # The handout says "a steroid before, fluids after" only while the facts behind it
    # are verified; the poster prints the facts themselves.
    out.append(({PREMEDICATION, "premed_dexamethasone"},
                with_fact(model, "premed_dexamethasone", confidence="unverified")))
    return out


@pytest.mark.parametrize("locale", ["en", "zh-Hant"])
@pytest.mark.parametrize("document", ["handout", "wallet-card", "poster"])
def test_the_lab_schedule_approval_and_premedication_are_recorded_where_printed(document, locale, model,
                                                                               sample_patient):
    patient = sample_patient if document != "poster" else None
    found = entries(document, locale, model, papers.PAPERS[PAPER[document]], patient)
    recorded = {(e, code) for code, ids in found.items() for e in ids}
    base = printed_text(document, model, patient, locale)
    now = Wordings(model)
    for names, changed_model in _beyond_facts_and_lists(model):
        changed = printed_text(document, changed_model, patient, locale) != base
        hits = {(e, code) for e, code in recorded if e in names}
        assert bool(hits) == changed, (names, changed)
        later = Wordings(changed_model)
        # What recall compares differs too: a document that printed it is recalled.
        assert all(later.get(e, code).digest != now.get(e, code).digest for e, code in hits), names
    assert any(e.startswith(APPROVAL) for e, _ in recorded) == (locale != "en")


def test_a_new_approval_check_that_finds_the_same_status_recalls_nothing(model):
    # A later check (recorded, as every check date must be) that finds the same status.
    meta = model.meta.model_dump()
    check = {**meta["label_checks"][-1], "date": meta["label_checks"][-1]["date"] + dt.timedelta(days=30)}
    meta["label_checks"].append(check)
    later = [a.model_copy(update={"checked": check["date"]}).model_dump() for a in model.approval]
    sources = {sid: {**s.model_dump(), **({"last_reviewed": check["date"]} if sid in check["read"] else {})}
               for sid, s in model.sources.items()}
    changed = model.revised(approval=later, meta=meta, sources=sources)
    assert Wordings(changed).get(APPROVAL + "CN", "zh-Hans") == Wordings(model).get(APPROVAL + "CN", "zh-Hans")


def test_the_card_records_its_own_items_and_both_languages(model, sample_patient):
    zh = entries("wallet-card", "zh-Hans", model, papers.PAPERS["id1"], sample_patient)
    assert set(zh) == {"zh-Hans", "en"}  # the back speaks English to any provider
    assert "crs_signs#card" in zh["zh-Hans"] and "crs_signs" not in zh["zh-Hans"]
    also = entries("handout", "zh-Hant", model, papers.PAPERS["a4"], sample_patient, also="en")
    assert set(also) == {"zh-Hant", "en"}
    # Both parts print the same content; the Chinese part also says where it is not approved.
    assert also["zh-Hant"] - also["en"] == {"approval:CN", "approval:TW", "approval:HK"}
    assert also["en"] <= also["zh-Hant"]
    # The dated schedule is printed only with a first dose.
    blank = entries("handout", "en", model, papers.PAPERS["letter"], sample_patient.model_copy(
        update={"first_dose": None}))["en"]
    assert blank <= entries("handout", "en", model, papers.PAPERS["letter"], sample_patient)["en"]


def test_wordings_follow_the_model_and_the_catalogs(model):
    w = Wordings(model)
    en, zh = w.get("stay_near_total", "en"), w.get("stay_near_total", "zh-Hant")
    assert en.digest != zh.digest and en.text != zh.text
    value = model.fact("stay_near_total").value
    assert str(value) in en.text and str(value) in zh.text
    assert Wordings(with_fact(model, "stay_near_total", value=bump(value))).get("stay_near_total", "en").digest \
        != en.digest
    # A fact that may no longer be printed says so; a removed locale or fact too.
    unverified = Wordings(with_fact(model, "stay_near_total", confidence="unverified"))
    assert unverified.get("stay_near_total", "en").text == WITHHELD
    assert w.get("no_such_fact", "en").text.startswith("(no longer")
    assert w.get("stay_near_total", "xx-Nope").text.startswith("(this language")


# -- recall over a record ---------------------------------------------------------------

PATIENTS = {  # key -> (locale, documents, also)
    "A": ("en", ("wallet-card", "handout"), None),
    "B": ("zh-Hans", ("wallet-card",), None),
    "C": ("zh-Hant", ("handout",), "en"),
    "D": ("zh-Hant", ("wallet-card", "handout"), None),
}


def _record_all(rec, model, patient, at=T0, channel="batch"):
    rows = []
    for key, (locale, documents, also) in PATIENTS.items():
        p = patient.model_copy(update={"locale": locale})
        for doc in documents:
            rows.append(_record(rec, model, doc, locale, p, mrn_key(key, "urn:test"), at, channel, also))
    rows.append(_record(rec, model, "poster", "en", None, None, at, channel, None))  # stock on the wall
    return rows


def _record(rec, model, doc, locale, patient, key, at, channel, also):
    paper = papers.PAPERS[PAPER[doc]]
    printed = entries(doc, locale, model, paper, patient, also=also if doc == "handout" else None)
    did = document_id(doc, locale, model.meta.content_version, model.meta.label_revised, {"at": at.isoformat()})
    return rec.record_printed(document=doc, locale=locale, paper=paper.name, model=model, printed=printed,
                              document_id=str(did), channel=channel, patient_key=key, printed_at=at,
                              also=also if doc == "handout" else None)


def _who(results):
    return sorted((r.patient_key.split("|")[1] if r.patient_key else "stock", r.document) for r in results)


@pytest.fixture
def filled(record_url, model, sample_patient):
    rec = Record.open(record_url)
    _record_all(rec, model, sample_patient)
    yield rec
    rec.close()


def test_a_new_version_alone_recalls_nothing(filled, model):
    assert recall(filled, model.revised(meta={"content_version": "2099.1.0", "label_revised": dt.date(2099, 1, 1)})) \
        == []
    assert recall(filled, model) == []


def test_a_poster_only_change_recalls_no_patient(filled, model):
    changed = with_fact(model, "storage_room_max", value=bump(model.fact("storage_room_max").value))
    assert _who(recall(filled, changed)) == [("stock", "poster")]


def test_a_card_fact_recalls_each_holder_once_per_document_kind(filled, model):
    changed = with_fact(model, "crs_onset_latest", value=bump(model.fact("crs_onset_latest").value))
    results = recall(filled, changed)
    assert _who(results) == [("A", "handout"), ("A", "wallet-card"), ("B", "wallet-card"), ("C", "handout"),
                             ("D", "handout"), ("D", "wallet-card"), ("stock", "poster")]
    b = next(r for r in results if r.patient_key.endswith("|B"))
    [outdated] = b.outdated
    assert [c.entry for c in outdated.changes] == ["crs_onset_latest"] * 2
    assert [c.locale for c in outdated.changes] == ["zh-Hans", "en"]  # front, then the English back
    latest = model.fact("crs_onset_latest").value
    assert str(latest) in outdated.changes[0].printed and str(bump(latest)) in outdated.changes[0].current


def test_a_handout_list_item_recalls_handouts_not_cards(filled, model):
    lst = model.text_list("crs_signs")
    off_card = next(i for i, item in enumerate(lst.items) if item not in lst.card_items)
    on_card = next(i for i, item in enumerate(lst.items) if item in lst.card_items)
    handouts_only = recall(filled, with_item(model, "crs_signs", off_card, lst.items[off_card] + " now"))
    assert _who(handouts_only) == [("A", "handout"), ("C", "handout"), ("D", "handout")]
    both = recall(filled, with_item(model, "crs_signs", on_card, lst.items[on_card] + " now"))
    assert {d for _, d in _who(both)} == {"handout", "wallet-card"}


def test_a_translation_change_recalls_only_that_language(filled, model, monkeypatch):
    """Chinese documents print a fact in the catalog's words: a new Traditional Chinese
    wording of ranges ("22 至 24 小時") recalls the zh-Hant documents that print a range
    (the handouts; D's card prints none), and nothing in English or zh-Hans."""
    from handouts import catalogs
    real = catalogs.translations

    class Edited:
        def __init__(self, inner):
            self.inner = inner

        def gettext(self, message):
            text = self.inner.gettext(message)
            return text.replace("至", "到") if message == "%(low)s to %(high)s" else text

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(catalogs, "translations", lambda code, domain="handouts":
                        Edited(real(code, domain)) if code == "zh-Hant" else real(code, domain))
    # A fresh cache of the content's catalogs (restored after the test), as a new process has.
    monkeypatch.setattr(catalogs, "_for_content", functools.cache(catalogs._for_content.__wrapped__))
    current = model.revised()  # a new model: new localizers, which read the edited catalog
    assert _who(recall(filled, current)) == [("C", "handout"), ("D", "handout")]


def test_a_fact_no_longer_verified_recalls_what_printed_it(filled, model):
    results = recall(filled, with_fact(model, "monitor_c3_c4", confidence="unverified"))
    assert _who(results) == [("A", "handout"), ("C", "handout"), ("D", "handout"), ("stock", "poster")]
    assert results[0].outdated[0].changes[0].current == WITHHELD


def test_reprinted_documents_are_current_again(filled, model, sample_patient):
    changed = with_fact(model, "crs_onset_latest", value=bump(model.fact("crs_onset_latest").value))
    assert recall(filled, changed)
    _record_all(filled, changed, sample_patient, at=T0 + dt.timedelta(days=1), channel="recall")
    assert recall(filled, changed) == []
    assert recall(filled, model)  # the old content is now the outdated one


def test_recall_as_table_and_csv(filled, model):
    changed = with_fact(model, "fever_f", value=bump(model.fact("fever_f").value))
    results = recall(filled, changed)
    rows = list(csv.DictReader(io.StringIO(as_csv(results, names={results[0].patient_key: "Ann Example"}))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {r["fact"] for r in rows} == {"fever_f", "crs_signs", "crs_signs#card", "crs_signs_staff"}
    assert rows[0]["name"] == "Ann Example" and all(r["name"] == "" for r in rows if r["patient"] != rows[0]["patient"])
    assert {r["patient"] for r in rows} == {f"mrn:urn:test|{k}" for k in PATIENTS} | {""}
    table = as_table(results, names={results[0].patient_key: "Ann Example"})
    assert table.startswith("4 patient(s), 7 outdated document(s), 1 pile(s) of stock:")
    assert "Ann Example (mrn:urn:test|A): handout" in table and "stock (no patient): poster" in table
    assert all(len(line) <= 100 for line in table.splitlines())
    assert as_table([], {}) .startswith("No recorded document")


def test_one_patient_and_many_documents_in_one_set(record_url, model, sample_patient):
    """A thousand cards of one content version are stored as one set of wordings."""
    with Record.open(record_url) as rec:
        for i in range(30):
            _record(rec, model, "wallet-card", "en", sample_patient, mrn_key(str(i), "s"), T0, "batch", None)
        assert rec.counts()["printed_sets"] == 1
        changed = with_fact(model, "crs_onset_median", value=bump(model.fact("crs_onset_median").value))
        assert len(recall(rec, changed)) == 30


def test_reprint_plan_uses_the_clinics_patients_and_reports_the_rest(filled, model, sample_patient):
    from handouts.records.recalls import reprint_plan
    changed = with_fact(model, "crs_onset_latest", value=bump(model.fact("crs_onset_latest").value))
    results = recall(filled, changed)
    known = {"mrn:urn:test|A": sample_patient, "mrn:urn:test|D": sample_patient}
    plan, missing = reprint_plan(results, known)
    assert missing == ["mrn:urn:test|B", "mrn:urn:test|C"]
    assert sorted((p.patient_key or "stock", p.document, p.locale) for p in plan) == [
        ("mrn:urn:test|A", "handout", "en"), ("mrn:urn:test|A", "wallet-card", "en"),
        ("mrn:urn:test|D", "handout", "zh-Hant"), ("mrn:urn:test|D", "wallet-card", "zh-Hant"),
        ("stock", "poster", "en")]
    by_uid = {r.uid: r for r in filled.prints()}
    assert all(by_uid[p.replaces].document == p.document and by_uid[p.replaces].paper == p.paper for p in plan)
