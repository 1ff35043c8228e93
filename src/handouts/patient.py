"""Patient files (TOML) and patient lists: personal data, validated, never markup.

Personal text is checked once, here, for every document and every way in (TOML, CSV,
the web page): it must print fully and the same way in every engine, or be refused with
the field named. So it is NFC-normalised, and refused when it holds control, format or
separator characters (a NUL, a tab, a right-to-left override), a combining mark with no
precomposed form, or a script that needs text shaping (Devanagari, Arabic ...): the
wallet card's engine (ReportLab) draws characters one by one and cannot shape them, and
a field must read the same on the card as on the handout.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from .errors import HandoutsError, Phrase

FIELDS = ("name", "first_dose", "oncologist", "phone", "treatment_center", "locale")

# Bounds on input: a patient file is a few lines, a day's list a few hundred rows.
MAX_TOML_BYTES = 16 * 1024
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_CSV_ROWS = 10_000  # as many rows as cards in one sheet build (request.MAX_CARDS)

# Scripts whose characters are drawn one by one, without shaping, in both engines, and
# that the bundled fonts (assets/fonts) have. "Common" covers digits, punctuation and
# symbols shared by all scripts. A character of these scripts that a locale's fonts lack
# is still refused, by fonts.require.
DRAWABLE_SCRIPTS = frozenset({"Latn", "Grek", "Cyrl", "Hani", "Hira", "Kana", "Bopo", "Zyyy"})
# Scripts that would need no shaping but that no bundled font has (a font would have to
# be added to assets/fonts first).
UNBUNDLED_SCRIPTS = frozenset({"Armn", "Geor", "Hang"})
_REFUSED_CATEGORIES = {  # the words are in the errors catalog (errors.PHRASES)
    "Cc": Phrase("a control character"), "Cf": Phrase("an invisible formatting character"),
    "Zl": Phrase("a line separator"), "Zp": Phrase("a paragraph separator"),
    "Co": Phrase("a private-use character"), "Cs": Phrase("a lone surrogate"),
    "Cn": Phrase("an unassigned code point"),
    "Mn": Phrase("a combining mark"), "Mc": Phrase("a combining mark"), "Me": Phrase("a combining mark"),
}


class TextRefused(ValueError):
    """A value that cannot be printed faithfully: the error's code and params (pydantic
    carries the exception to from_mapping, which makes it the field's HandoutsError)."""

    def __init__(self, code: str, **params: Any):
        self.code, self.params = code, params
        super().__init__(HandoutsError(code, "", params).message)


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


# Code point ranges whose characters are all of drawable scripts (Latin, Greek, Cyrillic,
# CJK, kana, full-width forms): most names never need the script table.
_FAST_DRAWABLE = ((0x20, 0x24F), (0x370, 0x4FF), (0x3000, 0x30FF), (0x3400, 0x9FFF),
                  (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x20000, 0x3134F))


def _script(ch: str) -> str:
    code = ord(ch)
    if any(lo <= code <= hi for lo, hi in _FAST_DRAWABLE):
        return "Zyyy"
    from fontTools import unicodedata as fu  # Unicode Script property (stdlib lacks it)
    return fu.script(ch)


def printable_text(value: str) -> str:
    """NFC text with single spaces, or TextRefused naming the first bad character."""
    text = unicodedata.normalize("NFC", value)
    if text.isascii() and text.isprintable():  # most names: no control, format or shaping
        return " ".join(text.split())
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in _REFUSED_CATEGORIES:
            raise TextRefused("text.refused_character", kind=_REFUSED_CATEGORIES[cat], char=_describe(ch))
        if cat.startswith("Z") or ch.isspace():
            continue
        script = _script(ch)
        # A letter is named by its code point only: its Unicode name would spell it.
        if script in UNBUNDLED_SCRIPTS:
            raise TextRefused("text.unbundled_script", char=f"U+{ord(ch):04X}", script=script)
        if script not in DRAWABLE_SCRIPTS and script != "Zinh":
            raise TextRefused("text.needs_shaping", char=f"U+{ord(ch):04X}", script=script)
    # Any space separator (no-break, ideographic, thin ...) prints as one plain space.
    return re.sub(r"\s+", " ", text).strip()


def _date_only(value: Any) -> Any:
    """A calendar date: a TOML date or YYYY-MM-DD text; not a number, a time or digits."""
    if isinstance(value, dt.datetime):
        raise TextRefused("date.with_time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise TextRefused("date.not_a_date", value=value.strip()) from None
    raise TextRefused("date.format")


def _not_blank(value: str) -> str:
    if not value:
        raise TextRefused("patient.empty")
    return value


def _phone_digits(value: str) -> str:
    if sum(ch.isdigit() for ch in value) < 3:
        raise TextRefused("patient.phone_digits")
    return value


def _text(max_length: int) -> Any:
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(printable_text),
                     AfterValidator(_not_blank)]


