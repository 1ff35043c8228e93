"""WeasyPrint adapter: HTML + CSS in, PDF bytes out.

- Fonts come only from assets/fonts, declared by @font-face; the fetcher refuses any
  URL outside layouts/ and assets/, so neither the network nor a stray file is read.
- Any WeasyPrint warning is an error: a warning means something was dropped. The only
  exceptions are notices known to drop nothing (NOTICES below, e.g. subsetting fonts with
  fontTools where the HarfBuzz subsetter library is missing: slower, same glyphs); they
  are reported once per process on stderr.
- Output is byte-reproducible: the PDF identifier is derived from the input.

Write path: WeasyPrint's `pdf_identifier` makes pydyf serialize and compress every
object a second time only to hash it, so the /ID is spliced into the trailer after
writing. Every change to WeasyPrint, cffi or pydyf themselves is in `patches`.
"""

from __future__ import annotations

import atexit
import contextvars
import hashlib
import logging
import os
import re
import sys
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import patches

patches.import_weasyprint()

import pydyf  # noqa: E402
import weasyprint.pdf.fonts as _pdf_fonts  # noqa: E402
from weasyprint import CSS, HTML  # noqa: E402
from weasyprint.text.ffi import ffi as _ffi  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher  # noqa: E402

from .. import paths  # noqa: E402
from ..errors import HandoutsError  # noqa: E402
from ..locales import font_families  # noqa: E402

patches.fast_cffi_types(_ffi)
patches.pdf_zlib_level(pydyf)
patches.lazy_font_file(_pdf_fonts)

# The faces (and their glyphs) that another part will supply to the document being
# written: `render(supplied=...)`, read by the supplied-fonts patch.
_SUPPLIED: contextvars.ContextVar[Mapping[str, frozenset[int]] | None] = contextvars.ContextVar(
    "supplied_fonts", default=None)
patches.supplied_fonts(_pdf_fonts, _SUPPLIED.get)


class EngineWarning(HandoutsError):
    """WeasyPrint warned that it dropped or replaced something: the PDF is not faithful."""

    def __init__(self, detail: str, code: str = "engine.warning"):
        super().__init__(code, "WeasyPrint", {"detail": detail})


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


# Font configurations made by a parent process, held by a forked worker until it exits.
_INHERITED: list[FontConfiguration] = []


def start_own_fonts() -> None:
    """In a forked worker: a font configuration of its own, whose copies of the bundled
    faces go to a temporary folder of its own. Sharing the parent's folder would let the
    worker's copies make the parent skip a face later (and print with a system font).
    The parent's configuration is kept alive here and never finalized: its finalizer
    deletes its folder, which the parent still uses."""
    if _font_config.cache_info().currsize:
        _INHERITED.append(_font_config())
    _forget_fonts()


def _forget_fonts() -> None:
    """Drop this process's font configuration and what was parsed with it: its
    finalizer removes its folder of font copies (run at exit, too)."""
    font_face_css.cache_clear()
    stylesheet.cache_clear()
    _font_config.cache_clear()


atexit.register(_forget_fonts)


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


_SOURCES: weakref.WeakKeyDictionary[CSS, str] = weakref.WeakKeyDictionary()  # stylesheets made here
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
                tagged: bool, supplied: Mapping[str, frozenset[int]] | None = None):
    """Lay out and write (no /ID yet)."""
    variant = "pdf/ua-1" if tagged else None
    stack = _stack_for(html, families, stylesheets)
    doc = HTML(string=html, base_url=str(base_dir) + os.sep, url_fetcher=_fetcher()).render(
        font_config=_font_config(), stylesheets=[font_face_css(stack), *stylesheets], pdf_variant=variant)
    token = _SUPPLIED.set(supplied)
    try:
        return doc, doc.write_pdf(pdf_variant=variant)
    finally:
        _SUPPLIED.reset(token)


@dataclass
class Rendered:
    pdf: bytes
    pages: int


def render(html: str, base_dir: Path, families: tuple[str, ...], stylesheets: list[CSS],
           tagged: bool = True, supplied: Mapping[str, frozenset[int]] | None = None) -> Rendered:
    """`supplied`: faces whose glyphs another part will supply (their names as the PDF
    writes them, with the glyph ids that part holds). A face all of whose glyphs are
    there gets a placeholder program (patches.PLACEHOLDER_FONT): the PDF is then only a
    part for pdfjoin.join, which replaces each placeholder or refuses."""
    capture = _Capture()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(capture)
    try:
        doc, pdf = _render_pdf(html, base_dir, families, stylesheets, tagged, supplied)
        identifier = hashlib.sha256(html.encode("utf-8")).digest()[:16]
        pdf = with_identifier(pdf, identifier)
    except _FETCH_ERRORS as exc:
        cause = exc.__cause__ or exc
        raise EngineWarning(" ".join(str(cause).split())[:160], "engine.refused_resource") from None
    finally:
        logger.removeHandler(capture)
    if capture.records:
        raise EngineWarning("; ".join(" ".join(r.split()) for r in capture.records[:3]))
    return Rendered(pdf=pdf, pages=len(doc.pages))
