"""What the sheet renderer does once per run instead of once per card must give
what it gave per card: the garbage collector's setting comes back, form names are the
ones each card's bleed and languages name."""

from __future__ import annotations

import gc

import pytest

from handouts.cardlayout import Bleed


def test_gc_paused_restores_the_setting_also_on_error():
    from handouts.session import RenderSession
    gc_paused = RenderSession().paused_gc
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            assert not gc.isenabled()
            with gc_paused():  # nested: the inner one leaves it off
                pass
            assert not gc.isenabled()
            raise RuntimeError("stop")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # was off before: stays off
    finally:
        gc.enable()


def test_a_sheet_build_leaves_the_collector_on(model):
    from handouts import cardlayout
    from handouts.documents.wallet_card import Card, render_sheets
    render_sheets([Card("en")], cardlayout.imposition("letter-8up", layout="wallet-card"), model)
    assert gc.isenabled()


def _renderer(model):
    from handouts.documents.wallet_card import AUTHOR, CardRenderer
    from handouts.engines.reportlab_canvas import Document
    return CardRenderer(Document("t", AUTHOR, "t", "en-US"), model, "id1", __import__("datetime").date(2026, 11, 23))


@pytest.mark.parametrize("bleeds", [
    [Bleed(), Bleed(0.0, -0.0, 0.0, 0.0), Bleed(1.5, 3.0, 0.0, 0.0), Bleed(1.5, 3.0, 0.0, 0.0)],
])
def test_fills_form_is_named_after_each_bleed(model, bleeds):
    """Equal bleeds that print differently (0 and -0) get their own names, as they did."""
    r = _renderer(model)
    for side in ("front", "back"):
        for b in bleeds * 2:  # the second round: names that are remembered
            expected = f"Fills_{side}_id1_" + "_".join(f"{v:g}" for v in b).replace(".", "p")
            assert r._fills_form(side, b) == expected


def test_static_form_is_named_after_its_languages(model):
    r = _renderer(model)
    for _ in range(2):
        assert r._static_form("front", "zh-Hant") == "Card_front_id1_zh_Hant"
        assert r._static_form("back", "zh-Hant") == "Card_back_id1_zh_Hant"
        assert r._static_form("back", "zh-Hant", "zh-Hans") == "Card_back_id1_zh_Hant_zh_Hans"
        assert r._static_form("back", "en", "zh-Hans") == "Card_back_id1_en_zh_Hans"
        assert r._static_form("front", "en") == "Card_front_id1_en"


def test_a_pause_sets_what_is_alive_aside_only_until_its_session_closes():
    """The open session's pause freezes the objects alive at its end (the collector would
    walk the session's layouts again); its close gives them back, so nothing the session
    made outlives it uncollected, nor hides from gc.get_objects."""
    from handouts.session import RenderSession
    assert gc.get_freeze_count() == 0
    with RenderSession() as s:
        with s.paused_gc():
            with s.paused_gc():
                pass
            assert gc.get_freeze_count() == 0  # only the outermost pause
        assert gc.get_freeze_count() > 0 and gc.isenabled()
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError):
        with RenderSession() as s, s.paused_gc():
            raise RuntimeError("stop")
    assert gc.get_freeze_count() == 0
    loose = RenderSession()  # never opened: it is never closed, so it freezes nothing
    with loose.paused_gc():
        pass
    assert gc.get_freeze_count() == 0
