"""The content model: typed, validated, cited facts about the drug.

The model is the only place a medical number lives. It refuses to hand a fact that is
not verified against the prescribing information to a layout: asking for one raises
UnverifiedFact, and layouts ask `is_printable()` first and print a pointer to the
prescribing information instead.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Literal, NamedTuple, Union

from pydantic import Field, field_validator, model_validator

from . import paths
from .errors import HandoutsError
from .models import Strict as _Strict  # one definition for every data file
from .models import load_toml

Confidence = Literal["label-verbatim", "label-derived", "secondary", "unverified"]
PRINTABLE: frozenset[str] = frozenset({"label-verbatim", "label-derived"})

REVIEW_DAYS = {"monthly": 31, "quarterly": 92, "semiannual": 183, "annual": 366}

# Every placeholder form a message may hold: %(name)s (group "name"; content-model
# strings name a fact with it), %s and {name}. Content and catalogs check against it.
PLACEHOLDER = re.compile(r"%\((?P<name>\w+)\)s|%s|\{\w*\}")


def placeholders(text: str) -> set[str]:
    """Every placeholder in `text`, as written (a translation must keep the same set)."""
    return {m.group(0) for m in PLACEHOLDER.finditer(text)}


def fact_refs(text: str) -> list[str]:
    """The facts a content-model string refers to (its %(name)s placeholders)."""
    return [m["name"] for m in PLACEHOLDER.finditer(text) if m["name"]]


class UnverifiedFact(HandoutsError):
    """A layout asked for a fact that must not be printed."""


class Source(_Strict):
    title: str
    publisher: str
    url: str
    source_type: str
    audience_level: str
    language: str
    # Recorded with the source (DESIGN: its front matter). The documents quote no source's
    # sentences, they restate facts in their own catalog words, so nothing checks it.
    license: Literal["public_domain", "facts_only"]
    citation: str
    last_reviewed: dt.date
    review_frequency: Literal["monthly", "quarterly", "semiannual", "annual"]
    status: Literal["active", "retired"]
    version: str

    def review_due(self) -> dt.date:
        return self.last_reviewed + dt.timedelta(days=REVIEW_DAYS[self.review_frequency])


class Provenance(_Strict):
    confidence: Confidence
    sources: list[str] = Field(min_length=1)
    label_revision: str
    ref: str = ""
    note: str = ""

    @property
    def printable(self) -> bool:
        return self.confidence in PRINTABLE


Scalar = Union[int, float, str, dt.date]


class Fact(Provenance):
    value: Union[Scalar, tuple[float, float]]
    unit: Literal[
        "mg", "mL", "mL/h", "L", "hour", "day", "week", "month", "percent",
        "degF", "degC", "grade", "date", "phone", "url",
    ]

    @field_validator("value", mode="before")
    @classmethod
    def _range_is_pair(cls, v):
        if isinstance(v, list):
            if len(v) != 2 or not v[0] < v[1]:
                raise ValueError("a range is [low, high] with low < high")
            return tuple(v)
        return v


class TextList(Provenance):
    items: list[str] = Field(min_length=1)
    card_items: list[str] = []

    @model_validator(mode="after")
    def _card_items_are_items(self):
        extra = set(self.card_items) - set(self.items)
        if extra:
            raise ValueError(f"card_items not in items: {sorted(extra)}")
        return self


class Cycles(NamedTuple):
    """The cycles a schedule row covers: `first` to `last`, or every cycle from `first`
    on when `last` is None (the data file writes that as [first, 0])."""
    first: int
    last: int | None


class ScheduleRow(_Strict):
    cycles: Cycles
    days: list[int] = Field(min_length=1)
    dose: str
    monitoring: str
    stay_near: bool = False
    premedication: bool = False

    @field_validator("cycles", mode="before")
    @classmethod
    def _zero_is_open_ended(cls, v):
        if isinstance(v, (list, tuple)) and len(v) == 2 and v[1] == 0:
            return (v[0], None)
        return v

    @field_validator("cycles")
    @classmethod
    def _ordered(cls, v: Cycles) -> Cycles:
        if v.first < 1 or (v.last is not None and v.last < v.first):
            raise ValueError("cycles are [first, last] with 1 <= first <= last, or [first, 0] for "
                             "this and every later cycle")
        return v

    @property
    def open_ended(self) -> bool:
        return self.cycles.last is None

    def covers(self, cycle: int) -> bool:
        first, last = self.cycles
        return cycle >= first and (last is None or cycle <= last)


class Meta(_Strict):
    drug: str
    brand: str
    pronunciation: str
    content_version: str
    label_revised: dt.date
    label_checked: dt.date
    label_check_frequency: Literal["monthly", "quarterly", "semiannual", "annual"]
    nci_url: str
    dailymed_url: str
    dailymed_site: str
    nci_source: str


class Presentation(_Strict):
    """How documents present the label's structure (kept with the facts, not in code)."""
    schedule_cycles_shown: int = Field(ge=1)
    timeline_single_cycles: int = Field(ge=1)


