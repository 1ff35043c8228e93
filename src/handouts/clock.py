"""The date printed on documents and recorded in manifests.

SOURCE_DATE_EPOCH (reproducible builds) fixes it; a value that is not a whole number of
seconds between 1970 and 9999 is refused with one line, before anything is rendered.
"""

from __future__ import annotations

import datetime as dt
import os

from .errors import HandoutsError

ENV = "SOURCE_DATE_EPOCH"


def source_date_epoch() -> int | None:
    raw = os.environ.get(ENV)
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise HandoutsError("clock.not_seconds", ENV, {"value": repr(raw[:40])})
    value = int(text)
    if value > 253402300799:  # 9999-12-31T23:59:59Z
        raise HandoutsError("clock.too_late", ENV, {"value": text[:40]})
    return value


def print_date() -> dt.date:
    """SOURCE_DATE_EPOCH's date (UTC) when set, else today."""
    epoch = source_date_epoch()
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).date()
    return dt.date.today()
