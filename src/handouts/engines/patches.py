"""Every change handouts makes to a third-party library, in one place.

Each patch names the library and the versions it was written for (and tested with:
constraints.txt pins one of them). On any other version it is not applied and the
library runs as shipped: the same output, more slowly. Each patch also falls back to
plain behaviour when the library's internals turn out to differ at run time. `status()`
says which patches are on; the batch digest records it with the engine versions, so a
change of either rebuilds what it may have changed.

The patches only make WeasyPrint faster to import and to run; none changes what is
drawn. The PDF's zlib level changes the bytes (not the content), which is why the batch
digest records whether it is on.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
import zlib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from collections.abc import Callable, Mapping


@dataclass(frozen=True)
class Patch:
    name: str
    package: str  # the distribution whose version is checked
    since: str  # the first version the patch was written for
    below: str  # the first version it was not written for
    why: str

    def fits(self, installed: str | None = None) -> bool:
        """Whether the installed version (or `installed`) is one this patch was written for."""
        found = installed if installed is not None else package_version(self.package)
        if found is None:
            return False
        return _release(self.since) <= _release(found) < _release(self.below)


LIBRARY_LOOKUP = Patch(
    "library-lookup", "weasyprint", "66", "71",
    "WeasyPrint opens its libraries by trying Windows and macOS names first; cffi answers each "
    "miss with ctypes.util.find_library, which on Linux runs ldconfig, gcc and ld (about 200 "
    "processes of every cold build). While WeasyPrint is imported, and only where the Linux "
    "names open directly, a miss is answered at once.")
DEFERRED_FONTTOOLS = Patch(
    "deferred-fonttools", "weasyprint", "66", "71",
    "WeasyPrint's PDF writer imports fontTools' subsetter and variable-font instancer when it "
    "is imported (0.1-0.15 s of a cold build) but calls them only without the HarfBuzz "
    "subsetter or for variable fonts. Both load when first used.")
CFFI_TYPES = Patch(
    "cffi-types", "cffi", "1.15", "3",
    "cffi parses each new C type string with pycparser (3-10 ms each; a new glyph-array type "
    "on nearly every document). The first document's types are parsed in one pass, and "
    "fixed-length arrays are built from their item type as cffi's parser builds them.")
PDF_ZLIB_LEVEL = Patch(
    "pdf-zlib-level", "pydyf", "0.10", "0.14",
    "pydyf compresses every stream at zlib level 9; level 6 writes files about 2 % larger, "
    "about 6 % faster.")
LAZY_FONT_FILE = Patch(
    "lazy-font-file", "weasyprint", "70", "71",
    "WeasyPrint copies the whole file of each font a document uses into Python when it writes "
    "the PDF (for the 0.6 MB Latin faces about 1.5 ms each, several per document) and then "
    "embeds a HarfBuzz subset instead; the copy is used only where HarfBuzz cannot subset. It "
    "is made when first read.")
SUPPLIED_FONTS = Patch(
    "supplied-fonts", "weasyprint", "70", "71",
    "A part of a document that is joined to another part holding its glyphs (the handout's "
    "personal pages, joined to the cached rest) need not carry its own font subsets: the join "
    "gives it the other part's. WeasyPrint subsets and compresses each face anyway (a third "
    "of writing a Chinese personal part); for a face whose glyphs the caller says are "
    "supplied, a placeholder program is written instead, which the join must replace.")
PATCHES = (LIBRARY_LOOKUP, DEFERRED_FONTTOOLS, CFFI_TYPES, PDF_ZLIB_LEVEL, LAZY_FONT_FILE, SUPPLIED_FONTS)

# What happened to each patch in this process: "applied", or why it was not.
_STATE: dict[str, str] = {}


def _release(text: str) -> tuple[int, ...]:
    """The numeric release of a version string ("70.0" -> (70, 0); "2.1.1rc1" -> (2, 1, 1))."""
    out = []
    for part in text.split("."):
        m = re.match(r"\d+", part)
        if m is None:
            break
        out.append(int(m.group()))
        if m.end() != len(part):
            break
    return tuple(out)


@cache
def package_version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


# The libraries whose versions decide how a document looks or which bytes it has.
ENGINE_PACKAGES = ("weasyprint", "pydyf", "reportlab", "fonttools", "cffi", "qrcode", "babel", "jinja2")


def engine_versions() -> dict[str, str | None]:
    """The installed version of each engine library, and of each patch that would apply
    (read from the package metadata: nothing is imported)."""
    out: dict[str, str | None] = {p: package_version(p) for p in ENGINE_PACKAGES}
    for patch in PATCHES:
        out[f"patch:{patch.name}"] = "on" if patch.fits() else "off"
    return out


def status() -> dict[str, str]:
    """Each patch: "applied", "not applied: <why>", or "not yet used" in this process."""
    return {p.name: _STATE.get(p.name, "not yet used") for p in PATCHES}


def _skip(patch: Patch, reason: str | None = None) -> None:
    found = package_version(patch.package)
    _STATE[patch.name] = "not applied: " + (reason or f"{patch.package} {found or 'is not installed'}, "
                                                      f"written for {patch.since} to below {patch.below}")


# ---------------------------------------------------------------- importing WeasyPrint

LINUX_SONAMES = ("libgobject-2.0.so.0", "libpango-1.0.so.0", "libharfbuzz.so.0",
                 "libfontconfig.so.1", "libpangoft2-1.0.so.0")
DEFERRED_SUBSETTER = "fontTools.subset"
DEFERRED_INSTANCER = "fontTools.varLib.instancer"


def _plain_import() -> None:
    importlib.import_module("weasyprint")


def _sonames_open() -> bool:
    import ctypes
    try:
        for name in LINUX_SONAMES:
            ctypes.CDLL(name)
    except OSError:
        return False
    return True


def import_weasyprint(importer: Callable[[], None] = _plain_import, installed: str | None = None) -> None:
    """Import WeasyPrint with the import-time patches that fit its version."""
    lookup = LIBRARY_LOOKUP.fits(installed) and sys.platform.startswith("linux") \
        and "weasyprint.text.ffi" not in sys.modules
    if not LIBRARY_LOOKUP.fits(installed):
        _skip(LIBRARY_LOOKUP)
    elif not lookup:
        _skip(LIBRARY_LOOKUP, "not Linux, or WeasyPrint's libraries were already open")
    elif not _sonames_open():
        _skip(LIBRARY_LOOKUP, "the Linux library names do not open directly")
        lookup = False

    def deferred() -> None:
        if DEFERRED_FONTTOOLS.fits(installed):
            _import_deferring_fonttools(importer)
        else:
            _skip(DEFERRED_FONTTOOLS)
            importer()

    if not lookup:
        deferred()
        return
    import ctypes.util
    real = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        deferred()
    finally:
        ctypes.util.find_library = real
    _STATE[LIBRARY_LOOKUP.name] = "applied"


def instantiate_variable_font(*args: Any, **kwargs: Any) -> Any:
    """The instancer's one function WeasyPrint calls: imports the real module when called."""
    from fontTools.varLib.instancer import instantiateVariableFont
    return instantiateVariableFont(*args, **kwargs)