class RestartRow(_Strict):
    """One row of Table 4 (restarting after a dose delay)."""
    cycle: int
    day: int
    or_later: bool = False
    threshold: str
    rule: str | None = None


class ContentModel(_Strict):
    meta: Meta
    sources: dict[str, Source]
    facts: dict[str, Fact]
    schedule: list[ScheduleRow] = Field(min_length=1)
    schedule_provenance: Provenance
    lists: dict[str, TextList]
    presentation: Presentation
    restart: list[RestartRow] = []

    @model_validator(mode="after")
    def _references_resolve(self):
        records: list[tuple[str, Provenance]] = [
            *(("fact " + k, v) for k, v in self.facts.items()),
            *(("list " + k, v) for k, v in self.lists.items()),
            ("schedule", self.schedule_provenance),
        ]
        for name, rec in records:
            missing = [s for s in rec.sources if s not in self.sources]
            if missing:
                raise ValueError(f"{name}: unknown source(s) {missing}")
        for i, row in enumerate(self.schedule):
            for ref in (row.dose, row.monitoring):
                if ref not in self.facts:
                    raise ValueError(f"schedule[{i}]: unknown fact {ref!r}")
        if self.meta.nci_source not in self.sources:
            raise ValueError(f"meta.nci_source: unknown source {self.meta.nci_source!r}")
        for i, rr in enumerate(self.restart):
            if rr.threshold not in self.facts:
                raise ValueError(f"restart[{i}]: unknown fact {rr.threshold!r}")
            if rr.rule is not None and rr.rule not in self.lists:
                raise ValueError(f"restart[{i}]: unknown list {rr.rule!r}")
        for name, lst in self.lists.items():
            for item in lst.items:
                if len(fact_refs(item)) != len(PLACEHOLDER.findall(item)):
                    raise ValueError(f"list {name}: a fact is named as %(fact)s, not %s or {{}}: {item!r}")
                for ref in fact_refs(item):
                    if ref not in self.facts:
                        raise ValueError(f"list {name}: unknown fact {ref!r} in {item!r}")
                if re.search(r"\d", PLACEHOLDER.sub("", item)):
                    raise ValueError(f"list {name}: a number must be a placeholder: {item!r}")
        return self

    # -- access that enforces the safety rule -------------------------------------

    def is_printable(self, fact_id: str) -> bool:
        return self._record(fact_id).printable

    def fact(self, fact_id: str) -> Fact:
        fact = self.facts.get(fact_id)
        if fact is None:
            raise KeyError(f"no fact {fact_id!r} in the content model")
        self._require_printable(fact_id, fact)
        return fact

    def text_list(self, list_id: str) -> TextList:
        lst = self.lists.get(list_id)
        if lst is None:
            raise KeyError(f"no list {list_id!r} in the content model")
        self._require_printable(list_id, lst)
        for item in lst.items:
            for ref in fact_refs(item):
                self.fact(ref)
        return lst

    def printable_schedule(self) -> list[ScheduleRow]:
        self._require_printable("schedule", self.schedule_provenance)
        for row in self.schedule:
            self.fact(row.dose)
            self.fact(row.monitoring)
        return list(self.schedule)

    def schedule_row_for(self, cycle: int, day: int) -> ScheduleRow:
        for row in self.printable_schedule():
            if row.covers(cycle) and day in row.days:
                return row
        raise KeyError(f"no schedule row for cycle {cycle} day {day}")

    def stay_near_rows(self) -> list[ScheduleRow]:
        """The doses after which the patient stays near care with a caregiver (Cycle 1
        Days 1 and 8 in Table 1: "the first two doses")."""
        return [r for r in self.printable_schedule() if r.stay_near]

    def sources_for(self, record_ids) -> list[Source]:
        """Sources of the given records, in a stable order (the order of [sources])."""
        wanted: set[str] = set()
        for rid in record_ids:
            wanted.update(self._record(rid).sources)
        return [s for sid, s in self.sources.items() if sid in wanted]

    def label_check_due(self) -> dt.date:
        return self.meta.label_checked + dt.timedelta(days=REVIEW_DAYS[self.meta.label_check_frequency])

    def overdue_sources(self, today: dt.date) -> list[tuple[str, Source]]:
        return [(sid, s) for sid, s in self.sources.items()
                if s.status == "active" and s.review_due() < today]

    def _record(self, rid: str) -> Provenance:
        if rid == "schedule":
            return self.schedule_provenance
        rec = self.facts.get(rid) or self.lists.get(rid)
        if rec is None:
            raise KeyError(f"no fact or list {rid!r} in the content model")
        return rec

    @staticmethod
    def _require_printable(rid: str, rec: Provenance) -> None:
        if not rec.printable:
            raise UnverifiedFact(
                rid, f"is {rec.confidence}, not verified against the prescribing "
                "information; point the reader to the prescribing information instead")


def load(path: Path | None = None) -> ContentModel:
    return load_toml(path or paths.content_file(), ContentModel)


@cache
def default() -> ContentModel:
    return load()
