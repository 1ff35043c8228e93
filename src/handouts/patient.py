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
import os
import re
import stat
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
# The csv module refuses a cell over 128 KiB with its own words; a list within its size
# limit is read whole, and a cell too long for its field is that field's error.
csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_BYTES + 1))

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
    script: str = fu.script(ch)
    return script


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
        if not value.strip().isascii():  # full-width (２０２６) or Arabic-Indic (٢٠٢٦) digits
            raise TextRefused("date.ascii_digits")
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
    if sum(map(str.isdigit, value)) < 3:
        raise TextRefused("patient.phone_digits")
    return value


Text = Annotated[str, StringConstraints(max_length=120), AfterValidator(printable_text), AfterValidator(_not_blank)]
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

    def file_key(self) -> str:
        """The digest a patient's file and folder names carry: the person's details
        without the language they print in (which the file name says), so the same
        patient gets the same digest from the counter page, a list and a patient file,
        and a reprint lands beside its earlier file."""
        return hashlib.sha256(self.model_dump_json(exclude={"locale"}).encode("utf-8")).hexdigest()


def initials(name: str) -> str:
    """A name's initials, for file names that do not spell it: the first letter of each
    word ("Li Wei 李伟" -> "LW李", "Mary-Jane Ode" -> "MJO"), at most four."""
    words = [w for w in re.split(r"[\s\-]+", name) if w]
    return "".join(w[0].upper() for w in words if w[0].isalnum())[:4]


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


def _not_a_file(path: Path, mode: int, option: str) -> HandoutsError | None:
    """A folder, a device (/dev/zero), a FIFO or a socket given where a file belongs."""
    if stat.S_ISDIR(mode):
        return HandoutsError("file.is_folder", option, {"path": path})
    if not stat.S_ISREG(mode):
        return HandoutsError("file.not_regular", option, {"path": path})
    return None


def check_file(path: Path, option: str) -> None:
    """That `path` is a regular file, before any work: else the error says what it is."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise HandoutsError("file.missing", option, {"path": path}) from None
    except OSError as exc:
        raise HandoutsError("file.unreadable", option, {"path": path, "reason": exc.strerror or exc}) from None
    err = _not_a_file(path, mode, option)
    if err is not None:
        raise err


def read_bounded(path: Path, limit: int, option: str) -> bytes:
    """The whole file, refused (never half-read, never waited on) when it is not a regular
    file or is larger than `limit` bytes; the error names `option`."""
    try:
        # Non-blocking: a FIFO must be refused, not waited on (a regular file reads the same).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise HandoutsError("file.missing", option, {"path": path}) from None
    except IsADirectoryError:
        raise HandoutsError("file.is_folder", option, {"path": path}) from None
    except OSError as exc:
        raise HandoutsError("file.unreadable", option, {"path": path, "reason": exc.strerror or exc}) from None
    err = _not_a_file(path, os.fstat(fd).st_mode, option)
    if err is not None:
        os.close(fd)
        raise err
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise HandoutsError("file.unreadable", option, {"path": path, "reason": exc.strerror or exc}) from None
    if len(data) > limit:
        raise HandoutsError("file.too_large", option, {"file": path.name, "kib": limit // 1024})
    return data


def _utf16_without_bom(data: bytes) -> bool:
    """Text saved as UTF-16 without a byte-order mark: in its Latin letters, digits and
    punctuation every other byte is zero."""
    head = data[:4096]
    pairs = len(head) // 2
    if pairs < 2:
        return False
    even, odd = head[0::2].count(0), head[1::2].count(0)
    return max(even, odd) > 0.4 * pairs and min(even, odd) < 0.05 * pairs


def decode(data: bytes, name: str, option: str) -> str:
    """UTF-8 text (byte-order marks are dropped, also one saved twice), or the error
    naming the file: UTF-16 (with or without a byte-order mark), NUL bytes (not text),
    or the first byte that is not UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(data):
        raise HandoutsError("file.utf16", option, {"file": name})
    if b"\x00" in data:
        raise HandoutsError("file.binary", option, {"file": name})
    try:
        return data.decode("utf-8-sig").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise HandoutsError("file.not_utf8", option, {"file": name, "byte": f"{data[exc.start]:02X}",
                                                      "line": line}) from None


