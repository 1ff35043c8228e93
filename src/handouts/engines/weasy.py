"""WeasyPrint adapter: HTML + CSS in, PDF bytes out.

- Fonts come only from assets/fonts, declared by @font-face; the fetcher refuses any
  URL outside layouts/ and assets/, so neither the network nor a stray file is read.
- Any WeasyPrint warning is an error: a warning means something was dropped. The only
  exceptions are notices known to drop nothing (NOTICES below, e.g. subsetting fonts with
  fontTools where the HarfBuzz subsetter library is missing: slower, same glyphs); they
  are reported once per process on stderr.
- Output is byte-reproducible: the PDF identifier is derived from the input.

Write path (issue 12): WeasyPrint's `pdf_identifier` makes pydyf serialize and compress
every object a second time only to hash it, so the /ID is spliced into the trailer
after writing; and pydyf's zlib level 9 is replaced by zlib's default level 6 (files
about 2 % larger, the write about 6 % faster).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import weakref
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# WeasyPrint opens its libraries by trying a list of names, Windows and macOS names
# first; cffi answers each miss with ctypes.util.find_library, which on Linux runs
# ldconfig, gcc and ld as subprocesses: 200 processes and 0.2-0.3 s CPU (more wall) of
# every cold build. When the Linux sonames it also tries open directly, the misses are
# answered at once instead. Otherwise the real lookup runs, as before.
LINUX_SONAMES = ("libgobject-2.0.so.0", "libpango-1.0.so.0", "libharfbuzz.so.0",
                 "libfontconfig.so.1", "libpangoft2-1.0.so.0")


def _sonames_open() -> bool:
    import ctypes
    try:
        for name in LINUX_SONAMES:
            ctypes.CDLL(name)
    except OSError:
        return False
    return True


def _import_weasyprint() -> None:
    if "weasyprint.text.ffi" in sys.modules or not sys.platform.startswith("linux") or not _sonames_open():
        _import_deferring_fonttools()
        return
    import ctypes.util
    real = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        _import_deferring_fonttools()
    finally:
        ctypes.util.find_library = real


# WeasyPrint's PDF writer imports fontTools' subsetter and variable-font instancer when
# it is imported (with fontTools' OpenType tables and varLib: about 0.1-0.15 s CPU of a
# cold build), but calls them only where the HarfBuzz subsetter library is missing, or
# for variable fonts (the bundled fonts are static). Both are loaded when first used:
# the subsetter through the standard library's LazyLoader (the module runs on first
# attribute access), the instancer's one function through a stand-in that imports the
# real module when called. The stand-in leaves sys.modules once WeasyPrint is imported,
# so anyone else importing the instancer gets the real module.
DEFERRED_SUBSETTER = "fontTools.subset"
DEFERRED_INSTANCER = "fontTools.varLib.instancer"


def instantiate_variable_font(*args, **kwargs):
    from fontTools.varLib.instancer import instantiateVariableFont
    return instantiateVariableFont(*args, **kwargs)


def _import_deferring_fonttools() -> None:
    import importlib.util
    import types
    if "weasyprint.pdf.fonts" in sys.modules or DEFERRED_SUBSETTER in sys.modules or DEFERRED_INSTANCER in sys.modules:
        import weasyprint  # noqa: F401
        return
    import fontTools
    spec = importlib.util.find_spec(DEFERRED_SUBSETTER)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    subsetter = importlib.util.module_from_spec(spec)
    sys.modules[DEFERRED_SUBSETTER] = subsetter
    spec.loader.exec_module(subsetter)
    # Set on the package as an import would, or `from fontTools import subset` asks the
    # import system, which reads the module's __spec__ and so loads it at once.
    fontTools.subset = subsetter
    stand_in = types.ModuleType(DEFERRED_INSTANCER)
    stand_in.instantiateVariableFont = instantiate_variable_font
    sys.modules[DEFERRED_INSTANCER] = stand_in
    try:
        import weasyprint  # noqa: F401
    finally:
        del sys.modules[DEFERRED_INSTANCER]


_import_weasyprint()

import pydyf  # noqa: E402
from weasyprint import CSS, HTML  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher  # noqa: E402

from .. import paths  # noqa: E402
from ..errors import HandoutsError  # noqa: E402
from ..locales import font_families  # noqa: E402

# cffi turns every C type string it has not seen into a type by running pycparser over
# the string plus a typedef line for each of WeasyPrint's ~70 type names: 3-10 ms each.
# WeasyPrint asks for about ten fixed types on a process's first document, and for a
# new `hb_codepoint_t[N]` (N = glyphs in a font subset) on nearly every document: 0.05-
# 0.1 s of a cold build and about 15 ms of each document in a batch. The types below
# are parsed in one pass, and fixed-length arrays are built from their item type, as
# cffi itself builds them after parsing. Both use cffi internals; should those change,
# `_fast_cffi_types` leaves cffi as it is (same types, the slower way).
FIRST_DOCUMENT_TYPES = ("PangoFcFontMap *", "FcChar8 **", "char[]", "PangoRectangle *", "PangoLogAttr[]",
                        "unsigned int *", "hb_tag_t[100]", "char[4]", "FcResult *", "int *")
_ARRAY = re.compile(r"([A-Za-z_][A-Za-z0-9_ ]*?)\s*\[(\d+)\]")


class _ParsedTypes(dict):
    """cffi's cache of parsed type strings, which builds `T[N]` without the parser."""

    def __init__(self, ffi, items, array_type):
        super().__init__(items)
        self._ffi = ffi
        self._array_type = array_type  # cffi.model.ArrayType, as its parser made one
        self._items: dict[str, object] = {}

    def __missing__(self, key):
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


