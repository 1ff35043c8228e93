"""The handout's QR SVG: the dark modules as merged rectangles, exactly (no module lost
or doubled), on a white square that includes the quiet zone."""

from __future__ import annotations

import re

from handouts import qr


def test_rectangles_cover_exactly_the_dark_modules(model):
    code = qr.make(model.meta.nci_url)
    n = code.size_modules
    hits = [[0] * n for _ in range(n)]
    rects = qr.rectangles(code.matrix)
    for x, y, w, h in rects:
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                hits[yy][xx] += 1
    assert hits == [[int(v) for v in row] for row in code.matrix]
    assert len(rects) < sum(map(sum, code.matrix)) / 2  # really merged


def test_svg_is_one_path_on_a_white_quiet_zone(model):
    code = qr.make(model.meta.nci_url)
    svg = code.svg_source
    n = code.size_modules
    assert svg.count("<path") == 1
    assert f'<rect fill="white" x="0" y="0" width="{n}" height="{n}"/>' in svg
    # The path draws every rectangle and nothing else.
    d = re.search(r'<path d="([^"]+)"', svg).group(1)
    assert d.count("M") == len(qr.rectangles(code.matrix))
    # No dark module in the quiet zone.
    for x, y, w, h in qr.rectangles(code.matrix):
        assert qr.QUIET_ZONE <= x and x + w <= n - qr.QUIET_ZONE
        assert qr.QUIET_ZONE <= y and y + h <= n - qr.QUIET_ZONE
