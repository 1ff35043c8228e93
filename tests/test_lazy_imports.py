"""Commands pay only for what they use. Commands that do not render a WeasyPrint document
do not import WeasyPrint (0.3 s cold) nor fontTools (glyph coverage is precomputed data);
`handouts list` reads the registry and the locales only; no command but --version and a
batch reads the package metadata (importlib.metadata: about 45 ms); an English build
reads no other locale's file and compiles no Chinese spacing rule."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CODE = """
import json, pathlib, sys
read = []
_read_text = pathlib.Path.read_text
def _spy(self, *args, **kwargs):
    read.append(self.as_posix())
    return _read_text(self, *args, **kwargs)
pathlib.Path.read_text = _spy
import handouts
from handouts.cli import main
code = main({argv!r})
import handouts.locales as locales
print("RESULT:" + json.dumps({{
    "code": code,
    "modules": sorted(m for m in {watch!r} if m in sys.modules),
    "version_read": "__version__" in vars(handouts),
    "read": read,
    "chinese_spacing_compiled": locales._sentence_spaces.cache_info().currsize > 0,
}}))
"""

HEAVY = ("weasyprint", "fontTools", "jinja2")
PATIENT = 'name = "Li Wei"\nfirst_dose = 2026-12-01\noncologist = "Dr. Maria Gonzalez"\nphone = "+1 (555) 010-2030"\n'


def _run(tmp_path, argv: list[str], watch, codes=(0,)) -> dict:
    (tmp_path / "p.toml").write_text(PATIENT, encoding="utf-8")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run([sys.executable, "-c", CODE.format(argv=argv, watch=tuple(watch))],
                          capture_output=True, text=True, cwd=tmp_path, check=True)
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("RESULT:"), proc.stdout + proc.stderr
    result = json.loads(last[len("RESULT:"):])
    assert result["code"] in codes, proc.stderr
    return result


@pytest.mark.parametrize("argv, allowed", [
    (["list"], set()),
    (["check", "--no-render"], {"jinja2"}),
    (["build", "wallet-card", "--sample", "--out", "{tmp}"], set()),
])
def test_no_weasyprint_without_a_weasyprint_document(tmp_path, argv, allowed):
    # check exits 3 while a shipped catalog awaits its medical review (needs a person)
    heavy = set(_run(tmp_path, argv, HEAVY, codes=(0, 3))["modules"])
    assert heavy <= allowed, heavy


def test_list_imports_only_the_registry_and_the_locales(tmp_path):
    """`handouts list` shows names from the registry and the locale files: not the
    content model, the build pipeline, babel, the card layout (qrcode), ReportLab or the
    batch machinery (multiprocessing)."""
    watch = ("handouts.content", "handouts.build", "handouts.batch", "handouts.cardlayout", "handouts.patient",
             "babel", "reportlab", "qrcode", "multiprocessing", *HEAVY)
    result = _run(tmp_path, ["list"], watch)
    assert result["modules"] == []
    assert not result["version_read"]


@pytest.mark.parametrize("argv", [
    ["build", "wallet-card", "--patient", "p.toml", "--out", "{tmp}/o"],
    ["build", "wallet-card", "--sheet", "letter-8up", "--patient", "p.toml", "--out", "{tmp}/o"],
])
def test_an_english_card_build_pays_only_for_the_card(tmp_path, argv):
    """No batch machinery, no gettext catalog reader (English has no catalog), no package
    metadata lookup, no Chinese spacing rule compiled."""
    result = _run(tmp_path, argv, ("handouts.batch", "babel.messages", "multiprocessing", *HEAVY))
    assert result["modules"] == []
    assert not result["version_read"]
    assert not result["chinese_spacing_compiled"]


@pytest.mark.parametrize("document", ["handout", "wallet-card"])
def test_an_english_build_reads_only_the_english_locale(tmp_path, document):
    """A build reads its own locale's file, not every locale's (parsing, validating and
    compiling the Chinese keep_together patterns): the card's line breaker too reads only
    the locale of the text it breaks. A handout build (no card sheet) does not import the
    card layout or ReportLab."""
    card = ("reportlab", "handouts.cards") if document == "handout" else ()
    result = _run(tmp_path, ["build", document, "--patient", "p.toml", "--out", "{tmp}/o"],
                  ("handouts.batch", "babel.messages", *card))
    assert result["modules"] == []
    assert not result["version_read"]
    locale_files = sorted({p.rsplit("/", 2)[-2] for p in result["read"] if p.endswith("/locale.toml")})
    assert locale_files == ["en"]
    assert not result["chinese_spacing_compiled"]


def test_a_locale_read_on_its_own_is_the_one_every_locale_listing_has():
    from handouts import locales
    for code, spec in locales.available().items():
        assert locales.get(code) is spec
    every = ", ".join(locales.available())
    with pytest.raises(Exception, match=f"unknown locale 'zh_Hans'; available: {every}"):
        locales.get("zh_Hans")
    with pytest.raises(Exception, match="unknown locale '../en'"):
        locales.get("../en")


def test_version_is_read_on_demand(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "handouts", "--version"], capture_output=True, text=True,
                          cwd=tmp_path, check=True)
    from importlib.metadata import version
    assert proc.stdout == f"handouts, version {version('handouts')}\n"


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


def test_a_chinese_catalog_is_read_once(monkeypatch):
    """Loading a catalog reads the template and the catalog once each: the catalog that
    is checked is the one compiled (it was parsed twice, ~5 ms of a cold Chinese build)."""
    from handouts import catalogs
    seen: list[str] = []
    read = catalogs._read
    monkeypatch.setattr(catalogs, "_read", lambda path, locale=None: seen.append(path.name) or read(path, locale))
    catalogs._parsed_at.cache_clear()  # as in a fresh process
    translations = catalogs.translations.__wrapped__("zh-Hant")  # past the per-process cache
    assert sorted(seen) == ["handouts.po", "handouts.pot"]
    assert translations.gettext("Headache") != "Headache"
