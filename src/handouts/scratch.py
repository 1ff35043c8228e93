"""Temporary folders of worker processes.

WeasyPrint copies the bundled fonts (about 35 MB with the Chinese faces) into a
temporary folder of each process that renders, and removes it only when that process
finalizes its font configuration, which a worker process never does: it ends with
os._exit, or is killed on Ctrl-C. So every pool of workers (a batch, the counter page)
gets one scratch folder, made by the parent; each worker puts its temporary files under
it; and the parent removes the whole folder when the pool stops, however the workers
ended. A scratch folder whose parent was killed (kill -9) is removed by the next pool
of the same user.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

PREFIX = "handouts-workers-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphans(parent: Path) -> None:
    """Scratch folders of this user whose process is gone."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        pid_text = entry.name[len(PREFIX):].split("-", 1)[0]
        try:
            if not pid_text.isdigit() or not entry.is_dir(follow_symlinks=False) or _alive(int(pid_text)):
                continue
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)


class Scratch:
    """One pool's temporary folder: workers adopt it, the parent removes it."""

    def __init__(self) -> None:
        parent = Path(tempfile.gettempdir())
        _remove_orphans(parent)
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
        atexit.register(self.close)  # should the pool's owner fail before it closes

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        atexit.unregister(self.close)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def adopt(path: str | Path) -> None:
    """In a worker process: every temporary file and folder goes under `path`."""
    folder = tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=str(path))
    tempfile.tempdir = folder
    os.environ["TMPDIR"] = folder
