"""The date printed on documents and recorded in manifests.

SOURCE_DATE_EPOCH (reproducible builds) fixes it. A value is refused with one line,
before anything is rendered, unless it is a whole number of seconds from 1970 to the
end of LATEST_YEAR: the documents count forward from the print date (a first dose may be
a year after it, and its schedule runs months past that), and every such date must
still be a date the calendar (and Python's) has.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache

from .errors import HandoutsError

ENV = "SOURCE_DATE_EPOCH"
# Two years short of the calendar's end (9999-12-31): room for a first dose a year
# after the print date and its months of planned visits.
LATEST_YEAR = 9997
LATEST = int(dt.datetime(LATEST_YEAR, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp())


def source_date_epoch() -> int | None:
    raw = os.environ.get(ENV)
    if raw is None or raw.strip() == "":
        return None
    return _seconds(raw)


@lru_cache(maxsize=8)
def _seconds(raw: str) -> int:
    """SOURCE_DATE_EPOCH's value as seconds (read once per value: a list asks for the
    print date on every row); a refusal is not remembered, so it is raised each time."""
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise HandoutsError("clock.not_seconds", ENV, {"value": repr(raw[:40])})
    # Compared as text first: int() refuses numbers of thousands of digits.
    if len(text.lstrip("0")) > len(str(LATEST)) or int(text) > LATEST:
        shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} digits)"
        raise HandoutsError("clock.too_late", ENV, {"value": shown, "year": LATEST_YEAR})
    return int(text)


def print_date() -> dt.date:
    """SOURCE_DATE_EPOCH's date (UTC) when set, else today."""
    epoch = source_date_epoch()
    if epoch is not None:
        return _epoch_date(epoch)
    return dt.date.today()


@lru_cache(maxsize=8)
def _epoch_date(epoch: int) -> dt.date:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).date()


def check_not_before(checked: dt.date) -> dt.date:
    """The print date, refused when it is before `checked`, the content's latest recorded
    comparison with the label: every document says on which day its facts were compared,
    and a paper dated before that day would claim a check that had not happened yet (a
    backdated SOURCE_DATE_EPOCH, or a computer whose clock is behind)."""
    today = print_date()
    if today < checked:
        field = ENV if source_date_epoch() is not None else "date"
        raise HandoutsError("clock.before_check", field, {"date": today.isoformat(), "checked": checked.isoformat()})
    return today