def load_toml(path: Path) -> Patient:
    """A patient file. Every error names the file and the field the same way
    ("p.toml: first_dose: ..."), whether the TOML parser or the patient record refused
    the value."""
    where = path.name
    text = decode(read_bounded(path, MAX_TOML_BYTES, "patient"), path.name, "patient")
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
#      spreadsheet (CsvRows for CSV text, XlsxRows for an Excel workbook);
#   2. Columns maps the header to the patient's fields (names compared without case,
#      spaces, underscores or hyphens, and the aliases below) and turns a cell into a
#      field's value (a date in the clinic's date order);
#   3. read_patients validates each row into a Patient, or that row's error, naming the
#      list, the row and the column: "today.csv row 3: first_dose (column B)".

# Other names a clinic's spreadsheet gives the columns (README.md lists them). Compared
# after folding case and treating spaces, underscores and hyphens alike, so "First Dose",
# "first-dose" and "FIRST_DOSE" are all first_dose.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "name": ("patient", "patient name", "full name"),
    "first_dose": ("first dose date", "date of first dose", "first infusion", "start date", "c1d1",
                   "cycle 1 day 1"),
    "oncologist": ("doctor", "physician", "treating oncologist", "oncologist name"),
    "phone": ("phone number", "telephone", "care team phone", "24 hour phone"),
    "treatment_center": ("treatment centre", "center", "centre", "clinic", "cancer center", "hospital"),
    "locale": ("language", "lang"),
}

# How a list writes its dates, besides ISO (2026-12-01, always accepted): --date-order.
DATE_ORDERS = ("MDY", "DMY", "YMD")
_ORDER_WORDS = {"MDY": Phrase("month/day/year"), "DMY": Phrase("day/month/year"),
                "YMD": Phrase("year/month/day")}
_SAMPLE_DAY = dt.date(2026, 12, 1)  # the sample date every message shows (registry sample)
MAX_XLSX_UNPACKED = 32 * 1024 * 1024  # an .xlsx is a ZIP: what it may unpack to


def date_order_of(babel_locale: str) -> str:
    """The order of day, month and year in a locale's short date (CLDR): en_US gives
    MDY, en_GB DMY, zh_Hans_CN YMD."""
    from babel import Locale
    pattern = Locale.parse(babel_locale).date_formats["short"].pattern
    first = {k: pattern.find(k) for k in "yMd" if k in pattern}
    return "".join({"y": "Y", "M": "M", "d": "D"}[k] for k in sorted(first, key=first.__getitem__)) \
        if len(first) == 3 else "YMD"


def sample_date(order: str) -> str:
    """The sample first dose as a list in `order` writes it (12/01/2026 in MDY)."""
    return _written(_SAMPLE_DAY, order)


def _written(day: dt.date, order: str) -> str:
    parts = {"Y": f"{day.year:04d}", "M": f"{day.month:02d}", "D": f"{day.day:02d}"}
    return "/".join(parts[k] for k in order)


def list_date(cell: Any, order: str) -> dt.date:
    """A list's date cell: a spreadsheet's date, ISO text (2026-12-01), or day, month and
    year in the list's `order` ("12/01/2026" or "12/01/26" in MDY; a year written first in
    four digits is year/month/day in any order). A form the order cannot read is refused
    (TextRefused), never guessed at: 12/01/2026 in a year/month/day list is ambiguous."""
    if isinstance(cell, dt.datetime):
        if cell.time() != dt.time(0, 0):
            raise TextRefused("date.with_time")
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    text = str(cell).strip()
    # Full-width (２０２６) or Arabic-Indic digits (none in ASCII text: most lists).
    if not text.isascii() and any(ch.isdigit() and not ch.isascii() for ch in text):
        raise TextRefused("date.ascii_digits")
    words = _ORDER_WORDS[order]
    iso = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", text)
    if iso:
        y, mo, d = (int(g) for g in iso.groups())
        return _calendar_date(y, mo, d, text)
    m = re.fullmatch(r"([0-9]{1,4})([/.\-])([0-9]{1,2})\2([0-9]{1,4})", text)
    if m is None:
        raise TextRefused("list.date_format", value=text, example=_written(_SAMPLE_DAY, order), order=words,
                          iso=_SAMPLE_DAY.isoformat())
    a, b, c = m.group(1), m.group(3), m.group(4)
    if len(a) == 4:  # a year first is year/month/day in every order
        return _calendar_date(int(a), int(b), int(c), text)
    if len(c) == 3 or len(a) == 3:
        raise TextRefused("list.date_format", value=text, example=_written(_SAMPLE_DAY, order), order=words,
                          iso=_SAMPLE_DAY.isoformat())
    # A two-digit year (12/01/26, as LibreOffice saves a US date) is 20YY: a first dose is
    # checked against the approval date and today, so a wrong century cannot print.
    if order == "YMD" and len(c) <= 2:
        return _calendar_date(2000 + int(a), int(b), int(c), text)
    year = int(c) if len(c) == 4 else 2000 + int(c)
    readings = {"MDY": (year, int(a), int(b)), "DMY": (year, int(b), int(a))}
    if order in readings:
        y, mo, d = readings[order]
        try:
            return dt.date(y, mo, d)
        except ValueError:
            pass
    fits = [o for o, (y, mo, d) in readings.items() if o != order and _is_date(y, mo, d)]
    if not fits:
        raise TextRefused("date.not_a_date", value=text)
    if len(fits) > 1:  # 12/01/2026 in a year-first list: December 1 or January 12?
        raise TextRefused("list.date_ambiguous", value=text, order=words)
    raise TextRefused("list.date_order", value=text, order=words, other=_ORDER_WORDS[fits[0]], choice=fits[0])