class _InstancerStandIn(types.ModuleType):
    """fontTools.varLib.instancer while WeasyPrint is imported: the function it calls,
    deferred; any other name imports the real module at once (plain behaviour)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if sys.modules.get(DEFERRED_INSTANCER) is self:
            del sys.modules[DEFERRED_INSTANCER]
        _STATE[DEFERRED_FONTTOOLS.name] = f"not applied: WeasyPrint imports {name} from the instancer"
        return getattr(importlib.import_module(DEFERRED_INSTANCER), name)


def _import_deferring_fonttools(importer: Callable[[], None]) -> None:
    import importlib.util
    if "weasyprint.pdf.fonts" in sys.modules or DEFERRED_SUBSETTER in sys.modules \
            or DEFERRED_INSTANCER in sys.modules:
        _skip(DEFERRED_FONTTOOLS, "fontTools or WeasyPrint was imported before")
        importer()
        return
    import fontTools
    spec = importlib.util.find_spec(DEFERRED_SUBSETTER)
    if spec is None or spec.loader is None:  # pragma: no cover - fontTools without its subsetter
        _skip(DEFERRED_FONTTOOLS, "fontTools has no subsetter module")
        importer()
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    subsetter = importlib.util.module_from_spec(spec)
    sys.modules[DEFERRED_SUBSETTER] = subsetter
    spec.loader.exec_module(subsetter)
    # Set on the package as an import would, or `from fontTools import subset` asks the
    # import system, which reads the module's __spec__ and so loads it at once.
    fontTools.subset = subsetter
    stand_in = _InstancerStandIn(DEFERRED_INSTANCER)
    stand_in.instantiateVariableFont = instantiate_variable_font  # type: ignore[attr-defined]
    sys.modules[DEFERRED_INSTANCER] = stand_in
    _STATE[DEFERRED_FONTTOOLS.name] = "applied"
    try:
        importer()
    except ImportError as exc:
        # WeasyPrint wants something of fontTools the stand-ins do not give: forget the
        # half-imported modules and import everything as shipped.
        for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[name]
        for name in (DEFERRED_SUBSETTER, DEFERRED_INSTANCER):
            sys.modules.pop(name, None)
        if hasattr(fontTools, "subset"):
            del fontTools.subset
        _skip(DEFERRED_FONTTOOLS, f"WeasyPrint's import failed with the stand-ins ({exc})")
        importer()
    finally:
        if sys.modules.get(DEFERRED_INSTANCER) is stand_in:
            del sys.modules[DEFERRED_INSTANCER]


# ---------------------------------------------------------------- cffi's type parser

FIRST_DOCUMENT_TYPES = ("PangoFcFontMap *", "FcChar8 **", "char[]", "PangoRectangle *", "PangoLogAttr[]",
                        "unsigned int *", "hb_tag_t[100]", "char[4]", "FcResult *", "int *")
_ARRAY = re.compile(r"([A-Za-z_][A-Za-z0-9_ ]*?)\s*\[(\d+)\]")


class ParsedTypes(dict[Any, Any]):
    """cffi's cache of parsed type strings, which builds `T[N]` without the parser."""

    def __init__(self, ffi: Any, items: dict[Any, Any], array_type: type) -> None:
        super().__init__(items)
        self._ffi = ffi
        self._array_type = array_type  # cffi.model.ArrayType, as its parser made one
        self._items: dict[str, object] = {}

    def __missing__(self, key: Any) -> Any:
        m = _ARRAY.fullmatch(key) if isinstance(key, str) else None
        if m is None:
            raise KeyError(key)
        ffi = self._ffi
        with ffi._lock:
            item = self._items.get(m.group(1))
            if item is None:
                item = self._items[m.group(1)] = ffi._parser.parse_type(m.group(1))
            result = (ffi._get_cached_btype(self._array_type(item, int(m.group(2)))), False)
            return self.setdefault(key, result)


