"""The CRS warning wallet card (ReportLab): one card as two ID-1 pages, or many cards
imposed on sheets for duplex printing.

Front, in the patient's language: the holder receives the drug, it can cause CRS and
neurologic problems including ICANS, when they can start, the warning signs, what to do.
Back, in English for any healthcare provider (its heading also in the patient's
language), for an emergency room at 3 a.m.: the patient's name, what the drug is, what to
suspect (CRS, ICANS, infection, neutropenia), what to treat without delay and whom to
contact, first and most recent dose, QR codes to the NCI page and to the label on
DailyMed, content version and label revision, and that the card is made by the clinic,
not by the drug's maker. With --also LOCALE the back is in that language instead (a bilingual card:
the family reads the front, the clinician the back). A side in a Chinese locale says, in
one line, where the drug is not approved (as of the date that was checked). ReportLab
cannot tag a PDF: the card has one /Lang (the front's), and a run of text carries no
language of its own; each run is set in its own language's fonts.

Every figure comes from the content model through the localizer (the facts and lists
by the model's `roles.card`); every string goes through the catalogs; personal fields
are plain text. What the card prints is tracked as for the handout and the poster, and
its sources are cited in the PDF's document information. The parts of a card that do not
depend on the patient are form XObjects, drawn once per document and placed per card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any
from dataclasses import dataclass

from babel.lists import format_list

from .. import cardlayout, locales, qr, registry, session
from ..cardlayout import NO_BLEED, Bleed, CardLayout, Imposition, Mark, Zone
from ..clock import print_date
from ..content import ContentModel
from ..engines import reportlab_canvas as rl
from ..engines.reportlab_canvas import Block, Document, Laid, Rendered, ZoneStyle
from ..errors import HandoutsError, LayoutOverflow, data_error
from ..localizer import Localizer
from ..localizer import get as get_localizer
from ..patient import Patient
from ..records import docid
from .common import AUTHOR, BuildRequest, approval_statement, danger_call, danger_emergency_inline

LAYOUT = "wallet-card"
PROVIDER_LOCALE = "en"  # the back speaks to any healthcare provider in English
# The patient's field each personal zone prints (an overflow names the field to shorten).
ZONE_FIELDS = {"name": "name", "phone": "phone", "oncologist": "oncologist", "center": "treatment_center",
               "first_dose": "first_dose"}


@dataclass(frozen=True)
class Card:
    """One card to print: the patient's locale and the patient (None: blank fields);
    `also`: the back's language (None: English, for any healthcare provider)."""
    locale: str
    patient: Patient | None = None
    where: str = ""  # for error messages, e.g. "list.csv row 3"
    also: str | None = None

    @property
    def back(self) -> str:
        """The back's language: --also's, else English (also when --also is the locale)."""
        return self.also if self.also and self.also != self.locale else PROVIDER_LOCALE


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def families(locale: str) -> tuple[str, ...]:
    return tuple(locales.get(locale).fonts)


def value_families(side_locale: str, patient_locale: str) -> tuple[str, ...]:
    """Personal text: the side's own font for Latin letters, then the patient's script
    (a Traditional-Chinese name keeps Traditional forms on the English back)."""
    side = families(side_locale)
    return _dedupe([side[0], *families(patient_locale), *side])


# ------------------------------------------------------------------------ the words

def front_static(L: Localizer) -> dict[str, list[Block]]:
    """Front zones that do not depend on the patient, in the patient's language."""
    model = L.model
    role = model.roles.card
    signs = [Block(s, bullet="•") for s in (*L.items(role.signs, card=True), *L.items(role.nervous_signs))]
    # A catalog no qualified medical translator has reviewed says so on the card.
    notice = [] if L.spec.medical_review.reviewed else [L._("Translation not yet checked by a medical translator.")]
    timing = (L._("CRS can start up to %(latest)s after a dose, ICANS weeks after a dose.",
                  latest=L.q(role.onset_latest)) if model.is_printable(role.late_onset)
              else L._("CRS can start up to %(latest)s after a dose.", latest=L.q(role.onset_latest)))
    intro = [Block(L.join_sentences(
        L._("Always carry this card. Show it to every doctor, dentist, nurse and emergency room."),
        L._("This cancer medicine can cause CRS (cytokine release syndrome) and ICANS (a brain and "
            "nerve reaction). Both can be life-threatening."),
        timing))]
    # Where the locale's readers live the drug may not be approved: one short line, on a
    # line of its own (the card follows the U.S. label, as its back says).
    approval = approval_statement(L, model)
    if approval:
        intro.append(Block(approval))
    return {
        "title": [Block(L._("I receive %(drug)s", drug=L.name("in_sentence")))],
        "intro": intro,
        # The rule first, then the signs it is about: the phone follows the list.
        "signs": [Block(danger_call(L), bold=True), *signs],
        # The notice runs on after the rule: a line of its own would not fit.
        "severe": [Block(L.join_sentences(danger_emergency_inline(L), *notice))],
    }


