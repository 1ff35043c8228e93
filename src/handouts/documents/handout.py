"""The patient handout (WeasyPrint): a personal part, then the rest.

The personal part (layouts/handout/personal.html) holds everything that differs per
patient: the name, the warnings with the care team's 24-hour phone beside the emergency
rule (page 1), the care team and the dated schedule, within the registry's personal page
budget. The rest (static.html) depends only on the locale, paper, content, catalogs,
fonts, layouts and engines: it is laid out once, kept in the static-part cache
(staticcache.py) and joined to each personal part as PDF (pdfjoin.py), so a personal
handout costs one short layout and a join.

Both parts in one HTML document is the whole handout: the path of large print, of a
second language (--also) and of a personal part past its budget. It starts the rest on
a new page, as the joined handout does, so both paths print the same pages and text.
A part laid out alone prints the joined document's page numbers ("Page 3 of 5"), and
the rest cites a fixed set of sources: those of everything the whole handout prints for
a patient with a dated schedule (the registry's sample patient).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from .. import locales, paths, pdfjoin, qr, registry, staticcache
from ..clock import print_date
from ..content import ContentModel
from ..engines import weasy
from ..localizer import Localizer
from ..localizer import get as get_localizer
from ..schedule import planned_visits
from .common import (BuildRequest, capitalized, css_string, footer_line, lab_schedule_text, monitoring_text, printed_id,
                     provenance, render_template, risks, visit_label, visits_label, when_label)

LAYOUT = "handout"
PERSONAL, STATIC = "personal", "static"
PARTS = (PERSONAL, STATIC)  # the whole handout
QR_MODULE_MM = 0.6
STYLESHEETS = ("style.css", "safety.css")
LARGE_PRINT_STYLESHEET = "large-print.css"  # page budgets: the registry's handout spec
_COUNTER = re.compile(r"%\((page|pages)\)s")


def page_counter_css(L: Localizer) -> Markup:
    """The running "Page N of M" as a CSS content value: the catalog's words as quoted
    strings around counter(page) and counter(pages). Only catalog text and the two
    counters can appear, each piece escaped as a CSS string."""
    text = L._("Page %(page)s of %(pages)s")  # no values: the catalog's text as it is
    parts: list[str] = []
    pos = 0
    for m in _COUNTER.finditer(text):
        if m.start() > pos:
            parts.append(f'"{css_string(text[pos:m.start()])}"')
        parts.append(f"counter({m.group(1)})")
        pos = m.end()
    if pos < len(text):
        parts.append(f'"{css_string(text[pos:])}"')
    return Markup(" ".join(parts))


_PAGES_COUNTER = "counter(pages)"


def with_total(text: str, total: int) -> str:
    """A part's HTML with the joined document's page total in its running "of M" (a
    part alone counts only its own pages). Only the <style> in the head is changed."""
    head, sep, rest = text.partition("</style>")
    if head.count(_PAGES_COUNTER) != 1:
        raise ValueError("the page counter is not in the head's style")
    return head.replace(_PAGES_COUNTER, f'"{int(total)}"') + sep + rest


def stay_near_end(model, day: dt.date) -> dt.date:
    """The day the stay-near period ends for an infusion started on `day`: the period
    (content model, in hours) counted from a start in clinic hours. Elapsed hours, never
    "the same clock time": across a daylight-saving change the clock time differs by an
    hour, the day does not (tests/test_schedule.py checks start times 06:00 to 20:00
    across the US changes)."""
    hours = float(model.fact(model.roles.stay_near.total).value)
    return day + dt.timedelta(hours=hours)


def stay_near_until(L: Localizer, day: dt.date) -> str:
    """The stay-near rule for a dose given on `day`: counted in hours from the start of
    the infusion, with the day the period ends."""
    return L._("Then stay within %(distance)s of that place, with a caregiver, until %(total)s after the "
               "infusion started: %(date)s.", distance=L.q(L.model.roles.stay_near.distance),
               total=L.q(L.model.roles.stay_near.total),
               date=L.date(stay_near_end(L.model, day), "full"))


def footer_css(text: str, *more: str) -> Markup:
    """The running footer as a CSS content value on two lines, broken at its middle
    " · " separator (the catalog's words, each line escaped as a CSS string): a line
    breaks where the text says, never inside a date or a label revision, and never
    leaves a character alone on the last line. `more`: lines of their own after it."""
    parts = [p.strip() for p in text.split("·")] if text else []
    half = (len(parts) + 1) // 2
    lines = [" · ".join(parts[:half]), " · ".join(parts[half:])] if len(parts) > 1 else [text]
    return Markup(' "\\A " '.join(f'"{css_string(line)}"' for line in (*lines, *more) if line))


def html(req: BuildRequest, parts: tuple[str, ...] = PARTS, first_page: int = 1, qr_image: str = "svg") -> str:
    """The handout's HTML: both parts (the whole handout), or one of them to lay out
    alone, numbering its pages from `first_page` ("of M" is counter(pages) until
    `with_total` sets it). `qr_image`: the QR code as "svg" or "png"."""
    model = req.model
    L = get_localizer(req.locale, model)
    cited = cited_facts(req.locale, model) if STATIC in parts else frozenset()
    with L.tracking() as printed:
        return _html(req, L, printed, parts, first_page, qr_image, cited)


# Per content model (by identity; the model is kept alive with its entry), per locale.
_CITED: dict[int, tuple[ContentModel, dict[str, frozenset[str]]]] = {}


def cited_facts(locale: str, model: ContentModel) -> frozenset[str]:
    """The facts whose sources the handout cites, the same for every patient: what the
    whole handout prints for a patient with a dated schedule. The rest of the handout,
    laid out without a patient, cites the personal part's sources too."""
    entry = _CITED.get(id(model))
    if entry is None or entry[0] is not model:
        if len(_CITED) >= 8:
            _CITED.pop(next(iter(_CITED)))
        entry = _CITED[id(model)] = (model, {})
    found = entry[1].get(locale)
    if found is None:
        L = Localizer(locale, model)  # its own: nothing reaches another render's tracking
        spec = registry.get("handout")
        sample = BuildRequest(spec.name, locale, resolve_paper(locale), spec.sample_patient(), model)
        with L.tracking() as facts:
            _html(sample, L, facts, PARTS, 1, "svg", frozenset())
        found = entry[1][locale] = frozenset(facts)
    return found


def resolve_paper(locale: str):
    from ..build import resolve_paper as resolve
    return resolve(registry.get("handout"), locale, None)


def _html(req: BuildRequest, L: Localizer, printed: set[str], parts: tuple[str, ...], first_page: int,
          qr_image: str, cited: frozenset[str]) -> str:
    model = req.model
    when = print_date()
    rows = L.schedule()
    schedule_rows: list[dict] = []
    for r in rows:  # rows with the same dose and monitoring share one table row
        entry = {"when": [when_label(L, r)], "dose": L.q(r.dose), "monitoring": monitoring_text(L, r)}
        last = schedule_rows[-1] if schedule_rows else None
        if last and (last["dose"], last["monitoring"]) == (entry["dose"], entry["monitoring"]):
            last["when"] += entry["when"]
        else:
            schedule_rows.append(entry)
    # Table 3 (premedication before, fluids after): printed to patients only when its
    # facts are verified; the numbers stay on the staff poster.
    premed = visits_label(L, [r for r in rows if r.premedication])
    premed_facts = model.roles.premedication.ids()
    if premed and all(model.is_printable(f) for f in premed_facts):
        printed.update(premed_facts)
    else:
        premed = ""
    stay_near = visits_label(L, model.stay_near_rows())

    patient = req.patient
    spec = registry.get(req.document)
    first_dose = spec.value("patient.first_dose", patient)
    visits = []
    if first_dose:
        shown = model.presentation.schedule_cycles_shown
        visits = [{"date": L.date(v.date, "long"), "weekday": L.weekday(v.date), "when": visit_label(L, v.cycle, v.day),
                   "dose": L.q(v.row.dose),
                   "monitoring": monitoring_text(L, v.row, stay_near_until(L, v.date) if v.row.stay_near else "")}
                  for v in planned_visits(model, first_dose, shown)]
    contacts = [(L._(spec.variable(name).label), spec.value(name, patient)) for name in registry.CONTACT_VARIABLES]
    phone_label = L._(spec.variable("patient.phone").label)
    title = L._("%(drug)s: a guide for patients and caregivers", drug=L.name("title"))
    provenance_ctx = provenance(L, model, when, printed)
    # The rest laid out alone is everyone's: it names no one's document.
    document_id = printed_id(req) if PERSONAL in parts else ""
    footer_rest = footer_css(L._("Content %(version)s · Printed %(date)s", version=model.meta.content_version,
                                 date=L.date(when, "medium")) if req.large_print else footer_line(L, model, when))
    code = qr.make(model.meta.nci_url)
    nci = model.meta.nci_source

    def sources():
        # Called by the template's footer, after everything above it has been printed.
        found = model.sources_for(sorted(printed | cited))
        return found + [model.sources[nci]] if model.sources[nci] not in found else found

    alt = L._("QR code: %(url)s", url=model.meta.nci_url)
    return render_template(
        f"{LAYOUT}/template.html", L, parts=parts, first_page=first_page if first_page != 1 else None,
        title=title, paper=req.paper, patient_name=spec.value("patient.name", patient), visits=visits,
        schedule_rows=schedule_rows, stay_near_visits=stay_near,
        premed_visits=premed,
        labs_when=lab_schedule_text(L, printed), risks=risks(L),
        emergency_list=[capitalized(s) for s in provenance_ctx["emergency_signs"]],
        contacts=contacts, phone_label=phone_label, first_day=L.number(1),
        phone=spec.value("patient.phone", patient),
        printable=model.is_printable,
        qr_code=code.png(QR_MODULE_MM, alt) if qr_image == "png" else code.svg(QR_MODULE_MM, alt),
        sources=sources,
        # Large print repeats a short running footer (one line at 18 pt, so the warning
        # box's signs, phone and emergency rule fit on one page); the full provenance
        # prints in the footer at the end, as in regular print.
        # The document id on every personal page: its own line (at 18 pt, large print
        # has room for it and the print date only; the id begins with the content
        # version). The rest's pages, the same for every patient, print no id.
        footer_left=(footer_css("", document_id, L._("Printed %(date)s", date=L.date(when, "medium")))
                     if req.large_print else footer_css(footer_line(L, model, when),
                                                        L._("Document %(id)s", id=document_id)))
        if document_id else footer_rest,
        footer_rest=footer_rest,
        document_id=document_id,
        page_counter=page_counter_css(L),
        **provenance_ctx,
    )


_BODY = re.compile(r"<body>(.*)</body>", re.S)


def _body(page: str) -> str:
    found = _BODY.search(page)
    if found is None:  # the handout's template always has one
        raise ValueError("the handout's HTML has no <body>")
    return found.group(1)


def bilingual_html(req: BuildRequest, qr_image: str = "svg") -> str:
    """The patient's language, then the `also` language after a page break: the same
    handout twice on one set of sheets, each part in an element with its own lang."""
    assert req.also is not None  # only a request with --also is bilingual
    first = html(req, qr_image=qr_image)
    second = html(dataclasses.replace(req, locale=req.also, also=None), qr_image=qr_image)
    lang = locales.get(req.also).html_lang
    # Element ids (the QR code's path) must stay unique in one document.
    part = re.sub(r'\bid="([^"]+)"', r'id="also-\1"', _body(second))
    part = re.sub(r'(href="|url\()#', r'\1#also-', part)
    own = locales.get(req.locale).html_lang
    body = _body(first)
    return _BODY.sub(lambda _: f'<body><div class="part" lang="{own}">{body}</div>'
                               f'<div class="part also" lang="{lang}">{part}</div></body>', first, count=1)


def _render(req: BuildRequest, text: str, supplied: dict[str, frozenset[int]] | None = None) -> weasy.Rendered:
    L = get_localizer(req.locale, req.model)
    layout = paths.layouts_dir() / LAYOUT
    families = tuple(L.spec.fonts)
    if req.also:
        families = tuple(dict.fromkeys([*families, *locales.get(req.also).fonts]))
    return weasy.render(text, layout, families,
                        [weasy.stylesheet(layout / name) for name in STYLESHEETS
                         + ((LARGE_PRINT_STYLESHEET,) if req.large_print else ())], supplied=supplied)


def render(req: BuildRequest) -> weasy.Rendered:
    """A personal part joined to the cached rest; the whole handout for large print, a
    second language, or a personal part past its page budget."""
    if req.large_print or (req.also and req.also != req.locale):
        return render_whole(req)
    return render_joined(req, staticcache.process_cache())


def render_whole(req: BuildRequest, qr_image: str = "png") -> weasy.Rendered:
    """Both parts in one document (the QR code as a PNG: cheaper to lay out and paint)."""
    text = bilingual_html(req, qr_image) if req.also and req.also != req.locale else html(req, qr_image=qr_image)
    return _render(req, text)


def render_joined(req: BuildRequest, cache: staticcache.StaticCache) -> weasy.Rendered:
    """The personal part laid out for this patient, the rest from `cache` (laid out on a
    miss), joined. The personal part is laid out for its page budget; where it needs
    fewer pages it is numbered again with the rest numbered after it (a second cache
    entry), and where it needs more the whole handout is laid out instead."""
    budget = registry.get(req.document).personal_pages or 0
    personal_html = html(req, (PERSONAL,))
    rest = static_part(req, budget + 1, cache)
    # The personal part's faces whose glyphs the rest holds are left for the join to
    # supply (a placeholder each, no subset of their own); should the join find one it
    # cannot supply, the personal part is written again with its own fonts.
    supplied = rest.faces()
    personal = _render(req, with_total(personal_html, budget + rest.pages), supplied)
    if personal.pages > budget:
        return render_whole(req)
    if personal.pages < budget:
        rest = static_part(req, personal.pages + 1, cache)
        supplied = rest.faces()
        personal = _render(req, with_total(personal_html, personal.pages + rest.pages), supplied)
    try:
        pdf = pdfjoin.join([personal.pdf, rest.pdf], prefixed=(False, True))
    except pdfjoin.FontsNotSupplied:
        personal = _render(req, with_total(personal_html, personal.pages + rest.pages))
        pdf = pdfjoin.join([personal.pdf, rest.pdf], prefixed=(False, True))
    return weasy.Rendered(pdf=pdf, pages=personal.pages + rest.pages)


def widened(rest: BuildRequest, pdf: bytes) -> bytes:
    """The rest's PDF with its font subsets widened to the glyphs of a personal part
    (the registry's sample patient): the personal part's fixed text, mapped to text as
    the personal part maps it (it comes first); then to every printable ASCII character
    and every month and weekday as the schedule writes them, and in bold the letters and
    digits of names (names, phone numbers and centres are mostly written in ASCII). A
    patient's personal part then seldom draws a glyph the rest's subset lacks, and the
    join shares the subset instead of merging fonts per patient. Only the sample's and
    fixed text go into the rest, never a patient's (the rest is everyone's)."""
    sample = dataclasses.replace(rest, patient=registry.get(rest.document).sample_patient())
    text = html(sample, (PERSONAL,))
    pdf = pdfjoin.widen_fonts(pdf, [_render(sample, with_total(text, _SAMPLE_PAGE_TOTAL)).pdf], others_first=True)
    return pdfjoin.widen_fonts(pdf, [_render(sample, _glyph_sampler(get_localizer(rest.locale, rest.model))).pdf])


_SAMPLE_PAGE_TOTAL = 9  # its "of M": any total, only the sample's glyphs are kept
_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


def _glyph_sampler(L: Localizer) -> str:
    """A page drawing, in the locale's language (which picks the faces as the handout
    does), every printable ASCII character and the locale's dates (every month and
    weekday as the dated schedule writes them) in the regular face, and the letters and
    digits of names (_BOLD_SAMPLE) in the bold face."""
    days = [dt.date(2026, 1, 5) + dt.timedelta(days=n) for n in range(7)]  # Monday to Sunday
    months = [dt.date(2026, m, 28) for m in range(1, 13)]
    words = [_ASCII[i:i + 16] for i in range(0, len(_ASCII), 16)]
    words += [L.weekday(d) for d in days] + [L.date(d, form) for d in months + days for form in ("long", "full")]
    return (f'<!DOCTYPE html><html lang="{L.spec.html_lang}"><head><title>glyphs</title></head>'
            f"<body><p>{escape(' '.join(words))}</p><p><strong>{_BOLD_SAMPLE}</strong></p></body></html>")


# In bold the personal part prints only the patient's name ("Prepared for"): letters, and
# digits for a list that names patients by number.
_BOLD_SAMPLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 .-'"


@dataclass(frozen=True)
class StaticPart:
    """The rest of the handout as laid out and kept: its PDF (element ids prefixed as
    the join's second part) and its page count."""
    pdf: bytes
    pages: int

    def encode(self) -> bytes:
        return b"%d\n" % self.pages + self.pdf

    def faces(self) -> dict[str, frozenset[int]]:
        """The faces the rest embeds and the glyphs each holds (read once per part)."""
        digest = hashlib.sha256(self.pdf).digest()
        found = _FACES.get(digest)
        if found is None:
            if len(_FACES) >= 16:
                _FACES.pop(next(iter(_FACES)))
            found = _FACES[digest] = pdfjoin.faces(self.pdf)
        return found

    @classmethod
    def decode(cls, data: bytes) -> StaticPart:
        pages, _, pdf = data.partition(b"\n")
        return cls(pdf=pdf, pages=int(pages))


# The faces of each rest laid out or read lately, by a digest of its PDF.
_FACES: dict[bytes, dict[str, frozenset[int]]] = {}

# Pages the rest filled last time, by (locale, paper): the first guess of the next total.
_REST_PAGES: dict[tuple[str, str], int] = {}


def static_key(req: BuildRequest, text: str, first_page: int, cache: staticcache.StaticCache) -> str:
    """The rest's cache key: the input digests a batch manifest records (content, catalog,
    fonts, layouts, code, print date, engines) and a digest of the rest's own HTML, which
    holds every value it prints (so a changed model or catalog in memory is a new key)."""
    return cache.key(staticcache.static_inputs(req.document, req.locale, req.paper.name, cache),
                     {"document": req.document, "locale": req.locale, "paper": req.paper.name,
                      "first_page": first_page, "html": hashlib.sha256(text.encode()).hexdigest(),
                      "prefixed": "p2"})


def fill_static(locale: str, paper: str, model: ContentModel) -> None:
    """Lay out the rest of the handout for `locale` and `paper` into this process's
    static-part cache (where it is, it is only looked up)."""
    spec = registry.get("handout")
    from .. import papers
    req = BuildRequest(spec.name, locale, papers.get(paper, spec.papers), None, model)
    static_part(req, (spec.personal_pages or 0) + 1, staticcache.process_cache())


def static_part(req: BuildRequest, first_page: int, cache: staticcache.StaticCache) -> StaticPart:
    """The rest of the handout, numbered from `first_page`: from `cache`, or laid out
    (once per key) and kept there."""
    rest = dataclasses.replace(req, patient=None)
    text = html(rest, (STATIC,), first_page)
    key = static_key(req, text, first_page, cache)

    def make() -> bytes:
        where = (req.locale, req.paper.name)
        guess = _REST_PAGES.get(where, 3)
        laid = _render(rest, with_total(text, first_page - 1 + guess))
        if laid.pages != guess:  # the numbers print in the margin: the pages stay the same
            laid = _render(rest, with_total(text, first_page - 1 + laid.pages))
        _REST_PAGES[where] = laid.pages
        return StaticPart(pdfjoin.prefix_ids(widened(rest, laid.pdf), 2), laid.pages).encode()

    return StaticPart.decode(cache.get_or_make(key, make))
