"""The content model: the safety rules hold for the shipped data and for bad data."""

from __future__ import annotations

import re

import pytest

from tests.helpers import weakened
from handouts import content, paths
from handouts.content import UnverifiedFact


def test_shipped_model_loads(model):
    assert model.meta.brand == "IMDELLTRA"
    assert model.meta.label_revised.isoformat() == "2025-11-19"


def _with(model, **confidences):
    return weakened(model, **confidences)


@pytest.mark.parametrize("fact_id", ["contraception_after", "premed_dexamethasone", "premed_within",
                                     "posthydration_saline", "posthydration_duration", "restart_after_c1d15_on"])
def test_facts_verified_in_the_2025_label_print_and_others_are_refused(model, fact_id):
    """The 11/2025 label wording (fact sheet 9, S17) verified these; marked anything less
    they are refused, and a layout must point to the prescribing information instead."""
    fact = model.fact(fact_id)
    assert fact.confidence == "label-verbatim" and "S17" in fact.sources and fact.label_revision == "11/2025"
    for weaker in ("secondary", "unverified"):
        weak = _with(model, **{fact_id: weaker})
        assert not weak.is_printable(fact_id)
        with pytest.raises(UnverifiedFact):
            weak.fact(fact_id)


@pytest.mark.parametrize("list_id", ["icans_signs", "driving", "emergency_signs", "labs"])
def test_unverified_list_is_refused(model, list_id):
    with pytest.raises(UnverifiedFact):
        _with(model, **{list_id: "secondary"}).text_list(list_id)


def test_every_fact_names_known_sources(model):
    for fid in model.fact_ids():
        fact = model.provenance(fid)
        assert fact.sources and all(s in model.sources for s in fact.sources), fid
        assert fact.label_revision, fid




@pytest.mark.parametrize("match, edit", [
    ("unknown source", lambda d: d["facts"]["dose_target"].update(sources=["NOPE"])),
    ("must be a placeholder", lambda d: d["lists"]["crs_signs"]["items"].append("Fever over 38 degrees")),
    # Only %(fact)s names a fact: a number in {38} or beside a bare %s would print as it is.
    ("not %s or", lambda d: d["lists"]["crs_signs"]["items"].append("Fever over {38} degrees")),
    ("not %s or", lambda d: d["lists"]["crs_signs"]["items"].append("Fever over %s degrees")),
    ("dose_target.confidence", lambda d: d["facts"]["dose_target"].update(confidence="probably")),
])
def test_model_rejects_bad_data(model, match, edit):
    data = content.raw()
    edit(data)
    with pytest.raises(Exception, match=re.escape(match)):
        content.from_data(data)


def test_schedule_rows_match_label_table_1(model):
    rows = [(r.cycles, r.days, model.fact(r.dose).value, model.fact(r.monitoring).value)
            for r in model.printable_schedule()]
    assert rows == [
        ((1, 1), [1], 1, (22, 24)), ((1, 1), [8], 10, (22, 24)), ((1, 1), [15], 10, (6, 8)),
        ((2, 2), [1, 15], 10, (6, 8)), ((3, 4), [1, 15], 10, (3, 4)), ((5, None), [1, 15], 10, 2),
    ]


def test_no_template_spells_a_number():
    """Visible template text is in _() or trans blocks; no digit may appear in either."""
    for tpl in paths.layouts_dir().rglob("*.html"):
        src = tpl.read_text(encoding="utf-8")
        for m in re.finditer(r"_\('((?:[^'\\]|\\.)*)'|\{% trans[^%]*%\}(.*?)\{% endtrans %\}", src, re.S):
            msg = re.sub(r"\{\{[^}]*\}\}", "", m.group(1) or m.group(2) or "")
            assert not re.search(r"\d", msg), f"{tpl.name}: digit in {msg!r}"
        visible = re.sub(r"<style.*?</style>|\{[{%#].*?[}%#]\}|<[^>]+>", "", src, flags=re.S)
        assert not re.search(r"\d", visible), f"{tpl.name}: digit outside placeholders"


def test_overdue_sources_are_reported(model):
    import datetime as dt
    assert model.overdue_sources(dt.date(2026, 12, 4)) == []        # a fresh clone warns of nothing
    overdue = dict(model.overdue_sources(dt.date(2027, 3, 7)))
    assert "S16" in overdue  # NCI page reviewed 2026-12-04, quarterly
    assert "S1" not in overdue


# ------------------------------------------------------------------- presentation

