"""Patient files (TOML) and patient lists (CSV): personal data, validated, never markup."""

from __future__ import annotations

import csv
import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from .errors import HandoutsError

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
FIELDS = ("name", "first_dose", "oncologist", "phone", "treatment_center", "locale")


class Patient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text | None = None
    first_dose: dt.date | None = None
    oncologist: Text | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40,
                                            pattern=r"^[0-9+()\-. /x]+$")] | None = None
    treatment_center: Text | None = None
    locale: str | None = None

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


def _validation_error(where: str, exc: ValidationError) -> HandoutsError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "file"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = f"unknown field; allowed: {', '.join(FIELDS)}"
    elif err["type"] == "string_pattern_mismatch" and field == "phone":
        msg = "a phone number has only digits, spaces and + ( ) - . / x"
    elif field == "first_dose":
        msg = f"not a valid date (YYYY-MM-DD): {err['msg']}"
    return HandoutsError(f"{where}: {field}", msg)


def from_mapping(data: dict, where: str) -> Patient:
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(where, exc) from None


_KEY_ON_LINE = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=")


def load_toml(path: Path) -> Patient:
    where = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HandoutsError("--patient", f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HandoutsError("--patient", f"cannot read {path}: {exc}") from None
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
    """Each data row (numbered as in a spreadsheet, header = row 1) and its patient or error."""
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise HandoutsError("--patients", f"cannot read {path}: {exc}") from None
    rows: list[tuple[int, Patient | HandoutsError]] = []
    with fh:
        reader = csv.DictReader(fh)
        unknown = [f for f in (reader.fieldnames or []) if f not in FIELDS]
        if not reader.fieldnames or unknown:
            raise HandoutsError(f"{path.name}: header",
                                f"unknown column(s) {unknown}; allowed: {', '.join(FIELDS)}")
        for i, row in enumerate(reader, start=2):
            data = {k: v for k, v in row.items() if k and v not in (None, "")}
            try:
                rows.append((i, from_mapping(data, f"{path.name} row {i}")))
            except HandoutsError as err:
                rows.append((i, err))
    return rows
