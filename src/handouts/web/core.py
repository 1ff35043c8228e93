"""The ONE place where the web page calls into the handouts core.

Everything the page needs from the CLI's code (patient validation, the wallet card's
layout check, rendering in memory, file names, CSV rows) goes through the functions
below, so that when those core functions move only this module changes. The web page
never re-implements a rule: a form is validated by the same code as `handouts build`.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from functools import cache

from handouts import build, content, locales, registry, session
from handouts.errors import HandoutsError
from handouts.patient import FIELDS, Patient, from_mapping

PERSONAL_FIELDS = tuple(v.field for v in registry.PATIENT_VARIABLES)
DOCUMENT_CHOICES = ("wallet-card", "handout", "both")
CARD_SINGLE = "card"
WHERE = "form"


def locale_codes() -> list[str]:
    return list(locales.available())


def locale_name(code: str) -> str:
    return locales.get(code).name


def babel_locale(code: str) -> str:
    return locales.get(code).babel


def html_lang(code: str) -> str:
    return locales.get(code).html_lang


def handout_papers() -> tuple[str, ...]:
    return registry.get("handout").papers


def card_formats() -> tuple[str, ...]:
    """A single card (front page, back page) or one of the imposed sheet presets."""
    return (CARD_SINGLE,) + registry.get("wallet-card").sheets


def supports_also(document: str) -> bool:
    """Whether the core prints `document` in two languages (`--also`): the registry says,
    as it does for build.render_document and build.render_sheet."""
    return registry.get(document).bilingual_factor is not None


def bilingual_documents() -> tuple[str, ...]:
    """The documents of the form that can carry a second language."""
    return tuple(d for d in ("handout", "wallet-card") if supports_also(d))


def _ordered(order: "Order") -> tuple[str, ...]:
    return {"both": ("wallet-card", "handout")}.get(order.documents, (order.documents,))


def _also_for(order: "Order", document: str) -> str | None:
    """The second language for one document of the order (None: that document has none)."""
    if not order.also or not supports_also(document):
        return None
    return order.also


def default_paper(locale: str) -> str:
    return build.resolve_paper(registry.get("handout"), locale, None).name


def paper_for(locale: str, chosen: str | None = None, fallback: str = "en") -> str:
    """The handout paper the form asked for, else the default of the locale (of the
    page's language where the form's locale is not one we have)."""
    if chosen in handout_papers():
        return chosen
    return default_paper(locale if locale in locale_codes() else fallback)


def today() -> dt.date:
    from handouts.clock import print_date
    return print_date()


@cache
def model() -> content.ContentModel:
    return content.default()


def approval_date() -> dt.date:
    return model().fact("approval_accelerated").value


@dataclass(frozen=True)
class Order:
    """One form submission: what to make, for whom. Picklable (sent to a worker)."""
    locale: str
    documents: str                    # wallet-card | handout | both
    paper: str                        # handout paper
    card: str                         # "card" or a sheet preset
    patient: dict = field(default_factory=dict)  # personal fields as typed (non-empty only)
    also: str = ""                    # a second language on the same sheets ("" = none)


@dataclass(frozen=True)
class Problem:
    """A validation error for the page: which form field, what went wrong (the core's
    error code, or the page's own reason) and the values the words name. Picklable: it
    comes back from a worker process."""
    field: str        # a form field name, or "" for the form as a whole
    code: str         # errors.MESSAGES key, or a reason of the page's own (web.i18n.PROBLEM_TEXT)
    params: dict = field(default_factory=dict)
    error: HandoutsError | None = None  # the core's error: its words in the page's language


def make_patient(data: dict, where: str = WHERE) -> Patient | None:
    values = {k: v for k, v in data.items() if v not in (None, "")}
    if not values:
        return None
    return from_mapping(values, where)


class Problems(HandoutsError):
    """Several fields are wrong at once: the page shows each beside its field."""

    def __init__(self, errors: list[HandoutsError]):
        super().__init__(errors[0].field, errors[0].message)
        self.errors = errors


def check_order(order: Order, patient: Patient | None = None, where: str = WHERE) -> Patient | None:
    """Every check the CLI makes, raising the core's HandoutsError (or Problems, one per
    wrong field). The patient comes from the order's fields, or is given (a CSV row that
    the core already validated). What the checks remember ends with the call."""
    with session.use():
        return _check_order(order, patient, where)


def _check_order(order: Order, patient: Patient | None, where: str) -> Patient | None:
    build.known_locale(order.locale, "locale", WHERE)
    if order.documents not in DOCUMENT_CHOICES:
        raise HandoutsError("choice.unknown", "documents", {"value": order.documents, "choices": DOCUMENT_CHOICES},
                            where=WHERE)
    m = model()
    card_fmt = None
    if order.documents in ("handout", "both"):
        if order.paper not in handout_papers():
            raise HandoutsError("choice.unknown", "paper", {"value": order.paper, "choices": handout_papers()},
                                where=WHERE)
        build.resolve_paper(registry.get("handout"), order.locale, order.paper)
    if order.documents in ("wallet-card", "both"):
        if order.card not in card_formats():
            raise HandoutsError("choice.unknown", "card", {"value": order.card, "choices": card_formats()},
                                where=WHERE)
        card_fmt = "id1"
        if order.card != CARD_SINGLE:
            from handouts.cardlayout import imposition
            card_fmt = imposition(order.card, 0.0, (0.0, 0.0)).preset.card_format
    if order.also:
        build.known_locale(order.also, "also", WHERE)
        if not any(_also_for(order, d) for d in _ordered(order)):
            raise HandoutsError("document.option_unsupported", "also",
                                {"document": order.documents, "option": "--also", "documents": bilingual_documents()},
                                where=WHERE)
    card_also = _also_for(order, "wallet-card")

    def check(p: Patient | None) -> None:
        build.check_patient(p, order.locale, m, where)
        if card_fmt is not None:
            build.precheck(p, order.locale, m, where, documents=("wallet-card",), fmt=card_fmt, also=card_also)

    if patient is None:
        # The core stops at the first wrong field; the page runs the same checks one
        # field at a time so that every wrong field is shown at once.
        errors = []
        for name, value in order.patient.items():
            if value in (None, ""):
                continue
            try:
                check(make_patient({name: value}))
            except HandoutsError as err:
                errors.append(err)
        if errors:
            raise Problems(errors)
        patient = make_patient(order.patient)
    check(patient)
    return patient


def render_order(order: Order, patient: Patient | None) -> list[tuple[str, bytes]]:
    """(file name, PDF bytes) for each document of the order, rendered in memory, in a
    render session of its own: nothing about the patient outlives the request."""
    with session.use():
        return _render_order(order, patient)


def _render_order(order: Order, patient: Patient | None) -> list[tuple[str, bytes]]:
    m = model()
    files: list[tuple[str, bytes]] = []
    if order.documents in ("wallet-card", "both"):
        files.append(render_card(order.locale, order.card, patient, _also_for(order, "wallet-card")))
    if order.documents in ("handout", "both"):
        spec = registry.get("handout")
        paper = build.resolve_paper(spec, order.locale, order.paper)
        also = _also_for(order, "handout")
        rendered = build.render_document("handout", order.locale, paper, patient, m, also=also)
        suffix = build.variant_suffix(order.locale, also)
        files.append((build.output_name("handout", order.locale, paper.name, patient, suffix), rendered.pdf))
    return files


def render_card(locale: str, card: str, patient: Patient | None, also: str | None = None) -> tuple[str, bytes]:
    m = model()
    if card == CARD_SINGLE:
        spec = registry.get("wallet-card")
        paper = build.resolve_paper(spec, locale, None)
        rendered = build.render_document("wallet-card", locale, paper, patient, m, also=also)
        suffix = build.variant_suffix(locale, also)
        return build.output_name("wallet-card", locale, paper.name, patient, suffix), rendered.pdf
    from handouts import cards
    rendered = build.render_sheet("wallet-card", locale, card, [patient] if patient else [], m, also=also)
    name = cards.sheet_file_name(card, locale, patient, None)
    return name.removesuffix(".pdf") + build.variant_suffix(locale, also) + ".pdf", rendered.pdf


def render_sheet_of(locale: str, sheet: str, patients: list[Patient]) -> tuple[str, bytes]:
    """One imposed sheet of cards for several patients (a patient list)."""
    with session.use():
        rendered = build.render_sheet("wallet-card", locale, sheet, patients, model())
    return f"wallet-cards-{locale}-{sheet}.pdf", rendered.pdf


# ------------------------------------------------------------------ patient lists (CSV)

class _MemoryCSV:
    """The core reads a patient list from a path; this gives it the uploaded text
    without writing it to disk (patient data stays in memory)."""

    def __init__(self, name: str, text: str):
        self.name, self._text = name, text

    def open(self, mode: str = "r", *args, **kwargs):
        if "b" in mode:  # the core reads bytes, bounded, and decodes them itself
            return io.BytesIO(self._text.encode("utf-8"))
        return io.StringIO(self._text, newline="")

    def is_file(self) -> bool:
        return True


def csv_rows(text: str, default_locale: str, sheet: str, name: str = "upload.csv"
             ) -> list[tuple[int, Patient | HandoutsError]]:
    """Each row of an uploaded CSV (numbered as in a spreadsheet) with its patient,
    validated as `handouts build wallet-card --sheet SHEET --patients` does (its card
    laid out in the sheet's card size), or the error for that row."""
    from handouts.cardlayout import imposition
    fmt = imposition(sheet, 0.0, (0.0, 0.0)).preset.card_format
    with session.use():
        return build.checked_rows(_MemoryCSV(name, text), default_locale, model(),
                                  documents=("wallet-card",), fmt=fmt)


def csv_fields() -> tuple[str, ...]:
    return FIELDS


# ------------------------------------------------------------------ errors for the page

FORM_FIELDS = frozenset((*PERSONAL_FIELDS, "locale", "documents", "paper", "card", "also"))


def problem(err: HandoutsError) -> Problem:
    """A core error for the page: the form field it names (by the error's field, never by
    its words) and its code; the page words it in its own language (web.i18n)."""
    return Problem(err.field if err.field in FORM_FIELDS else "", err.code, dict(err.params), err)