def test_medical_structure_lives_in_the_model(model):
    """Restart rows, the timeline split, the cycles a schedule shows, the stay-near doses
    and the NCI source come from the data file, not from document code."""
    assert [(r.cycle, r.day, r.or_later) for r in model.restart] == [(1, 1, False), (1, 8, False), (1, 15, True)]
    # The third row (PI 2.4, 11/2025) is verified now: it has its rule and threshold.
    assert model.restart[2].rule == "restart_rule_c1d15" and model.fact(model.restart[2].threshold).value == 28
    assert model.presentation.schedule_cycles_shown >= 1
    assert [(r.cycles, r.days) for r in model.stay_near_rows()] == [((1, 1), [1]), ((1, 1), [8])]
    assert model.sources[model.meta.nci_source].url.rstrip("/").endswith("tarlatamab-dlle")


def test_documents_follow_the_models_structure(model, monkeypatch):
    """Change the structure in the data (the NCI source, the restart rows, the cycles a
    personal schedule shows, the stay-near doses, the label's site, the emergency number)
    and the documents print the change: nothing of it is written in document code."""
    import dataclasses
    import datetime as dt

    from handouts import locales, papers
    from handouts.documents import handout, poster
    from handouts.documents.common import BuildRequest
    from handouts.patient import Patient
    data = content.raw()
    data["meta"]["nci_source"] = "S1"
    data["meta"]["dailymed_site"] = "labels.example.org"
    data["presentation"]["schedule_cycles_shown"] = 2
    data["restart"] = data["restart"][:2]
    data["schedule"][2]["stay_near"] = True  # Cycle 1 Day 15 too
    changed = content.from_data(data)
    spec = locales.get("en")
    moved = spec.model_copy(update={"emergency": [locales.EmergencyNumber(region="Test", number="555")]})
    monkeypatch.setattr(locales, "get", lambda code, field="locale": moved if code == "en" else spec)
    patient = Patient(first_dose=dt.date(2026, 12, 1))
    req = BuildRequest("handout", "en", papers.PAPERS["letter"], patient, changed)
    sheet = handout.html(req).replace("\u00a0", " ")
    wall = poster.html(dataclasses.replace(req, document="poster", paper=papers.PAPERS["tabloid"],
                                           patient=None)).replace("\u00a0", " ")
    assert changed.sources["S1"].citation in sheet and changed.sources["S1"].citation in wall
    assert "labels.example.org" in sheet and "labels.example.org" in wall
    assert "Call 555" in sheet and "Call 555" in wall and "911" not in sheet
    assert "Cycle 1, Days 1, 8, and 15" in sheet  # the stay-near doses, named together
    assert "Cycle 2, Day 15" in sheet and "Cycle 3, Day 1" not in sheet  # two cycles shown
    assert wall.count("Last dose:") == 2


def test_model_rejects_unknown_restart_reference(model):
    data = content.raw()
    data["restart"][0]["threshold"] = "no_such_fact"
    with pytest.raises(Exception, match="no_such_fact"):
        content.from_data(data)


def test_localizer_records_what_it_hands_out(model):
    from handouts.localizer import get
    L = get("en", model)
    with L.tracking() as printed:
        L.q("dose_target")
        L.items("storage")
        with L.tracking() as inner:
            L.q("fever_f")
        L.schedule()
    assert inner == {"fever_f"}
    assert {"dose_target", "storage", "storage_fridge_c", "fever_f", "schedule"} <= printed
    L.q("cycle_length")  # outside a tracking block: not recorded anywhere
    assert "cycle_length" not in printed


@pytest.mark.parametrize("document", ["handout", "poster"])
def test_citations_come_from_the_printed_facts(model, document):
    """Every source of every record the render handed out is cited on the page."""
    from handouts import papers, registry
    from handouts.documents import handout, poster
    from handouts.documents.common import BuildRequest
    from handouts.localizer import get
    spec = registry.get(document)
    module = {"handout": handout, "poster": poster}[document]
    req = BuildRequest(document, "en", papers.get(spec.papers[0], spec.papers),
                       spec.sample_patient() if document == "handout" else None, model)
    from handouts.session import RenderSession
    with RenderSession():  # the render's localizer is the session's
        L = get("en", model)
        with L.tracking() as printed:
            html = module.html(req)
    assert len(printed) >= 15, printed
    for source in model.sources_for(sorted(printed)):
        assert source.citation in html, (source.citation, document)
    assert model.sources[model.meta.nci_source].citation in html
    # A source none of the printed facts rests on is not cited.
    assert model.sources["S22"].citation not in html