def _for_providers(X: Localizer) -> list[str]:
    """What the drug is, and what to suspect: the back's body, in X's language."""
    role = X.model.roles.card
    drug_class = X.items(role.drug_class)[0]
    others = format_list(X.items(role.provider_suspect), style="or", locale=X.babel)
    if X.model.is_printable(role.late_onset):
        suspect = X._("Suspect CRS (median onset %(median)s after a dose, up to %(latest)s), ICANS (can start "
                      "weeks after a dose), %(others)s.",
                      median=X.q(role.onset_median), latest=X.q(role.onset_latest), others=others)
    else:
        suspect = X._("Suspect CRS (median onset %(median)s after a dose, up to %(latest)s), ICANS, %(others)s.",
                      median=X.q(role.onset_median), latest=X.q(role.onset_latest), others=others)
    return [X._("%(drug)s is %(drug_class)s.", drug=X.name("heading"), drug_class=drug_class), suspect]


def back_static(E: Localizer, L: Localizer, model: ContentModel) -> dict[str, list[Block]]:
    """Back zones that do not depend on the patient, for healthcare providers in E's
    language (English unless the card is built with --also), with the heading in the
    patient's language (L) too. A back in a language whose readers may live where the
    drug is not approved says so in its body, as the front does. Its last lines name
    the card (card_notes): they are each card's own."""
    local_fams = families(L.code)
    body = [Block(E.join_sentences(*_for_providers(E)))]
    approval = approval_statement(E, model)
    if approval:
        body.append(Block(approval))
    # What to treat without delay, and whom to contact: right above the contact fields.
    body.append(Block(E._("Treat suspected CRS or ICANS without delay; also contact:"), bold=True))
    zones = {
        "title": [Block(E._("For healthcare providers"))],
        "body": body,
        "qr_caption": [Block(E._("NCI page"))],
        "qr2_caption": [Block(E._("U.S. label"))],
    }
    if L.code != E.code:
        zones["title_local"] = [Block(L._("For healthcare providers"), families=local_fams)]
    return zones


def card_notes(E: Localizer | _Memo, when: dt.date, document_id: str) -> list[Block]:
    """The back's last lines: clinic-made, the print date and the card's document id,
    which carries the content version and the label revision (W-en-2026.12.0-2511-...).
    The label revision is not spelled out as well: with the maker's name and the id, its
    words do not fit the two lines of 7 pt in Chinese (the id is one unbreakable token).
    Each card's own: the id names the patient's card."""
    return [Block(E.join_sentences(
        E._("Clinic-made card, not from %(maker)s.", maker=E.name("maker")),
        E._("Printed %(date)s · %(id)s", date=E.date(when, "medium"), id=document_id)))]


def card_id(item: Card, model: ContentModel, fmt: str, when: dt.date | None = None) -> str:
    """The document id a card prints: the same card alone or on a sheet has the same id;
    its second language is the back's (--also en on a Chinese card changes nothing)."""
    return str(docid.of(LAYOUT, item.locale, fmt, model, item.patient, _second(item), when=when))


def _second(item: Card) -> str | None:
    """The second language a card's id names: its back's, unless that is English."""
    return item.back if item.back != PROVIDER_LOCALE else None


def document_id(req: BuildRequest) -> str:
    """The id of one card printed alone (the registry's document_id)."""
    return card_id(Card(req.locale, req.patient, also=req.also), req.model, req.paper.name)


def _field(label: str | None, value: str | None, fams: tuple[str, ...], keep_together: bool = False) -> Block:
    """A field's block (blocks are values: one is shared, for the session, by every card
    with the same label, value, fonts and breaking rule)."""
    fields = session.current().cache("card.fields")
    key = (label, value, fams, keep_together)
    blk = fields.get(key)
    if blk is None:
        if value:
            blk = Block(value, label=label, families=fams, keep_together=keep_together)
        else:
            blk = Block("", label=label, blank=True, families=fams)
        fields[key] = blk
    return blk


