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
from ..content import REVISION, Approval, ContentModel, Cycles, ScheduleRow
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


def printed_id(req: BuildRequest) -> str:
    """The document id the document prints (in its footer and its PDF metadata): the
    print record and a nurse reading the paper name the document by it."""
    from ..records import docid
    return str(docid.of(req.document, req.locale, req.paper.name, req.model, req.patient, req.also,
                        req.large_print))


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
    # jinja2.ext.i18n adds this method at run time; jinja2's types do not know it.
    env.install_gettext_callables(L.translations.gettext, L.translations.ngettext,  # type: ignore[attr-defined]
                                  newstyle=True)
    # Separate strings are joined by template whitespace: the locale's sentence spacing.
    return keep_together(sentence_spacing(env.get_template(name).render(L=L, locale=L.spec, **context), L.spec), L.spec)


_NUMBER_SPACE = re.compile(r"(?<=\d) (?=\S)|(?<=[^\s,，、]) (?=\d)")


def glue_numbers(text: str) -> str:
    """No line break between a number and the word next to it ("Day 8", "第 1 天")."""
    return _NUMBER_SPACE.sub("\u00a0", text)


def when_label(L: Localizer, row: ScheduleRow) -> str:
    """When a schedule row's doses are given: its cycles and its days, for any number of
    either ("Cycle 1, Day 1", "Cycles 3 to 4, Days 1 and 15", "Cycle 1, Days 1, 8, and 15")."""
    return glue_numbers(_when_label(L, row.cycles, row.days))


def _when_label(L: Localizer, cycles: Cycles, days: list[int]) -> str:
    first, last = cycles
    if len(days) == 1 and first == last:
        return L._("Cycle %(cycle)s, Day %(day)s", cycle=L.number(first), day=L.number(days[0]))
    if len(days) == 2:
        d1, d2 = L.number(days[0]), L.number(days[1])
        if last is None:
            return L._("Cycle %(cycle)s and later, Days %(day1)s and %(day2)s", cycle=L.number(first),
                       day1=d1, day2=d2)
        if first == last:
            return L._("Cycle %(cycle)s, Days %(day1)s and %(day2)s", cycle=L.number(first), day1=d1, day2=d2)
        if last == first + 1:
            return L._("Cycles %(first)s and %(last)s, Days %(day1)s and %(day2)s",
                       first=L.number(first), last=L.number(last), day1=d1, day2=d2)
        return L._("Cycles %(first)s to %(last)s, Days %(day1)s and %(day2)s",
                   first=L.number(first), last=L.number(last), day1=d1, day2=d2)
    # Any other shape (one day over several cycles, three or more days): its parts.
    return L._("%(cycles)s, %(days)s", cycles=_cycles_text(L, cycles), days=days_text(L, days))


def _cycles_text(L: Localizer, cycles: Cycles) -> str:
    first, last = cycles
    if last is None:
        return L._("Cycle %(cycle)s and later", cycle=L.number(first))
    if first == last:
        return L._("Cycle %(cycle)s", cycle=L.number(first))
    if last == first + 1:
        return L._("Cycles %(first)s and %(last)s", first=L.number(first), last=L.number(last))
    return L._("Cycles %(first)s to %(last)s", first=L.number(first), last=L.number(last))


def days_text(L: Localizer, days: list[int]) -> str:
    """Days of a cycle, however many: "Day 8", "Days 1, 8, and 15" (第1天、第8天和第15天)."""
    if len(days) == 1:
        return L._("Day %(day)s", day=L.number(days[0]))
    each = [L.pgettext("one of several days of a cycle", "%(day)s", day=L.number(d)) for d in days]
    return L._("Days %(days)s", days=format_list(each, locale=L.babel))


def visit_label(L: Localizer, cycle: int, day: int) -> str:
    return glue_numbers(L._("Cycle %(cycle)s, Day %(day)s", cycle=L.number(cycle), day=L.number(day)))