@pytest.mark.parametrize("code", ["zh-Hans", "zh-Hant"])
def test_regional_terms_are_locale_data_and_the_catalog_follows_them(code):
    """locales/<dir>/locale.toml [regional] names the terms; the catalog uses each and
    none of the words it must avoid (zh-Hant: Taiwan usage, not converted mainland text)."""
    from handouts import catalogs, locales
    spec = locales.get(code)
    regional = spec.regional
    text = catalogs.all_text(code)
    for key in ("prescribing_information", "us_prescribing_information", "crs", "icans", "drug"):
        assert regional[key] in text, (key, regional[key])
    for key, term in regional.items():  # every term the locale names (zh-Hant: 前置用藥 too)
        if isinstance(term, str):
            assert term in text, (key, term)
    for word in regional["avoid"]:
        assert word not in text, word
    # The regions whose approval status the documents state, from the content model's records.
    assert set(spec.approval_regions) == {"CN", "TW", "HK"}


def test_taiwan_terms_differ_from_the_character_conversion():
    from handouts import locales
    hant = locales.get("zh-Hant").regional
    assert hant["crs"] == "細胞激素釋放症候群" and hant["prescribing_information"] == "仿單"
    assert hant["drug"].startswith("tarlatamab")  # English generic name first, Chinese as gloss
    assert locales.get("zh-Hans").regional["prescribing_information"] == "说明书"


@pytest.mark.parametrize("code", ["zh-Hans", "zh-Hant"])
def test_one_unit_style_per_locale(model, code):
    from handouts.localizer import get
    L = get(code, model)
    doses = [L.q(f) for f in ("dose_target", "infusion_volume", "infusion_rate")]
    latin = [any(u in d for u in ("mg", "mL")) for d in doses]
    assert all(latin) or not any(latin), doses


@pytest.mark.parametrize("cycles", ["[4, 3]", "[0, 1]"])
def test_schedule_cycles_out_of_order_are_one_error_naming_the_row(tmp_path, cycles):
    """[first, last] with first <= last, or [first, 0] for every later cycle; anything
    else is refused with the row's key, as one line."""
    from handouts.errors import HandoutsError
    text = paths.content_file().read_text(encoding="utf-8")
    assert text.count("cycles = [3, 4]") == 1
    bad = tmp_path / "model.toml"
    bad.write_text(text.replace("cycles = [3, 4]", f"cycles = {cycles}"), encoding="utf-8")
    with pytest.raises(HandoutsError) as exc:
        content.load(bad)
    assert exc.value.field == "model.toml: schedule.4.cycles", exc.value.one_line()
    assert exc.value.message.startswith("cycles are [first, last]")



# ------------------------------------------------------------- provenance is a record

def _load_edited(tmp_path, old: str, new: str, count: int = 1):
    text = paths.content_file().read_text(encoding="utf-8")
    assert text.count(old) == count, old
    bad = tmp_path / "model.toml"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    return content.load(bad)


def test_a_check_date_comes_only_from_a_recorded_comparison(model):
    """The latest recorded comparison is the fact sheet's 2026-12-04 check against
    stored copies of the 11/2025 label; 2026-09-15 (an unverified headline) is no check."""
    check = model.meta.last_check
    assert check.date.isoformat() == "2026-12-04" and check.label_revision == "11/2025"
    assert "S17" in check.read and "live DailyMed not reached" in check.means
    assert model.meta.label_checked == check.date
    assert all(c.date.isoformat() != "2026-09-15" for c in model.meta.label_checks)
    assert all(s.last_reviewed is None or s.last_reviewed.isoformat() != "2026-09-15"
               for s in model.sources.values())


def test_a_bare_check_date_is_refused(tmp_path):
    from handouts.errors import HandoutsError
    with pytest.raises(HandoutsError, match="label_checks"):
        _load_edited(tmp_path, 'label_check_frequency = "quarterly"',
                     'label_checked = 2026-12-04\nlabel_check_frequency = "quarterly"')


@pytest.mark.parametrize("field", ["compared", "means", "result", "record"])
def test_a_check_record_without_what_how_or_result_is_refused(tmp_path, model, field):
    data = content.raw()
    data["meta"]["label_checks"][-1][field] = ""
    with pytest.raises(Exception, match=field):
        content.from_data(data)


