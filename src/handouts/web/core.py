"""The ONE place where the web page calls into the handouts core.

Everything the page needs from the CLI's code (patient validation, the wallet card's
layout check, rendering in memory, file names, CSV rows) goes through the functions
below, so that when those core functions move only this module changes. The web page
never re-implements a rule: a form is validated by the same code as `handouts build`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from functools import cache

from handouts import build, content, locales, registry
from handouts.errors import HandoutsError, LayoutOverflow
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
    """A validation error for the page: which form field, and the core's own words."""
    field: str        # a form field name, or "" for the form as a whole
    message: str      # the core's English message (translated by kind in the page)
    kind: str = "other"
    params: tuple = ()


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
    the core already validated)."""
    locales.get(order.locale, f"{WHERE}: locale")
    if order.documents not in DOCUMENT_CHOICES:
        raise HandoutsError(f"{WHERE}: documents", f"choose one of {', '.join(DOCUMENT_CHOICES)}")
    m = model()
    card_fmt = None
    if order.documents in ("handout", "both"):
        if order.paper not in handout_papers():
            raise HandoutsError(f"{WHERE}: paper", f"choose one of {', '.join(handout_papers())}")
        build.resolve_paper(registry.get("handout"), order.locale, order.paper)
    if order.documents in ("wallet-card", "both"):
        if order.card not in card_formats():
            raise HandoutsError(f"{WHERE}: card", f"choose one of {', '.join(card_formats())}")
        card_fmt = "id1"
        if order.card != CARD_SINGLE:
            from handouts.cardlayout import imposition
            card_fmt = imposition(order.card, 0.0, (0.0, 0.0)).preset.card_format
    if order.also:
        locales.get(order.also, f"{WHERE}: also")
        if not any(_also_for(order, d) for d in _ordered(order)):
            raise HandoutsError(f"{WHERE}: also", f"{order.documents} does not support --also; "
                                f"only {', '.join(bilingual_documents()) or 'no document'} does")
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
    """(file name, PDF bytes) for each document of the order, rendered in memory."""
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
    return build.checked_rows(_MemoryCSV(name, text), default_locale, model(),
                              documents=("wallet-card",), fmt=fmt)


def csv_fields() -> tuple[str, ...]:
    return FIELDS


# ------------------------------------------------------------------ errors for the page

_ZONE_FIELD = {"name": "name", "phone": "phone", "oncologist": "oncologist", "center": "treatment_center",
               "first_dose": "first_dose"}


def problem(err: HandoutsError) -> Problem:
    """Which form field a core error is about, and what kind of error it is."""
    where = err.field.split(": ", 1)[1] if ": " in err.field else err.field
    msg = err.message
    if isinstance(err, LayoutOverflow):
        m = re.search(r"wallet card (?:front|back) (\w+)", err.field)
        fld = _ZONE_FIELD.get(m.group(1), "") if m else ""
        return Problem(fld, msg, "overflow")
    fld = where if where in PERSONAL_FIELDS or where in ("locale", "documents", "paper", "card", "also") else ""
    if fld == "also":
        return Problem(fld, msg, "also_unsupported" if "does not support" in msg else "choice")
    if fld in ("locale", "documents", "paper", "card"):
        return Problem(fld, msg, "choice")
    if fld == "first_dose":
        if "before the drug was approved" in msg:
            return Problem(fld, msg, "date_before", (approval_date(),))
        if "more than a year after" in msg:
            return Problem(fld, msg, "date_ahead")
        return Problem(fld, msg, "date_invalid")
    if fld == "phone" and "phone number has only" in msg:
        return Problem(fld, msg, "phone_chars")
    m = re.search(r"at most (\d+) character", msg)
    if m:
        return Problem(fld, msg, "too_long", (int(m.group(1)),))
    if re.search(r"at least \d+ character", msg):
        return Problem(fld, msg, "too_short")
    if "no bundled font" in msg:
        return Problem(fld, msg, "glyph", (", ".join(re.findall(r"U\+[0-9A-F]{4,6}", msg)),))
    return Problem(fld, msg, "other")