def _is_date(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return True


def _calendar_date(y: int, m: int, d: int, text: str) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise TextRefused("date.not_a_date", value=text) from None


class RowSource(Protocol):
    """A patient list: its name (in messages and file names), its header, its rows."""
    # Read-only: a list read from a file names itself after the file (request.ListFile).
    @property
    def name(self) -> str: ...

    def header(self) -> list[str]: ...

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number as a spreadsheet shows it, the row's cells), blank rows included.
        A cell is text, or a spreadsheet's date."""
        ...


def read_list(path: Path, option: str = "patients") -> RowSource:
    """The patient list in a file: an Excel workbook (.xlsx) or CSV text, told apart by
    their bytes, size-limited (the error names `option`)."""
    return list_source(path.name, read_bounded(path, MAX_CSV_BYTES, option), option)


def list_source(name: str, data: bytes, option: str = "patients") -> RowSource:
    """A patient list from its bytes (a file's, an upload's): .xlsx or CSV."""
    if data.startswith(b"PK\x03\x04"):
        return XlsxRows(name, data, option)
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # the old binary Excel format (and other OLE files)
        raise HandoutsError("list.old_excel", option, {"file": name})
    return CsvRows(name, decode(data, name, option))


@dataclass
class CsvRows:
    """A CSV patient list from its text (UTF-8 already decoded): from a file, an upload."""
    name: str
    text: str
    _reader: Any = field(default=None, init=False, repr=False)

    @classmethod
    def read(cls, path: Path, option: str = "patients") -> CsvRows:
        """The list in a file, size-limited and decoded (the error names `option`)."""
        return cls(path.name, decode(read_bounded(path, MAX_CSV_BYTES, option), path.name, option))

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

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        number = 1
        while (cells := self._next()) is not None:
            number += 1
            yield number, cells


@dataclass
class XlsxRows:
    """A patient list saved as an Excel workbook: the first sheet's values (what the cells
    show, not their formulas), read with openpyxl, rows numbered as Excel numbers them.
    A date cell stays a date; numbers become text (a phone number typed as a number)."""
    name: str
    data: bytes
    option: str = "patients"

    def _open(self) -> Any:
        import zipfile
        try:
            with zipfile.ZipFile(io.BytesIO(self.data)) as z:
                unpacked = sum(i.file_size for i in z.infolist())
        except (zipfile.BadZipFile, ValueError, OSError):
            raise HandoutsError("list.not_xlsx", self.option, {"file": self.name}) from None
        if unpacked > MAX_XLSX_UNPACKED:
            raise HandoutsError("list.xlsx_too_large", self.option,
                                {"file": self.name, "mib": MAX_XLSX_UNPACKED // (1024 * 1024)})
        import openpyxl
        try:
            return openpyxl.load_workbook(io.BytesIO(self.data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
            raise HandoutsError("list.not_xlsx", self.option, {"file": self.name}) from None

    def _cells(self) -> Iterator[tuple[int, list[Any]]]:
        book = self._open()
        try:
            sheet = book.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
                yield number, [_cell_value(v) for v in values]
        except HandoutsError:
            raise
        except Exception:  # noqa: BLE001 - a sheet that cannot be read to its end
            raise HandoutsError("list.not_xlsx", self.option, {"file": self.name}) from None
        finally:
            book.close()

    def header(self) -> list[str]:
        for _, cells in self._cells():
            while cells and cells[-1] == "":  # a header formatted wider than its text
                cells.pop()
            return [str(c) for c in cells]
        return []

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        width = len(self.header())
        cells_of = self._cells()
        next(cells_of, None)  # the header
        for number, cells in cells_of:
            while len(cells) > width and cells[-1] == "":  # formatting past the last column
                cells.pop()
            yield number, cells


def _cell_value(value: Any) -> Any:
    """A workbook cell as a list cell: text, or a date (a date-time at midnight is a date)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _fold(heading: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", heading.casefold())).strip()


def column_letters(index: int) -> str:
    """A 0-based column index as a spreadsheet names it: A, B, ... Z, AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True)
class Columns:
    """How a list's header names the patient's fields, and how a cell becomes a value.
    `aliases`: other header texts for a field; `date_order`: how the list writes dates
    besides ISO (MDY, DMY or YMD)."""
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: ALIASES)
    date_order: str = "YMD"

    def field_of(self, heading: str) -> str | None:
        folded = _fold(heading)
        for name in FIELDS:
            if folded == _fold(name) or folded in {_fold(a) for a in self.aliases.get(name, ())}:
                return name
        return None

    def value(self, field_name: str, cell: Any) -> Any:
        """A cell's value for the patient record (the record validates it); a date in
        the list's order, or TextRefused."""
        if field_name == "first_dose":
            return list_date(cell, self.date_order)
        if isinstance(cell, dt.date):  # a date typed into a text column
            return cell.isoformat()
        return cell


def _shown_heading(heading: str) -> str:
    """A column heading as a message quotes it: at most 40 characters."""
    text = str(heading).strip()
    return text if len(text) <= 40 else f"{text[:40]}... ({len(text)} characters)"


def read_patients(source: RowSource, columns: Columns = Columns(), max_rows: int = MAX_CSV_ROWS,
                  letters: dict[str, str] | None = None) -> list[tuple[int, Patient | HandoutsError]]:
    """Each data row (numbered as in a spreadsheet, header = row 1) and its patient or error.

    The list as a whole (its header, its syntax, its size) is an error for the whole
    list; a bad row is that row's error, naming its column, so that the other rows can
    still be printed. `letters` (if given) receives each field's column letter."""
    header = source.header()
    if not header or not any(str(h).strip() for h in header):
        raise HandoutsError("list.no_header", "header", {"allowed": FIELDS}, where=source.name)
    names = [columns.field_of(h) for h in header]
    unknown = [_shown_heading(h) for h, n in zip(header, names, strict=True) if n is None]
    if unknown:
        raise HandoutsError("list.unknown_columns", "header", {"columns": unknown, "allowed": FIELDS},
                            where=source.name)
    dupes = sorted({n for n in names if n is not None and names.count(n) > 1})
    if dupes:
        raise HandoutsError("list.duplicate_columns", "header", {"columns": dupes}, where=source.name)
    letters = {} if letters is None else letters
    letters.update({n: column_letters(i) for i, n in enumerate(names) if n is not None})
    out: list[tuple[int, Patient | HandoutsError]] = []
    for row, cells in source.rows():
        if not any(str(c).strip() for c in cells):
            continue
        if len(out) >= max_rows:
            raise HandoutsError("list.too_many_rows", "patients", {"file": source.name, "max": max_rows})
        where = f"{source.name} row {row}"
        if len(cells) > len(header):
            out.append((row, HandoutsError("list.extra_cells", "", {"cells": len(cells), "columns": len(header)},
                                           where=where)))
            continue
        try:
            # A short row leaves its last columns empty.
            data = {}
            for n, v in zip(names, cells, strict=False):
                if v != "" and n is not None:
                    try:
                        data[n] = columns.value(n, v)
                    except TextRefused as exc:
                        raise HandoutsError(exc.code, n, exc.params, where=where) from None
            out.append((row, from_mapping(data, where)))
        except HandoutsError as err:
            out.append((row, in_column(err, letters)))
    return out


def in_column(err: HandoutsError, letters: Mapping[str, str]) -> HandoutsError:
    """A row's error naming the spreadsheet column of its field too: "first_dose (column B)"."""
    letter = letters.get(err.field)
    if letter is not None and err.label is None:
        err.label = f"{err.field} (column {letter})"
        err.column = letter  # type: ignore[attr-defined]  # the page names the column in its own words
    return err


def load_csv(path: Path) -> list[tuple[int, Patient | HandoutsError]]:
    """The patients of a list file (see read_patients)."""
    return read_patients(read_list(path))
