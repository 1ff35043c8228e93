"""The patient-independent part of a document, laid out once: kept in memory for the
process (a batch worker, the counter page) and on disk in a cache folder, so a cold
single build does not lay it out again.

An entry is found by a key, a digest of every input the part depends on: the same
digests the batch manifest records (content model, catalog, fonts, layout files, code,
print date), the engine's versions, and what the caller adds (document, locale, paper,
where the part starts). Any input change makes a new key, so a stale entry is never
looked up; old entries are only left behind (`prune` removes them).

On disk, writes are atomic (a temporary file, then a rename, inside the cache folder
only, never through a link: `output.OutputDir`), so two processes filling the cache at
once each write a whole entry and the last rename wins; both wrote the same bytes. Each
entry carries a digest of its bytes: a damaged entry is a miss, laid out again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Callable

from .errors import HandoutsError
from .output import OutputDir

FORMAT = b"handouts-static-part 1 "
SUFFIX = ".part.pdf"  # not ".part": OutputDir's temporary files end in ".part"
ENV = "HANDOUTS_CACHE_DIR"
MEMORY_ENTRIES = 24  # a batch of three locales on two papers, with room to spare
MAX_ENTRY = 64 * 1024 * 1024


def default_folder() -> Path:
    """$HANDOUTS_CACHE_DIR, else the user's cache folder ($XDG_CACHE_HOME or ~/.cache)
    plus handouts/static."""
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "handouts" / "static"


@cache
def engine_versions() -> dict[str, str]:
    """The libraries that decide how a part is laid out and written."""
    import pydyf
    import weasyprint
    out = {"weasyprint": weasyprint.__version__, "pydyf": pydyf.__version__}
    try:
        from weasyprint.text.ffi import ffi, harfbuzz, pango
        out["pango"] = ffi.string(pango.pango_version_string()).decode()
        out["harfbuzz"] = ffi.string(harfbuzz.hb_version_string()).decode()
        from weasyprint.text.ffi import harfbuzz_subset
        out["harfbuzz_subset"] = "yes" if harfbuzz_subset else "no"
    except (ImportError, AttributeError):  # another WeasyPrint: its version still keys
        pass
    return out


def static_inputs(document: str, locale: str, paper: str) -> dict:
    """The batch manifest's digests of everything a patient-independent part of
    `document` depends on (all but the personal values), plus the engine versions."""
    from . import batch
    inputs = batch.inputs(batch.Job(document, locale, paper, Path("."), "static"))
    inputs.pop("personal", None)
    return {**inputs, "engine": engine_versions()}


def make_key(*parts: dict) -> str:
    merged: dict = {}
    for part in parts:
        merged.update(part)
    return hashlib.sha256(json.dumps(merged, sort_keys=True, default=str).encode()).hexdigest()


class StaticCache:
    """Bytes by key, in memory (bounded) and, when `folder` is set, on disk."""

    def __init__(self, folder: Path | None = None, memory_entries: int = MEMORY_ENTRIES):
        self.folder = Path(folder) if folder is not None else None
        self._disk = OutputDir(self.folder, field="cache folder") if self.folder is not None else None
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._limit = memory_entries
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}
        self.made = 0  # parts laid out by this cache: what tests and benchmarks count
        self.write_error: str | None = None  # the last failed disk write, if any
        self._ensured = False

    @staticmethod
    def key(*parts: dict) -> str:
        return make_key(*parts)

    @staticmethod
    def _name(key: str) -> str:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"cache key {key!r} is not a sha256 digest")  # a bug, not bad input
        return f"{key[:2]}/{key}{SUFFIX}"

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._memory.get(key)
            if data is not None:
                self._memory.move_to_end(key)
                return data
        data = self._read(key)
        if data is not None:
            self._remember(key, data)
        return data

    def put(self, key: str, data: bytes) -> None:
        """Keep `data` in memory and, where a folder is set, on disk. A failed disk write
        (a full disk, a read-only folder, a link planted in the folder) costs speed, not
        the document: it is kept in `write_error` for the caller to report."""
        self._remember(key, data)
        if self._disk is None:
            return
        try:
            if not self._ensured:
                self._disk.ensure()  # the configured folder, created on the first write
                self._ensured = True
            self._disk.write(self._name(key), FORMAT + hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
        except HandoutsError as err:
            self.write_error = err.one_line()
        except OSError as exc:
            self.write_error = f"cannot write to {self.folder}: {exc.strerror or exc}"

    def get_or_make(self, key: str, make: Callable[[], bytes]) -> bytes:
        """The entry, made by `make()` on a miss (once per key in this process, however
        many threads ask)."""
        data = self.get(key)
        if data is not None:
            return data
        with self._lock:
            lock = self._making.setdefault(key, threading.Lock())
        with lock:
            data = self.get(key)
            if data is None:
                data = make()
                self.made += 1
                self.put(key, data)
        with self._lock:
            self._making.pop(key, None)
        return data

    def clear_memory(self) -> None:
        with self._lock:
            self._memory.clear()

    def _remember(self, key: str, data: bytes) -> None:
        with self._lock:
            self._memory[key] = data
            self._memory.move_to_end(key)
            while len(self._memory) > self._limit:
                self._memory.popitem(last=False)

    def _read(self, key: str) -> bytes | None:
        if self._disk is None:
            return None
        raw = self._disk.read(self._name(key), limit=MAX_ENTRY + 200)
        if raw is None or not raw.startswith(FORMAT):
            return None
        header, sep, data = raw.partition(b"\n")
        if not sep or header[len(FORMAT):] != hashlib.sha256(data).hexdigest().encode():
            return None  # damaged or cut short: laid out again, and replaced
        return data