Text = _text(120)
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[0-9+()\-. /x]+$"),
                  AfterValidator(_phone_digits)]
Locale = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20,
                                          pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")]


class Patient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
    name: Text | None = None
    first_dose: Annotated[dt.date, BeforeValidator(_date_only)] | None = None
    oncologist: Text | None = None
    phone: Phone | None = None
    treatment_center: Text | None = None
    locale: Locale | None = None

    def check_first_dose(self, earliest: dt.date, today: dt.date, where: str) -> None:
        """A first dose before approval, or more than a year ahead, is a typo."""
        d = self.first_dose
        if d is None:
            return
        if d < earliest:
            raise HandoutsError("first_dose.before_approval", "first_dose", {"date": d, "approved": earliest},
                                where=where)
        if d > today + dt.timedelta(days=366):
            raise HandoutsError("first_dose.too_late", "first_dose", {"date": d, "today": today}, where=where)

    def identity(self) -> str:
        """A stable key for this patient's record: the same row gives the same key."""
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()


def _field_error(err: Mapping[str, Any], where: str) -> HandoutsError:
    """A patient field's validation error, as the error a nurse can act on."""
    field = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    refused = ctx.get("error")
    if isinstance(refused, TextRefused):
        return HandoutsError(refused.code, field, refused.params, where=where)
    if kind == "extra_forbidden":
        return HandoutsError("patient.unknown_field", field, {"allowed": FIELDS}, where=where)
    if kind == "string_pattern_mismatch" and field == "phone":
        return HandoutsError("patient.phone_characters", field, where=where)
    if kind == "string_pattern_mismatch" and field == "locale":
        return HandoutsError("patient.locale_format", field, where=where)
    if kind == "string_too_long":
        return HandoutsError("patient.too_long", field, {"max": ctx["max_length"]}, where=where)
    if kind == "string_too_short":
        return HandoutsError("patient.too_short", field, {"min": ctx["min_length"]}, where=where)
    if kind.endswith("_type") and field != "first_dose":
        return HandoutsError("patient.not_text", field, where=where)
    if field == "first_dose":
        return HandoutsError("date.format", field, where=where)
    return HandoutsError("patient.invalid", field, {"detail": err["msg"].removeprefix("Value error, ")},
                         where=where)


def from_mapping(data: object, where: str) -> Patient:
    if not isinstance(data, dict):
        raise HandoutsError("patient.not_a_table", "", where=where)
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        raise _field_error(exc.errors()[0], where) from None
    except TextRefused as exc:  # raised outside a field validator (should not happen)
        raise HandoutsError(exc.code, "", exc.params, where=where) from None


