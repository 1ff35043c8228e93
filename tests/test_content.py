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




def test_model_rejects_unknown_source(model):
    data = model.model_dump()
    data["facts"]["dose_target"]["sources"] = ["NOPE"]
    with pytest.raises(Exception, match="unknown source"):
        content.ContentModel.model_validate(data)


def test_model_rejects_a_number_spelled_in_a_list(model):
    data = model.model_dump()
    data["lists"]["crs_signs"]["items"].append("Fever over 38 degrees")
    with pytest.raises(Exception, match="must be a placeholder"):
        content.ContentModel.model_validate(data)


def test_model_rejects_bad_confidence(model):
    data = model.model_dump()
    data["facts"]["dose_target"]["confidence"] = "probably"
    with pytest.raises(Exception):
        content.ContentModel.model_validate(data)


def test_schedule_rows_match_label_table_1(model):
    rows = [(r.cycles, r.days, model.fact(r.dose).value, model.fact(r.monitoring).value)
            for r in model.printable_schedule()]
    assert rows == [
        ((1, 1), [1], 1, (22, 24)), ((1, 1), [8], 10, (22, 24)), ((1, 1), [15], 10, (6, 8)),
        ((2, 2), [1, 15], 10, (6, 8)), ((3, 4), [1, 15], 10, (3, 4)), ((5, 0), [1, 15], 10, 2),
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
