"""The content model: typed, validated, cited facts about one drug, from a content pack.

The model is the only place a medical number lives, and it keeps its records to itself:
facts and lists sit in private storage, and the one way to a fact's value is
`fact(id)`, which refuses (UnverifiedFact) a fact that is not verified against the
prescribing information and hands out a `PrintableFact` otherwise. The localizer
formats nothing else, so no layout can print a `secondary` or `unverified` fact; layouts
ask `is_printable()` first and print a pointer to the prescribing information instead.

A content pack is a folder: `content.toml` (facts, sources, names, the roles code reads
facts by) and, optionally, `locales/<dir>/LC_MESSAGES/content.po`, catalogs of the
words only this pack uses; every other word comes from the shared catalogs in locales/.
Code never names the drug or a fact id: it asks the model's `roles` and `names`.

Provenance is a record of something that happened: a date that says the facts were
compared with the label comes only from a recorded comparison (meta.label_checks: what
was compared, with which label revision, read where, by what means, with what result);
a source carries a review date only where such a comparison read it, or a recorded
review compared what the documents take from it with a copy of it (meta.source_reviews),
or its own publisher's record says so; approval by region is data with the date it was
checked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Self

from pydantic import Field, field_validator, model_validator

from . import paths
from .errors import HandoutsError
from .models import Strict as _Strict  # one definition for every data file
from .models import load_toml

Confidence = Literal["label-verbatim", "label-derived", "patient-education", "secondary", "unverified"]
PRINTABLE: frozenset[str] = frozenset({"label-verbatim", "label-derived"})
# Why "patient-education" exists: the prescribing information names some risks (infection,
# liver injury) without saying what a patient notices at home, and the Medication Guide's
# lists for them were not found. Public patient-education pages (GoodRx, an RxList-style
# page) say it in plain words. Such words may print, always cited, to tell a patient what
# to look for; they never carry a number (no threshold, no time, no percentage): the model
# refuses a placeholder, a digit or a number word in such a list, and refuses the level on
# a numeric fact. Every number a patient acts on stays label-verified.
WORDS_ONLY: frozenset[str] = frozenset({"patient-education"})
# Source types a patient-education list may rest on.
PATIENT_EDUCATION_SOURCES: frozenset[str] = frozenset({"patient_education"})
_NUMBER_WORD = re.compile(
    r"\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|half|once|twice|first|second|third|"
    r"percent|degrees?|hours?|days?|weeks?|months?|dozen)\b", re.I)
# A label revision as the fact sheet writes it: month/year (11/2025).
REVISION = re.compile(r"(\d{2})/(\d{4})")

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
    # When the facts resting on this source were last checked against it: the date of the
    # latest recorded label check that read it (meta.label_checks), or a date the source's
    # own record gives (review_record names it, e.g. a publisher's front matter). None:
    # no recorded check read it, and nothing may claim one did.
    last_reviewed: dt.date | None = None
    review_record: str = ""
    review_frequency: Literal["monthly", "quarterly", "semiannual", "annual"]
    status: Literal["active", "retired"]
    version: str

    def review_due(self) -> dt.date | None:
        if self.last_reviewed is None:
            return None
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


Scalar = int | float | str | dt.date


class Fact(Provenance):
    value: Scalar | tuple[float, float]
    unit: Literal[
        "mg", "mL", "mL/h", "L", "hour", "day", "week", "month", "percent",
        "degF", "degC", "grade", "date", "phone", "url",
    ]

    @field_validator("confidence")
    @classmethod
    def _no_number_from_patient_pages(cls, v: str) -> str:
        if v in WORDS_ONLY:
            raise ValueError(f"{v} is for symptom words only, never for a number or date")
        return v

    @field_validator("value", mode="before")
    @classmethod
    def _range_is_pair(cls, v: Any) -> Any:
        if isinstance(v, list):
            if len(v) != 2 or not v[0] < v[1]:
                raise ValueError("a range is [low, high] with low < high")
            return tuple(v)
        return v


class TextList(Provenance):
    items: list[str] = Field(min_length=1)
    card_items: list[str] = []
    # For a list of risks: for each item, the list of what a patient may notice ("" none).
    signs: list[str] = []

    @model_validator(mode="after")
    def _card_items_are_items(self) -> Self:
        extra = set(self.card_items) - set(self.items)
        if extra:
            raise ValueError(f"card_items not in items: {sorted(extra)}")
        if self.signs and len(self.signs) != len(self.items):
            raise ValueError("signs: one entry per item (\"\" for none)")
        if self.confidence in WORDS_ONLY:
            for item in self.items:
                if PLACEHOLDER.search(item) or re.search(r"\d", item) or _NUMBER_WORD.search(item):
                    raise ValueError(f"a {self.confidence} list holds symptom words only, never a "
                                     f"number or placeholder: {item!r}")
        return self


class LabelCheck(_Strict):
    """One recorded comparison of the content with the US prescribing information (the
    fact sheet's "Freshness check" sections). Only such a record puts a check date on
    paper, and the printed line names the label revision it compared with."""
    date: dt.date
    compared: str = Field(min_length=1)        # what was compared
    label_revision: str = Field(pattern=REVISION.pattern)  # the revision compared with, 11/2025
    read: list[str] = Field(min_length=1)      # the source copies it read (ids)
    means: str = Field(min_length=1)           # how it was read (stored copies; live DailyMed or not)
    result: str = Field(min_length=1)
    covers: list[Literal["facts", "approval"]] = Field(min_length=1)
    record: str = Field(min_length=1)          # where the record of it is kept


class SourceReview(_Strict):
    """One recorded comparison of what the documents take from a source (a QR code's
    target, a lay description, a pronunciation) with a copy of that source. Only such a
    record (or a label check that read the source) gives the source a review date."""
    date: dt.date
    source: str = Field(min_length=1)          # the source id
    compared: str = Field(min_length=1)        # what the documents take from it
    read: str = Field(min_length=1)            # the copy of the source that was read, and what else
    means: str = Field(min_length=1)           # how (by whom, stored copy or live page)
    result: str = Field(min_length=1)          # what agreed, what did not, what follows
    record: str = Field(min_length=1)          # where the record of it is kept


class Approval(_Strict):
    """Approval status in one region, as a recorded check found it (it changes: China's
    application has priority review)."""
    region: str = Field(pattern=r"^[A-Z]{2}$")
    status: Literal["approved", "application-accepted", "none-found"]
    checked: dt.date
    since: dt.date | None = None
    sources: list[str] = []
    note: str = ""

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    @model_validator(mode="after")
    def _says_why_without_source(self) -> Self:
        if not self.sources and not self.note:
            raise ValueError(f"{self.region}: a status with no source needs a note saying why")
        return self


class LabSchedule(Provenance):
    """When blood tests come before a dose (PI 2.1, 11/2025): before every dose through
    `every_dose_through` (cycle, day), then before Day `then_day` of each cycle from
    cycle `from_cycle` on."""
    every_dose_through: tuple[int, int]
    then_day: int = Field(ge=1)
    from_cycle: int = Field(ge=2)

    @model_validator(mode="after")
    def _continuous(self) -> Self:
        if self.from_cycle != self.every_dose_through[0] + 1:
            raise ValueError("from_cycle follows the cycle of every_dose_through")
        return self


class Cycles(NamedTuple):
    """The cycles a schedule row covers: `first` to `last`, or every cycle from `first`
    on when `last` is None (the data file writes that as [first, 0])."""
    first: int
    last: int | None


class ScheduleRow(_Strict):
    cycles: Cycles
    # The days of each covered cycle a dose is given, in order (any number of them: the
    # documents name one, two or more days of a cycle).
    days: list[int] = Field(min_length=1)
    dose: str
    monitoring: str
    stay_near: bool = False
    premedication: bool = False
    step_up: bool = False  # a step-up dose (the poster marks it)

    @field_validator("days")
    @classmethod
    def _days_in_order(cls, v: list[int]) -> list[int]:
        if v[0] < 1 or any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("days are cycle days from 1, each once, in order")
        return v

    @field_validator("cycles", mode="before")
    @classmethod
    def _zero_is_open_ended(cls, v: Any) -> Any:
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
    # The drug's part of every output file's name (<file_stem>-handout-en-letter.pdf).
    file_stem: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    content_version: str
    label_revised: dt.date
    label_checks: list[LabelCheck] = Field(min_length=1)
    source_reviews: list[SourceReview] = []
    label_check_frequency: Literal["monthly", "quarterly", "semiannual", "annual"]
    nci_url: str
    dailymed_url: str
    dailymed_site: str
    nci_source: str

    @model_validator(mode="before")
    @classmethod
    def _no_bare_check_date(cls, data: Any) -> Any:
        if isinstance(data, dict) and "label_checked" in data:
            raise ValueError("label_checked: a check date prints only from a recorded comparison: add "
                             "a [[meta.label_checks]] record (date, compared, label_revision, read, "
                             "means, result, covers, record) instead")
        return data

    @property
    def last_check(self) -> LabelCheck:
        """The latest recorded comparison with the label."""
        return max(self.label_checks, key=lambda c: c.date)

    @property
    def label_checked(self) -> dt.date:
        """The date of the latest recorded comparison (there is no other)."""
        return self.last_check.date


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


# -- names and roles: what code asks for without naming the drug or a fact id ----------

NAME_CONTEXT = "drug name: {}"  # the msgctxt of each name (one English text may serve two forms)


class Names(_Strict):
    """How documents name the drug and its maker. Each is an English msgid that the
    catalogs translate (context "drug name: <key>"), so each locale writes the name its
    readers know (塔拉妥单抗; in Taiwan the English generic name first). Code, layouts and
    other msgids never spell a name: they take one of these through a placeholder."""
    heading: str      # a heading, or the subject of a sentence
    title: str        # the start of a document's title (a locale may shorten it)
    in_sentence: str  # inside a sentence
    introduced: str   # where the handout first explains the name, with how to say it
    maker: str        # the company that makes it (where to report side effects)

    def messages(self) -> list[tuple[str, str]]:
        return [(NAME_CONTEXT.format(k), v) for k, v in self.model_dump().items()]


class StayNearRole(_Strict):
    total: str     # fact, hours from the start of the infusion
    distance: str  # fact: how far from the place of care


class PremedicationRole(_Strict):
    steroid_dose: str
    steroid_within: str
    fluids_volume: str
    fluids_duration: str

    def ids(self) -> tuple[str, ...]:
        return (self.steroid_dose, self.steroid_within, self.fluids_volume, self.fluids_duration)


class CardRole(_Strict):
    """What the wallet card prints besides the shared rules."""
    signs: str           # list: its card_items print on the front
    nervous_signs: str   # list
    onset_median: str    # fact
    onset_latest: str    # fact
    late_onset: str      # list (printable or not: the card words its timing by it)
    drug_class: str      # list, one item
    provider_suspect: str  # list


class Roles(_Strict):
    """The records code reads by what it uses them for: code names the role, this table
    names the fact or list (a pack for another drug maps its own ids). Checked on load:
    each names a record of the right kind (and unit, where code computes with it)."""
    first_approval: str  # fact (date): a first dose before it is refused
    cycle_length: str    # fact (day): dates a patient's schedule
    emergency_signs: str  # list: the signs that cannot wait for a call back
    other_warnings: str  # list with `signs`: the other serious risks
    stay_near: StayNearRole
    premedication: PremedicationRole
    card: CardRole

    def facts(self) -> dict[str, str]:
        """role -> fact id, for every role that names a fact."""
        p, c = self.premedication, self.card
        return {"first_approval": self.first_approval, "cycle_length": self.cycle_length,
                "stay_near.total": self.stay_near.total, "stay_near.distance": self.stay_near.distance,
                "premedication.steroid_dose": p.steroid_dose, "premedication.steroid_within": p.steroid_within,
                "premedication.fluids_volume": p.fluids_volume, "premedication.fluids_duration": p.fluids_duration,
                "card.onset_median": c.onset_median, "card.onset_latest": c.onset_latest}

    def lists(self) -> dict[str, str]:
        """role -> list id, for every role that names a list."""
        c = self.card
        return {"emergency_signs": self.emergency_signs, "other_warnings": self.other_warnings,
                "card.signs": c.signs, "card.nervous_signs": c.nervous_signs, "card.late_onset": c.late_onset,
                "card.drug_class": c.drug_class, "card.provider_suspect": c.provider_suspect}


# Units code computes with: the role's fact must be in one of these.
_ROLE_UNITS = {"first_approval": ("date",), "cycle_length": ("day",), "stay_near.total": ("hour",)}


class Codes(_Strict):
    """How an EHR's medication codes name the drug, besides its names: NDC package codes
    (any hyphenation) and RxNorm codes (a clinic adds its own in its settings)."""
    ndc: list[str] = []
    rxnorm: list[str] = []


# -- the data file --------------------------------------------------------------------

class ContentFile(_Strict):
    """content.toml as written, validated: the model keeps it private."""
    meta: Meta
    names: Names
    roles: Roles
    codes: Codes = Codes()
    sources: dict[str, Source]
    facts: dict[str, Fact]
    schedule: list[ScheduleRow] = Field(min_length=1)
    schedule_provenance: Provenance
    lists: dict[str, TextList]
    presentation: Presentation
    restart: list[RestartRow] = []
    lab_schedule: LabSchedule
    approval: list[Approval] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        records: list[tuple[str, Provenance]] = [
            *(("fact " + k, v) for k, v in self.facts.items()),
            *(("list " + k, v) for k, v in self.lists.items()),
            ("schedule", self.schedule_provenance),
            ("lab_schedule", self.lab_schedule),
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
        self._roles_resolve()
        self._schedule_fits_its_cycles()
        self._provenance_is_recorded()
        self._lists_are_sound()
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

    def _roles_resolve(self) -> None:
        for role, fid in self.roles.facts().items():
            fact = self.facts.get(fid)
            if fact is None:
                raise ValueError(f"roles.{role}: unknown fact {fid!r}")
            units = _ROLE_UNITS.get(role)
            if units and fact.unit not in units:
                raise ValueError(f"roles.{role}: fact {fid!r} is in {fact.unit}, not {' or '.join(units)}")
        for role, lid in self.roles.lists().items():
            if lid not in self.lists:
                raise ValueError(f"roles.{role}: unknown list {lid!r}")
        if not self.lists[self.roles.other_warnings].signs:
            raise ValueError(f"roles.other_warnings: list {self.roles.other_warnings!r} has no signs")

    def _schedule_fits_its_cycles(self) -> None:
        """Every dose day lies inside its cycle, and no two rows give a dose on the same
        day of the same cycle (the documents print each row as its own line)."""
        length = self.facts[self.roles.cycle_length].value
        if isinstance(length, (int, float)):
            for i, row in enumerate(self.schedule):
                if row.days[-1] > length:
                    raise ValueError(f"schedule[{i}]: day {row.days[-1]} is past the cycle's {length} days")
        seen: dict[tuple[int, int], int] = {}
        horizon = max(r.cycles.last or r.cycles.first for r in self.schedule) + 1
        for i, row in enumerate(self.schedule):
            for cycle in range(row.cycles.first, (row.cycles.last or horizon) + 1):
                for day in row.days:
                    if (cycle, day) in seen:
                        raise ValueError(f"schedule[{i}]: cycle {cycle} day {day} is also in "
                                         f"schedule[{seen[cycle, day]}]")
                    seen[cycle, day] = i

    def _provenance_is_recorded(self) -> None:
        """Every date that says something was checked comes from a record of the check."""
        checks = self.meta.label_checks
        for c in checks:
            missing = [s for s in c.read if s not in self.sources]
            if missing:
                raise ValueError(f"meta.label_checks {c.date}: unknown source(s) {missing}")
        for r in self.meta.source_reviews:
            if r.source not in self.sources:
                raise ValueError(f"meta.source_reviews {r.date}: unknown source {r.source!r}")
        for sid, src in self.sources.items():
            read_on = [c.date for c in checks if sid in c.read]
            read_on += [r.date for r in self.meta.source_reviews if r.source == sid]
            if src.review_record and not read_on:
                continue  # the date is the source's own record (e.g. its publisher's front matter)
            if src.review_record:
                raise ValueError(f"sources.{sid}.review_record: a recorded review read this source; its date "
                                 "comes from that record: remove review_record")
            if read_on and src.last_reviewed != max(read_on):
                raise ValueError(f"sources.{sid}.last_reviewed: the latest recorded check that read it "
                                 f"is {max(read_on)}; set that date")
            if not read_on and src.last_reviewed is not None:
                raise ValueError(f"sources.{sid}.last_reviewed: {src.last_reviewed} is not the date of a "
                                 "recorded label check or source review that read this source "
                                 "(meta.label_checks, meta.source_reviews); remove the date or add the record")
        approval_checks = {c.date for c in checks if "approval" in c.covers}
        for a in self.approval:
            if a.checked not in approval_checks:
                raise ValueError(f"approval {a.region}: checked {a.checked} is not the date of a recorded "
                                 "check that covered approval (meta.label_checks)")
            missing = [s for s in a.sources if s not in self.sources]
            if missing:
                raise ValueError(f"approval {a.region}: unknown source(s) {missing}")
        if len({a.region for a in self.approval}) != len(self.approval):
            raise ValueError("approval: one record per region")

    def _lists_are_sound(self) -> None:
        for name, lst in self.lists.items():
            for sid in lst.signs:
                if sid and sid not in self.lists:
                    raise ValueError(f"list {name}: unknown signs list {sid!r}")
            if lst.confidence in WORDS_ONLY:
                kinds = {self.sources[s].source_type for s in lst.sources}
                if not kinds & PATIENT_EDUCATION_SOURCES:
                    raise ValueError(f"list {name}: {lst.confidence} words must cite a patient-education "
                                     "source (source_type patient_education)")
        cycle, day = self.lab_schedule.every_dose_through
        if not any(r.covers(cycle) and day in r.days for r in self.schedule):
            raise ValueError(f"lab_schedule: no dose on cycle {cycle}, day {day} in the schedule")


# -- what the model hands out ----------------------------------------------------------

_HANDED_OUT = object()  # only this module makes a PrintableFact


class PrintableFact:
    """A fact the model handed out for printing: only `ContentModel.fact()` makes one, and
    only for a fact verified against the prescribing information. The localizer formats
    nothing else."""
    __slots__ = ("id", "value", "unit", "provenance")
    id: str
    value: Any
    unit: str
    provenance: Provenance

    def __init__(self, key: object, fact_id: str, fact: Fact):
        if key is not _HANDED_OUT:
            raise TypeError("only the content model hands out a printable fact (ContentModel.fact)")
        for name, value in (("id", fact_id), ("value", fact.value), ("unit", fact.unit),
                            ("provenance", Provenance(**{k: getattr(fact, k) for k in Provenance.model_fields}))):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a printable fact is read-only")

    @property
    def confidence(self) -> str:
        return self.provenance.confidence

    @property
    def sources(self) -> list[str]:
        return self.provenance.sources

    @property
    def label_revision(self) -> str:
        return self.provenance.label_revision

    def __repr__(self) -> str:
        return f"PrintableFact({self.id!r}, {self.value!r}, {self.unit!r})"


@dataclass(frozen=True)
class Pack:
    """A content pack's folder: content.toml, and optionally the pack's own catalogs
    (locales/<dir>/LC_MESSAGES/content.po) for words only this pack uses."""
    folder: Path

    CONTENT = "content.toml"
    DOMAIN = "content"

    @property
    def content_file(self) -> Path:
        return self.folder / self.CONTENT

    def catalog(self, locale_dir: str) -> Path | None:
        """The pack's own catalog for a locale folder (zh_Hans), if it has one."""
        path = self.folder / "locales" / locale_dir / "LC_MESSAGES" / f"{self.DOMAIN}.po"
        return path if path.is_file() else None

    def files(self) -> list[Path]:
        """Every file of the pack (what a batch's digest reads)."""
        return sorted(p for p in self.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


class ContentModel:
    """The content of one pack. Facts and lists stay private: `fact()` and `text_list()`
    hand out only printable records; `provenance()` tells where any record comes from
    without its value; `revised()` makes a changed copy (checked as a file is)."""
    __slots__ = ("__data", "pack", "meta", "names", "roles", "codes", "sources", "schedule_provenance",
                 "presentation", "__weakref__")
    # What anyone may read: the tables that hold no fact's value (records stay private).
    meta: Meta
    names: Names
    roles: Roles
    codes: Codes
    sources: Mapping[str, Source]
    schedule_provenance: Provenance
    presentation: Presentation

    def __init__(self, data: ContentFile, pack: Pack | None = None):
        self.__data = data
        self.pack = pack
        self.meta, self.names, self.roles, self.codes = data.meta, data.names, data.roles, data.codes
        self.sources = MappingProxyType(data.sources)
        self.schedule_provenance, self.presentation = data.schedule_provenance, data.presentation

    @property
    def restart(self) -> list[RestartRow]:
        return list(self.__data.restart)

    @property
    def approval(self) -> list[Approval]:
        return list(self.__data.approval)

    def fact_ids(self) -> list[str]:
        return list(self.__data.facts)

    def list_ids(self) -> list[str]:
        return list(self.__data.lists)

    def digest(self) -> str:
        """A digest (sha256, hex) of everything the pack's content says: what a document
        id names as its content. It tells nothing of any value."""
        return hashlib.sha256(self.__data.model_dump_json().encode("utf-8")).hexdigest()

    def provenance(self, record_id: str) -> Provenance:
        """Where a record comes from (confidence, sources, label revision), never its value."""
        rec = self._record(record_id)
        return Provenance(**{k: getattr(rec, k) for k in Provenance.model_fields})

    def messages(self) -> list[tuple[str | None, str]]:
        """Every message the pack's text holds (context, msgid): the names and the lists'
        items, which the catalogs must translate."""
        items = [(None, m) for lst in self.__data.lists.values() for m in lst.items]
        return list(dict.fromkeys([*self.names.messages(), *items]))

    def revised(self, facts: Mapping[str, Mapping[str, Any]] | None = None,
                lists: Mapping[str, Mapping[str, Any]] | None = None, **tables: Any) -> ContentModel:
        """A copy with some records changed (`facts={"fever_f": {"value": 101}}`) or whole
        tables replaced, validated as the file would be: for tests and what-if reviews."""
        data = self.__data.model_dump()
        for kind, changes in (("facts", facts or {}), ("lists", lists or {})):
            for rid, update in changes.items():
                if rid not in data[kind]:
                    raise KeyError(f"no {kind[:-1]} {rid!r} in the content model")
                data[kind][rid] = {**data[kind][rid], **update}
        for name, table in tables.items():  # a table's keys changed, or a list replaced
            data[name] = {**data[name], **table} if isinstance(table, Mapping) else table
        return ContentModel(ContentFile.model_validate(data), self.pack)

    # -- access that enforces the safety rule ----------------------------------------
    def is_printable(self, record_id: str) -> bool:
        if record_id.startswith("approval:"):
            # Printable as found: the file is refused unless its check date is a recorded
            # check that covered approval.
            self.approval_in(record_id.partition(":")[2])
            return True
        rec = self._record(record_id)
        return rec.printable or (isinstance(rec, TextList) and rec.confidence in WORDS_ONLY)

    def fact(self, fact_id: str) -> PrintableFact:
        """A printable fact; UnverifiedFact for any other (the layout points to the
        prescribing information instead)."""
        fact = self.__data.facts.get(fact_id)
        if fact is None:
            raise KeyError(f"no fact {fact_id!r} in the content model")
        self._require_printable(fact_id, fact)
        return PrintableFact(_HANDED_OUT, fact_id, fact)

    def text_list(self, list_id: str) -> TextList:
        lst = self.__data.lists.get(list_id)
        if lst is None:
            raise KeyError(f"no list {list_id!r} in the content model")
        if lst.confidence not in WORDS_ONLY:  # words only, checked on load: never a number
            self._require_printable(list_id, lst)
        for item in lst.items:
            for ref in fact_refs(item):
                self.fact(ref)
        return lst

    def printable_schedule(self) -> list[ScheduleRow]:
        self._require_printable("schedule", self.__data.schedule_provenance)
        for row in self.__data.schedule:
            self.fact(row.dose)
            self.fact(row.monitoring)
        return list(self.__data.schedule)

    def schedule_row_for(self, cycle: int, day: int) -> ScheduleRow:
        for row in self.printable_schedule():
            if row.covers(cycle) and day in row.days:
                return row
        raise KeyError(f"no schedule row for cycle {cycle} day {day}")

    def stay_near_rows(self) -> list[ScheduleRow]:
        """The doses after which the patient stays near care with a caregiver (the rows
        the data marks stay_near)."""
        return [r for r in self.printable_schedule() if r.stay_near]

    def sources_for(self, record_ids: Iterable[str]) -> list[Source]:
        """Sources of the given records, in a stable order (the order of [sources])."""
        wanted: set[str] = set()
        for rid in record_ids:
            if rid.startswith("approval:"):
                wanted.update(self.approval_in(rid.partition(":")[2]).sources)
                continue
            wanted.update(self._record(rid).sources)
        return [s for sid, s in self.__data.sources.items() if sid in wanted]

    def printable_lab_schedule(self) -> LabSchedule:
        self._require_printable("lab_schedule", self.__data.lab_schedule)
        return self.__data.lab_schedule

    def label_check_due(self) -> dt.date:
        return self.meta.label_checked + dt.timedelta(days=REVIEW_DAYS[self.meta.label_check_frequency])

    def overdue_sources(self, today: dt.date) -> list[tuple[str, Source]]:
        """Active sources whose recorded review is past due (a source with no recorded
        review has no due date: nothing claims it was reviewed)."""
        out = []
        for sid, s in self.__data.sources.items():
            due = s.review_due()
            if s.status == "active" and due is not None and due < today:
                out.append((sid, s))
        return out

    def approval_in(self, region: str) -> Approval:
        for a in self.__data.approval:
            if a.region == region:
                return a
        raise KeyError(f"no approval record for region {region!r}")

    def _record(self, rid: str) -> Provenance:
        data = self.__data
        if rid == "schedule":
            return data.schedule_provenance
        if rid == "lab_schedule":
            return data.lab_schedule
        rec = data.facts.get(rid) or data.lists.get(rid)
        if rec is None:
            raise KeyError(f"no fact or list {rid!r} in the content model")
        return rec

    @staticmethod
    def _require_printable(rid: str, rec: Provenance) -> None:
        if not rec.printable:
            raise UnverifiedFact(
                rid, f"is {rec.confidence}, not verified against the prescribing "
                "information; point the reader to the prescribing information instead")


def raw(path: Path | None = None) -> dict[str, Any]:
    """A pack's content file as written (a dict to edit a copy of: tests, reviews)."""
    return tomllib.loads(_content_file(path).read_text(encoding="utf-8"))


def from_data(data: Mapping[str, Any], pack: Pack | None = None) -> ContentModel:
    """A model from content-file data (a ValidationError names what is wrong)."""
    return ContentModel(ContentFile.model_validate(data), pack)


def _content_file(path: Path | None) -> Path:
    path = path or paths.content_file()
    return path / Pack.CONTENT if path.is_dir() else path


def load(path: Path | None = None) -> ContentModel:
    """The model of a content pack: its folder or its content file (default: the
    configured pack, paths.content_pack())."""
    file = _content_file(path)
    return ContentModel(load_toml(file, ContentFile), Pack(file.parent))


def default() -> ContentModel:
    """The configured pack's model (paths.content_pack()), loaded once per pack."""
    return _loaded(paths.content_file())


@cache
def _loaded(file: Path) -> ContentModel:
    return load(file)