def _fast_cffi_types() -> None:
    try:
        from weasyprint.text.ffi import ffi
        if isinstance(ffi._parsed_types, _ParsedTypes):
            return
        todo = [t for t in FIRST_DOCUMENT_TYPES if t not in ffi._parsed_types]
        parser = ffi._parser
        array_type = None
        with ffi._lock:
            if todo:
                ast = parser._parse("void __dummy(%s);" % ", ".join(todo))[0]
                for decl, param in zip(todo, ast.ext[-1].type.args.params, strict=True):
                    tp = parser._get_type_and_quals(param.type)[0]
                    if tp.is_array_type:
                        array_type = type(tp)
                    really_a_function_type = tp.is_raw_function
                    if really_a_function_type:
                        tp = tp.as_function_pointer()
                    ffi._parsed_types[decl] = (ffi._get_cached_btype(tp), really_a_function_type)
            if array_type is None:
                array_type = type(parser.parse_type("char[1]"))
            ffi._parsed_types = _ParsedTypes(ffi, ffi._parsed_types, array_type)
    except Exception:  # noqa: BLE001 - cffi changed: it parses as before, only slower
        pass


_fast_cffi_types()


class EngineWarning(HandoutsError):
    """WeasyPrint warned that it dropped or replaced something: the PDF is not faithful."""

    def __init__(self, message: str):
        super().__init__("WeasyPrint", message)


# Notices that change speed, not output: matched against the log message, they pass.
NOTICES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Using fontTools instead of HarfBuzz-Subset for font"),
     "libharfbuzz-subset0 is not installed: fonts are subset with fontTools (slower, same "
     "output); install it for 5-8x faster rendering"),
)
_told: set[str] = set()


def _is_notice(message: str) -> str | None:
    for pattern, explanation in NOTICES:
        if pattern.search(message):
            return explanation
    return None


try:  # WeasyPrint >= 66 raises this when fail_on_errors is set
    from weasyprint.urls import FatalURLFetchingError as _FatalFetch
    _FETCH_ERRORS: tuple[type[BaseException], ...] = (_FatalFetch,)
except ImportError:  # pragma: no cover
    _FETCH_ERRORS = ()

# Inline images are all a layout may embed as data: URLs (no stylesheets, no HTML).
DATA_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml"})


ZLIB_LEVEL = 6


class _Zlib:
    """pydyf's view of zlib: its fixed level 9 costs time for a few bytes."""
    error = zlib.error

    @staticmethod
    def compress(data, level=None):
        return zlib.compress(data, ZLIB_LEVEL)

    @staticmethod
    def compressobj(level=None, *args, **kwargs):
        return zlib.compressobj(ZLIB_LEVEL)


pydyf.zlib = _Zlib


def with_identifier(pdf: bytes, identifier: bytes) -> bytes:
    """Add `/ID [<id> <id>]` to the trailer of a PDF written without one. The trailer
    dictionary (or xref stream dictionary) comes after every object and after the
    offset `startxref` points to, so no offset changes."""
    m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf[-64:])
    if m is None:
        raise ValueError("not a complete PDF: no startxref")
    pos = int(m.group(1))
    if pdf.startswith(b"xref", pos):
        at = pdf.index(b"trailer", pos)
    else:  # an xref stream: "N 0 obj\n<<..."
        at = pdf.index(b"obj", pos)
    at = pdf.index(b"<<", at) + 2
    hexid = identifier.hex().encode()
    return pdf[:at] + b" /ID [<" + hexid + b"> <" + hexid + b">]" + pdf[at:]


