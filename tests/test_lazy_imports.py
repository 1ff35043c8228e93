"""Commands that do not render a WeasyPrint document do not import WeasyPrint (0.3 s
cold) nor fontTools (glyph coverage is precomputed data)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import sys
from handouts.cli import main
code = main({argv!r})
heavy = sorted(m for m in ("weasyprint", "fontTools", "jinja2") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("argv, allowed", [
    (["list"], set()),
    (["check", "--no-render"], {"jinja2"}),
    (["build", "wallet-card", "--sample", "--out", "{tmp}"], set()),
])
def test_no_weasyprint_without_a_weasyprint_document(tmp_path, argv, allowed):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = subprocess.run([sys.executable, "-c", CODE.format(argv=argv)], capture_output=True, text=True,
                         cwd=tmp_path, check=True).stdout.splitlines()[-1]
    assert out.startswith("HEAVY:")
    heavy = set(filter(None, out[len("HEAVY:"):].split(",")))
    assert heavy <= allowed, heavy
