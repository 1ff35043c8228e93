"""The wallet card's layout caches (10,000 cards near the ReportLab floor) must
never hand one zone's layout to another: every part of a zone's style, of its block and
of its font stack is in the key. Each test compares a layout made with warm caches
against the same layout made from scratch."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import pytest

from handouts.engines import reportlab_canvas as rl
from handouts.session import RenderSession
from handouts.errors import LayoutOverflow

EN = ("Noto Sans", "Noto Sans SC")
SC = ("Noto Sans SC",)

# Room for a second line; vertically centred, so that the zone's height moves the line.
BASE_STYLE = rl.ZoneStyle(x=3.0, y=20.0, w=60.0, h=9.0, size=7.0, min_size=6.0, leading=1.2, bold=False,
                          color="#111111", label_color="#555555", rule_color="#999999", align="left",
                          valign="middle", paragraph_gap=0.35)
BASE_BLOCK = rl.Block("Li Wei", label="Name:", families=None)

# One change of each part of the style and the block that moves, resizes, recolours or
# re-fonts a one-line field; fit() must not reuse the base's layout for any of them.
STYLE_CHANGES = dict(x=4.0, y=21.0, w=14.0, h=9.5, size=6.5, bold=True, color="#222222",
                     label_color="#666666", valign="bottom")  # w: the name no longer fits on one line
# Parts whose effect needs another base: the line height moves a top-aligned line only.
TOP = dict(valign="top")
STYLE_CHANGES_ON = {"leading": (TOP, 1.3)}
BLOCK_CHANGES = dict(bold=True, bullet="•", label="Patient:", scale=0.9, families=SC)
# Parts that cannot change this one-line layout (checked to be in the key all the same).
INERT_STYLE = dict(min_size=6.25, rule_color="#000000", paragraph_gap=0.5)
INERT_BLOCK = dict(keep_together=True)


class Shape(NamedTuple):
    """A layout as drawn: each line's place, text, fonts (by family and weight: each
    session has stacks of its own), size and colour; the rules."""
    size: float
    lines: tuple
    rules: tuple


def _shape(laid: rl.Laid) -> Shape:
    return Shape(laid.size, tuple((ln.x, ln.y, ln.text, ln.fonts.families, ln.fonts.weight, ln.size, ln.color)
                                  for ln in laid.lines), tuple(laid.rules))


def fresh(style, blocks, families):
    """The layout with empty caches (a render session of its own)."""
    with RenderSession():
        return _shape(rl.fit(style, blocks, families, "test zone"))


def warm(style, blocks, families, base=BASE_STYLE):
    """The layout after the base zone (another text) has been laid out in the same
    session: its one-line shape and its result are cached."""
    with RenderSession() as s:
        rl.fit(base, [BASE_BLOCK], EN, "base")
        rl.fit(base, [dataclasses.replace(BASE_BLOCK, text="Chen Mei")], EN, "base")
        assert s.cache("rl.one_line"), "the base zone should leave a one-line shape to reuse"
        return _shape(rl.fit(style, blocks, families, "test zone"))


def test_every_style_and_block_field_is_covered():
    """A new field of ZoneStyle or Block must be added to the changes above."""
    style_fields = {f.name for f in dataclasses.fields(rl.ZoneStyle)}
    assert style_fields == set(STYLE_CHANGES) | set(STYLE_CHANGES_ON) | set(INERT_STYLE) | {"align"}  # align: below
    block_fields = {f.name for f in dataclasses.fields(rl.Block)} - {"text"}
    assert block_fields == set(BLOCK_CHANGES) | set(INERT_BLOCK) | {"blank"}  # blank: below


@pytest.mark.parametrize("part,value", sorted({**STYLE_CHANGES, **INERT_STYLE}.items()))
@pytest.mark.parametrize("text", ["Li Wei", "Wang Fang"])  # the base's text, and another
def test_style_part_is_in_the_key(part, value, text):
    style = dataclasses.replace(BASE_STYLE, **{part: value})
    block = dataclasses.replace(BASE_BLOCK, text=text)
    expected = fresh(style, [block], EN)
    assert warm(style, [block], EN) == expected
    if part in STYLE_CHANGES:  # the change matters: a cache missing it would be caught
        assert expected != fresh(BASE_STYLE, [block], EN)


@pytest.mark.parametrize("part", sorted(STYLE_CHANGES_ON))
@pytest.mark.parametrize("text", ["Li Wei", "Wang Fang"])
def test_style_part_is_in_the_key_on_its_base(part, text):
    over, value = STYLE_CHANGES_ON[part]
    base = dataclasses.replace(BASE_STYLE, **over)
    style = dataclasses.replace(base, **{part: value})
    block = dataclasses.replace(BASE_BLOCK, text=text)
    expected = fresh(style, [block], EN)
    assert warm(style, [block], EN, base) == expected
    assert expected != fresh(base, [block], EN)


@pytest.mark.parametrize("part,value", sorted({**BLOCK_CHANGES, **INERT_BLOCK}.items()))
@pytest.mark.parametrize("text", ["Li Wei", "Wang Fang"])
def test_block_part_is_in_the_key(part, value, text):
    block = dataclasses.replace(BASE_BLOCK, text=text, **{part: value})
    expected = fresh(BASE_STYLE, [block], EN)
    assert warm(BASE_STYLE, [block], EN) == expected
    if part in BLOCK_CHANGES:
        assert expected != fresh(BASE_STYLE, [dataclasses.replace(BASE_BLOCK, text=text)], EN)


@pytest.mark.parametrize("text", ["Li Wei", "Wang Fang"])
def test_font_stack_is_in_the_key(text):
    block = dataclasses.replace(BASE_BLOCK, text=text)
    expected = fresh(BASE_STYLE, [block], SC)
    assert warm(BASE_STYLE, [block], SC) == expected
    assert expected != fresh(BASE_STYLE, [block], EN)


@pytest.mark.parametrize("align", ["right", "center"])
def test_aligned_zone_is_measured_per_text(align):
    """Where a right-aligned or centred line starts depends on its own width."""
    style = dataclasses.replace(BASE_STYLE, align=align)
    for text in ("Li Wei", "Wang Fang"):
        block = dataclasses.replace(BASE_BLOCK, text=text)
        assert warm(style, [block], EN) == fresh(style, [block], EN)


def test_blank_field_is_in_the_key():
    block = dataclasses.replace(BASE_BLOCK, text="", blank=True)
    expected = fresh(BASE_STYLE, [block], EN)
    assert warm(BASE_STYLE, [block], EN) == expected and expected.rules


@pytest.mark.parametrize("text", [
    "Maria Guadalupe Fernández-Castillo Rivas de la Torre y Mendoza",  # two lines, or smaller
    "Li  Wei",  # two spaces: the line breaker's business, not the one-line shape's
    "Maria Guadalupe Fernández-Castillo Rivas",
])
def test_a_text_the_shape_does_not_hold_is_laid_out_again(text):
    block = dataclasses.replace(BASE_BLOCK, text=text)
    expected = fresh(BASE_STYLE, [block], EN)
    assert warm(BASE_STYLE, [block], EN) == expected


def test_a_text_that_does_not_fit_is_still_refused():
    """The cached shape never lets an overflowing field through: same error as cold."""
    style = dataclasses.replace(BASE_STYLE, h=3.0)  # one line at 7 pt; no room for two
    block = dataclasses.replace(BASE_BLOCK, text="Hubert Blaine Wolfeschlegelsteinhausenbergerdorff Senior")
    with pytest.raises(LayoutOverflow) as cold:
        fresh(style, [block], EN)
    with RenderSession() as s:
        rl.fit(style, [BASE_BLOCK], EN, "base")
        assert s.cache("rl.one_line")
        with pytest.raises(LayoutOverflow) as cached:
            rl.fit(style, [block], EN, lambda: "test zone")
    assert str(cached.value) == str(cold.value)


def test_refilled_layout_is_its_own_object():
    """The sheet renderer tells zones apart by identity: a refilled layout is new."""
    with RenderSession():
        rl.fit(BASE_STYLE, [BASE_BLOCK], EN, "base")
        a = rl.fit(BASE_STYLE, [dataclasses.replace(BASE_BLOCK, text="Wang Fang")], EN, "x")
        b = rl.fit(BASE_STYLE, [dataclasses.replace(BASE_BLOCK, text="Zhang San")], EN, "x")
    assert a is not b and a.lines is not b.lines and a.text() != b.text()


def test_style_hash_follows_its_fields():
    same = dataclasses.replace(BASE_STYLE)
    assert hash(same) == hash(BASE_STYLE) and same == BASE_STYLE
    for part, value in {**STYLE_CHANGES, **INERT_STYLE, "align": "right", "leading": 1.3}.items():
        other = dataclasses.replace(BASE_STYLE, **{part: value})
        assert other != BASE_STYLE
        assert {BASE_STYLE: 1}.get(other) is None


def test_font_runs_after_the_first_font_learnt_the_characters():
    """A text of first-font characters is one run; a character only a fallback font has
    still gets its own run once the first font's characters are known."""
    stack = rl.font_stack(EN, False)
    assert stack.runs("Li Wei") == [(stack.names[0], "Li Wei")]
    assert stack.runs("Li Wei 李伟") == stack._split("Li Wei 李伟")
    assert len(stack.runs("Li Wei 李伟")) == 2
    assert stack.runs("李伟 Li") == [(stack.names[1], "李伟"), (stack.names[0], " Li")]


