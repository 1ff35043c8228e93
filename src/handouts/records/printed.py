"""What a document printed, fact by fact, and how each fact reads in a locale today.

An *entry* is a content-model record a document hands to the reader: a fact id
("stay_near_total"), a list id ("neuro_signs"), a list's card items ("crs_signs#card":
the wallet card prints only those), "schedule" (the step-up schedule's rows),
"lab_schedule" (when blood tests come), "approval:CN" (a region's approval status, as a
Chinese document states it) or "premedication" (the handout's "a steroid before, fluids
after", which names no number: the poster prints those facts). The Localizer's
tracking() collects the ids a render hands out; `entries()` runs a document's text
(never its engine) under tracking, per locale.

A *wording* is an entry as a reader of one locale sees it: a fact formatted ("22 to 24
hours", "22 至 24 小时"), a list's items translated and filled in, one per line. Its
digest is what the record keeps and what recall compares, computed from the content
model and the catalogs at run time, so a change to a value, a unit, an item's words or
their translation changes it, and a change elsewhere (another fact, another document's
words) does not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..errors import HandoutsError

if TYPE_CHECKING:
    from ..content import ContentModel
    from ..documents.common import BuildRequest
    from ..localizer import Localizer
    from ..papers import Paper
    from ..patient import Patient

CARD = "#card"
SCHEDULE = "schedule"
LAB_SCHEDULE = "lab_schedule"
APPROVAL = "approval:"
PREMEDICATION = "premedication"
REMOVED = "(no longer in the content model)"
WITHHELD = "(no longer printed: not verified against the prescribing information)"
NO_LOCALE = "(this language is no longer available)"
UNTRANSLATED = "(changed in English and not yet translated into this language)"


@dataclass(frozen=True)
class Wording:
    entry: str
    locale: str
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps([self.entry, self.locale, self.text], ensure_ascii=False)
                              .encode("utf-8")).hexdigest()


def _schedule_text(L: Localizer) -> str:
    """The schedule's rows as the record keeps them. The doses and monitoring times are
    their own facts (handed out where printed); a row's cycles, days and rules, and the
    cycle length that dates a personal schedule, are what this entry stands for."""
    model = L.model
    rows = [f"cycles {r.cycles.first}-{r.cycles.last or 'on'} days {','.join(map(str, r.days))}: "
            f"{r.dose} {r.monitoring}" + (" stay-near" if r.stay_near else "")
            + (" premedication" if r.premedication else "") for r in model.printable_schedule()]
    cycle = model.fact(model.roles.cycle_length)
    rows.append(f"cycle_length {cycle.value} {cycle.unit}")
    return "\n".join(rows)


def _lab_schedule_text(L: Localizer) -> str:
    from ..documents.common import visit_label
    lab = L.model.printable_lab_schedule()
    return (f"every dose through {visit_label(L, *lab.every_dose_through)}; from cycle "
            f"{L.number(lab.from_cycle)} day {L.number(lab.then_day)}")


def _approval_text(L: Localizer, region: str) -> str:
    """What a document says about a region: that the drug is not approved there. A later
    check that finds the same status changes nothing printed that is wrong (the paper
    says "as of" its date); an approval does."""
    try:
        record = L.model.approval_in(region)
    except KeyError:
        return REMOVED
    return f"{region}: approved since {record.since}" if record.approved else f"{region}: not approved"


def _premedication_text(L: Localizer) -> str:
    model = L.model
    facts = model.roles.premedication.ids()
    if not all(f in model.fact_ids() for f in facts):
        return REMOVED
    if not all(model.is_printable(f) for f in facts):
        return WITHHELD
    return "a steroid before, fluids after: " + ", ".join(facts)


def _messages(model: ContentModel, entry: str) -> list[str]:
    """The pack's own messages an entry prints (a list's items)."""
    list_id = entry[:-len(CARD)] if entry.endswith(CARD) else entry
    if list_id in model.list_ids():
        lst = model.text_list(list_id)
        return list(lst.card_items if entry.endswith(CARD) else lst.items)
    return []


def _text(L: Localizer, entry: str) -> str:
    from ..content import UnverifiedFact
    model = L.model
    list_id, card = (entry[:-len(CARD)], True) if entry.endswith(CARD) else (entry, False)
    try:
        if entry == SCHEDULE:
            return _schedule_text(L)
        if entry == LAB_SCHEDULE:
            return _lab_schedule_text(L)
        if entry.startswith(APPROVAL):
            return _approval_text(L, entry[len(APPROVAL):])
        if entry == PREMEDICATION:
            return _premedication_text(L)
        if list_id in model.list_ids():
            lst = model.text_list(list_id)
            if card and not lst.card_items:
                return REMOVED
            # Not L.items(): that would count as handed out by a render being tracked.
            return "\n".join(L.interpolate(m) for m in (lst.card_items if card else lst.items))
        if entry in model.fact_ids():
            return L.fact(model.fact(entry))
    except UnverifiedFact:
        return WITHHELD
    return REMOVED


class Wordings:
    """Current wordings, computed once per (entry, locale) for one content model."""

    def __init__(self, model: ContentModel):
        self.model = model
        self._done: dict[tuple[str, str], Wording] = {}
        self._catalogs: dict[str, tuple] = {}

    def get(self, entry: str, locale: str) -> Wording:
        key = (entry, locale)
        found = self._done.get(key)
        if found is None:
            found = self._done[key] = Wording(entry, locale, self._compute(entry, locale))
        return found

    def _compute(self, entry: str, locale: str) -> str:
        from .. import locales, localizer, session
        try:
            locales.get(locale)
        except HandoutsError:
            return NO_LOCALE
        with session.use():
            translations, missing = self._catalog(locale)
            if missing and any(m in missing for m in _messages(self.model, entry)):
                return UNTRANSLATED
            # Not localizer.get(): a wording is not a render, and tracks nothing.
            return _text(localizer.Localizer(locale, self.model, translations), entry)

    def _catalog(self, locale: str):
        from .. import catalogs
        found = self._catalogs.get(locale)
        if found is None:
            found = self._catalogs[locale] = catalogs.untranslated(locale, self.model)
        return found


# -- what a document prints ----------------------------------------------------------

class _CardVariants:
    """A localizer that also notes which lists were printed as their card items."""

    def __init__(self, L: Localizer):
        self._L = L
        self.card: set[str] = set()
        self.full: set[str] = set()

    def items(self, list_id: str, card: bool = False) -> list[str]:
        (self.card if card else self.full).add(list_id)
        return self._L.items(list_id, card)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._L, name)


def _with_variants(tracked: Iterable[str], variants: Iterable[_CardVariants]) -> set[str]:
    out = set(tracked)
    for v in variants:
        for list_id in v.card:
            out.add(list_id + CARD)
            if list_id not in v.full:
                out.discard(list_id)
    return out


_ENTRIES: dict[tuple, tuple[ContentModel, dict[str, frozenset[str]]]] = {}
ENTRIES_MAX = 256


def entries(document: str, locale: str, model: ContentModel, paper: Paper, patient: Patient | None = None,
            also: str | None = None, large_print: bool = False) -> dict[str, frozenset[str]]:
    """The entries `document` prints, by locale (a bilingual document, and a wallet card
    whose back is in English, print in two). Which personal fields are filled matters
    (a first dose adds the dated schedule); their values do not, so the result is kept
    per shape of patient (it holds no personal data, and is kept per process)."""
    from .. import registry
    shape = tuple(getattr(patient, f) is not None for f in type(patient).model_fields) if patient else None
    key = (id(model), document, locale, paper.name, shape, also, large_print)
    hit = _ENTRIES.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    spec = registry.get(document)
    if spec.printed is None:
        known = tuple(n for n, s in registry.DOCUMENTS.items() if s.printed)
        raise HandoutsError("document.unknown", "document", {"value": document, "choices": known})
    from .. import session
    from ..documents.common import BuildRequest
    # The render asks the session for its localizers: tracking must watch those same ones.
    with session.use():
        found = spec.printed(BuildRequest(document, locale, paper, patient, model, large_print, also))
    if len(_ENTRIES) >= ENTRIES_MAX:
        _ENTRIES.clear()
    _ENTRIES[key] = (model, found)
    return found


def card_entries(req: BuildRequest) -> dict[str, frozenset[str]]:
    """A wallet card: its front in the patient's language (the card's own items of a
    list), its back in English or the --also language."""
    from .. import localizer
    from ..documents import wallet_card
    model = req.model
    back = wallet_card.Card(req.locale, req.patient, also=req.also).back
    L, E = localizer.get(req.locale, model), localizer.get(back, model)
    front = _CardVariants(L)
    rear = _CardVariants(E) if E is not L else front
    # The variants stand in for their localizers (every other attribute is the localizer's).
    as_front, as_rear = cast("Localizer", front), cast("Localizer", rear)
    found = _tracked(list(dict.fromkeys((L, E))), lambda: (
        wallet_card.front_static(as_front), wallet_card.back_static(as_rear, as_front, model)))
    by_code = {L.code: front, E.code: rear}
    return {code: frozenset(_with_variants(ids, [by_code[code]])) for code, ids in found.items()}


def handout_entries(req: BuildRequest) -> dict[str, frozenset[str]]:
    """A handout, and with --also the same handout in a second language."""
    from .. import localizer
    from ..documents import handout
    codes = list(dict.fromkeys([req.locale] + ([req.also] if req.also else [])))
    trackers = [localizer.get(c, req.model) for c in codes]
    found = _tracked(trackers, lambda: handout.bilingual_html(req) if req.also and req.also != req.locale
                     else handout.html(dataclasses.replace(req, also=None)))
    # The handout cites the premedication facts but prints none of their values.
    cited = frozenset(req.model.roles.premedication.ids())
    return {code: ids - cited | {PREMEDICATION} if ids >= cited else ids for code, ids in found.items()}


def poster_entries(req: BuildRequest) -> dict[str, frozenset[str]]:
    from .. import localizer
    from ..documents import poster
    return _tracked([localizer.get(req.locale, req.model)], lambda: poster.html(req))


def _tracked(trackers: list[Localizer], render) -> dict[str, frozenset[str]]:
    from contextlib import ExitStack
    with ExitStack() as stack:
        sets = [stack.enter_context(L.tracking()) for L in trackers]
        render()
    return {L.code: frozenset(s) for L, s in zip(trackers, sets, strict=True)}


def printed_set(wordings: Wordings, printed: Mapping[str, Iterable[str]]) -> list[Wording]:
    """Every (entry, locale) a document printed, with its wording, in a stable order."""
    return sorted((wordings.get(e, code) for code, ids in printed.items() for e in ids),
                  key=lambda w: (w.locale, w.entry))


def set_digest(items: list[Wording]) -> str:
    h = hashlib.sha256()
    for w in items:
        h.update(f"{w.locale}\t{w.entry}\t{w.digest}\n".encode())
    return h.hexdigest()
