"""What every document prints the same way: provenance footer, schedule wording,
template environment, print date."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from babel.lists import format_list
from markupsafe import Markup

from .. import paths
from ..content import ContentModel, ScheduleRow
from ..locales import keep_together, sentence_spacing
from ..localizer import Localizer
from ..papers import Paper
from ..patient import Patient

if TYPE_CHECKING:
    from jinja2 import Environment

AUTHOR = "handouts (clinic-made patient material)"


@dataclass(frozen=True)
class BuildRequest:
    document: str
    locale: str
    paper: Paper
    patient: Patient | None
    model: ContentModel
    large_print: bool = False  # handout only: body >= 18 pt (layouts/handout/large-print.css)
    also: str | None = None  # handout only: a second locale on the same sheets (bilingual)


def css_string(value: str) -> Markup:
    """Text for a CSS string inside <style>, where HTML escapes are not decoded."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return Markup(text.replace("<", "\\3C ").replace("&", "\\26 "))


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # only documents from templates
    env = Environment(loader=FileSystemLoader(str(paths.layouts_dir())), autoescape=True,
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"],
                      trim_blocks=False, lstrip_blocks=False)
    env.filters["css_string"] = css_string
    # Collapse whitespace in {% trans %} blocks, as babel.cfg's `trimmed` does on extraction.
    env.policies["ext.i18n.trimmed"] = True
    return env


def render_template(name: str, L: Localizer, **context) -> str:
    env = _environment()
    # Bind this locale's catalog for this render (one locale at a time per process).
    env.install_gettext_callables(L.translations.gettext, L.translations.ngettext, newstyle=True)
    # Separate strings are joined by template whitespace: the locale's sentence spacing.
    return keep_together(sentence_spacing(env.get_template(name).render(L=L, locale=L.spec, **context), L.spec), L.spec)


_NUMBER_SPACE = re.compile(r"(?<=\d) (?=\S)|(?<=[^\s,，、]) (?=\d)")


def glue_numbers(text: str) -> str:
    """No line break between a number and the word next to it ("Day 8", "第 1 天")."""
    return _NUMBER_SPACE.sub("\u00a0", text)


def when_label(L: Localizer, row: ScheduleRow) -> str:
    return glue_numbers(_when_label(L, row))


def _when_label(L: Localizer, row: ScheduleRow) -> str:
    first, last = row.cycles
    days = row.days
    if len(days) == 1:
        return L._("Cycle %(cycle)s, Day %(day)s", cycle=L.number(first), day=L.number(days[0]))
    d1, d2 = L.number(days[0]), L.number(days[1])
    if row.open_ended:
        return L._("Cycle %(cycle)s and later, Days %(day1)s and %(day2)s", cycle=L.number(first), day1=d1, day2=d2)
    if first == last:
        return L._("Cycle %(cycle)s, Days %(day1)s and %(day2)s", cycle=L.number(first), day1=d1, day2=d2)
    return L._("Cycles %(first)s to %(last)s, Days %(day1)s and %(day2)s",
               first=L.number(first), last=L.number(last), day1=d1, day2=d2)


def visit_label(L: Localizer, cycle: int, day: int) -> str:
    return glue_numbers(L._("Cycle %(cycle)s, Day %(day)s", cycle=L.number(cycle), day=L.number(day)))


def monitoring_text(L: Localizer, row: ScheduleRow) -> str:
    hours = L.q(row.monitoring)
    if row.stay_near:
        return L._("Stay in a hospital or clinic for %(hours)s from the start of the infusion. "
                   "Then, until %(total)s after the start of the infusion, stay within "
                   "%(distance)s of that care setting, with a caregiver.",
                   hours=hours, total=L.q("stay_near_total"), distance=L.q("stay_near_distance"))
    return L._("Stay %(hours)s after the infusion so your care team can watch you.", hours=hours)


def danger_call(L: Localizer) -> str:
    """The one rule for warning signs, the same words on card, handout and poster."""
    return L._("If you have any of these signs, call your care team right away.")


def danger_emergency(L: Localizer) -> str:
    """The one rule for when to go to emergency care (card, handout, poster)."""
    return L._("If you cannot reach them, or the signs are severe, call your local emergency "
               "number or go to an emergency room.")


def approval_statement(L: Localizer) -> str:
    """For readers outside the United States (locale data names their regions): the
    drug is approved in the United States only. Empty for a locale that names none."""
    regions = L.spec.regional.get("not_approved_in") or []
    if not regions:
        return ""
    return L._("Approved in the United States only. This document does not mean that it is "
               "approved in %(regions)s.", regions=format_list(list(regions), style="or", locale=L.babel))


def provenance(L: Localizer, model: ContentModel, when: dt.date) -> dict:
    return {
        "meta": model.meta,
        "label_revised": L.month_year(model.meta.label_revised),
        # When a person last compared the facts with the current label (see SECURITY.md).
        "label_checked": L._("Facts checked against the label on %(date)s.",
                             date=L.date(model.meta.label_checked, "long")),
        "print_date": L.date(when, "long"),
        "print_date_iso": when.isoformat(),
        "unreviewed": not L.spec.medical_review.reviewed,
        "author": AUTHOR,
        "approval_statement": approval_statement(L),
        "danger_call": danger_call(L),
        "danger_emergency": danger_emergency(L),
    }


def footer_line(L: Localizer, model: ContentModel, when: dt.date) -> str:
    return L._("Content %(version)s · U.S. prescribing information revised %(revised)s · "
               "Printed %(date)s · Not a substitute for advice from your care team",
               version=model.meta.content_version,
               revised=L.month_year(model.meta.label_revised),
               date=L.date(when, "medium"))
