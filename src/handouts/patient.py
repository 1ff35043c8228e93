"""Patient files (TOML) and patient lists (CSV): personal data, validated, never markup.

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
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from .errors import HandoutsError
from .models import validation_error

FIELDS = ("name", "first_dose", "oncologist", "phone", "treatment_center", "locale")

# Bounds on input: a patient file is a few lines, a day's list a few hundred rows.
MAX_TOML_BYTES = 16 * 1024
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_CSV_ROWS = 10_000  # as many rows as cards in one sheet build (cards.MAX_CARDS)

# Scripts whose characters are drawn one by one, without shaping, in both engines, and
# that the bundled fonts (assets/fonts) have. "Common" covers digits, punctuation and
# symbols shared by all scripts. A character of these scripts that a locale's fonts lack
# is still refused, by fonts.require.
DRAWABLE_SCRIPTS = frozenset({"Latn", "Grek", "Cyrl", "Hani", "Hira", "Kana", "Bopo", "Zyyy"})
# Scripts that would need no shaping but that no bundled font has (a font would have to
# be added to assets/fonts first).
UNBUNDLED_SCRIPTS = frozenset({"Armn", "Geor", "Hang"})
_REFUSED_CATEGORIES = {
    "Cc": "a control character", "Cf": "an invisible formatting character",
    "Zl": "a line separator", "Zp": "a paragraph separator", "Co": "a private-use character",
    "Cs": "a lone surrogate", "Cn": "an unassigned code point",
    "Mn": "a combining mark", "Mc": "a combining mark", "Me": "a combining mark",
}


class TextRefused(ValueError):
    """A character that cannot be printed faithfully (pydantic reports the message)."""


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
            raise TextRefused(f"contains {_REFUSED_CATEGORIES[cat]} ({_describe(ch)}); "
                              "type the text again without it")
        if cat.startswith("Z") or ch.isspace():
            continue
        script = _script(ch)
        # A letter is named by its code point only: its Unicode name would spell it.
        if script in UNBUNDLED_SCRIPTS:
            raise TextRefused(f"contains U+{ord(ch):04X} ({script} script), which no bundled font has; "
                              "write the name in Latin letters or Chinese")
        if script not in DRAWABLE_SCRIPTS and script != "Zinh":
            raise TextRefused(f"contains U+{ord(ch):04X} ({script} script), which needs text shaping "
                              "that the wallet card cannot do; write the name in Latin letters or Chinese")
    # Any space separator (no-break, ideographic, thin ...) prints as one plain space.
    return re.sub(r"\s+", " ", text).strip()


def _date_only(value: Any) -> Any:
    """A calendar date: a TOML date or YYYY-MM-DD text; not a number, a time or digits."""
    if isinstance(value, dt.datetime):
        raise TextRefused("give a date without a time, e.g. 2026-12-01")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise TextRefused(f"{value.strip()} is not a calendar date") from None
    raise TextRefused("give a date as YYYY-MM-DD, e.g. 2026-12-01")


def _not_blank(value: str) -> str:
    if not value:
        raise TextRefused("is empty")
    return value


def _phone_digits(value: str) -> str:
    if sum(ch.isdigit() for ch in value) < 3:
        raise TextRefused("a phone number needs at least three digits")
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
            raise HandoutsError(f"{where}: first_dose",
                                f"{d.isoformat()} is before the drug was approved ({earliest.isoformat()})")
        if d > today + dt.timedelta(days=366):
            raise HandoutsError(f"{where}: first_dose",
                                f"{d.isoformat()} is more than a year after today ({today.isoformat()})")

    def identity(self) -> str:
        """A stable key for this patient's record: the same row gives the same key."""
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()