def _registry_value(name: str, patient: Patient | None):
    return registry.get(LAYOUT).value(name, patient)


def front_fields(L: Localizer | _Memo, patient: Patient | None, value: Callable = _registry_value,
                 fams: tuple[str, ...] | None = None) -> dict[str, list[Block]]:
    """`value(name, patient)` reads a personal value (the registry's evaluators; a
    renderer passes them looked up once); `fams`: families(L.code), if known."""
    fams = fams or families(L.code)
    return {
        "name": [_field(L._("Name:"), value("patient.name", patient), fams)],
        "phone": [_field(None, value("patient.phone", patient), fams, keep_together=True)],  # no label
    }


def back_fields(E: Localizer | _Memo, patient: Patient | None, patient_locale: str, value: Callable = _registry_value,
                fams: tuple[str, ...] | None = None) -> dict[str, list[Block]]:
    """`fams`: value_families(E.code, patient_locale), if known."""
    fams = fams or value_families(E.code, patient_locale)
    first_dose = value("patient.first_dose", patient)
    first = E.date(first_dose, "medium") if first_dose else None
    return {
        "name": [_field(E._("Patient:"), value("patient.name", patient), fams)],
        "oncologist": [_field(E._("Oncologist:"), value("patient.oncologist", patient), fams)],
        "phone": [_field(E._("Phone, any time:"), value("patient.phone", patient), fams, keep_together=True)],
        "center": [_field(E._("Treatment center:"), value("patient.treatment_center", patient), fams)],
        "first_dose": [_field(E._("First dose:"), first, fams)],
        "last_dose": [_field(E._("Most recent dose:"), None, fams)],
    }


# ------------------------------------------------------------------------- drawing

def _style(zone: Zone, colors: dict[str, str]) -> ZoneStyle:
    return ZoneStyle(zone.x, zone.y, zone.w, zone.h, zone.size, zone.min_size, zone.leading, zone.bold,
                     colors[zone.color], colors[zone.label_color], colors["rule"], zone.align, zone.valign,
                     zone.paragraph_gap)


def _styles(card: CardLayout, side: str) -> dict[str, ZoneStyle]:
    return {name: _style(z, card.colors) for name, z in getattr(card, side).zones.items()}


def _fit_zones(side: str, card: CardLayout, texts: dict[str, list[Block]], fams: tuple[str, ...],
               locale: str, where: str = "", styles: dict[str, ZoneStyle] | None = None,
               within: session.RenderSession | None = None, words: str | None = None) -> list[Laid]:
    """`locale`: how errors name the side's languages; `words`: the locale the side's text
    is in (default `locale`): only its keep_together rules apply to its line breaks.
    `styles`: _styles(card, side), if known (a renderer makes them once)."""
    styles = styles or _styles(card, side)
    keep = _keep(words or locale)
    out = []
    for name, blocks in texts.items():
        style = styles.get(name)
        if style is None:
            raise data_error(f"layouts/{LAYOUT}/geometry.toml", f"{side} has no zone {name!r}")
        # The zone's name for an error message, made only for one: the personal field it
        # prints (the page marks that field), where the value came from, the zone.
        what = lambda n=name: (where, ZONE_FIELDS.get(n, ""), f"wallet card {side} {n} ({locale})")  # noqa: E731
        out.append(rl.fit(style, blocks, fams, what, within, keep))
    return out


def _keep(code: str) -> tuple[str, ...]:
    """What a locale never breaks inside (locale.toml keep_together), for its own text only."""
    return tuple(locales.get(code).keep_together)


class _Memo:
    """A localizer whose date formatting and plain messages are remembered for the run
    (babel formatted the same dates and looked up the same labels once per card)."""

    def __init__(self, L: Localizer):
        self._L = L
        self._dates: dict[tuple[dt.date, str], str] = {}
        self._texts: dict[str, str] = {}

    def date(self, value: dt.date, style: str = "full") -> str:
        key = (value, style)
        out = self._dates.get(key)
        if out is None:
            out = self._dates[key] = self._L.date(value, style)
        return out

    def gettext(self, message: str, **values: object) -> str:
        if values:
            return self._L.gettext(message, **values)
        out = self._texts.get(message)
        if out is None:
            out = self._texts[message] = self._L.gettext(message)
        return out

    _ = gettext

    def __getattr__(self, name: str) -> Any:
        return getattr(self._L, name)


