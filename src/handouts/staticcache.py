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

Every process has one cache (`process_cache`): in memory only, until a door gives it
the folder (`configure`: the command line and the counter page's workers; a batch's
workers are forked from a parent that has filled it). Nothing in it is personal: a
static part is laid out without the patient.

A cold build would hash the locale's font files (tens of megabytes) for the key each
time; `file_digests` keeps each file's digest in the cache folder beside the entries,
found again by the file's size, times and inode, which any change to the file changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from collections.abc import Callable
from typing import Any

from .clock import print_date
from .errors import HandoutsError
from .output import OutputDir

FORMAT = b"handouts-static-part 1 "
DIGESTS = "file-digests.json"  # beside the entries: the font files' digests by their stat
SUFFIX = ".part.pdf"  # not ".part": OutputDir's temporary files end in ".part"
ENV = "HANDOUTS_CACHE_DIR"
MEMORY_ENTRIES = 24  # a batch of three locales on two papers, with room to spare
MAX_ENTRY = 64 * 1024 * 1024


def default_folder() -> Path | None:
    """$HANDOUTS_CACHE_DIR (set but empty: no folder, memory only), else the user's
    cache folder ($XDG_CACHE_HOME or ~/.cache) plus handouts/static."""
    configured = os.environ.get(ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "handouts" / "static"


def static_inputs(document: str, locale: str, paper: str, cache: StaticCache | None = None) -> dict[str, Any]:
    """The batch manifest's digests of everything a patient-independent part of
    `document` depends on (all but the personal values), plus the engine versions. The
    font files' digest comes from `cache`'s file digests where it has a folder."""
    from . import digests, paths, registry
    spec = registry.get(document)
    files = (cache or process_cache()).file_digests(digests.font_files(locale))
    return {
        "content": digests.content_digest(paths.content_file().parent)[:16],
        "catalog": digests.locale_digest(locale)[:16],
        "fonts": hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16],
        "layout": digests.layout_digest(spec.layout)[:16],
        "code": digests.code_digest()[:16],
        "engines": digests.engines(),
        "print_date": print_date().isoformat(),
    }


def make_key(*parts: dict[str, Any]) -> str:
    merged: dict[str, Any] = {}
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
        self.write_error: HandoutsError | None = None  # the last failed disk write, if any
        self._ensured = False
        self._digests: dict[str, Any] | None = None  # file digests, as read from the folder

    @staticmethod
    def key(*parts: dict[str, Any]) -> str:
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
        if self._disk is not None:
            self._write(self._name(key), FORMAT + hashlib.sha256(data).hexdigest().encode() + b"\n" + data)

    def _write(self, name: str, data: bytes) -> None:
        assert self._disk is not None
        try:
            if not self._ensured:
                self._disk.ensure()  # the configured folder, created on the first write
                self._ensured = True
            self._disk.write(name, data)
        except HandoutsError as err:
            self.write_error = HandoutsError("cache.not_written", "cache", {"folder": self.folder,
                                                                            "reason": err.render()})
        except OSError as exc:
            self.write_error = HandoutsError("cache.not_written", "cache", {"folder": self.folder,
                                                                            "reason": exc.strerror or exc})

    def take_warning(self) -> HandoutsError | None:
        """The last failed write (once): a warning for the command that built."""
        found, self.write_error = self.write_error, None
        return found

    def file_digests(self, files: list[Path]) -> list[tuple[str, str]]:
        """(name, sha256) of each file. With a folder, a file whose size, times, inode
        and device are as recorded there is not read again (changing a file's bytes
        changes its modification and change times; the change time cannot be set
        back)."""
        if self._digests is None:
            raw = self._disk.read(DIGESTS, limit=1024 * 1024) if self._disk is not None else None
            try:
                found = json.loads(raw) if raw else {}
            except ValueError:
                found = {}
            self._digests = found if isinstance(found, dict) else {}
        known = self._digests
        out: list[tuple[str, str]] = []
        changed = False
        for path in files:
            st = path.stat()
            stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
            entry = known.get(str(path))
            if isinstance(entry, dict) and entry.get("stat") == stamp and isinstance(entry.get("sha256"), str):
                digest = entry["sha256"]
            else:
                digest = _file_sha256(path)
                known[str(path)] = {"stat": stamp, "sha256": digest}
                changed = True
            out.append((path.name, digest))
        if changed and self._disk is not None:
            self._write(DIGESTS, (json.dumps(known, sort_keys=True, indent=0) + "\n").encode())
        return out

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


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_PROCESS: list[StaticCache] = []


def process_cache() -> StaticCache:
    """This process's cache: in memory only until `configure` gives it a folder."""
    if not _PROCESS:
        _PROCESS.append(StaticCache(None))
    return _PROCESS[0]


def configure(folder: Path | None) -> StaticCache:
    """Give this process's cache a folder on disk (None: memory only); what it holds in
    memory is kept."""
    old = process_cache()
    if old.folder == (Path(folder) if folder is not None else None):
        return old
    new = StaticCache(folder, old._limit)
    new._memory = old._memory
    new.made = old.made
    _PROCESS[0] = new
    return new
