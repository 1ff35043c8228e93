"""The precomputed glyph coverage (assets/fonts/coverage.json) is the real cmap of every
bundled font: same file (sha256), same code points. Regenerate with
`python -m handouts.fonts` after changing a font."""

from __future__ import annotations

import pytest

from handouts import fonts, locales, paths

FILES = sorted({f for fam in locales.font_families().values() for f in (fam.regular, fam.bold)})


@pytest.mark.parametrize("filename", FILES)
def test_coverage_file_matches_the_real_cmap(filename):
    entry = fonts._coverage_data()["fonts"][filename]
    path = paths.fonts_dir() / filename
    assert entry["sha256"] == fonts.file_sha256(path), f"{filename} changed: run python -m handouts.fonts"
    real = fonts.read_cmap(path)
    assert fonts._cmap(filename).codes() == real
    # Membership by bisection agrees at every range edge and just outside it.
    cov = fonts._cmap(filename)
    for start, end in entry["ranges"]:
        for code in (start - 1, start, end, end + 1):
            assert (code in cov) == (code in real), hex(code)


def test_coverage_file_is_what_the_generator_writes():
    text = (paths.fonts_dir() / fonts.COVERAGE_FILE).read_text(encoding="utf-8")
    assert text == fonts.dumps(fonts.generate())


def test_stack_coverage_needs_both_weights_in_some_family():
    fams = ("Noto Sans", "Noto Sans SC")
    assert fonts.missing("Li Wei 李伟", fams) == []
    assert fonts.missing("李伟", ("Noto Sans",)) == ["伟", "李"]
    assert fonts.missing("\U0003134A", fams) == ["\U0003134A"]