class CardRenderer:
    """Draws cards into one Document; static parts become forms on first use. Personal
    fields laid out by check() (the pre-check) are kept in the session ("card.laid") for
    the render that follows, so that each card is laid out once."""

    def __init__(self, doc: Document, model: ContentModel, fmt: str, when: dt.date,
                 within: session.RenderSession | None = None):
        self.doc = doc
        self.model = model
        self.session = within or session.current()
        self._laid = self.session.cache("card.laid")
        geo = cardlayout.geometry(LAYOUT)
        self.card = geo.card(fmt)
        self.fmt = fmt
        self.when = when
        self._memo: dict[str, _Memo] = {}
        self._last: tuple[tuple, list[Laid]] | None = None  # the key and layout drawn last
        # Looked up once per renderer, not once per card.
        self._styles = {side: _styles(self.card, side) for side in ("front", "back")}
        self._fams: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        evaluate = {v.name: v.evaluate for v in registry.get(LAYOUT).variables}
        self._value = lambda name, patient: evaluate[name](patient)
        self._form_keys: dict[tuple, tuple[object, str]] = {}
        self._shared_ids = self.session.cache("card.ids")  # (model, id) by card_id()'s other inputs
        self._drawn: dict[str, None] = {}  # each drawn card's document id, in the order drawn
        self._id_makers: dict[tuple[str, str], docid.Ids] = {}
        self._endings: dict[tuple[str, str], rl.Ending | None] = {}  # the back's notes, by language and head
        # What the static sides printed (the localizers' tracking, as for the handout and
        # the poster): the card cites the sources of these.
        self.printed: set[str] = set()
        self.code = qr.make(model.meta.nci_url)
        self.code2 = qr.make(model.meta.dailymed_url)  # the back's second code: the label on DailyMed
        cardlayout.check_card(self.card, fmt, self.code.size_modules, geo.safe_margin, self.code2.size_modules)

    # -- static parts ----------------------------------------------------------------
    def _bbox(self, bleed: Bleed) -> tuple[float, float, float, float]:
        return (-bleed.left, -bleed.top, self.card.width + bleed.right, self.card.height + bleed.bottom)

    def _fills_form(self, side: str, bleed: Bleed) -> str:
        # Each cell's bleed is one object for the whole sheet run: its key is made once
        # (by identity: 0.0 and -0.0 are equal but print differently).
        known = self._form_keys.get((side, id(bleed)))
        if known is not None and known[0] is bleed and self.doc.has_form(known[1]):
            return known[1]
        key = f"Fills_{side}_{self.fmt}_" + "_".join(f"{v:g}" for v in bleed).replace(".", "p")
        self._form_keys[(side, id(bleed))] = (bleed, key)  # keeps bleed alive: its id is not reused
        card = self.card
        W, H = card.width, card.height

        def draw(p: rl.Painter) -> None:
            for f in getattr(card, side).fills:  # a fill that touches an edge runs into the bleed
                x0 = f.x - (bleed.left if f.x <= 1e-6 else 0)
                y0 = f.y - (bleed.top if f.y <= 1e-6 else 0)
                x1 = f.x + f.w + (bleed.right if f.x + f.w >= W - 1e-6 else 0)
                y1 = f.y + f.h + (bleed.bottom if f.y + f.h >= H - 1e-6 else 0)
                p.fill_rect(x0, y0, x1 - x0, y1 - y0, card.colors[f.color])

        return self.doc.form(key, self._bbox(bleed), H, draw)

    def _qr_form(self, code: qr.QRCode, qrp: cardlayout.QRPlace, name: str = "QR") -> str:
        side = code.size_modules * qrp.module_mm
        key = f"{name}_{qrp.module_mm:g}".replace(".", "p")
        return self.doc.form(key, (0, 0, side, side), side,
                             lambda p: p.qr(code.matrix, 0, 0, qrp.module_mm))

    def _static_form(self, side: str, locale: str, back: str = PROVIDER_LOCALE) -> str:
        known = self._form_keys.get((side, locale, back))
        if known is not None and self.doc.has_form(known[1]):  # every card after the first
            return known[1]
        key = f"Card_{side}_{self.fmt}_{locale}" + (f"_{back}" if side == "back" and back != PROVIDER_LOCALE else "")
        key = key.replace("-", "_")
        self._form_keys[(side, locale, back)] = (None, key)
        if self.doc.has_form(key):
            return key
        L = get_localizer(locale, self.model)
        card = self.card
        if side == "front":
            with L.tracking() as printed:
                texts = front_static(L)
            laid = _fit_zones("front", card, texts, families(locale), locale)
        else:
            E = get_localizer(back, self.model)
            with L.tracking() as printed, E.tracking() as printed_back:
                texts = back_static(E, L, self.model)
            printed |= printed_back
            laid = _fit_zones("back", card, texts, families(back), _pair(locale, back), words=back)
            codes = [(self._qr_form(code, place, name), place, code)
                     for name, place, code in (("QR", card.back.qr, self.code), ("QR2", card.back.qr2, self.code2))
                     if place is not None]
        self.printed |= printed

        def draw(p: rl.Painter) -> None:
            p.text(*laid)
            if side == "back":
                for form, place, code in codes:
                    p.place(form, place.x, place.y, code.size_modules * place.module_mm)
            g = card.corner_guide
            p.corner_guides(card.width, card.height, card.format.corner_radius, g.color, g.width_pt)

        return self.doc.form(key, self._bbox(NO_BLEED), card.height, draw)

    # -- one side of one card ------------------------------------------------------------
    def _localizer(self, code: str) -> _Memo:
        m = self._memo.get(code)
        if m is None:
            m = self._memo[code] = _Memo(get_localizer(code, self.model))
        return m

    def _families(self, side_locale: str, patient_locale: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The side's families and its personal values' (see value_families)."""
        key = (side_locale, patient_locale)
        got = self._fams.get(key)
        if got is None:
            got = self._fams[key] = (families(side_locale), value_families(side_locale, patient_locale))
        return got

    def lay_out(self, side: str, item: Card) -> list[Laid]:
        """A card side's personal fields, laid out (LayoutOverflow if one does not fit)."""
        if side == "front":
            fams, _ = self._families(item.locale, item.locale)
            texts = front_fields(self._localizer(item.locale), item.patient, self._value, fams)
            return _fit_zones("front", self.card, texts, fams, item.locale, item.where, self._styles["front"],
                              self.session)
        fams, values = self._families(item.back, item.locale)
        E = self._localizer(item.back)
        texts = back_fields(E, item.patient, item.locale, self._value, values)
        laid = _fit_zones("back", self.card, texts, fams, _pair(item.locale, item.back), item.where,
                          self._styles["back"], self.session, words=item.back)
        return [*laid, self._notes(item, E, fams)]

    def _notes(self, item: Card, E: _Memo, fams: tuple[str, ...]) -> Laid:
        """The back's last lines (card_notes), which end in the card's id: cards in one
        language differ there only in the id's digest, so the zone is laid out once for
        them (rl.fit_ending) and each card's text put in its place; else in full."""
        this_id = self.card_id(item)
        notes = card_notes(E, self.when, this_id)
        text = notes[0].text
        style = self._styles["back"].get("notes")
        ending = None
        if style is not None and len(notes) == 1 and text.endswith(this_id):
            key = (item.back, text[:-docid.DIGEST_CHARS])
            if key not in self._endings:
                self._endings[key] = rl.fit_ending(style, notes[0], fams, docid.DIGEST_CHARS, docid.DIGEST_ALPHABET,
                                                   self.session, _keep(item.back))
            ending = self._endings[key]
        laid = ending.refill(text) if ending is not None else None
        if laid is None:
            laid = _fit_zones("back", self.card, {"notes": notes}, fams, _pair(item.locale, item.back), item.where,
                              self._styles["back"], self.session, words=item.back)[0]
        return laid

    def card_id(self, item: Card) -> str:
        """The card's document id, computed once per session: the check's renderer puts
        it on the laid-out back, the sheet's renderer names it in the PDF's keywords."""
        inputs = (self.fmt, self.when, item.locale, item.back, item.patient)  # and the model: all card_id() reads
        kept = self._shared_ids.get(inputs)
        if kept is None or kept[0] is not self.model:
            kept = self._shared_ids[inputs] = (self.model, self._id_maker(item)(item.patient))
        return kept[1]

    def _id_maker(self, item: Card) -> docid.Ids:
        """card_id() for the cards in item's languages (what their ids share, once)."""
        key = (item.locale, item.back)
        found = self._id_makers.get(key)
        if found is None:
            found = self._id_makers[key] = docid.Ids(LAYOUT, item.locale, self.fmt, self.model, _second(item),
                                                     when=self.when)
        return found

    def drawn_ids(self) -> list[str]:
        """The document ids of the cards drawn by this renderer, each once."""
        return list(self._drawn)

    def _key(self, side: str, item: Card) -> tuple:
        return (id(self.model), self.fmt, side, item.locale, item.back, item.patient)

    def remember(self, side: str, item: Card) -> None:
        """Lay out now (check) and keep the result for this card's render; a card
        already checked (the same patient, locale, format and languages) is not laid
        out again."""
        key = self._key(side, item)
        kept = self._laid.get(key)
        if kept is not None and kept[0] is self.model:
            return
        self._laid[key] = (self.model, self.lay_out(side, item))

    def personal(self, side: str, item: Card) -> list[Laid]:
        key = self._key(side, item)
        kept = self._laid.pop(key, None)  # laid out by the check
        if kept is not None and kept[0] is self.model:
            laid = kept[1]
        elif self._last is not None and self._last[0] == key:  # a copy of the card drawn last
            return self._last[1]
        else:
            laid = self.lay_out(side, item)
        self._last = (key, laid)
        return laid

    def draw(self, side: str, item: Card, x: float, y: float, bleed: Bleed = NO_BLEED) -> None:
        personal = self.personal(side, item)  # first: an overflow stops before drawing
        self._drawn[self.card_id(item)] = None  # the PDF's keywords name every card drawn
        fills, static = self._fills_form(side, bleed), self._static_form(side, item.locale, item.back)
        with self.doc.at(x, y, self.card.height) as p:  # the card's top-left trim corner
            p.place(fills)
            p.place(static)
            self.doc.zones(p, personal, self.card.width, x, y)


def _pair(locale: str, back: str) -> str:
    """How error messages name a card's languages: "zh-Hant", or "zh-Hant+en" with --also."""
    return locale if back == PROVIDER_LOCALE else f"{locale}+{back}"


def _document(title_locale: str, model: ContentModel, lang: str, within: session.RenderSession,
              sheets: bool = False) -> Document:
    L = get_localizer(title_locale, model)
    return Document(title=L._("%(drug)s wallet card", drug=L.name("title")), author=AUTHOR,
                    subject=L._("Warning card about cytokine release syndrome (CRS) and ICANS"),
                    lang=lang, group_text=sheets, session=within)


def _finish(doc: Document, r: CardRenderer, title_locale: str) -> Rendered:
    """The card's PDF, its document information's keywords naming every card drawn (their
    document ids, as printed on their backs), then citing the sources of what it printed
    (the card has no room for a source list)."""
    L = get_localizer(title_locale, r.model)
    cited = "; ".join(s.citation for s in r.model.sources_for(sorted(r.printed)))
    return doc.finish(keywords=f"{', '.join(r.drawn_ids())}; {L._('Sources: %(sources)s.', sources=cited)}")


def render(req: BuildRequest) -> Rendered:
    """One card: page 1 the front, page 2 the back, each exactly the card's size."""
    fmt = "id1"
    within = session.current()
    doc = _document(req.locale, req.model, locales.get(req.locale).html_lang, within)
    r = CardRenderer(doc, req.model, fmt, print_date(), within)
    if req.also:
        locales.get(req.also, "also")
    card = Card(req.locale, req.patient, also=req.also)
    for side in ("front", "back"):
        doc.begin_page(r.card.width, r.card.height)
        r.draw(side, card, 0.0, 0.0)
        doc.end_page()
    return _finish(doc, r, req.locale)


# ----------------------------------------------------------------------- imposition

def _drawing_marks(marks: list[Mark], width_pt: float) -> Callable[[rl.Painter], None]:
    return lambda q: q.lines([(m.x1, m.y1, m.x2, m.y2) for m in marks], "#000000", width_pt)


def render_sheets(cards: list[Card], imp: Imposition, model: ContentModel) -> Rendered:
    """Cards imposed on sheets: for each sheet a fronts page, then a backs page whose
    cells are mirrored for long-edge duplex and shifted by the duplex offset. A partial
    last sheet is printed; crop marks (cut sheets) sit outside the cards and bleed."""
    if not cards:
        raise HandoutsError("cards.none", "cards")
    within = session.current()
    codes = _dedupe(c.locale for c in cards)
    lang = locales.get(codes[0]).html_lang if len(codes) == 1 else locales.get(PROVIDER_LOCALE).html_lang
    doc = _document(codes[0], model, lang, within, sheets=True)
    r = CardRenderer(doc, model, imp.preset.card_format, print_date(), within)
    fronts, backs = imp.fronts(), imp.backs()
    per = imp.per_sheet
    W, H = imp.paper.width_mm, imp.paper.height_mm
    mark_w = imp.preset.mark_width_pt
    front_marks, back_marks = imp.marks(fronts), imp.marks(backs)
    for start in range(0, len(cards), per):
        chunk = cards[start:start + per]
        for side, cells, marks in (("front", fronts, front_marks), ("back", backs, back_marks)):
            p = doc.begin_page(W, H)
            if marks:  # the same on every sheet of a side: one form
                p.place(doc.form(f"Marks_{side}", (0.0, 0.0, W, H), H, _drawing_marks(marks, mark_w)))
            # A partial last sheet has more cells than cards: the rest stay blank.
            for cell, item in zip(cells, chunk, strict=False):
                r.draw(side, item, cell.x, cell.y, cell.bleed)
            doc.end_page()
    return _finish(doc, r, codes[0])


def check(locale: str, patient: Patient | None, model: ContentModel, where: str = "",
          fmt: str = "id1", also: str | None = None) -> None:
    """Lay out a card's personal fields without drawing: LayoutOverflow before any file
    is written or anything printed (the CLI calls this first). The layout is kept in the
    session for the render that follows."""
    r = _probe_renderer(model, fmt)
    card = Card(locale, patient, where, also)
    r.remember("front", card)
    r.remember("back", card)


def _probe_renderer(model: ContentModel, fmt: str) -> CardRenderer:
    """The session's renderer whose document is never saved: only its layout is used."""
    within = session.current()
    probes = within.cache("card.probes")
    found = probes.get(fmt)
    if found is None or found.model is not model:
        found = probes[fmt] = CardRenderer(Document("probe", AUTHOR, "probe", "en-US", session=within), model, fmt,
                                           print_date(), within)
    return found


def printed_records(locale: str, model: ContentModel, also: str | None = None) -> frozenset[str]:
    """The content-model records a card in `locale` (back in `also`'s language) prints, as
    the localizers' tracking collects them while its static sides are written."""
    back = Card(locale, also=also).back
    L, E = get_localizer(locale, model), get_localizer(back, model)
    with L.tracking() as printed, E.tracking() as printed_back:
        front_static(L)
        back_static(E, L, model)
    return frozenset(printed | printed_back)


def static_texts(locale: str, model: ContentModel, fmt: str = "id1", also: str | None = None) -> dict[str, list[str]]:
    """Every static zone of both sides, as laid out (lines), for tests and review."""
    card = cardlayout.geometry(LAYOUT).card(fmt)
    back = Card(locale, also=also).back
    L = get_localizer(locale, model)
    E = get_localizer(back, model)
    out: dict[str, list[str]] = {}
    for side, texts, fams, words in (("front", front_static(L), families(locale), locale),
                                     ("back", back_static(E, L, model), families(back), back)):
        for (name, _), laid in zip(texts.items(), _fit_zones(side, card, texts, fams, locale, words=words),
                                   strict=True):
            out[f"{side}.{name}"] = laid.text()
    return out


def personal_texts(item: Card, model: ContentModel, fmt: str = "id1") -> dict[str, list[str]]:
    card = cardlayout.geometry(LAYOUT).card(fmt)
    L = get_localizer(item.locale, model)
    E = get_localizer(item.back, model)
    out: dict[str, list[str]] = {}
    back = back_fields(E, item.patient, item.locale)
    back["notes"] = card_notes(E, print_date(), card_id(item, model, fmt, print_date()))
    for side, texts, fams, words in (("front", front_fields(L, item.patient), families(item.locale), item.locale),
                                     ("back", back, families(item.back), item.back)):
        for (name, _), laid in zip(texts.items(), _fit_zones(side, card, texts, fams, item.locale, words=words),
                                   strict=True):
            out[f"{side}.{name}"] = laid.text()
    return out


__all__ = ["Card", "render", "render_sheets", "check", "printed_records", "static_texts", "personal_texts",
           "LayoutOverflow"]
