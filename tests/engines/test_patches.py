"""The third-party patches (engines/patches.py): each applies only to the versions it was
written for, falls back to the library as shipped otherwise, and the pinned versions
are the ones installed."""

from __future__ import annotations

import re
import subprocess
import sys
import types
import zlib

import pytest

from handouts.engines import patches
from tests.helpers import ROOT



def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)$", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_every_engine_is_pinned_and_installed_at_its_pin():
    pins = _pins()
    for package in patches.ENGINE_PACKAGES:
        assert package in pins, f"{package} is not pinned in constraints.txt"
        assert patches.package_version(package) == pins[package], (
            f"{package} {patches.package_version(package)} is installed, constraints.txt pins "
            f"{pins[package]}: run `make` (or bump the pin with `make constraints`)")


def test_every_dependency_of_the_project_is_pinned():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *(d for group in project["optional-dependencies"].values() for d in group)]
    pins = _pins()
    for requirement in wanted:
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group().lower().replace("_", "-")
        assert name in pins, f"{name} (pyproject.toml) is not in constraints.txt"


def test_every_patch_fits_the_pinned_version():
    pins = _pins()
    for patch in patches.PATCHES:
        pinned = pins[patch.package]
        assert patch.fits(pinned), f"{patch.name} was not written for {patch.package} {pinned}"


def test_the_weasyprint_adapter_applies_every_patch():
    from handouts.engines import weasy  # noqa: F401 - importing applies them
    assert set(patches.status().values()) == {"applied"}, patches.status()


@pytest.mark.parametrize("given, fits", [("70.0", True), ("66", True), ("70.1rc1", True), ("71.0", False),
                                          ("65.9", False), ("100", False)])
def test_version_ranges(given, fits):
    assert patches.LIBRARY_LOOKUP.fits(given) is fits


IMPORT_WITH = """
import ctypes.util, sys
looked_up = []
real = ctypes.util.find_library
def spy(name):
    looked_up.append(name)
    return real(name)
ctypes.util.find_library = spy
from handouts.engines import patches
patches.import_weasyprint(installed=sys.argv[1])
import fontTools.varLib
lazy = type(sys.modules["fontTools.subset"]).__name__ == "_LazyModule"
instancer = "fontTools.varLib.instancer" in sys.modules
print(len(looked_up), lazy, instancer, patches.status()["library-lookup"].split(":")[0],
      patches.status()["deferred-fonttools"].split(":")[0], sep="|")
"""


