"""Raster goldens: text snapshots miss a changed colour or a moved box, a picture does not.

One page of each document is rendered with pypdfium2 and compared with a PNG in
tests/goldens/. The comparison forgives anti-aliasing (edge pixels that differ a little)
and fails on a colour or a box that changed: see `differences`. On a failure the render,
the golden and a diff picture (changed pixels in red over a faded golden) are written to
tests/.artifacts/. Regenerate, after a change you meant, with
`.venv/bin/python -m pytest tests/test_visual.py --update-goldens`, and look at the PNGs.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2
import pytest
from tests.helpers import ARTIFACTS, GOLDENS
from PIL import Image, ImageChops, ImageDraw, ImageFilter


# golden name -> (document, locale, paper, page index, dpi); the card is small, so finer.
CASES = {
    "handout-en-letter-p1": ("handout", "en", "letter", 0, 50),
    "handout-zh-Hant-a4-p1": ("handout", "zh-Hant", "a4", 0, 50),
    "wallet-card-en-front": ("wallet-card", "en", "id1", 0, 100),
    "wallet-card-en-back": ("wallet-card", "en", "id1", 1, 100),
    "poster-en-tabloid": ("poster", "en", "tabloid", 0, 50),
}

# Fine check, for thin lines and small boxes: after a 3x3 blur (anti-aliasing noise
# mostly cancels), at most FINE_SHARE of the pixels may differ by more than FINE_LEVEL.
FINE_LEVEL, FINE_SHARE = 32, 0.001
# Colour check: where the golden is flat (its 5x5 neighbourhood varies by at most
# FLAT_RANGE), anti-aliasing has nothing to change; at most COLOUR_SHARE of the pixels
# may differ there by more than COLOUR_LEVEL (of 255), so a panel a shade off fails.
FLAT_RANGE, COLOUR_LEVEL, COLOUR_SHARE = 4, 4, 0.0002


def render_page(path: Path, page: int, dpi: int, **options) -> Image.Image:
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return pdf[page].render(scale=dpi / 72, **options).to_pil().convert("RGB")
    finally:
        pdf.close()


def _channel_max(diff: Image.Image) -> Image.Image:
    r, g, b = diff.split()
    return ImageChops.lighter(ImageChops.lighter(r, g), b)


def _fine(actual: Image.Image, golden: Image.Image) -> Image.Image:
    blur = ImageFilter.BoxBlur(1)
    return _channel_max(ImageChops.difference(actual.filter(blur), golden.filter(blur)))


def differences(actual: Image.Image, golden: Image.Image) -> list[str]:
    """Why `actual` is not the golden picture; empty when they match within tolerance."""
    if actual.size != golden.size:
        return [f"size {actual.size} instead of {golden.size}"]
    out = []
    fine = _fine(actual, golden).histogram()
    share = sum(fine[FINE_LEVEL + 1:]) / (actual.width * actual.height)
    if share > FINE_SHARE:
        out.append(f"{share:.2%} of the pixels changed (more than {FINE_SHARE:.2%})")
    spread = ImageChops.difference(golden.filter(ImageFilter.MaxFilter(5)), golden.filter(ImageFilter.MinFilter(5)))
    flat = _channel_max(spread).point(lambda v: 255 if v <= FLAT_RANGE else 0)
    moved = _channel_max(ImageChops.difference(actual, golden)).point(lambda v: 255 if v > COLOUR_LEVEL else 0)
    share = ImageChops.multiply(moved, flat).histogram()[255] / (actual.width * actual.height)
    if share > COLOUR_SHARE:
        out.append(f"the colour of {share:.2%} of the pixels in flat areas changed (more than {COLOUR_SHARE:.2%})")
    return out


def diff_picture(actual: Image.Image, golden: Image.Image) -> Image.Image:
    """The golden, faded, with the pixels that changed in red."""
    base = Image.blend(golden.convert("L").convert("RGB"), Image.new("RGB", golden.size, "white"), 0.7)
    if actual.size != golden.size:
        return base
    changed = _channel_max(ImageChops.difference(actual, golden)).point(lambda v: 255 if v > COLOUR_LEVEL else 0)
    base.paste(Image.new("RGB", golden.size, (220, 0, 0)), mask=changed)
    return base


def check_golden(name: str, actual: Image.Image, update: bool) -> None:
    golden_path = GOLDENS / f"{name}.png"
    if update:
        GOLDENS.mkdir(exist_ok=True)
        actual.save(golden_path, optimize=True)
        return
    assert golden_path.is_file(), f"no golden {golden_path.name}: run pytest --update-goldens"
    with Image.open(golden_path) as im:
        golden = im.convert("RGB")
    problems = differences(actual, golden)
    if problems:
        ARTIFACTS.mkdir(exist_ok=True)
        actual.save(ARTIFACTS / f"{name}-actual.png")
        golden.save(ARTIFACTS / f"{name}-golden.png")
        diff_picture(actual, golden).save(ARTIFACTS / f"{name}-diff.png")
    assert not problems, f"{name}: {'; '.join(problems)} (see tests/.artifacts/{name}-diff.png)"


@pytest.mark.parametrize("name", sorted(CASES))
def test_page_matches_golden(renders, update_goldens, name):
    document, locale, paper, page, dpi = CASES[name]
    check_golden(name, render_page(renders.get(document, locale, paper), page, dpi), update_goldens)


# ------------------------------------------------------------- the comparison itself

@pytest.fixture(scope="module")
def card_front(renders) -> Image.Image:
    return render_page(renders.get("wallet-card", "en", "id1"), 0, 100)


def test_anti_aliasing_differences_pass(renders, card_front):
    """Renders that differ only in how edges are smoothed match their golden."""
    card = renders.get("wallet-card", "en", "id1")
    handout = render_page(renders.get("handout", "en", "letter"), 0, 50)
    variants = {
        "card without anti-aliased paths": (render_page(card, 0, 100, no_smoothpath=True), card_front),
        "card with LCD text": (render_page(card, 0, 100, optimize_mode="lcd"), card_front),
        "handout with LCD text": (render_page(renders.get("handout", "en", "letter"), 0, 50, optimize_mode="lcd"),
                                  handout),
        # everything a quarter pixel right and down, as another glyph positioning would draw it
        "handout shifted": (Image.blend(handout, ImageChops.offset(handout, 1, 1), 0.25), handout),
    }
    for what, (variant, golden) in variants.items():
        assert ImageChops.difference(variant, golden).getbbox() is not None, what  # it did change
        assert differences(variant, golden) == [], what


def test_a_drawn_box_fails(card_front):
    # a 40x20 px box, 1 px mid-grey line, over the text and over white space
    for box in ((200, 60, 240, 80), (240, 85, 280, 105)):
        boxed = card_front.copy()
        ImageDraw.Draw(boxed).rectangle(box, outline=(128, 128, 128))
        assert differences(boxed, card_front), box
        assert diff_picture(boxed, card_front).getpixel((box[0], box[1] + 10)) == (220, 0, 0)


def _render_card_with(monkeypatch, tmp_path, model, change) -> Image.Image:
    """The English card front, rendered with a changed card geometry."""
    from handouts import cardlayout
    from handouts.build import build
    data = cardlayout.geometry("wallet-card").model_dump()
    change(data)
    changed = cardlayout.Geometry.model_validate(data)
    monkeypatch.setattr(cardlayout, "geometry", lambda layout="wallet-card": changed)
    return render_page(build("wallet-card", "en", "id1", None, tmp_path, model).path, 0, 100)


@pytest.mark.parametrize("what,change", [
    # the front's "what to do" panel a shade less pink (#FBE9E7 -> #F2E9E7): a colour change
    ("tint", lambda d: d["colors"].update(warning_tint="#F2E9E7")),
    # the front's red band 0.5 mm shorter: a box change
    ("band", lambda d: d["front"]["fills"][0].update(h=d["front"]["fills"][0]["h"] - 0.5)),
])
def test_a_changed_colour_or_box_fails(monkeypatch, tmp_path, model, card_front, what, change):
    changed = _render_card_with(monkeypatch, tmp_path, model, change)
    assert differences(changed, card_front), what