def test_block_hash_follows_its_fields():
    same = dataclasses.replace(BASE_BLOCK)
    assert hash(same) == hash(BASE_BLOCK) and same == BASE_BLOCK
    for part, value in {**BLOCK_CHANGES, **INERT_BLOCK, "blank": True, "text": "Wang Fang"}.items():
        other = dataclasses.replace(BASE_BLOCK, **{part: value})
        assert other != BASE_BLOCK and {BASE_BLOCK: 1}.get(other) is None


@pytest.mark.parametrize("args", [
    ("Name:", "Li Wei", EN, False), ("Name:", "Li Wei", EN, True), ("Name:", "Li Wei", SC, False),
    ("姓名：", "Li Wei", EN, False), ("Name:", "Wang Fang", EN, False), ("Name:", None, EN, False),
    ("Name:", "", EN, False), (None, "Li Wei", EN, False), (None, None, EN, True),
])
def test_field_blocks_are_shared_only_when_every_part_agrees(args):
    """A field's block is remembered by label, value, fonts and breaking rule: each of
    these cases, after all the others, is the block made from scratch."""
    from handouts.documents import wallet_card as wc

    def made(label, value, fams, keep_together):
        if value:
            return rl.Block(value, label=label, families=fams, keep_together=keep_together)
        return rl.Block("", label=label, blank=True, families=fams)

    with RenderSession():
        _shared_blocks(wc, made, args)


