"""A scratch split of today's handout into a personal part and a static part, to test
the PDF join and the static-part cache on real pages and to measure them. It cuts the
handout's HTML at its sections; it edits no layout (the real split into two templates
comes once the handout's pages have settled).

- personal part (per patient): masthead with the name, what the medicine is, the
  warning box with the care team's 24-hour phone beside the emergency rule (page 1);
  then the care-team table and the dated schedule (page 2).
- static part (laid out once): dosing, labs, side effects, pregnancy, where to learn
  more, and the sources footer. It is cut from the handout of a fixed patient with a
  first dose, so its cited sources include the dated schedule's.
- whole document: the same two bodies in one HTML document, the path large print and
  bilingual handouts keep; the joined PDF must read the same.

"Page N of M" is printed with the joined document's numbers: M as a literal, the
static part's first number by resetting the page counter on its first page.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from handouts import paths, pdfjoin, registry, staticcache
from handouts.documents import handout
from handouts.documents.common import BuildRequest
from handouts.engines import weasy
from handouts.localizer import get as get_localizer
from handouts.staticcache import StaticCache  # noqa: F401 (type of `cache`)

PERSONAL_PAGES = 2  # the personal part's page budget: front page, then care team and dates

# Page 2 of the personal part: the care team, then the dated schedule on the same page.
PERSONAL_CSS = ".care-team { break-before: page; } .personal { break-before: auto; }"
# The static part starts on a new page: forced in the whole document.
WHOLE_CSS = PERSONAL_CSS + " .static-start { break-before: page; }"
_SECTION = re.compile(r"(?=<section\b|<footer\b)")
_BODY = re.compile(r"<body>(.*)</body>", re.S)


@dataclass(frozen=True)
class Split:
    head: str  # <!DOCTYPE ..> .. </head>, with the page counter's "of M" left to fill in
    personal: str  # body HTML
    static: str  # body HTML


def _cut(html: str) -> tuple[str, list[str]]:
    head, rest = html.split("<body>", 1)
    body = _BODY.search("<body>" + rest).group(1)
    return head, _SECTION.split(body)


def _chunks(html: str) -> dict[str, str]:
    head, chunks = _cut(html)
    out = {"head": head, "front": chunks[0], "static": "", "care": "", "schedule": "", "footer": ""}
    sections = 0
    for chunk in chunks[1:]:  # chunks[0]: the masthead (and the unreviewed notice)
        if chunk.startswith("<footer"):
            out["footer"] += chunk
        elif chunk.startswith('<section class="care-team"'):
            out["care"] += chunk
        elif chunk.startswith('<section class="personal"'):
            out["schedule"] += chunk
        elif sections < 2:  # what the medicine is, the warning box: page 1
            out["front"] += chunk
            sections += 1
        else:
            out["static"] += chunk
    return out


def split(req: BuildRequest, static: bool = True) -> Split:
    """The personal body from `req`, the static body from the fixed patient's handout
    (`static=False`: without it, for a personal part alone)."""
    mine = _chunks(handout.html(req))
    if not static:
        return Split(mine["head"], mine["front"] + mine["care"] + mine["schedule"], "")
    fixed = _chunks(handout.html(static_request(req)))
    static = fixed["static"].replace("<section", '<section class="static-start"', 1) \
        if fixed["static"].startswith("<section>") else fixed["static"]
    return Split(mine["head"], mine["front"] + mine["care"] + mine["schedule"], static + fixed["footer"])


def static_request(req: BuildRequest) -> BuildRequest:
    """What the static part is laid out from: no personal value of this patient."""
    return dataclasses.replace(req, patient=registry.get("handout").sample_patient())


def _head(head: str, css: str, total: int, first_page: int = 1) -> str:
    counter = head.replace("counter(pages)", f'"{total}"')
    reset = f"@page :first {{ counter-reset: page {first_page} }}" if first_page != 1 else ""
    return counter.replace("</head>", f"<style>{css}{reset}</style>\n</head>", 1)


def _document(head: str, body: str) -> str:
    return f"{head}<body>{body}</body>\n</html>\n"


def _render(req: BuildRequest, html: str) -> weasy.Rendered:
    layout = paths.layouts_dir() / handout.LAYOUT
    families = tuple(get_localizer(req.locale, req.model).spec.fonts)
    return weasy.render(html, layout, families, [weasy.stylesheet(layout / n) for n in handout.STYLESHEETS])


def personal_html(req: BuildRequest, static_pages: int, parts: Split | None = None,
                  personal_pages: int = PERSONAL_PAGES) -> str:
    parts = parts or split(req, static=False)
    return _document(_head(parts.head, PERSONAL_CSS, personal_pages + static_pages), parts.personal)


def static_html(req: BuildRequest, total: int, parts: Split | None = None,
                first_page: int = PERSONAL_PAGES + 1) -> str:
    parts = parts or split(req)
    # Alone, the part starts at the top of its first page as it does after the forced
    # break in the whole document.
    return _document(_head(parts.head, WHOLE_CSS, total, first_page), parts.static)


def whole_html(req: BuildRequest, parts: Split | None = None) -> str:
    parts = parts or split(req)
    return _document(parts.head.replace("</head>", f"<style>{WHOLE_CSS}</style>\n</head>", 1),
                     parts.personal + parts.static)


def render_whole(req: BuildRequest) -> weasy.Rendered:
    return _render(req, whole_html(req))


def static_inputs(req: BuildRequest, first_page: int = PERSONAL_PAGES + 1) -> dict:
    """What the static part depends on besides the batch manifest's input digests."""
    return {"document": req.document, "locale": req.locale, "paper": req.paper.name,
            "large_print": req.large_print, "split": "prototype-1", "first_page": first_page}


def render_static(req: BuildRequest, first_page: int = PERSONAL_PAGES + 1) -> weasy.Rendered:
    """The static part with the joined document's page numbers. Its page count does not
    depend on the numbers (they print in the page margin), so a wrong guess costs one
    more render, once per cache entry."""
    parts = split(static_request(req))
    guess = 2
    rendered = _render(req, static_html(req, first_page - 1 + guess, parts, first_page))
    if rendered.pages != guess:
        rendered = _render(req, static_html(req, first_page - 1 + rendered.pages, parts, first_page))
    return rendered


def _static(req: BuildRequest, cache: StaticCache, first_page: int) -> bytes:
    key = cache.key(staticcache.static_inputs(req.document, req.locale, req.paper.name),
                    static_inputs(req, first_page))
    return cache.get_or_make(key, lambda: render_static(req, first_page).pdf)


def render_joined(req: BuildRequest, cache: StaticCache) -> tuple[bytes, int]:
    """A personal handout the new way: the personal part rendered, the static part from
    the cache (laid out on a miss), joined. Returns (pdf, pages). The personal part is
    expected to fill PERSONAL_PAGES; where it fills more or fewer, it is laid out again
    with the right page numbers (and the static part numbered after it)."""
    parts = split(req, static=False)
    personal_pages = PERSONAL_PAGES
    static = _static(req, cache, personal_pages + 1)
    static_pages = _page_count(static)
    personal = _render(req, personal_html(req, static_pages, parts, personal_pages))
    if personal.pages != personal_pages:
        personal_pages = personal.pages
        static = _static(req, cache, personal_pages + 1)
        personal = _render(req, personal_html(req, static_pages, parts, personal_pages))
    return pdfjoin.join([personal.pdf, static]), personal_pages + static_pages


def _page_count(pdf: bytes) -> int:
    import io

    import pikepdf
    with pikepdf.Pdf.open(io.BytesIO(pdf)) as doc:
        return len(doc.pages)