def visits_label(L: Localizer, rows: list[ScheduleRow]) -> str:
    """The single-day visits of `rows` (first cycle of each), the days of one cycle named
    together: "Cycle 1, Days 1 and 8" (not "Cycle 1, Day 1 and Cycle 1, Day 8")."""
    by_cycle: dict[int, list[int]] = {}
    for r in rows:
        by_cycle.setdefault(r.cycles.first, []).extend(r.days)
    labels = []
    for cycle, days in by_cycle.items():
        labels.append(glue_numbers(_when_label(L, Cycles(cycle, cycle), sorted(set(days)))))
    return format_list(labels, locale=L.babel) if labels else ""


def monitoring_text(L: Localizer, row: ScheduleRow, stay_until: str = "") -> str:
    """What the patient does after a dose of this row. For a stay-near dose,
    `stay_until` (the dated end of the period, in the personal schedule) replaces the
    general "until N hours after the start"."""
    hours = L.q(row.monitoring)
    if row.stay_near:
        near = L.model.roles.stay_near
        first = L._("Stay in a hospital or clinic for %(hours)s from the start of the infusion.", hours=hours)
        then = stay_until or L._("Then stay within %(distance)s of that place, with a caregiver, until %(total)s "
                                 "after the infusion started.",
                                 total=L.q(near.total), distance=L.q(near.distance))
        return L.join_sentences(first, then)
    return L._("Stay %(hours)s after the infusion so your care team can watch you.", hours=hours)


def danger_call(L: Localizer) -> str:
    """The one rule for warning signs, the same words on card, handout and poster."""
    return L._("If you have any of these signs, call your care team right away.")


def emergency_number(L: Localizer) -> str:
    """The locale's emergency number (locale.toml [[emergency]]): the number alone, or
    each number with its region when the locale lists more than one."""
    numbers = L.spec.emergency
    if len(numbers) == 1:
        return numbers[0].number
    return format_list([L._("%(number)s (%(region)s)", number=e.number, region=e.region) for e in numbers],
                       style="or", locale=L.babel)


def danger_emergency(L: Localizer) -> str:
    """The one rule for when to call the emergency number, before its list of signs
    (card, handout, poster). The number is locale data, never catalog text."""
    return L._("Call %(number)s or go to an emergency room right away if you cannot reach your care "
               "team, or for:", number=emergency_number(L))


def emergency_signs(L: Localizer) -> list[str]:
    """The signs that cannot wait for a call back (the content model's emergency_signs role)."""
    return L.items(L.model.roles.emergency_signs)


def danger_emergency_inline(L: Localizer) -> str:
    """The emergency rule and its signs as one sentence (the wallet card)."""
    return L._("%(rule)s %(signs)s.", rule=danger_emergency(L),
               signs=format_list(emergency_signs(L), style="or", locale=L.babel))


def capitalized(text: str) -> str:
    """A list item written to sit inside a sentence, set as a bullet of its own (no
    change for a script without case)."""
    return text[:1].upper() + text[1:]


def lab_schedule_text(L: Localizer, printed: set[str] | None = None) -> str:
    """When blood tests come, in the patient's words (content model: lab_schedule)."""
    lab = L.model.printable_lab_schedule()
    if printed is not None:
        printed.add("lab_schedule")
    cycle, day = lab.every_dose_through
    return L._("You will have blood tests before every dose up to %(visit)s. From Cycle %(cycle)s on, "
               "you will have them before Day %(day)s of each cycle.",
               visit=visit_label(L, cycle, day), cycle=L.number(lab.from_cycle), day=L.number(lab.then_day))


def risks(L: Localizer) -> list[tuple[str, str]]:
    """The other serious risks (the content model's other_warnings role), each with what a
    patient may notice, as one phrase ("" where the model has no printable list)."""
    model = L.model
    warnings = model.roles.other_warnings
    names = L.items(warnings)
    out = []
    for name, sid in zip(names, model.text_list(warnings).signs, strict=True):
        notice = ""
        if sid and model.is_printable(sid):
            notice = format_list(L.items(sid), style="or", locale=L.babel)
        out.append((name, notice))
    return out


