"""The content model: the safety rules hold for the shipped data and for bad data."""

from __future__ import annotations

import re

import pytest

from handouts import content, paths
from handouts.content import UnverifiedFact


def test_shipped_model_loads(model):
    assert model.meta.brand == "IMDELLTRA"
    assert model.meta.label_revised.isoformat() == "2025-11-19"


@pytest.mark.parametrize("fact_id", ["contraception_after", "premed_dexamethasone",
                                     "posthydration_saline", "restart_after_c1d15_on"])
def test_unverified_facts_are_refused(model, fact_id):
    assert not model.is_printable(fact_id)
    with pytest.raises(UnverifiedFact):
        model.fact(fact_id)


def test_unverified_list_is_refused(model):
    with pytest.raises(UnverifiedFact):
        model.text_list("neuro_signs")


def test_every_fact_names_known_sources(model):
    for fid, fact in model.facts.items():
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
    data = model.model_dump()
    edit(data)
    with pytest.raises(Exception, match=re.escape(match)):
        content.ContentModel.model_validate(data)


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
    overdue = dict(model.overdue_sources(dt.date(2026, 11, 23)))
    assert "S16" in overdue  # NCI page last reviewed 2025-12-30, quarterly
    assert "S1" not in overdue


# ------------------------------------------------------------------- issue 10

def test_medical_structure_lives_in_the_model(model):
    """Restart rows, the timeline split, the cycles a schedule shows, the stay-near doses
    and the NCI source come from the data file, not from document code."""
    assert [(r.cycle, r.day, r.or_later) for r in model.restart] == [(1, 1, False), (1, 8, False), (1, 15, True)]
    assert model.restart[2].rule is None and not model.is_printable(model.restart[2].threshold)
    assert model.presentation.schedule_cycles_shown >= 1
    assert [(r.cycles, r.days) for r in model.stay_near_rows()] == [((1, 1), [1]), ((1, 1), [8])]
    assert model.sources[model.meta.nci_source].url.rstrip("/").endswith("tarlatamab-dlle")
    src = "\n".join(p.read_text(encoding="utf-8") for p in (paths.resource_root() / "src/handouts/documents").glob("*.py"))
    for hard_coded in ('"S16"', "RESTART_ROWS", "restart_after_step_up_days", "dailymed.nlm.nih.gov",
                       "through_cycle=3", "first two"):
        assert hard_coded not in src, hard_coded


def test_model_rejects_unknown_restart_reference(model):
    data = model.model_dump()
    data["restart"][0]["threshold"] = "no_such_fact"
    with pytest.raises(Exception, match="no_such_fact"):
        content.ContentModel.model_validate(data)


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
    assert model.sources["SEC"].citation not in html


@pytest.mark.parametrize("code", ["zh-Hans", "zh-Hant"])
def test_regional_terms_are_locale_data_and_the_catalog_follows_them(code):
    """locales/<dir>/locale.toml [regional] names the terms; the catalog uses each and
    none of the words it must avoid (zh-Hant: Taiwan usage, not converted mainland text)."""
    from handouts import catalogs, locales
    spec = locales.get(code)
    regional = spec.regional
    text = catalogs.all_text(code)
    for key in ("prescribing_information", "crs", "icans", "drug"):
        assert regional[key] in text, (key, regional[key])
    for word in regional["avoid"]:
        assert word not in text, word
    assert len(regional["not_approved_in"]) == 3
    assert spec.medical_review.reviewed is False  # a person's sign-off, not ours


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

