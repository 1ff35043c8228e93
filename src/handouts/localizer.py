"""Everything a reader sees, in the reader's locale: gettext for words, babel (CLDR) for
dates, numbers and units, and the content model for every medical figure."""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Literal

from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

from . import catalogs, locales
from .content import NAME_CONTEXT, ContentModel, PrintableFact, ScheduleRow, UnverifiedFact, fact_refs

NBSP = "\u00a0"

_CLDR_UNIT: dict[str, tuple[str, Literal["short", "long", "narrow"]]] = {
    "mg": ("mass-milligram", "short"),
    "mL": ("volume-milliliter", "short"),
    "L": ("volume-liter", "short"),
    "hour": ("duration-hour", "long"),
    "day": ("duration-day", "long"),
    "week": ("duration-week", "long"),
    "month": ("duration-month", "long"),
    "degF": ("temperature-fahrenheit", "short"),
    "degC": ("temperature-celsius", "short"),
}


class Localizer:
    """One locale's words and formats, bound to one content model."""

    def __init__(self, code: str, model: ContentModel,
                 translations: gettext.NullTranslations | None = None):
        self.spec = locales.get(code)
        self.code = self.spec.code
        self.babel = self.spec.babel
        self.model = model
        # The shared catalog, under the pack's own catalog where it has one.
        self.translations = translations if translations is not None else catalogs.for_content(self.code, model)
        self._printed: set[str] | None = None

    # -- what a render printed (its citations come from this) ---------------------
    @contextmanager
    def tracking(self) -> Iterator[set[str]]:
        """Collect the ids of the facts and lists handed out while the block runs."""
        outer, self._printed = self._printed, set()
        try:
            yield self._printed
        finally:
            if outer is not None:
                outer |= self._printed
            self._printed = outer

    def _handed_out(self, record_id: str) -> None:
        if self._printed is not None:
            self._printed.add(record_id)

    # For records a document prints through its own words (an approval statement).
    handed_out = _handed_out

    def schedule(self) -> list[ScheduleRow]:
        """The printable step-up schedule (Table 1), recorded as printed."""
        rows = self.model.printable_schedule()
        self._handed_out("schedule")
        return rows

    # -- words ----------------------------------------------------------------------
    def gettext(self, message: str, **values: object) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    _ = gettext

    def pgettext(self, context: str, message: str, **values: object) -> str:
        """A message whose English words serve more than one meaning (msgctxt)."""
        text = self.translations.pgettext(context, message)
        return text % values if values else text

    def name(self, form: str) -> str:
        """The drug's (or its maker's) name in one of the content model's forms
        (heading, title, in_sentence, introduced, maker), as this locale writes it."""
        return self.translations.pgettext(NAME_CONTEXT.format(form), getattr(self.model.names, form))

    # -- numbers, dates, units ----------------------------------------------------
    def join_sentences(self, *texts: str) -> str:
        """Sentences of one paragraph, spaced as this locale spaces them."""
        return locales.sentence_spacing(" ".join(texts), self.spec)

    def number(self, value: float | Decimal) -> str:
        return format_decimal(value, locale=self.babel)

    def date(self, value: dt.date, style: str = "full") -> str:
        return format_date(value, style, locale=self.babel)

    def month_year(self, value: dt.date) -> str:
        return format_skeleton("yMMMM", value, locale=self.babel)

    def weekday(self, value: dt.date) -> str:
        return format_date(value, "EEEE", locale=self.babel)

    def quantity(self, value: float, unit: str) -> str:
        if unit == "percent":
            return format_percent(value / 100, locale=self.babel)
        if unit == "mL/h":
            return self.gettext("%(volume)s per hour", volume=self.quantity(value, "mL"))
        if unit == "grade":
            return self.gettext("Grade %(grade)s", grade=self.number(value))
        if unit in self.spec.regional.get("latin_units", ()):
            # One unit style per locale (locale.toml [regional]): a symbol, as labels print it.
            return f"{self.number(value)}{NBSP}{unit}"
        cldr, length = _CLDR_UNIT[unit]
        text = format_unit(value, cldr, length=length, locale=self.babel)
        if cldr in text:
            # CLDR has no long form for this unit in this locale (zh): use the short one.
            text = format_unit(value, cldr, length="short", locale=self.babel)
        # A line must never separate a number from its unit ("10 | mg").
        return text.replace(" ", NBSP)

    def fact(self, fact: PrintableFact) -> str:
        """A fact as printed. Only what the content model handed out (ContentModel.fact
        refuses an unverified fact) is formatted: anything else is refused."""
        if not isinstance(fact, PrintableFact):
            raise UnverifiedFact(getattr(fact, "id", "fact"), "was not handed out by the content model "
                                 "(ContentModel.fact); only a printable fact is formatted")
        v, unit = fact.value, fact.unit
        if unit == "date":
            return self.month_year(v)
        if unit in ("phone", "url"):
            return str(v)
        if isinstance(v, tuple):
            low, high = v
            # A range never breaks across lines ("22 to 24 hours", "22 至 24 小時").
            return self.gettext("%(low)s to %(high)s", low=self.number(low),
                                high=self.quantity(high, unit)).replace(" ", NBSP)
        return self.quantity(v, unit)

    # -- content model through the locale ------------------------------------------
    def q(self, fact_id: str) -> str:
        """A printable fact, formatted; raises UnverifiedFact for any other."""
        text = self.fact(self.model.fact(fact_id))
        self._handed_out(fact_id)
        return text

    def interpolate(self, message: str) -> str:
        """Translate a content-model string and fill its %(fact)s placeholders."""
        refs = fact_refs(message)
        return self.gettext(message, **{r: self.q(r) for r in refs})

    def items(self, list_id: str, card: bool = False) -> list[str]:
        lst = self.model.text_list(list_id)
        self._handed_out(list_id)
        return [self.interpolate(m) for m in (lst.card_items if card else lst.items)]

def get(code: str, model: ContentModel) -> Localizer:
    """One Localizer per locale and model in a render session (the catalogs themselves
    load once per process)."""
    from .session import current
    localizers = current().cache("localizers")
    found = localizers.get(code)
    if found is None or found.model is not model:
        found = localizers[code] = Localizer(code, model)
    return found