def _message(err: dict, field: str) -> str | None:
    """Words for a patient's field where pydantic's would puzzle a nurse."""
    if err["type"] == "extra_forbidden":
        return f"unknown field; allowed: {', '.join(FIELDS)}"
    if err["type"] == "string_pattern_mismatch" and field == "phone":
        return "a phone number has only digits, spaces and + ( ) - . / x"
    if err["type"] == "string_pattern_mismatch" and field == "locale":
        return "not a locale code such as en, zh-Hans or zh-Hant"
    if err["type"] == "string_too_long":
        return f"too long: at most {err['ctx']['max_length']} characters"
    if err["type"].endswith("_type") and field != "first_dose":
        return "must be text"
    return None


def from_mapping(data: dict, where: str) -> Patient:
    if not isinstance(data, dict):
        raise HandoutsError(where, "not a table of fields")
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        raise validation_error(where, exc, _message) from None
    except TextRefused as exc:  # raised outside a field validator (should not happen)
        raise HandoutsError(where, str(exc)) from None


_KEY_ON_LINE = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=")


def _read_bounded(path: Path, limit: int, option: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise HandoutsError(option, f"no such file: {path}") from None
    except IsADirectoryError:
        raise HandoutsError(option, f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise HandoutsError(option, f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise HandoutsError(option, f"{path.name} is larger than {limit // 1024} KB; "
                                    "is this the right file?")
    return data


def _decode(data: bytes, path: Path, option: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise HandoutsError(option, f"{path.name} is UTF-16 text; save it as UTF-8 "
                                    "(in a spreadsheet: 'CSV UTF-8')")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise HandoutsError(option, f"{path.name} is not UTF-8 text (byte 0x{data[exc.start]:02X} on "
                                    f"line {line}); save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')") from None


def load_toml(path: Path) -> Patient:
    where = path.name
    text = _decode(_read_bounded(path, MAX_TOML_BYTES, "--patient"), path, "--patient")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib rejects an impossible date (2026-02-30) as bad TOML; name the field.
        at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(at.group(1)) if at else None
        lines = text.splitlines()
        m = _KEY_ON_LINE.match(lines[line - 1]) if line and line <= len(lines) else None
        key = m.group(1) if m else None
        detail = re.sub(r"\s*\(at line.*\)$", "", str(exc))
        if key == "first_dose":
            raise HandoutsError(f"{where}: first_dose", f"not a valid date (line {line}): {detail}") from None
        raise HandoutsError(f"{where}" + (f": {key}" if key else ""),
                            f"not valid TOML (line {line}): {detail}") from None
    return from_mapping(data, where)


def load_csv(path: Path) -> list[tuple[int, Patient | HandoutsError]]:
    """Each data row (numbered as in a spreadsheet, header = row 1) and its patient or error.

    The file as a whole (encoding, header, quoting, size) is an error for the whole
    list; a bad row is that row's error, so the other rows can still be printed."""
    text = _decode(_read_bounded(path, MAX_CSV_BYTES, "--patients"), path, "--patients")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise HandoutsError(f"{path.name}: header", f"no header row; give columns from: {', '.join(FIELDS)}")
        header = [h.strip() for h in header]
        unknown = [h for h in header if h not in FIELDS]
        if unknown:
            raise HandoutsError(f"{path.name}: header",
                                f"unknown column(s) {unknown}; allowed: {', '.join(FIELDS)}")
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise HandoutsError(f"{path.name}: header", f"column(s) {dupes} given twice")
        rows: list[tuple[int, Patient | HandoutsError]] = []
        for row, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_CSV_ROWS:
                raise HandoutsError("--patients", f"{path.name} has more than {MAX_CSV_ROWS} patient rows; "
                                                  "split the list")
            where = f"{path.name} row {row}"
            if len(cells) > len(header):
                rows.append((row, HandoutsError(f"{where}", f"{len(cells)} cells but the header has "
                                                            f"{len(header)} columns (an unquoted comma?)")))
                continue
            data = {k: v for k, v in zip(header, cells) if v != ""}
            try:
                rows.append((row, from_mapping(data, where)))
            except HandoutsError as err:
                rows.append((row, err))
    except csv.Error as exc:
        raise HandoutsError(f"{path.name} line {reader.line_num}",
                            f"not valid CSV ({exc}); check for an unclosed quote") from None
    return rows