def revision_label(L: Localizer, revision: str) -> str:
    """A label revision as the data writes it ("05/2024") as a month and year in the
    reader's locale; any other text as it is."""
    m = REVISION.fullmatch(revision)
    return L.month_year(dt.date(int(m.group(2)), int(m.group(1)), 1)) if m else revision


def label_check_line(L: Localizer, model: ContentModel) -> str:
    """The latest recorded comparison with the label: its date and the label revision it
    compared with. The content model has no check date without such a record."""
    check = model.meta.last_check
    return L._("On %(date)s, these facts were compared with copies of the U.S. prescribing "
               "information revised %(revision)s.",
               date=L.date(check.date, "long"), revision=revision_label(L, check.label_revision))


def not_approved_regions(L: Localizer, model: ContentModel) -> list[tuple[str, Approval]]:
    """The locale's regions (locale.toml [approval_regions]) where the content model's
    approval record says the drug is not approved: (name as written, record)."""
    out = []
    for code, name in L.spec.approval_regions.items():
        record = model.approval_in(code)
        if not record.approved:
            out.append((name, record))
    return out


def approval_statement(L: Localizer, model: ContentModel, printed: set[str] | None = None) -> str:
    """For readers in regions where the drug is not approved (the locale names them):
    that it is not approved there, as of the date that status was checked. Never that
    the U.S. is the only region that approved it: others did. Empty for a
    locale that names no such region. `printed` collects the approval records used."""
    regions = not_approved_regions(L, model)
    if not regions:
        return ""
    for _, r in regions:
        L.handed_out(f"approval:{r.region}")  # the print record tracks what every document says
    if printed is not None:
        printed.update(f"approval:{r.region}" for _, r in regions)
    checked = max(r.checked for _, r in regions)
    return L._("As of %(date)s, this medicine is not approved in %(regions)s.",
               date=L.date(checked, "long"), regions=format_list([n for n, _ in regions], style="or",
                                                               locale=L.babel))


def follows_us_label(L: Localizer, model: ContentModel) -> str:
    return L._("This information follows the U.S. prescribing information (revised %(revised)s).",
               revised=L.month_year(model.meta.label_revised))


def provenance(L: Localizer, model: ContentModel, when: dt.date, printed: set[str] | None = None) -> dict:
    return {
        "meta": model.meta,
        "label_revised": L.month_year(model.meta.label_revised),
        # The latest recorded comparison with the label (date and revision compared).
        "label_checked": label_check_line(L, model),
        "print_date": L.date(when, "long"),
        "print_date_iso": when.isoformat(),
        "unreviewed": not L.spec.medical_review.reviewed,
        # Between two sentences where the second starts with markup (which the locale's
        # sentence spacing cannot see through): a space, or none in Chinese.
        "sentence_gap": " " if L.spec.space_between_sentences else "",
        "author": AUTHOR,
        "approval_statement": approval_statement(L, model, printed),
        "follows_us_label": follows_us_label(L, model),
        "danger_call": danger_call(L),
        "danger_emergency": danger_emergency(L),
        "emergency_signs": emergency_signs(L),
    }


def _footer_values(L: Localizer, model: ContentModel, when: dt.date) -> dict[str, str]:
    """What every footer names: the content version, the label revision it follows and
    the print date, in the reader's words."""
    return {"version": model.meta.content_version, "revised": L.month_year(model.meta.label_revised),
            "date": L.date(when, "medium")}


def footer_line(L: Localizer, model: ContentModel, when: dt.date) -> str:
    return L._("Content %(version)s · U.S. prescribing information revised %(revised)s · "
               "Printed %(date)s · Not a substitute for advice from your care team",
               **_footer_values(L, model, when))


def staff_footer_line(L: Localizer, model: ContentModel, when: dt.date) -> str:
    """The poster's footer: for staff, who check against the prescribing information."""
    return L._("For clinic staff · Content %(version)s · U.S. prescribing information revised %(revised)s · "
               "Printed %(date)s · Check doses against the current prescribing information.",
               **_footer_values(L, model, when))