def fast_cffi_types(ffi: Any, types_first: tuple[str, ...] = FIRST_DOCUMENT_TYPES,
                    installed: str | None = None) -> bool:
    """Give `ffi` the faster type cache; False (cffi as shipped) where it does not fit."""
    if not CFFI_TYPES.fits(installed):
        _skip(CFFI_TYPES)
        return False
    try:
        if isinstance(ffi._parsed_types, ParsedTypes):
            return True
        todo = [t for t in types_first if t not in ffi._parsed_types]
        parser = ffi._parser
        array_type = None
        with ffi._lock:
            parsed = dict(ffi._parsed_types)
            if todo:
                ast = parser._parse(f"void __dummy({', '.join(todo)});")[0]
                for decl, param in zip(todo, ast.ext[-1].type.args.params, strict=True):
                    tp = parser._get_type_and_quals(param.type)[0]
                    if tp.is_array_type:
                        array_type = type(tp)
                    really_a_function_type = tp.is_raw_function
                    if really_a_function_type:
                        tp = tp.as_function_pointer()
                    parsed[decl] = (ffi._get_cached_btype(tp), really_a_function_type)
            if array_type is None:
                array_type = type(parser.parse_type("char[1]"))
            ffi._parsed_types = ParsedTypes(ffi, parsed, array_type)
    except Exception as exc:  # noqa: BLE001 - cffi's internals changed: it parses as before
        _skip(CFFI_TYPES, f"cffi's internals differ ({type(exc).__name__})")
        return False
    _STATE[CFFI_TYPES.name] = "applied"
    return True


# ---------------------------------------------------------------- pydyf's compression

ZLIB_LEVEL = 6