def _shared_blocks(wc, made, args):
    for other in [("Name:", "Li Wei", EN, False), ("Name:", "Li Wei", EN, True), ("Name:", "Li Wei", SC, False),
                  ("姓名：", "Li Wei", EN, False), ("Name:", "Wang Fang", EN, False), ("Name:", None, EN, False),
                  (None, "Li Wei", EN, False), (None, None, EN, True)]:
        wc._field(*other)
    got = wc._field(*args)
    assert got == made(*args)
    assert wc._field(*args) is got  # remembered


# ------------------------------------------------------------- a zone's varying ending

DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # a document id's digest
NOTES = dataclasses.replace(BASE_STYLE, h=6.0, size=7.0, min_size=6.0, leading=1.0, valign="bottom")
HEADS = {  # the back's last lines before the digest, and what their language keeps together
    "en": ("Clinic-made card, not from Amgen. Printed Dec 4, 2026 · W-en-2026.12.0-2511-", (), EN),
    "zh": ("本卡由医疗机构自制，并非安进（Amgen）提供。打印于2026年12月4日 · W-zh-Hans-2026.12.0-2511-",
           (r"\d{4}[ \u00a0]*年[ \u00a0]*\d{1,2}[ \u00a0]*月(?:[ \u00a0]*\d{1,2}[ \u00a0]*日)?",), SC),
    # A pattern reaching into the digest (it keeps the id with the date when the digest
    # starts with J or W, the narrowest and widest digits): other texts are laid out in full.
    "reaching": ("Clinic-made card, not from Amgen. Printed Dec 4, 2026 · W-en-2026.12.0-2511-",
                 (r"2026 · W-en-2026\.12\.0-2511-[JW]",), EN),
}