def test_the_printed_check_line_names_the_revision_compared(model):
    from handouts.documents.common import label_check_line
    from handouts.localizer import get
    line = label_check_line(get("en", model), model).replace("\u00a0", " ")
    assert line == ("On December 4, 2026, these facts were compared with copies of the U.S. prescribing "
                    "information revised November 2025.")
    assert "2026年12月4日" in label_check_line(get("zh-Hans", model), model)
    assert "2025年11月" in label_check_line(get("zh-Hant", model), model)


def test_a_source_review_date_needs_a_recorded_check_that_read_it(tmp_path, model):
    """No source claims a review that no recorded check made: S7 was not read by one."""
    assert model.sources["S7"].last_reviewed is None
    assert model.sources["S17"].last_reviewed.isoformat() == "2026-12-04"
    assert model.sources["S3"].last_reviewed.isoformat() == "2026-11-23"
    data = content.raw()
    data["sources"]["S7"]["last_reviewed"] = "2026-12-04"
    with pytest.raises(Exception, match="sources.S7.last_reviewed"):
        content.from_data(data)
    # A check that read a source leaves its date stale no more.
    data = content.raw()
    data["sources"]["S17"]["last_reviewed"] = "2026-11-23"
    with pytest.raises(Exception, match="sources.S17.last_reviewed"):
        content.from_data(data)
    # The NCI page's date is that of a recorded review of what the documents take from it.
    [review] = [r for r in model.meta.source_reviews if r.source == "S16"]
    assert model.sources["S16"].last_reviewed == review.date and not model.sources["S16"].review_record
    assert "nci_url" in review.compared and "sources/002" in review.read and "Accelerated Approval" in review.result
    assert "live" in review.means                                    # says what it did not read
    # A review date with no record of the review is refused; so is a review of no source.
    data = content.raw()
    data["meta"]["source_reviews"] = []
    with pytest.raises(Exception, match="sources.S16.last_reviewed"):
        content.from_data(data)
    data = content.raw()
    data["meta"]["source_reviews"][0]["source"] = "S99"
    with pytest.raises(Exception, match="unknown source 'S99'"):
        content.from_data(data)
    data = content.raw()
    data["meta"]["source_reviews"][0]["result"] = ""
    with pytest.raises(Exception, match="result"):
        content.from_data(data)


# ------------------------------------------------------- patient-education symptom words

def test_patient_education_words_print_cited(model):
    from handouts.localizer import get
    for lid in ("infection_signs", "liver_signs"):
        lst = model.text_list(lid)
        assert lst.confidence == "patient-education" and model.is_printable(lid)
        assert {model.sources[s].source_type for s in lst.sources} == {"patient_education"}
    L = get("en", model)
    with L.tracking() as printed:
        L.items("infection_signs")
    assert {s.citation for s in model.sources_for(printed)} == {model.sources["S18"].citation,
                                                               model.sources["S20"].citation}
    # The fact sheet attributes these lists to S18 and S20 only (9.3, 9.5): no NCI, no MedlinePlus.
    assert model.provenance("liver_signs").sources == ["S20"]


@pytest.mark.parametrize("item", ["fever over %(fever_f)s", "fever over 38 degrees", "pain for two days",
                                  "a cough that lasts a week"])
def test_patient_education_words_never_carry_a_number(model, item):
    data = content.raw()
    data["lists"]["infection_signs"]["items"].append(item)
    with pytest.raises(Exception, match="never a number|must be a placeholder"):
        content.from_data(data)


def test_patient_education_is_refused_on_a_fact_and_without_a_patient_page(model):
    data = content.raw()
    data["facts"]["fever_c"]["confidence"] = "patient-education"
    with pytest.raises(Exception, match="symptom words only"):
        content.from_data(data)
    data = content.raw()
    data["lists"]["liver_signs"]["sources"] = ["S9"]
    with pytest.raises(Exception, match="patient-education source"):
        content.from_data(data)


def test_label_derived_signs_are_not_patient_education(model):
    """ICANS, allergy and bleeding signs rest on the label (9.1, 9.6, 3.3)."""
    for lid in ("icans_signs", "allergy_signs", "bleeding_signs", "driving", "emergency_signs"):
        assert model.text_list(lid).confidence in ("label-verbatim", "label-derived"), lid


# ------------------------------------------------------------------ approval by region