class Zlib:
    """pydyf's view of zlib, at level 6."""
    error = zlib.error

    @staticmethod
    def compress(data: bytes, level: int | None = None) -> bytes:
        return zlib.compress(data, ZLIB_LEVEL)

    @staticmethod
    def compressobj(level: int | None = None, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(ZLIB_LEVEL)


def pdf_zlib_level(pydyf: Any, installed: str | None = None) -> bool:
    if not PDF_ZLIB_LEVEL.fits(installed):
        _skip(PDF_ZLIB_LEVEL)
        return False
    if getattr(pydyf, "zlib", None) is not zlib and getattr(pydyf, "zlib", None) is not Zlib:
        _skip(PDF_ZLIB_LEVEL, "pydyf does not compress through its module's zlib")
        return False
    pydyf.zlib = Zlib
    _STATE[PDF_ZLIB_LEVEL.name] = "applied"
    return True


# ---------------------------------------------------------------- a font's whole file

class _Unread:
    """A font's whole file, not yet copied out of HarfBuzz (`lazy_font_file`)."""
    __slots__ = ("face", "read")

    def __init__(self, face: Any, read: Callable[[Any], bytes | None]) -> None:
        self.face, self.read = face, read


def lazy_font_file(fonts: Any, installed: str | None = None) -> bool:
    """Make `fonts.Font.file_content` (WeasyPrint's pdf/fonts.py) read the font's file
    when first used instead of when the font is met. Only the read in `Font.__init__`
    waits; every other read (a subset's bytes, which the writer checks at once) happens
    as before."""
    if not LAZY_FONT_FILE.fits(installed):
        _skip(LAZY_FONT_FILE)
        return False
    font_class, read = getattr(fonts, "Font", None), getattr(fonts, "get_hb_object_data", None)
    code = getattr(getattr(font_class, "__init__", None), "__code__", None)
    if getattr(read, "lazy_font_file", False):
        return True  # applied already
    if (font_class is None or read is None or code is None or "file_content" in vars(font_class)
            or "file_content" not in code.co_names):
        _skip(LAZY_FONT_FILE, "WeasyPrint's font class differs")
        return False

    def get_hb_object_data(hb_object: Any, ot_color: Any = None, glyph: Any = None) -> Any:
        if ot_color is None and sys._getframe(1).f_code is code:
            return _Unread(hb_object, read)
        return read(hb_object, ot_color, glyph)

    def file_content(self: Any) -> Any:
        value = self.__dict__.get("_file_content")
        if isinstance(value, _Unread):
            value = self.__dict__["_file_content"] = value.read(value.face)
        return value

    def set_file_content(self: Any, value: Any) -> None:
        self.__dict__["_file_content"] = value

    get_hb_object_data.lazy_font_file = True  # type: ignore[attr-defined]
    fonts.get_hb_object_data = get_hb_object_data
    font_class.file_content = property(file_content, set_file_content)
    _STATE[LAZY_FONT_FILE.name] = "applied"
    return True


# ---------------------------------------------------------------- fonts a join supplies

# The program written for a face whose glyphs another part supplies: not a font. The
# join (pdfjoin) replaces every one of them or refuses the document.
PLACEHOLDER_FONT = b"\0\1\0\0handouts: this face's glyphs are supplied by the join\0"


def supplied_fonts(fonts: Any, supplied: Callable[[], Mapping[str, frozenset[int]] | None],
                   installed: str | None = None) -> bool:
    """Make WeasyPrint's `fonts.Font.subset` write PLACEHOLDER_FONT for a face whose
    drawn glyphs are all in `supplied()[face]` (the face's name as the PDF writes it,
    after the subset tag: "Noto-Sans-SC"); every other face, and every face while
    `supplied()` is None, is subset as shipped."""
    if not SUPPLIED_FONTS.fits(installed):
        _skip(SUPPLIED_FONTS)
        return False
    font_class = getattr(fonts, "Font", None)
    original = getattr(font_class, "subset", None)
    if getattr(original, "supplied_fonts", False):
        return True  # applied already
    if font_class is None or not callable(original):
        _skip(SUPPLIED_FONTS, "WeasyPrint's font class differs")
        return False

    def subset(self: Any, to_unicode: Any, hinting: Any) -> Any:
        found = supplied()
        if found and to_unicode:
            name = getattr(self, "name", b"")
            face = name.split(b"+", 1)[-1].decode("latin-1") if isinstance(name, bytes) else ""
            gids = found.get(face)
            if gids is not None and set(to_unicode) <= gids:
                self.file_content = PLACEHOLDER_FONT
                return None
        return original(self, to_unicode, hinting)

    subset.supplied_fonts = True  # type: ignore[attr-defined]
    font_class.subset = subset
    _STATE[SUPPLIED_FONTS.name] = "applied"
    return True
