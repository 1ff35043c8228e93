"""Errors a user can act on: what went wrong (a code), what to fix (a field), and the
values the message names (params); one line, exit code 2.

The words live in the gettext domain `errors` (locales/errors.pot, and
<dir>/LC_MESSAGES/errors.po per translated locale), extracted from MESSAGES below
(`make catalogs`) and gated like every catalog (untranslated, fuzzy, placeholder and
digit checks). They are written in the reader's language: English on the command line
unless `--lang` (or HANDOUTS_LANG) names another, the page's language on the web. No
code ever reads a message's words to decide anything: it reads the code and the field.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from typing import Any

EXIT_USAGE = 2
DOMAIN = "errors"


def E_(message: str) -> str:
    """Mark an error message for the `errors` catalog (pybabel -k E_)."""
    return message


class Phrase(str):
    """A param that is itself words to translate (e.g. "a control character")."""


# Every error a user can see, by code. The message names its params as %(name)s; the
# field it is about is printed before it ("--paper: unknown paper ...").
MESSAGES: dict[str, str] = {
    # -- the command line and its options
    "option.empty": E_("is empty; give a value or leave the option out"),
    "option.only_with_sheet": E_("only with --sheet (%(sheets)s)"),
    "option.paper_with_sheet": E_("the sheet preset sets the paper; leave --paper out"),
    "option.list_and_patient": E_("give either --patients or --patient/--sample, not both"),
    "option.offset_format": E_("%(value)s: give X,Y in millimetres, e.g. 0.5,-1"),
    "option.bleed_range": E_("%(value)s mm: choose 0 to 5 mm"),
    "option.offset_range": E_("%(x)s,%(y)s mm: each shift is at most 10 mm"),
    "option.locale_and_all_locales": E_("give --locale CODE or --all-locales, not both"),
    "batch.nothing_chosen": E_("give --locale CODE, --all-locales or --patients FILE.csv"),
    "lang.unknown": E_("unknown language '%(value)s' for messages; available: %(choices)s"),
    "content.no_pack": E_("no content pack '%(value)s': give a folder with a content.toml, or one of: %(choices)s"),
    "content.choose_pack": E_("choose a content pack (--content or HANDOUTS_CONTENT): %(choices)s"),
    # -- what to make
    "document.unknown": E_("unknown document '%(value)s'; available: %(choices)s"),
    "document.option_unsupported": E_("%(document)s does not support %(option)s; documents that do: %(documents)s"),
    "document.no_sheets": E_("%(document)s is not printed on sheets"),
    "sheet.unknown": E_("unknown sheet '%(value)s'; choose one of: %(choices)s"),
    "paper.unknown": E_("unknown paper '%(value)s' for this document; choose one of: %(choices)s"),
    "locale.unknown": E_("unknown locale '%(value)s'; available: %(choices)s"),
    "choice.unknown": E_("'%(value)s' is not one of the choices: %(choices)s"),
    "cards.none": E_("nothing to print"),
    "sheet.bleed_columns": E_("%(sheet)s has %(gutter)s mm between columns; the bleed there is %(bleed)s mm so "
                              "it does not cover the next card"),
    "sheet.bleed_rows": E_("%(sheet)s has %(gutter)s mm between rows; the bleed there is %(bleed)s mm so it does "
                           "not cover the next card"),
    "cards.too_many": E_("%(rows)s rows x %(copies)s copies is more than %(max)s cards in one build; "
                         "print fewer copies or split the list"),
    # -- files
    "file.missing": E_("no such file: %(path)s"),
    "file.is_folder": E_("%(path)s is a folder, not a file"),
    "file.not_regular": E_("%(path)s is not a regular file (a device, a pipe or a socket); give a saved file"),
    "file.binary": E_("%(file)s holds NUL bytes, so it is not a text file; is this the right file?"),
    "file.unreadable": E_("cannot read %(path)s: %(reason)s"),
    "file.too_large": E_("%(file)s is larger than %(kib)s KB; is this the right file?"),
    "file.utf16": E_("%(file)s is UTF-16 text; save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')"),
    "file.not_utf8": E_("%(file)s is not UTF-8 text (byte 0x%(byte)s on line %(line)s); save it as UTF-8 "
                        "(in a spreadsheet: 'CSV UTF-8')"),
    "pdf.not_pdf": E_("%(file)s is not a PDF file"),
    "pdf.unreadable": E_("%(file)s cannot be read as a PDF (%(kind)s)"),
    "toml.invalid": E_("not valid TOML (line %(line)s): %(detail)s"),
    "toml.unquoted": E_("put the value in double quotes (line %(line)s), e.g. %(field)s = \"...\""),
    "toml.unclosed_quote": E_("the value's closing quote is missing (line %(line)s)"),
    # -- patient lists
    "list.no_header": E_("no header row; give columns from: %(allowed)s"),
    "list.unknown_columns": E_("unknown column(s) %(columns)s; use %(allowed)s (the README lists other names "
                               "each may have)"),
    "list.duplicate_columns": E_("column(s) %(columns)s given twice"),
    "list.too_many_rows": E_("%(file)s has more than %(max)s patient rows; split the list"),
    "list.extra_cells": E_("%(cells)s cells but the header has %(columns)s columns (an unquoted comma?)"),
    "list.not_csv": E_("not valid CSV (%(detail)s); check for an unclosed quote"),
    "list.no_rows": E_("%(file)s has no patient rows"),
    "list.duplicate_row": E_("repeats row %(row)s exactly (the same patient listed twice)"),
    "list.bad_rows": E_("%(first)s (and %(more)s more bad rows)"),
    "list.same_folder": E_("two rows map to the same folder"),
    "list.date_format": E_("%(value)s is not a date; write it as %(example)s (%(order)s) or as %(iso)s"),
    "list.date_order": E_("%(value)s is not a date in %(order)s order, the list's date order; if the list writes "
                          "%(other)s, say so (--date-order %(choice)s)"),
    "list.date_ambiguous": E_("%(value)s is not in %(order)s order, the list's date order, and could be "
                              "month/day/year or day/month/year; say which the list uses (--date-order MDY or DMY)"),
    "list.old_excel": E_("%(file)s is an old Excel file (.xls); save it as .xlsx, or as CSV UTF-8"),
    "list.not_xlsx": E_("%(file)s cannot be read as an Excel workbook (.xlsx); save it again as .xlsx, or as "
                        "CSV UTF-8"),
    "list.xlsx_too_large": E_("%(file)s unpacks to more than %(mib)s MB; is this the right file?"),
    # -- a patient's fields
    "patient.not_a_table": E_("not a table of fields"),
    "patient.unknown_field": E_("unknown field; allowed: %(allowed)s"),
    "patient.phone_characters": E_("a phone number has only digits, spaces and + ( ) - . / x"),
    "patient.phone_digits": E_("a phone number needs at least three digits"),
    "patient.locale_format": E_("not a locale code such as en, zh-Hans or zh-Hant"),
    "patient.too_long": E_("too long: at most %(max)s characters"),
    "patient.too_short": E_("too short: at least %(min)s characters"),
    "patient.not_text": E_("must be text"),
    "patient.empty": E_("is empty"),
    "patient.invalid": E_("%(detail)s"),
    "text.refused_character": E_("contains %(kind)s (%(char)s); type the text again without it"),
    "text.needs_shaping": E_("contains %(char)s (%(script)s script), which needs text shaping that the wallet "
                             "card cannot do; write the name in Latin letters or Chinese"),
    "text.unbundled_script": E_("contains %(char)s (%(script)s script), which no bundled font has; write the "
                                "name in Latin letters or Chinese"),
    "date.with_time": E_("give a date without a time, e.g. 2026-12-01"),
    "date.not_a_date": E_("%(value)s is not a calendar date"),
    "date.ascii_digits": E_("write the date with the digits 0-9 (not full-width or other digits), as YYYY-MM-DD, "
                            "e.g. 2026-12-01"),
    "date.format": E_("give a date as YYYY-MM-DD, e.g. 2026-12-01"),
    "first_dose.before_approval": E_("%(date)s is before the drug was approved (%(approved)s)"),
    "first_dose.too_late": E_("%(date)s is more than a year after today (%(today)s)"),
    "font.missing_glyphs": E_("no bundled font for %(locale)s has %(shown)s"),
    "font.missing_glyphs_more": E_("no bundled font for %(locale)s has %(shown)s and %(more)s more"),
    "font.no_glyph": E_("no bundled font of %(families)s has it"),
    # -- rendering
    "layout.overflow": E_("does not fit in its %(width)s x %(height)s mm zone even at %(min)s pt"),
    "layout.page_budget": E_("%(pages)s pages, outside the %(what)s budget of %(low)s to %(high)s"),
    "layout.value_too_long": E_("%(pages)s pages, outside the %(what)s budget of %(low)s to %(high)s "
                                "(this value is too long for the page; shorten it)"),
    "engine.failed": E_("the engine failed: %(kind)s: %(detail)s"),
    "engine.warning": E_("%(detail)s"),
    "engine.refused_resource": E_("refused to load a resource: %(detail)s"),
    # -- the output folder
    "output.not_a_folder": E_("%(path)s is not a folder"),
    "output.cannot_create": E_("cannot create %(path)s: %(reason)s"),
    "output.cannot_write": E_("cannot write to %(path)s: %(reason)s"),
    "output.outside": E_("%(path)s: not a path inside the output folder"),
    "output.link": E_("%(path)s is a symbolic link or not a folder; handouts writes only inside %(root)s "
                      "(remove or rename it)"),
    "output.cannot_use": E_("cannot use %(path)s: %(reason)s"),
    "output.in_use": E_("%(path)s is in use by another handouts batch (process %(pid)s); waiting for it to "
                        "finish (Ctrl-C to stop waiting)"),
    "output.in_use_unknown": E_("%(path)s is in use by another handouts batch; waiting for it to finish (Ctrl-C "
                                "to stop waiting)"),
    "output.name_too_long": E_("the file name %(name)s would be %(bytes)s bytes long, more than the %(max)s bytes "
                               "a file name may have"),
    "output.folder_in_the_way": E_("%(path)s is a folder where handouts writes a file; move or rename it"),
    "manifest.not_written": E_("%(problem)s; the files of that folder were built but are not recorded in its "
                               "manifest.json, so the next run builds them again"),
    # -- review dates, the environment, the server
    "review.source_due": E_("source %(source)s (%(publisher)s) was due for review on %(date)s"),
    "review.label_check_due": E_("the facts were last compared with the prescribing information on %(checked)s; "
                                 "the next comparison was due on %(due)s (update label_checked in the content "
                                 "model)"),
    "review.more": E_("%(first)s (and %(more)s more)"),
    "clock.before_check": E_("%(date)s is before %(checked)s, when these facts were last compared with the label; "
                             "a document cannot be dated before the check it prints"),
    "clock.not_seconds": E_("%(value)s is not a whole number of seconds since 1970-01-01"),
    "clock.too_late": E_("%(value)s is later than the end of %(year)s; the documents count forward from the "
                         "print date (a first dose up to a year later, then its visits), so choose an earlier "
                         "date"),
    "region.format": E_("'%(value)s' is not a region code; give two letters, e.g. US or TW"),
    "server.not_loopback": E_("%(host)s is not a loopback address: the page would be reachable from other "
                              "computers; add --allow-remote if that is really wanted"),
    "server.not_an_address": E_("%(host)s is not an address of this computer"),
    "server.port_in_use": E_("port %(port)s on %(host)s is already in use (is the page already running?); stop the "
                             "other program or choose another --port"),
    "server.cannot_listen": E_("cannot listen on %(host)s port %(port)s: %(reason)s"),
    "cache.not_written": E_("could not keep the handout's patient-independent pages in the cache folder %(folder)s "
                            "(%(reason)s); every file is complete, later builds lay those pages out again"),
    "manifest.malformed": E_("%(file)s in %(folder)s is malformed (%(detail)s); treating it as absent and "
                             "rebuilding"),
    "pack.superseded": E_("the pack made earlier for this row, from its details before a correction, was moved "
                          "to %(folder)s; its manifest.json there says what was printed and which pack replaces "
                          "it"),
    "sheet.superseded": E_("a card sheet made earlier from this list holds a card that was corrected since; it "
                           "was moved to %(folder)s"),
    "pack.not_moved": E_("an earlier pack or card sheet that a corrected row replaces could not be moved aside: "
                         "%(problem)s"),
    "interrupted": E_("stopped after %(done)s of %(total)s files; every file written is complete and in its "
                      "folder's manifest.json. Run the same command again to finish: finished files are not "
                      "rebuilt"),
    # -- the print record: where it is, its settings and its key
    "record.url_empty": E_("is empty; give a file path or a database URL"),
    "record.url_invalid": E_("not a database URL (e.g. postgresql://user@host/db, or a file path)"),
    "record.url_backend": E_("%(backend)s databases are not supported; use a file path (SQLite) or postgresql://"),
    "record.in_memory": E_("the print record must be a file, not an in-memory database"),
    "record.missing": E_("no print record at %(path)s (documents are recorded with --record)"),
    "record.cannot_open": E_("cannot open %(path)s: %(reason)s"),
    "record.open_to_all": E_("%(path)s can be read or written by every user (mode %(mode)s); run: chmod o-rwx "
                             "%(path)s"),
    "record.driver_missing": E_("this database needs the %(package)s package: %(install)s"),
    "record.unusable": E_("cannot use the print record at %(url)s: %(reason)s"),
    "record.foreign_tables": E_("%(url)s holds tables that are not a handouts print record"),
    "record.not_a_record": E_("%(url)s is not a print record yet"),
    "record.newer_schema": E_("%(url)s was written by a newer handouts (schema %(schema)s); update handouts on "
                              "this computer"),
    "record.older_schema": E_("%(url)s has an older schema (%(schema)s); back it up, then run: %(command)s"),
    "record.other_key": E_("this key file is not the one %(url)s was keyed with; patients would get new keys and "
                           "recall would miss them. Use the clinic's key file"),
    "record.forget_which": E_("give exactly one of --mrn, --patient or --key"),
    "record.mrn_format": E_("a medical record number is %(min)s to %(max)s printable characters without '|'"),
    "record.mrn_system": E_("the MRN's system is at most %(max)s characters without '|'"),
    "record.key_needed": E_("a patient without a medical record number needs the record key file"),
    "record.key_missing": E_("no record key file at %(path)s"),
    "record.key_open": E_("%(path)s can be read or written by others (mode %(mode)s); run: %(command)s"),
    "record.key_format": E_("%(path)s is not a record key (one line of hexadecimal digits)"),
    "record.key_short": E_("%(path)s holds %(bytes)s bytes; a record key has at least %(min)s"),
    "record.key_too_short": E_("the record key must be at least %(min)s bytes"),
    "record.no_document": E_("no print with the document id %(id)s in the print record (check the id on the paper)"),
    "record.not_reprinted": E_("%(key)s was not printed again: no patient with this key in --patients, and the "
                               "record keeps no patient details"),
    "config.url_base": E_("attachment = \"url\" needs the base URL of the documents (url_base)"),
    # -- FHIR bundles in
    "fhir.not_json": E_("not valid JSON (line %(line)s): %(detail)s"),
    "fhir.not_bundle": E_("not a FHIR Bundle (resourceType must be \"Bundle\")"),
    "fhir.entry_not_list": E_("must be a list of entries"),
    "fhir.entry_no_resource": E_("has no resource with a resourceType"),
    "fhir.no_patient": E_("holds no Patient resource"),
    "fhir.too_many_patients": E_("%(file)s has more than %(max)s patients; split it"),
    "fhir.invalid": E_("%(detail)s"),
    "fhir.contained_missing": E_("the contained resource %(ref)s is missing"),
    "fhir.reference_missing": E_("%(ref)s is not in the bundle"),
    "fhir.no_drug": E_("no MedicationRequest or MedicationAdministration of %(drug)s refers to this "
                             "patient (matched by NDC, by an RxNorm code in the settings, or by name)"),
    "fhir.no_language": E_("no language this tool prints (%(tags)s); available: %(choices)s"),
    "fhir.no_date": E_("an administration without a date"),
    "fhir.duplicate_patient": E_("the same patient as %(other)s"),
    # -- the calendar file
    "ics.no_first_dose": E_("a calendar needs the date of the first dose"),
    "ics.one_patient": E_("a calendar is made for one patient (--patient FILE); for a list, use handouts batch "
                          "--patients FILE --ics"),
    # -- the project's own data (layouts, catalogs, the content model): for its maintainers
    "data.invalid": E_("%(detail)s"),
    "catalog.missing": E_("catalog missing"),
    "catalog.unsafe": E_("%(detail)s"),
    "catalog.base": E_("%(value)s cannot be a catalog base: it needs catalogs of its own and no base itself"),
}

# Words that params name: a refused character's kind, and how a list is joined.
PHRASES = (
    E_("a control character"), E_("an invisible formatting character"), E_("a line separator"),
    E_("a paragraph separator"), E_("a private-use character"), E_("a lone surrogate"),
    E_("an unassigned code point"), E_("a combining mark"),
    E_("month/day/year"), E_("day/month/year"), E_("year/month/day"),
)
LIST_SEPARATOR = E_(", ")


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escaped(text: str) -> str:
    """Text from outside (a file's name, an option's value) as a message may print it:
    control, format, separator and unassigned characters spelled as escapes (`\\n`,
    `\\x1b`, `\\u202e`), so that a name cannot move the cursor, recolour the terminal,
    reorder the line or start a new one that looks like another message."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or unicodedata.category(ch) == "Zs":
            out.append(ch)
            continue
        code = ord(ch)
        out.append(_ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else
                                        f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"))
    return "".join(out)


def _translations(locale: str | None) -> Any:
    if locale is None:
        return None
    from . import catalogs
    return catalogs.translations(locale, DOMAIN)


def _value(value: Any, locale: str | None, tr: Any) -> str:
    if isinstance(value, HandoutsError):
        return value.render(locale)
    if isinstance(value, Phrase):
        return tr.gettext(value) if tr is not None else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        sep = tr.gettext(LIST_SEPARATOR) if tr is not None else LIST_SEPARATOR
        return sep.join(_value(v, locale, tr) for v in value)
    return escaped(str(value))


class HandoutsError(Exception):
    """Bad input or a refused build.

    `code` says what went wrong (a key of MESSAGES), `field` what to fix (a patient's
    field, an option such as --paper, a form field), `params` the values the message
    names; `where` is the place the value came from ("list.csv row 3", "p.toml") and
    `label` how the field is shown when that differs from its name ("wallet card front
    name (en)")."""

    def __init__(self, code: str, field: str = "", params: Mapping[str, Any] | None = None, *,
                 where: str = "", label: str | None = None):
        if code not in MESSAGES and params is None and where == "" and label is None:
            # Built the old way, HandoutsError(field, message): its words are kept as given.
            code, field, params = "legacy", code, {"message": field}
        self.code = code
        self.field = field
        self.params: dict[str, Any] = dict(params or {})
        self.where = where
        self.label = label
        super().__init__(code, field, self.params)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled to and from worker processes
        return (_rebuild, (type(self), dict(self.__dict__)))

    def __str__(self) -> str:
        return self.one_line()

    @property
    def subject(self) -> str:
        """Where and what, as a message names them: "list.csv row 3: first_dose"."""
        shown = self.label if self.label is not None else self.field
        return ": ".join(escaped(p) for p in (self.where, shown) if p)

    @property
    def message(self) -> str:
        """The message in English."""
        return self.render(None)

    def render(self, locale: str | None = None) -> str:
        """The message (without the field) in `locale`'s words (None: English)."""
        if self.code == "legacy":
            return str(self.params.get("message", ""))
        template = MESSAGES.get(self.code, self.code)
        tr = _translations(locale)
        if tr is not None:
            template = tr.gettext(template)
        values = {k: _value(v, locale, tr) for k, v in self.params.items()}
        try:
            return template % values
        except (KeyError, ValueError, TypeError):  # never fail while reporting a failure
            return f"{template} {values}"

    def one_line(self, locale: str | None = None) -> str:
        text = f"{self.subject}: {self.render(locale)}" if self.subject else self.render(locale)
        return " ".join(text.split())


def _rebuild(cls: type[HandoutsError], state: dict[str, Any]) -> HandoutsError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("code"), state.get("field"), state.get("params"))
    err.__dict__.update(state)
    return err


def data_error(where: str, detail: str) -> HandoutsError:
    """A file of the project itself (a layout, a catalog, the content model) is wrong: for
    its maintainers, in the file's own terms."""
    return HandoutsError("data.invalid", "", {"detail": detail}, where=where)


class CatalogError(HandoutsError):
    """A shipped translation catalog is incomplete or unsafe to print."""


class LayoutOverflow(HandoutsError):
    """Text did not fit where the layout puts it, at any allowed size."""


class EngineError(HandoutsError):
    """A rendering engine failed: the document (and field, where known) is named."""


class Interrupted(HandoutsError):
    """Ctrl-C: the files finished so far are complete and recorded (a batch raises it;
    here so that the command line catches it without importing the batch machinery)."""
