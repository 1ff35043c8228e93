"""The WeasyPrint engine: harmless notices pass, real warnings fail; the URL fence; autoescape;
engines never import the drug."""

from __future__ import annotations

import ast
import http.server
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

import handouts
from handouts import paths
from handouts.engines import weasy
from handouts.errors import HandoutsError
from tests.helpers import pdfcheck

HIDE_HARFBUZZ_SUBSET = """
import sys
import cffi
_orig = cffi.FFI.dlopen
def _dlopen(self, name, *a, **k):
    if name and "harfbuzz-subset" in str(name):
        raise OSError("hidden by the test: " + str(name))
    return _orig(self, name, *a, **k)
cffi.FFI.dlopen = _dlopen
from handouts.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_renders_without_libharfbuzz_subset(tmp_path):
    """A machine without libharfbuzz-subset0 renders every WeasyPrint document (more
    slowly, with fontTools) and says so once; it is not an engine error."""
    script = tmp_path / "hidden.py"
    script.write_text(HIDE_HARFBUZZ_SUBSET)
    for doc, locale in (("handout", "zh-Hant"), ("poster", "en")):
        res = subprocess.run([sys.executable, str(script), "build", doc, "--locale", locale,
                              "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert "libharfbuzz-subset0 is not installed" in res.stderr
        assert res.stderr.count("notice:") == 1
        pdf = Path(res.stdout.strip())
        pdfcheck.assert_fonts_bundled(pdf)


def test_a_warning_that_drops_something_is_still_an_error():
    capture = weasy._Capture()
    capture.emit(logging.makeLogRecord({"msg": "Using fontTools instead of HarfBuzz-Subset for font %s",
                                        "args": ("x",), "levelno": logging.WARNING}))
    assert capture.records == []
    capture.emit(logging.makeLogRecord({"msg": "Ignored `color: blurple` at 3:1, invalid value.",
                                        "levelno": logging.WARNING}))
    assert capture.records, "an ignored CSS declaration must fail the build"


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Listener.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture()
def listener():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Listener.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _render(html: str):
    from handouts import paths
    return weasy.render(html, paths.layouts_dir() / "handout", ("Noto Sans",), [], tagged=False)


@pytest.mark.parametrize("make_html", [
    lambda u, s: f'<link rel="stylesheet" href="{u}/style.css"><p>x</p>',
    lambda u, s: f'<img src="{u}/pixel.png" alt="x">',
    lambda u, s: f'<p style="background: url({u}/bg.png)">x</p>',
    lambda u, s: f'<img src="file://{s}" alt="x">',
    lambda u, s: f'<link rel="stylesheet" href="file://{s}"><p>x</p>',
    lambda u, s: '<img src="../../../../../../../etc/hostname" alt="x">',
    lambda u, s: '<link rel="stylesheet" href="data:text/css,p%7Bcolor:red%7D"><p>x</p>',
    lambda u, s: '<img src="data:text/html,%3Cp%3Ex%3C/p%3E" alt="x">',
], ids=["http-css", "http-img", "http-css-url", "file-outside-img", "file-outside-css",
        "relative-escape", "data-css", "data-html"])
def test_url_fence_reads_nothing_outside_layouts_and_assets(listener, tmp_path, make_html):
    secret = tmp_path / "secret.css"
    secret.write_text("p { color: red }")
    html = f'<html lang="en"><head><title>t</title></head><body>{make_html(listener, secret)}</body></html>'
    with pytest.raises(HandoutsError):
        _render(html)
    assert _Listener.hits == [], "the renderer contacted a network listener"


MARKUP = '<b>Ann</b> & "Lee" <img src=x>'


@pytest.mark.parametrize("document", ["handout", "wallet-card"])
def test_markup_in_a_personal_field_prints_literally(tmp_path, document):
    """Autoescape (templates) and plain text (ReportLab): a name with markup is text."""
    from handouts.build import build
    from handouts.patient import Patient
    from handouts.pdftext import extract
    p = Patient(name=MARKUP, oncologist='Dr. <i>X</i>', treatment_center="A & B <br> Center")
    built = build(document, "en", None, p, tmp_path)
    text = " ".join(extract(built.path).split())
    assert MARKUP in text
    if document == "handout":
        assert "Dr. <i>X</i>" in text and "A & B <br> Center" in text


ENGINE_FORBIDDEN = {"content", "patient", "localizer", "documents", "schedule", "registry", "build", "batch"}


def _imports(path: Path, package: str) -> set[str]:
    """Every module a file imports, resolved to absolute dotted names (any style)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found |= {f"{mod}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            found |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return found


def test_engines_do_not_import_the_drug():
    engines = Path(handouts.__file__).parent / "engines"
    for f in engines.glob("*.py"):
        mods = _imports(f, "handouts.engines")
        bad = {m for m in mods if m.startswith("handouts.") and m.split(".")[1] in ENGINE_FORBIDDEN}
        bad |= {m for m in mods if m.split(".")[0] in ENGINE_FORBIDDEN}
        assert not bad, f"{f.name} imports {sorted(bad)}"


@pytest.mark.parametrize("source", [
    "from .. import content", "from ..content import ContentModel", "import handouts.content",
    "from handouts import patient", "from ..documents import handout",
    "importlib.import_module('handouts.content')",
])
def test_engine_import_check_catches_every_style(tmp_path, source):
    f = tmp_path / "x.py"
    f.write_text(source + "\n")
    mods = _imports(f, "handouts.engines")
    bad = {m for m in mods if (m.startswith("handouts.") and m.split(".")[1] in ENGINE_FORBIDDEN)}
    assert bad, source


# -- the URL fence refuses a file outside layouts and assets even when it is a valid image
# the renderer could use (so the refusal cannot be a decode error).

@pytest.mark.parametrize("how", ["file-url", "relative"])
def test_a_valid_image_outside_layouts_and_assets_is_not_read(tmp_path, how):
    """A target the renderer could actually use: a refusal cannot come from a decode error."""
    png = tmp_path / "outside.png"
    Image.new("RGB", (4, 4), (255, 0, 0)).save(png)
    src = f"file://{png}" if how == "file-url" else os.path.relpath(png, paths.layouts_dir() / "handout")
    html = f'<html lang="en"><head><title>t</title></head><body><img src="{src}" alt="x"></body></html>'
    with pytest.raises(HandoutsError):
        _render(html)
