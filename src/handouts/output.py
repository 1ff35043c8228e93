"""Writing files: atomically (temporary name, then rename), never half a PDF."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

from .errors import HandoutsError


def ensure_writable_dir(path: Path, field: str = "--out") -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise HandoutsError(field, f"{path} is not a folder") from None
    except OSError as exc:
        raise HandoutsError(field, f"cannot create {path}: {exc.strerror}") from None
    if not path.is_dir():
        raise HandoutsError(field, f"{path} is not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise HandoutsError(field, f"cannot write to {path}: permission denied")
    return path


def write_atomic(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}


def safe_name(text: str, fallback: str = "patient", max_len: int = 60) -> str:
    """A folder or file name that is safe on every OS and cannot climb out of out/."""
    norm = unicodedata.normalize("NFKC", text or "")
    cleaned = re.sub(r"[^\w\-]+", "-", norm, flags=re.UNICODE).strip("-_.")
    cleaned = cleaned[:max_len].strip("-_.")
    if not cleaned or cleaned.upper().split(".")[0] in _WINDOWS_RESERVED:
        cleaned = f"{fallback}-{cleaned}" if cleaned else fallback
    return cleaned