def _import_with(version: str) -> list[str]:
    res = subprocess.run([sys.executable, "-c", IMPORT_WITH, version], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().splitlines()[-1].split("|")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the library lookup patched is Linux's")
def test_import_patches_apply_on_the_version_they_were_written_for():
    looked_up, lazy, instancer, lookup, deferred = _import_with(patches.package_version("weasyprint"))
    assert (looked_up, lazy, instancer, lookup, deferred) == ("0", "True", "False", "applied", "applied")


def test_import_patches_fall_back_on_another_version():
    """WeasyPrint 99 imports as shipped: cffi asks find_library, fontTools loads at once."""
    looked_up, lazy, instancer, lookup, deferred = _import_with("99.0")
    assert int(looked_up) > 0
    assert (lazy, instancer, lookup, deferred) == ("False", "True", "not applied", "not applied")


FAILING_IMPORT = """
import sys
from handouts.engines import patches
tries = []
def importer():
    tries.append(type(sys.modules.get("fontTools.varLib.instancer")).__name__)
    if len(tries) == 1:
        raise ImportError("cannot import name 'newName' from 'fontTools.varLib.instancer'")
    import weasyprint
patches.import_weasyprint(importer)
import weasyprint.pdf.fonts
from fontTools.varLib import instancer
print(tries, weasyprint.pdf.fonts.instantiateVariableFont is instancer.instantiateVariableFont,
      patches.status()["deferred-fonttools"].split(":")[0], sep="|")
"""


def test_an_import_that_fails_with_the_stand_ins_is_retried_as_shipped():
    res = subprocess.run([sys.executable, "-c", FAILING_IMPORT], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr
    tries, real, state = res.stdout.strip().splitlines()[-1].split("|")
    assert tries == "['_InstancerStandIn', 'NoneType']"
    assert (real, state) == ("True", "not applied")


def test_a_name_the_instancer_stand_in_lacks_comes_from_the_real_module(monkeypatch):
    import fontTools.varLib
    from fontTools.varLib import instancer
    monkeypatch.setattr(fontTools.varLib, "instancer", instancer)  # restored afterwards
    stand_in = patches._InstancerStandIn(patches.DEFERRED_INSTANCER)
    stand_in.instantiateVariableFont = patches.instantiate_variable_font
    monkeypatch.setitem(sys.modules, patches.DEFERRED_INSTANCER, stand_in)
    ns: dict = {}
    exec("from fontTools.varLib.instancer import OverlapMode", ns)  # noqa: S102
    real = sys.modules[patches.DEFERRED_INSTANCER]
    assert real is not stand_in and real.__file__ == instancer.__file__
    assert ns["OverlapMode"] is real.OverlapMode


def _ffi():
    import cffi
    ffi = cffi.FFI()
    ffi.cdef("typedef unsigned int hb_codepoint_t;")
    return ffi


def test_cffi_types_on_the_version_written_for():
    ffi = _ffi()
    assert patches.fast_cffi_types(ffi, ("hb_codepoint_t *", "char[4]"))
    assert isinstance(ffi._parsed_types, patches.ParsedTypes)
    fast = ffi.typeof("hb_codepoint_t[9]")
    plain = _ffi()
    assert str(fast) == str(plain.typeof("hb_codepoint_t[9]"))
    assert list(ffi.new("hb_codepoint_t[3]", [1, 2, 3])) == [1, 2, 3]


def test_cffi_types_fall_back_on_another_version():
    ffi = _ffi()
    assert not patches.fast_cffi_types(ffi, ("hb_codepoint_t *",), installed="3.0")
    assert type(ffi._parsed_types) is dict
    assert ffi.typeof("hb_codepoint_t[2]") is not None


def test_cffi_types_fall_back_when_cffi_internals_differ():
    ffi = types.SimpleNamespace(_parsed_types={}, _lock=None)  # no _parser
    assert not patches.fast_cffi_types(ffi)
    assert type(ffi._parsed_types) is dict


def test_pdf_zlib_level_on_the_version_written_for():
    pydyf = types.SimpleNamespace(zlib=zlib)
    assert patches.pdf_zlib_level(pydyf)
    assert pydyf.zlib is patches.Zlib
    data = b"abc" * 1000
    assert zlib.decompress(pydyf.zlib.compress(data)) == data


@pytest.mark.parametrize("module, installed", [(types.SimpleNamespace(zlib=zlib), "0.14"),
                                               (types.SimpleNamespace(zlib=object()), None),
                                               (types.SimpleNamespace(), None)])
def test_pdf_zlib_level_falls_back(module, installed):
    before = getattr(module, "zlib", None)
    assert not patches.pdf_zlib_level(module, installed)
    assert getattr(module, "zlib", None) is before


def test_engine_versions_and_patches_are_in_the_batch_digest(tmp_path, monkeypatch):
    from handouts import batch
    job = batch.Job("poster", "en", "a4", tmp_path, "en/x.pdf")
    before = batch.inputs(job)
    assert before["engines"]["weasyprint"] == patches.package_version("weasyprint")
    monkeypatch.setattr(patches, "package_version", lambda name: "99.0")
    batch._engines.cache_clear()
    try:
        after = batch.inputs(job)
    finally:
        batch._engines.cache_clear()
    assert batch.digest(job, after) != batch.digest(job, before)
    assert after["engines"]["patch:pdf-zlib-level"] == "off"


FAKE_FONTS = '''
reads = []


def get_hb_object_data(hb_object, ot_color=None, glyph=None):
    reads.append(hb_object)
    return None if hb_object == "broken" else "file of " + hb_object


class Font:
    def __init__(self, face):
        self.file_content = get_hb_object_data(face)

    def subset(self, face):
        content = get_hb_object_data(face)
        if content:
            self.file_content = content
            return True
        return False
'''


def _fake_fonts(source: str = FAKE_FONTS) -> types.ModuleType:
    module = types.ModuleType("fake_pdf_fonts")
    exec(source, module.__dict__)  # noqa: S102 - a stand-in for weasyprint.pdf.fonts
    return module


def test_lazy_font_file_reads_the_whole_font_only_when_used():
    fonts = _fake_fonts()
    assert patches.lazy_font_file(fonts, installed="70.0")
    font = fonts.Font("Noto Sans")
    assert fonts.reads == []                       # not read when the font is met
    assert font.subset("subset") and fonts.reads == ["subset"]  # a subset's bytes: at once
    assert font.file_content == "file of subset"
    other = fonts.Font("Noto Sans SC")
    assert other.file_content == "file of Noto Sans SC" and fonts.reads[-1] == "Noto Sans SC"
    assert not other.subset("broken")              # a failed subset is still seen at once
    assert patches.lazy_font_file(fonts, installed="70.0")  # once is enough


@pytest.mark.parametrize("source, installed", [(FAKE_FONTS, "71.0"),
                                               (FAKE_FONTS.replace("self.file_content =", "self.data ="), "70.0"),
                                               ("", "70.0")])
def test_lazy_font_file_falls_back(source, installed):
    fonts = _fake_fonts(source)
    assert not patches.lazy_font_file(fonts, installed)
    if hasattr(fonts, "Font"):
        fonts.Font("Noto Sans")
        assert fonts.reads == ["Noto Sans"]        # read as shipped


FAKE_SUBSET = '''
class Font:
    def __init__(self, name):
        self.name = b"/ABCDEF+" + name
        self.file_content = b"whole font"

    def subset(self, to_unicode, hinting):
        self.file_content = b"subset of " + bytes(sorted(to_unicode))
'''


def test_supplied_fonts_leave_a_placeholder_only_for_faces_wholly_supplied():
    fonts = _fake_fonts(FAKE_SUBSET)
    claim: list = [None]
    assert patches.supplied_fonts(fonts, lambda: claim[0], installed="70.0")
    sc, latin = fonts.Font(b"Noto-Sans-SC"), fonts.Font(b"Noto-Sans")
    claim[0] = {"Noto-Sans-SC": frozenset({1, 2, 3})}
    sc.subset({1: "a", 3: "c"}, False)
    latin.subset({1: "a"}, False)                          # not a supplied face
    assert sc.file_content == patches.PLACEHOLDER_FONT
    assert latin.file_content == b"subset of \x01"
    more = fonts.Font(b"Noto-Sans-SC")
    more.subset({1: "a", 4: "d"}, False)                  # a glyph not supplied: its own subset
    assert more.file_content == b"subset of \x01\x04"
    claim[0] = None
    again = fonts.Font(b"Noto-Sans-SC")
    again.subset({1: "a"}, False)                         # nothing supplied now
    assert again.file_content == b"subset of \x01"


@pytest.mark.parametrize("source, installed", [(FAKE_SUBSET, "71.0"), ("", "70.0"),
                                               ("class Font:\n    pass\n", "70.0")])
def test_supplied_fonts_fall_back(source, installed):
    fonts = _fake_fonts(source)
    assert not patches.supplied_fonts(fonts, lambda: {"Noto-Sans-SC": frozenset({1})}, installed)
    if source == FAKE_SUBSET:
        font = fonts.Font(b"Noto-Sans-SC")
        font.subset({1: "a"}, False)
        assert font.file_content == b"subset of \x01"
