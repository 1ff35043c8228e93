"""The page's own words: gettext domain `web` (locales/web.pot, <dir>/LC_MESSAGES/web.po),
gated by the same checks as the documents' catalogs (handouts.catalogs)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2
from babel import Locale, UnknownLocaleError
from babel.core import get_global

from handouts import catalogs

from . import core

DOMAIN = "web"
TEMPLATES = Path(__file__).parent / "templates"


_Q = re.compile(r";\s*q\s*=\s*([0-9.]+)")


def _subtags(tag: str) -> tuple[str, str | None, str | None] | None:
    """(language, script, territory) of a language tag or a babel locale id, the missing
    parts filled in from CLDR's likely subtags (zh-TW -> zh Hant TW, zh-HK -> zh Hant HK,
    zh -> zh Hans CN, zh-Hant -> zh Hant TW, en -> en Latn US)."""
    try:
        loc = Locale.parse(tag.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    lang, script, territory = loc.language, loc.script, loc.territory
    likely = get_global("likely_subtags")
    keys = [f"{lang}_{script}_{territory}" if script and territory else "",
            f"{lang}_{territory}" if territory else "", f"{lang}_{script}" if script else "", lang,
            f"und_{script}" if script else ""]
    found = next((likely[k] for k in keys if k and k in likely), None)
    if found:
        full = Locale.parse(found)
        script, territory = script or full.script, territory or full.territory
    return lang, script, territory


def _parents(tag: str) -> list[tuple[str, str | None, str | None]]:
    """The tag, then its CLDR parents where CLDR names them (zh_Hant_MO -> zh_Hant_HK:
    Macau reads Hong Kong's Traditional Chinese)."""
    out = []
    key = _subtags(tag)
    exceptions = get_global("parent_exceptions")
    while key is not None and key not in out:
        out.append(key)
        parent = exceptions.get("_".join(p for p in key if p))
        key = _subtags(parent) if parent and parent != "root" else None
    return out


def negotiate(accept_language: str, available: list[str], default: str) -> str:
    """The page language for an Accept-Language header: the tags in order of their
    q-value; for each, an available locale of the same language, script and region
    (its babel id, locale.toml), else of a region CLDR makes its parent (Macau: Hong
    Kong), else of the same language and script, the script's usual region first (a
    Hong Kong browser gets zh-HK where it exists, the Taiwan page where it does not)."""
    have = {code: _subtags(core.babel_locale(code)) for code in available}
    wanted = []
    for i, part in enumerate(accept_language.split(",")[:32]):
        tag = part.split(";", 1)[0].strip()
        m = _Q.search(part)
        try:
            q = float(m.group(1)) if m else 1.0
        except ValueError:
            q = 0.0
        if tag and tag != "*" and q > 0:
            wanted.append((-q, i, tag))
    for _, _, tag in sorted(wanted):
        chain = _parents(tag)
        if not chain:
            continue
        for key in chain:
            exact = [code for code, k in have.items() if k == key]
            if exact:
                return exact[0]
        lang, script, _ = chain[0]
        same = [code for code, k in have.items() if k is not None and k[:2] == (lang, script)]
        if same:
            usual = _subtags(f"{lang}_{script}" if script else lang)
            return next((code for code in same if have[code] == usual), same[0])
    return default


def W_(message: str) -> str:
    """Mark a message for the web catalog (pybabel -k W_); translated where shown."""
    return message


# Form fields, as the page labels them (also used to name a field in a CSV row's error).
FIELD_LABELS = {
    "locale": W_("Patient's language"),
    "also": W_("Also in a second language"),
    "documents": W_("Documents"),
    "paper": W_("Paper for the handout"),
    "card": W_("Wallet card printing"),
    "name": W_("Patient's name"),
    "first_dose": W_("Date of the first dose"),
    "oncologist": W_("Oncologist (cancer doctor)"),
    "phone": W_("Care team phone, day and night"),
    "treatment_center": W_("Treatment center"),
}

# The counter page's documents as the "second language" hint and error name them
# (registry.DocumentSpec.page_label): marked here for the `web` catalog.
PAGE_LABELS = (W_("the handout"), W_("the wallet card"))
# Each document's print button, which opens the PDF in a new tab
# (registry.DocumentSpec.print_label): marked here for the `web` catalog.
PRINT_LABELS = (W_("Print the wallet card"), W_("Print the handout"))

# How an uploaded list writes its dates (the form's "Dates in the file").
DATE_ORDER_LABELS = {"MDY": W_("month/day/year, e.g. %(example)s"), "DMY": W_("day/month/year, e.g. %(example)s"),
                     "YMD": W_("year/month/day, e.g. %(example)s")}

# A patient list's ZIP: which card is where on its sheets, and the summary when done.
SLOTS_FILE = "cards-on-sheets.txt"  # beside rows-not-printed.txt: a file name, not words
SLOTS_INTRO = W_("Cards on the %(sheet)s sheets, in list order. Slots are counted on the front of each sheet, "
                 "left to right, top to bottom; the backs page is mirrored for long-edge duplex.")
SLOT_LINE = W_("Sheet %(sheet)s, slot %(slot)s: row %(row)s, %(language)s, folder %(folder)s")
LIST_DONE = W_("Done: %(files)s PDF files. Patients: %(patients)s, each with %(documents)s. Card sheets: one "
               "file; sheets of card stock needed: %(sheets)s.")
# Between two names in a list ("the handout, the wallet card").
LIST_SEPARATOR = W_(", ")

# A field's name and what is wrong with it (Chinese uses a full-width colon).
FIELD_PROBLEM = W_("%(field)s: %(problem)s")

# What the page says for each kind of core error (web.core.problem): plain words.
PROBLEM_TEXT = {
    "date_before": W_("This date is before the drug was approved in the United States (%(date)s). "
                      "Check the year."),
    "date_ahead": W_("This date is more than a year from today. Check the year."),
    "date_invalid": W_("This is not a real date. Use the date picker or type year-month-day."),
    "phone_chars": W_("A phone number may only have digits, spaces and + ( ) - . / x."),
    "too_long": W_("This is too long: at most %(max)s characters."),
    "too_short": W_("This is too short."),
    "glyph": W_("The printing fonts cannot draw these characters: %(chars)s"),
    "overflow": W_("This does not fit on the wallet card. Shorten it or use an abbreviation."),
    "choice": W_("Choose one of the options shown."),
    "also_unsupported": W_("A second language is available only for %(documents)s. Choose \u201cNo second "
                           "language\u201d, or make one of these documents too."),
    "other": W_("This cannot be used: %(detail)s"),
    "too_large": W_("What was sent is too large for this page (at most %(kib)s KiB)."),
    "length_required": W_("What was sent did not say its size in advance (a Content-Length header), which "
                          "this page needs. Send it from the page itself, not in chunks."),
    "bad_form": W_("The page could not read what was sent: the form was incomplete or damaged. Reload the "
                   "page and try again."),
    "slow": W_("What was sent arrived too slowly, so the page did not use it. Send it again."),
    "not_csv": W_("This file is not a patient list: save it as CSV (UTF-8) or as an Excel workbook (.xlsx) "
                  "with a header row."),
    "nothing_printed": W_("Nothing was printed: no row of this list could be used. Correct the rows below in the "
                          "file and upload it again."),
    "row_date_invalid": W_("%(value)s is not a real date. Correct it in the file."),
    "row_date_time": W_("This cell has a time as well as a date. Give the date only."),
    "row_date_format": W_("%(value)s is not a date this page can read. Write it as %(example)s (%(order)s) or "
                          "as %(iso)s."),
    "row_date_order": W_("%(value)s is not a date in %(order)s order. If the file writes dates as %(other)s, "
                         "choose that under \u201cDates in the file\u201d and upload it again."),
    "row_date_ambiguous": W_("%(value)s is not in %(order)s order, and could be month/day/year or day/month/year. "
                             "Choose the file's order under \u201cDates in the file\u201d and upload it again."),
    "unknown_columns": W_("The header row has columns this page does not know: %(columns)s. Name the columns "
                          "%(allowed)s, or use one of the other names listed under \u201cColumns\u201d."),
    "not_xlsx": W_("This file cannot be read as an Excel workbook (.xlsx). Open it in the spreadsheet program and "
                   "save it again as .xlsx, or as CSV (UTF-8)."),
    "old_excel": W_("This is an old Excel file (.xls). Save it as .xlsx, or as CSV (UTF-8)."),
    "too_many_rows": W_("This list has more than %(max)s patients. Split it into smaller files."),
    "no_rows": W_("This list has no patient rows."),
    "no_file": W_("Choose a CSV file first."),
    "busy": W_("The page is busy with other lists. Try again in a minute."),
    "failed": W_("Something went wrong while making the PDF. Nothing was saved. Try again."),
    "expired": W_("This list is no longer available. Upload it again."),
    "confirm_first_dose": W_("This date came from the EHR: check it, then tick the box under it before printing."),
    "no_bundle": W_("Choose a FHIR bundle (.json) from the EHR first."),
}

OUTDATED = W_("Outdated: %(document)s printed on %(date)s (%(id)s). What it says has changed since; print a new one "
              "and ask the patient to throw the old one away.")


@cache
def translations(code: str):
    return catalogs.translations(code, DOMAIN)


def tr(code: str, message: str) -> str:
    return translations(code).gettext(message)


@cache
def environment(code: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, extensions=["jinja2.ext.i18n"],
                             undefined=jinja2.StrictUndefined)
    # jinja2.ext.i18n adds this method at run time; jinja2's types do not know it.
    env.install_gettext_translations(translations(code), newstyle=True)  # type: ignore[attr-defined]
    return env


# The core's errors that the page words in its own plainer way (by error code); any other
# error is shown in the core's words (the `errors` catalog), in the page's language.
PAGE_WORDS = {
    "first_dose.before_approval": "date_before",
    "first_dose.too_late": "date_ahead",
    "date.format": "date_invalid", "date.not_a_date": "date_invalid", "date.with_time": "date_invalid",
    "patient.phone_characters": "phone_chars",
    "patient.too_long": "too_long",
    "patient.too_short": "too_short",
    "font.missing_glyphs": "glyph", "font.missing_glyphs_more": "glyph", "text.unbundled_script": "glyph",
    "layout.overflow": "overflow",
    "choice.unknown": "choice", "locale.unknown": "choice", "paper.unknown": "choice", "sheet.unknown": "choice",
    "document.option_unsupported": "also_unsupported",
    "list.unknown_columns": "unknown_columns",
    "list.not_xlsx": "not_xlsx", "list.xlsx_too_large": "not_xlsx", "list.old_excel": "old_excel",
    "list.too_many_rows": "too_many_rows", "list.no_rows": "no_rows",
}
# A list row's cell is fixed in the file, not with the form's date picker: its own words.
ROW_WORDS = {
    "date.not_a_date": "row_date_invalid", "date.with_time": "row_date_time", "date.format": "row_date_format",
    "list.date_format": "row_date_format", "list.date_order": "row_date_order",
    "list.date_ambiguous": "row_date_ambiguous",
}


def _phrase(code: str, value) -> str:
    """A param of the core's that is words (a date order: errors.PHRASES) in the page's
    language."""
    from handouts.errors import DOMAIN
    return catalogs.translations(code, DOMAIN).gettext(str(value)) if value is not None else ""


def problem_text(code: str, p: core.Problem, in_list: bool = False) -> str:
    """What the page says about a problem, in the page's language `code`; `in_list`: a
    row or the header of an uploaded list (fixed in the file, not in the form)."""
    from babel.dates import format_date
    kind = (ROW_WORDS.get(p.code) if in_list else None) or PAGE_WORDS.get(p.code, p.code)
    if kind.startswith("row_date"):
        params = {k: _phrase(code, p.params.get(k)) for k in ("order", "other")}
        example = p.params.get("example", "2026-12-01")
        return tr(code, PROBLEM_TEXT[kind]) % {**p.params, **params, "example": example,
                                               "iso": p.params.get("iso", "2026-12-01"),
                                               "value": p.params.get("value", "")}
    if kind == "unknown_columns":
        sep = tr(code, LIST_SEPARATOR)
        return tr(code, PROBLEM_TEXT[kind]) % {"columns": sep.join(p.params["columns"]),
                                               "allowed": sep.join(p.params["allowed"])}
    if kind == "too_many_rows":
        return tr(code, PROBLEM_TEXT[kind]) % {"max": p.params["max"]}
    if kind == "date_before":
        date = format_date(p.params["approved"], "long", locale=core.babel_locale(code))
        return tr(code, PROBLEM_TEXT[kind]) % {"date": date}
    if kind == "too_long":
        return tr(code, PROBLEM_TEXT[kind]) % {"max": p.params["max"]}
    if kind == "glyph":
        # Code points only: the characters are part of a patient's name.
        return tr(code, PROBLEM_TEXT[kind]) % {"chars": p.params.get("shown") or p.params["char"]}
    if kind == "also_unsupported":
        return tr(code, PROBLEM_TEXT[kind]) % {"documents": bilingual_names(code)}
    if kind in PROBLEM_TEXT and kind != "other":
        return message(code, kind, **p.params)
    return tr(code, PROBLEM_TEXT["other"]) % {"detail": error_words(code, p)}


def error_words(code: str, p: core.Problem) -> str:
    """The core's own words for a problem, in the page's language `code`."""
    return p.error.render(code) if p.error is not None else str(p.params.get("detail", ""))


def document_names(code: str) -> str:
    """The page's documents, named in the page's language ("the wallet card, the handout")."""
    from handouts import registry
    return tr(code, LIST_SEPARATOR).join(tr(code, registry.get(d).page_label) for d in core.counter_documents())


def print_buttons(code: str) -> list[tuple[str, str]]:
    """Each of the page's documents and its print button's words, in the page's language."""
    from handouts import registry
    return [(d, tr(code, registry.get(d).print_label)) for d in core.counter_documents()]


def bilingual_names(code: str) -> str:
    """The documents that can carry a second language, named in the page's language."""
    from handouts import registry
    return tr(code, LIST_SEPARATOR).join(tr(code, registry.get(d).page_label) for d in core.bilingual_documents())


def message(code: str, kind: str, **params) -> str:
    text = tr(code, PROBLEM_TEXT[kind])
    return text % params if params else text


def outdated_text(code: str, o: core.Outdated) -> dict:
    """A recorded document of this patient that is out of date, as the page says it."""
    from babel.dates import format_date

    from handouts import registry
    document = tr(code, registry.get(o.document).page_label) if registry.get(o.document).page_label else o.document
    return {"document": o.document, "text": tr(code, OUTDATED) % {
        "document": document, "date": format_date(o.printed, "long", locale=core.babel_locale(code)),
        "id": o.document_id}}