def test_approval_by_region_is_data_with_its_check(model):
    got = {a.region: a.status for a in model.approval}
    assert got == {"US": "approved", "JP": "approved", "GB": "approved", "EU": "approved",
                   "CN": "application-accepted", "TW": "none-found", "HK": "none-found"}
    assert {a.checked.isoformat() for a in model.approval} == {"2026-12-04"}
    data = content.raw()
    data["approval"][4]["checked"] = "2026-12-05"  # no recorded check that day
    with pytest.raises(Exception, match="approval CN"):
        content.from_data(data)


@pytest.mark.parametrize("code", ["zh-Hans", "zh-Hant"])
def test_the_approval_statement_follows_the_records(model, code):
    from handouts.documents.common import approval_statement
    from handouts.localizer import get
    L = get(code, model)
    names = L.spec.approval_regions
    statement = approval_statement(L, model)
    assert all(n in statement for n in names.values()) and "2026年12月4日" in statement
    data = content.raw()
    data["approval"][4]["status"] = "approved"  # China approves: the document says so no more
    approved = content.from_data(data)
    assert names["CN"] not in approval_statement(get(code, approved), approved)
    assert approval_statement(get("en", model), model) == ""


def test_no_document_text_says_approved_in_the_united_states_only():
    from handouts import catalogs, locales
    for code in locales.available():
        text = catalogs.all_text(code)
        for phrase in ("United States only", "仅在美国", "僅在美國", "只在美国", "只在美國"):
            assert phrase not in text, (code, phrase)


def test_printed_facts_follow_the_2025_label_or_say_their_revision(model):
    """Facts that rested on the 2024 label moved to the 11/2025 wording where the fact
    sheet's section 9 confirms it; what still comes from elsewhere names its revision
    (the 05/2024 Medication Guide, the 2024 accelerated approval date)."""
    records = {rid: model.provenance(rid) for rid in (*model.fact_ids(), *model.list_ids())}
    older = {rid: r.label_revision for rid, r in records.items()
             if model.is_printable(rid) and r.label_revision != "11/2025"}
    assert older == {"approval_accelerated": "05/2024", "fever_f": "MedGuide 05/2024", "fever_c": "MedGuide 05/2024",
                     "crs_signs": "MedGuide 05/2024", "bleeding_signs": "MedGuide 05/2024"}, older
    for rid in ("common_side_effects", "restart_rule_c1d1", "restart_rule_c1d8", "dose_interval",
                "restart_after_step_up_days", "breastfeeding_after"):
        assert "S17" in records[rid].sources, rid
    # The Medication Guide's revision is cited where its words print.
    assert "05/2024" in model.sources["S10"].citation


# ------------------------------------------------------------- facts stay in the model

def test_the_model_keeps_its_records_private(model):
    """No public mapping of facts or lists: a layout reaches a value only through fact(),
    which refuses an unverified fact."""
    for name in ("facts", "lists", "model_dump", "model_copy"):
        assert not hasattr(model, name), name
    weak = weakened(model, fever_f="secondary")
    assert "fever_f" in weak.fact_ids() and weak.provenance("fever_f").confidence == "secondary"
    assert not hasattr(weak.provenance("fever_f"), "value")  # where it comes from, never what it says
    with pytest.raises(UnverifiedFact):
        weak.fact("fever_f")


def test_the_localizer_formats_only_what_the_model_handed_out(model):
    """A fact made any other way (a copy of the data, a stand-in object) is refused, and
    no one but the model makes a PrintableFact."""
    import types

    from handouts.content import PrintableFact
    from handouts.localizer import get
    L = get("en", model)
    assert L.fact(model.fact("fever_f")).startswith("100.4")
    raw_fact = content.raw()["facts"]["fever_f"]
    for stand_in in (types.SimpleNamespace(id="fever_f", **raw_fact),
                     content.Fact.model_validate(raw_fact)):
        with pytest.raises(UnverifiedFact):
            L.fact(stand_in)
    with pytest.raises(TypeError):
        PrintableFact(object(), "fever_f", content.Fact.model_validate(raw_fact))
    with pytest.raises(AttributeError):
        model.fact("fever_f").value = 120


def test_revised_copies_are_checked_like_the_file(model):
    with pytest.raises(Exception, match="unknown source"):
        model.revised(facts={"dose_target": {"sources": ["NOPE"]}})
    with pytest.raises(KeyError):
        model.revised(facts={"no_such_fact": {"value": 1}})
    assert model.revised(facts={"fever_f": {"value": 101}}).fact("fever_f").value == 101
    assert model.fact("fever_f").value != 101  # the model itself is unchanged