def _read_bounded(path: Path, limit: int, option: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise HandoutsError("file.missing", option, {"path": path}) from None
    except IsADirectoryError:
        raise HandoutsError("file.is_folder", option, {"path": path}) from None
    except OSError as exc:
        raise HandoutsError("file.unreadable", option, {"path": path, "reason": exc.strerror or exc}) from None
    if len(data) > limit:
        raise HandoutsError("file.too_large", option, {"file": path.name, "kib": limit // 1024})
    return data


def decode(data: bytes, name: str, option: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), or the error naming the file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise HandoutsError("file.utf16", option, {"file": name})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise HandoutsError("file.not_utf8", option, {"file": name, "byte": f"{data[exc.start]:02X}",
                                                      "line": line}) from None


def load_toml(path: Path) -> Patient:
    """A patient file. Every error names the file and the field the same way
    ("p.toml: first_dose: ..."), whether the TOML parser or the patient record refused
    the value."""
    where = path.name
    text = decode(_read_bounded(path, MAX_TOML_BYTES, "patient"), path.name, "patient")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, text, where) from None
    return from_mapping(data, where)


_KEY_VALUE = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=\s*(.*?)\s*$")


def _toml_error(exc: tomllib.TOMLDecodeError, text: str, where: str) -> HandoutsError:
    """A TOML syntax error as the patient record would report the same value quoted: an
    unquoted `first_dose = 12/01/2026` (or the impossible `2026-02-30`, which the parser
    refuses) gets the words `first_dose = "12/01/2026"` gets, never the parser's."""
    at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
    line = int(at.group(1)) if at else None
    lines = text.splitlines()
    m = _KEY_VALUE.match(lines[line - 1]) if line and line <= len(lines) else None
    detail = re.sub(r"\s*\(at line.*\)$", "", str(exc))
    if m is None or m.group(1) not in FIELDS:
        return HandoutsError("toml.invalid", m.group(1) if m else "", {"line": line, "detail": detail}, where=where)
    key, raw = m.group(1), re.sub(r"\s+#.*$", "", m.group(2)).strip()
    if raw[:1] in ("\"", "'"):
        return HandoutsError("toml.unclosed_quote", key, {"line": line}, where=where)
    from_mapping({key: raw}, where)  # the value as text: refused here as it would be quoted
    return HandoutsError("toml.unquoted", key, {"line": line, "field": key}, where=where)


# -- patient lists ------------------------------------------------------------------
#
# A list is read in three steps, each a place where another format plugs in:
#   1. a RowSource gives the header's cells and each row's cells, numbered as in a
#      spreadsheet (CsvRows here; a spreadsheet reader gives the same);
#   2. Columns maps the header to the patient's fields (where header aliases go) and
#      turns a cell into a field's value (where a clinic's date order goes);
#   3. read_patients validates each row into a Patient, or that row's error, naming the
#      list and the row: "today.csv row 3".


class RowSource(Protocol):
    """A patient list: its name (in messages and file names), its header, its rows."""
    name: str

    def header(self) -> list[str]: ...

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number as a spreadsheet shows it, the row's cells), blank rows included."""
        ...


@dataclass
class CsvRows:
    """A CSV patient list from its text (UTF-8 already decoded): from a file, an upload."""
    name: str
    text: str
    _reader: Any = field(default=None, init=False, repr=False)

    @classmethod
    def read(cls, path: Path, option: str = "patients") -> CsvRows:
        """The list in a file, size-limited and decoded (the error names `option`)."""
        return cls(path.name, decode(_read_bounded(path, MAX_CSV_BYTES, option), path.name, option))

    def _csv(self) -> Any:
        if self._reader is None:
            self._reader = csv.reader(io.StringIO(self.text, newline=""), strict=True)
        return self._reader

    def _next(self) -> list[str] | None:
        reader = self._csv()
        try:
            return next(reader, None)
        except csv.Error as exc:
            raise HandoutsError("list.not_csv", "", {"detail": exc}, where=f"{self.name} line {reader.line_num}") \
                from None

    def header(self) -> list[str]:
        self._reader = None
        return self._next() or []

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        number = 1
        while (cells := self._next()) is not None:
            number += 1
            yield number, cells


@dataclass(frozen=True)
class Columns:
    """How a list's header names the patient's fields, and how a cell becomes a value.
    `aliases`: other header texts for a field (compared without case or spaces)."""
    aliases: Mapping[str, str] = field(default_factory=dict)

    def field_of(self, heading: str) -> str | None:
        key = heading.strip()
        if key in FIELDS:
            return key
        folded = " ".join(key.casefold().split())
        return next((f for a, f in self.aliases.items() if " ".join(a.casefold().split()) == folded), None)

    def value(self, field_name: str, cell: str) -> Any:
        """A cell's value for the patient record (the record validates it)."""
        return cell


def read_patients(source: RowSource, columns: Columns = Columns(),
                  max_rows: int = MAX_CSV_ROWS) -> list[tuple[int, Patient | HandoutsError]]:
    """Each data row (numbered as in a spreadsheet, header = row 1) and its patient or error.

    The list as a whole (its header, its syntax, its size) is an error for the whole
    list; a bad row is that row's error, so that the other rows can still be printed."""
    header = source.header()
    if not header or not any(h.strip() for h in header):
        raise HandoutsError("list.no_header", "header", {"allowed": FIELDS}, where=source.name)
    names = [columns.field_of(h) for h in header]
    unknown = [h.strip() for h, n in zip(header, names, strict=True) if n is None]
    if unknown:
        raise HandoutsError("list.unknown_columns", "header", {"columns": unknown, "allowed": FIELDS},
                            where=source.name)
    dupes = sorted({n for n in names if n is not None and names.count(n) > 1})
    if dupes:
        raise HandoutsError("list.duplicate_columns", "header", {"columns": dupes}, where=source.name)
    out: list[tuple[int, Patient | HandoutsError]] = []
    for row, cells in source.rows():
        if not any(c.strip() for c in cells):
            continue
        if len(out) >= max_rows:
            raise HandoutsError("list.too_many_rows", "patients", {"file": source.name, "max": max_rows})
        where = f"{source.name} row {row}"
        if len(cells) > len(header):
            out.append((row, HandoutsError("list.extra_cells", "", {"cells": len(cells), "columns": len(header)},
                                           where=where)))
            continue
        # A short row leaves its last columns empty.
        data = {n: columns.value(n, v) for n, v in zip(names, cells, strict=False) if v != "" and n is not None}
        try:
            out.append((row, from_mapping(data, where)))
        except HandoutsError as err:
            out.append((row, err))
    return out


def load_csv(path: Path) -> list[tuple[int, Patient | HandoutsError]]:
    """The patients of a CSV file (see read_patients)."""
    return read_patients(CsvRows.read(path))
