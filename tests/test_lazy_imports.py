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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the library lookup guarded is Linux's")
def test_loading_the_weasyprint_adapter_starts_no_process():
    """WeasyPrint tries Windows and macOS library names first; each miss made cffi run
    ctypes.util.find_library, that is ldconfig, gcc and ld (about 200 processes, 0.2-0.3 s
    of every cold handout build)."""
    code = ("import subprocess, sys\n"
            "started = []\n"
            "real = subprocess.Popen.__init__\n"
            "def spy(self, args, *a, **k):\n"
            "    started.append(args)\n"
            "    return real(self, args, *a, **k)\n"
            "subprocess.Popen.__init__ = spy\n"
            "import handouts.engines.weasy\n"
            "print('STARTED:%d' % len(started))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "STARTED:0", out