def _endings(n: int) -> list[str]:
    import random
    rng = random.Random(7)
    chosen = ["0" * 8, "W" * 8, "J" * 8, "M" * 8, "JWJWJWJW", "WJ1M0QQQ"]
    return chosen + ["".join(rng.choice(DIGITS) for _ in range(8)) for _ in range(n)]


@pytest.mark.parametrize("head", sorted(HEADS))
def test_a_zone_laid_out_once_for_its_endings_is_the_zone_laid_out_for_each(head):
    """Across zone widths that move the digest onto the first line, onto the second, and
    over the break between them (where the narrowest and widest endings part), each
    text refilled from the zone laid out once is the zone laid out for that text."""
    text, keep, fams = HEADS[head]
    used = refused = 0
    for w in [x / 2 for x in range(60, 200, 3)]:
        style = dataclasses.replace(NOTES, w=w)
        with RenderSession():
            try:
                ending = rl.fit_ending(style, rl.Block(text + "0" * 8), fams, 8, DIGITS, keep=keep)
            except LayoutOverflow:
                ending = None
        for end in _endings(40):
            block = rl.Block(text + end)
            try:
                expected = fresh_keep(style, [block], fams, keep)
            except LayoutOverflow:
                assert ending is None or ending.refill(block.text) is None
                continue
            laid = ending.refill(block.text) if ending is not None else None
            if laid is None:
                refused += 1
            else:
                used += 1
                assert _shape(laid) == expected, (w, end)
    assert used and refused  # both cases met: the test tests something


def fresh_keep(style, blocks, families, keep):
    with RenderSession():
        return _shape(rl.fit(style, blocks, families, "test zone", keep=keep))


def test_an_ending_refills_only_texts_of_its_head_length_and_characters():
    text = HEADS["en"][0]
    with RenderSession():
        ending = rl.fit_ending(NOTES, rl.Block(text + "7KQ2M9XD"), EN, 8, DIGITS)
    assert ending is not None
    assert ending.refill(text + "ABCDEFGH") is not None
    for other in (text + "ABCDEFG", text + "ABCDEFGHJ", text + "ABCDEFGI", text + "abcdefgh", text + "ABCD EFG",
                  text.replace("Dec 4", "Dec 5") + "ABCDEFGH", "x" + text + "ABCDEFGH"):
        assert ending.refill(other) is None, other


@pytest.mark.parametrize("change", [dict(align="center"), dict(align="right")])
def test_an_ending_that_moves_its_line_is_not_shared(change):
    """Centred or right-aligned, the line holding the digest starts where its width puts it."""
    with RenderSession():
        assert rl.fit_ending(dataclasses.replace(NOTES, **change), rl.Block(HEADS["en"][0] + "0" * 8), EN, 8,
                             DIGITS) is None


@pytest.mark.parametrize("alphabet", ["AB CD", "AB中", "AB.", "AB(", "A"])
def test_an_ending_that_may_break_is_not_shared(alphabet):
    """A space, a Chinese character or kinsoku punctuation in the ending could split it."""
    with RenderSession():
        assert rl.fit_ending(NOTES, rl.Block(HEADS["en"][0] + "AAAAAAAA"), EN, 8, alphabet) is None
