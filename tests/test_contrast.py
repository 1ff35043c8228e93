"""Text contrast: every text colour the stylesheets and the card geometry
declare is at least 4.5:1 (WCAG 2 AA) against the background it is drawn on. Colours
are read from the files, so a change there is checked."""

from __future__ import annotations

import re
import tomllib

import pytest

from handouts import paths

WHITE = "#ffffff"


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    rgb = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def declared(css_file: str, selector: str, prop: str) -> str:
    """The value of `prop` in the rule whose selector is exactly `selector`."""
    css = re.sub(r"/\*.*?\*/", "", (paths.layouts_dir() / css_file).read_text(encoding="utf-8"), flags=re.S)
    for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        if sel.strip() == selector:
            m = re.search(rf"(?:^|;)\s*{prop}\s*:\s*(#[0-9a-fA-F]{{3,6}})", body)
            if m:
                return m.group(1)
    raise AssertionError(f"{css_file}: no {prop} in {selector!r}")


H, P = "handout/style.css", "poster/style.css"
PAIRS = [  # (text colour, background), each read from the stylesheet
    ("handout body", declared(H, "html", "color"), WHITE),
    ("handout h1", declared(H, "h1", "color"), WHITE),
    ("handout h2", declared(H, "h2", "color"), WHITE),
    ("handout subtitle", declared(H, ".subtitle", "color"), WHITE),
    ("handout warning h2", declared(H, ".warning h2", "color"), WHITE),
    ("handout act-now h3", declared(H, ".act-now h3", "color"), declared(H, ".act-now", "background")),
    ("handout act-now text", declared(H, "html", "color"), declared(H, ".act-now", "background")),
    ("handout notice", declared(H, "html", "color"), declared(H, ".notice", "background")),
    ("handout table head", declared(H, "html", "color"), declared(H, "thead th", "background")),
    ("handout sources", declared(H, "footer.sources", "color"), WHITE),
    ("handout weekday", declared(H, ".weekday", "color"), WHITE),
    ("handout large-print sources", declared("handout/large-print.css", "footer.sources", "color"), WHITE),
    ("poster body", declared(P, "html", "color"), WHITE),
    ("poster masthead", declared(P, ".masthead", "color"), declared(P, ".masthead", "background")),
    ("poster h1", declared(P, "h1", "color"), declared(P, ".masthead", "background")),
    ("poster h2", declared(P, "h2", "color"), WHITE),
    ("poster alert h2", declared(P, ".alert h2", "color"), WHITE),
    ("poster table head", declared(P, "table.grid thead th", "color"),
     declared(P, "table.grid thead th", "background")),
    ("poster stay-near row", declared(P, "html", "color"), declared(P, "table.grid tr.stay-near td", "background")),
    ("poster pointer", declared(P, "html", "color"), declared(P, ".pointer", "background")),
    ("poster notice", declared(P, "html", "color"), declared(P, ".notice", "background")),
    ("poster dose", declared(P, ".card .dose", "color"), declared(P, ".card", "background")),
    ("poster step-up dose", declared(P, ".card .dose", "color"), declared(P, ".node.step-up .card", "background")),
    ("poster sources", declared(P, "p.sources", "color"), WHITE),
]


def card_pairs():
    geo = tomllib.loads((paths.layouts_dir() / "wallet-card/geometry.toml").read_text(encoding="utf-8"))
    colours = geo["colors"]
    out = []
    for side in ("front", "back"):
        fills = geo[side].get("fills", [])
        for name, z in geo[side]["zones"].items():
            bg = WHITE
            for f in fills:  # the fill under the zone's top-left corner
                if f["x"] <= z["x"] < f["x"] + f["w"] and f["y"] <= z["y"] < f["y"] + f["h"]:
                    bg = colours[f["color"]]
            for key in ("color", "label_color"):
                if key in z:
                    out.append((f"card {side} {name} {key}", colours[z[key]], bg))
            if "color" not in z:
                out.append((f"card {side} {name}", colours["text"], bg))
    return out


@pytest.mark.parametrize("name,fg,bg", PAIRS + card_pairs())
def test_text_contrast_at_least_4_5(name, fg, bg):
    assert contrast(fg, bg) >= 4.5, f"{name}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"


def test_the_measure_can_fail():
    assert contrast("#999999", WHITE) < 4.5 and round(contrast("#000000", WHITE)) == 21