class _LocalOnlyFetcher(URLFetcher):
    def __init__(self, roots: tuple[Path, ...]):
        super().__init__(allowed_protocols={"file", "data"}, fail_on_errors=True)
        self._roots = tuple(r.resolve() for r in roots)

    def fetch(self, url, headers=None):
        from urllib.parse import unquote, urlparse
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "file":
            parsed = urlparse(url)
            if parsed.netloc not in ("", "localhost"):
                raise ValueError(f"layouts may only read local files: {url[:80]}")
            path = Path(unquote(parsed.path)).resolve()
            if not any(path.is_relative_to(r) for r in self._roots):
                raise ValueError(f"layouts may only read layouts/ and assets/: {url[:80]}")
        elif scheme == "data":
            mime = url[5:].split(",", 1)[0].split(";", 1)[0].strip().lower()
            if mime not in DATA_TYPES:
                raise ValueError(f"data: URL of type {mime or 'text/plain'!r} refused; "
                                 f"allowed: {', '.join(sorted(DATA_TYPES))}")
        else:
            raise ValueError(f"layouts may not fetch {scheme or 'relative'} URLs: {url[:80]}")
        return super().fetch(url, headers)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[str] = []

    def emit(self, record):
        message = record.getMessage()
        notice = _is_notice(message)
        if notice is None:
            self.records.append(message)
        elif notice not in _told:
            _told.add(notice)
            print(f"handouts: notice: {notice}", file=sys.stderr)


@cache
def _fetcher() -> _LocalOnlyFetcher:
    return _LocalOnlyFetcher((paths.layouts_dir(), paths.assets_dir()))


@cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@cache
def font_face_css(families: tuple[str, ...]) -> CSS:
    """@font-face rules for the given families, parsed once per process."""
    rules = []
    fams = font_families()
    for fam in families:
        for weight, attr in ((400, "regular"), (700, "bold")):
            url = (paths.fonts_dir() / getattr(fams[fam], attr)).as_uri()
            rules.append(f'@font-face {{ font-family: "{fam}"; src: url("{url}"); '
                         f"font-weight: {weight}; font-style: normal; }}")
    stack = ", ".join(f'"{f}"' for f in families)
    rules.append(f"html {{ font-family: {stack}; }}")
    return CSS(string="\n".join(rules), font_config=_font_config(), url_fetcher=_fetcher())


@cache
def stylesheet(path: Path) -> CSS:
    css = CSS(filename=str(path), font_config=_font_config(), url_fetcher=_fetcher())
    _SOURCES[css] = path.read_text(encoding="utf-8")
    return css


_SOURCES: "weakref.WeakKeyDictionary[CSS, str]" = weakref.WeakKeyDictionary()  # stylesheets made here
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?")
_LIST_TAG = re.compile(r"<(/?)(?:ul|ol)\b", re.I)


def _nested_list(html: str) -> bool:
    depth = 0
    for m in _LIST_TAG.finditer(html):
        depth += -1 if m.group(1) else 1
        if depth > 1:
            return True
    return False


def _stack_for(html: str, families: tuple[str, ...], stylesheets: list[CSS]) -> tuple[str, ...]:
    """The first family alone when it has every character the document can show: the
    HTML (inline styles too), the stylesheets' text (generated content) and the
    default list bullet; the whole stack otherwise. Loading the two 10 MB CJK faces is
    0.12 s of a cold English build that never draws them. A character missing anyway
    is a .notdef warning, that is an error, never a silent fallback."""
    if len(families) == 1 or _nested_list(html):  # nested bullets (◦ ▪) are not in every face
        return families
    texts = [html, "\u2022"]
    for sheet in stylesheets:
        text = _SOURCES.get(sheet)
        if text is None:
            return families
        texts.append(_CSS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    from .. import fonts
    if fonts.missing("".join(texts), families[:1]):
        return families
    return families[:1]


def _render_pdf(html: str, base_dir: Path, families: tuple[str, ...], stylesheets: list[CSS],
                tagged: bool):
    """Lay out and write (no /ID yet)."""
    variant = "pdf/ua-1" if tagged else None
    stack = _stack_for(html, families, stylesheets)
    doc = HTML(string=html, base_url=str(base_dir) + os.sep, url_fetcher=_fetcher()).render(
        font_config=_font_config(), stylesheets=[font_face_css(stack), *stylesheets], pdf_variant=variant)
    return doc, doc.write_pdf(pdf_variant=variant)


@dataclass
class Rendered:
    pdf: bytes
    pages: int


def render(html: str, base_dir: Path, families: tuple[str, ...], stylesheets: list[CSS],
           tagged: bool = True) -> Rendered:
    capture = _Capture()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(capture)
    try:
        doc, pdf = _render_pdf(html, base_dir, families, stylesheets, tagged)
        identifier = hashlib.sha256(html.encode("utf-8")).digest()[:16]
        pdf = with_identifier(pdf, identifier)
    except _FETCH_ERRORS as exc:
        cause = exc.__cause__ or exc
        raise EngineWarning(f"refused to load a resource: {' '.join(str(cause).split())[:160]}") from None
    finally:
        logger.removeHandler(capture)
    if capture.records:
        raise EngineWarning("; ".join(" ".join(r.split()) for r in capture.records[:3]))
    return Rendered(pdf=pdf, pages=len(doc.pages))
