"""WeasyPrint's fontTools subsetter and variable-font instancer load only when used
(loading them costs every cold handout or poster build that never uses them).
engines/test_weasy.py::test_renders_without_libharfbuzz_subset renders through the deferred
subsetter itself."""

from __future__ import annotations

import subprocess
import sys

from handouts.engines import patches, weasy  # noqa: F401 - weasy: WeasyPrint imported through the patches

RENDER_AND_REPORT = """
import sys
from handouts.cli import main
code = main(["build", "handout", "--locale", "zh-Hant", "--sample", "--out", sys.argv[1]])
loaded = [m for m in ("fontTools.subset", "fontTools.varLib", "fontTools.varLib.instancer")
          if m in sys.modules and type(sys.modules[m]).__name__ != "_LazyModule"]
print("exit", code, "loaded", ",".join(loaded) or "none")
"""


def test_a_build_with_harfbuzz_never_loads_the_fonttools_subsetter(tmp_path):
    res = subprocess.run([sys.executable, "-c", RENDER_AND_REPORT, str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "exit 0 loaded none", res.stdout + res.stderr
    assert list((tmp_path / "o").glob("*.pdf")), "nothing was built"


def test_the_instancer_stand_in_calls_the_real_instancer(monkeypatch):
    from fontTools.varLib import instancer
    from weasyprint.pdf import fonts

    seen = []
    monkeypatch.setattr(instancer, "instantiateVariableFont", lambda *a, **k: seen.append((a, k)) or "font")
    assert fonts.instantiateVariableFont is patches.instantiate_variable_font
    assert fonts.instantiateVariableFont("ttfont", {"wght": 700}, static=True) == "font"
    assert seen == [(("ttfont", {"wght": 700}), {"static": True})]
    assert sys.modules["fontTools.varLib.instancer"] is instancer  # the stand-in is gone
