"""Writing files: atomically (temporary name, then rename), never half a PDF, and never
outside the output folder.

Everything written, renamed, read back or deleted goes through `OutputDir`, which walks
from the output folder to the file with directory descriptors opened without following
symbolic links. A link planted inside the output tree (out/patients/Ann -> /elsewhere)
is refused, naming it; nothing is ever created, replaced or removed through it. The
output folder itself is the user's choice and may be a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Literal, overload

from .errors import HandoutsError

# A temporary file's name: hidden, the final name, the writing process and a random
# token, and a suffix of our own. Clean-up deletes only names of this pattern whose
# process is gone: never a user's own hidden ".part" file, never another run's file
# that is still being written.
TEMP_SUFFIX = ".handouts.part"
_TEMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]{1,10})-[0-9a-f]{8}" + re.escape(TEMP_SUFFIX))
# What the temporary name adds to a file's name, at most: "." + "." + pid + "-" + token + suffix.
TEMP_OVERHEAD = 2 + 10 + 1 + 8 + len(TEMP_SUFFIX)
LOCK_NAME = ".handouts.lock"

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
# os.replace takes the same dir_fd arguments as os.rename (supports_dir_fd lists rename).
_FD_SAFE = all(f in os.supports_dir_fd for f in (os.open, os.rename, os.unlink, os.mkdir)) and \
    os.scandir in os.supports_fd and hasattr(os, "O_NOFOLLOW")


class OutputDir:
    """The output folder, and the only way files get into it (or out of it)."""

    def __init__(self, root: Path, field: str = "out"):
        self.root = Path(root)
        self.field = field

    # -- checks ----------------------------------------------------------------------
    def ensure(self) -> OutputDir:
        """Create the folder if needed and check it can be written, before any work."""
        path = self.root
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise HandoutsError("output.not_a_folder", self.field, {"path": path}) from None
        except OSError as exc:
            raise HandoutsError("output.cannot_create", self.field,
                                {"path": path, "reason": exc.strerror or exc}) from None
        if not path.is_dir():
            raise HandoutsError("output.not_a_folder", self.field, {"path": path})
        # Try it: /proc, a read-only mount or a full disk all refuse here, not mid-batch.
        probe = path / temp_name("handouts-probe")
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise HandoutsError("output.cannot_write", self.field, {"path": path, "reason": exc.strerror or exc}) \
                from None
        return self

    def _parts(self, rel: str | Path) -> tuple[str, ...]:
        parts = PurePosixPath(str(rel).replace(os.sep, "/")).parts
        if not parts or any(p in ("", ".", "..") or "/" in p for p in parts) or PurePosixPath(str(rel)).is_absolute():
            raise HandoutsError("output.outside", self.field, {"path": rel})
        return parts

    def _refuse(self, rel_dir: tuple[str, ...], exc: OSError) -> HandoutsError:
        where = self.root.joinpath(*rel_dir)
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            return HandoutsError("output.link", self.field, {"path": where, "root": self.root})
        return HandoutsError("output.cannot_use", self.field, {"path": where, "reason": exc.strerror or exc})

    # -- folders -----------------------------------------------------------------------
    # Creating, it never finds a folder absent: the overloads tell the callers so.
    @overload
    def _open_dir(self, rel_dir: tuple[str, ...], create: Literal[True]) -> int: ...
    @overload
    def _open_dir(self, rel_dir: tuple[str, ...], create: bool) -> int | None: ...

    def _open_dir(self, rel_dir: tuple[str, ...], create: bool) -> int | None:
        """A descriptor of root/rel_dir reached without following links (None: absent)."""
        try:
            fd = os.open(self.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError as exc:
            raise self._refuse((), exc) from None
        for i, part in enumerate(rel_dir):
            try:
                try:
                    nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                    nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                os.close(fd)
                raise self._refuse(rel_dir[:i + 1], exc) from None
            os.close(fd)
            fd = nxt
        return fd

    @overload
    def _checked_path(self, parts: tuple[str, ...], create: Literal[True]) -> Path: ...
    @overload
    def _checked_path(self, parts: tuple[str, ...], create: bool) -> Path | None: ...

    def _checked_path(self, parts: tuple[str, ...], create: bool) -> Path | None:
        """Fallback where the OS has no directory descriptors: check each component."""
        cur = self.root
        for i, part in enumerate(parts):
            cur = cur / part
            if cur.is_symlink():
                raise self._refuse(parts[:i + 1], OSError(errno.ELOOP, "symbolic link"))
            if not cur.exists():
                if not create:
                    return None
                cur.mkdir()
            elif not cur.is_dir():
                raise self._refuse(parts[:i + 1], OSError(errno.ENOTDIR, "not a folder"))
        return cur

    # -- files -------------------------------------------------------------------------
    def write(self, rel: str | Path, data: bytes) -> Path:
        """Write root/rel atomically: a temporary file in the same folder, then rename."""
        parts = self._parts(rel)
        folder, name = parts[:-1], parts[-1]
        for part in parts:
            _refuse_long_name(part)
        tmp = temp_name(name)
        if not _FD_SAFE:  # pragma: no cover - platforms without dir_fd (Windows)
            return self._write_by_path(folder, name, tmp, data)
        dfd = self._open_dir(folder, create=True)
        try:
            self._refuse_folder_in_the_way(dfd, name, parts)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dfd)
            except OSError as exc:
                raise self._refuse(folder, exc) from None
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException as exc:
                try:
                    os.unlink(tmp, dir_fd=dfd)
                except OSError:
                    pass
                if isinstance(exc, IsADirectoryError):  # a folder appeared there meanwhile
                    raise HandoutsError("output.folder_in_the_way", "", {"path": self.root.joinpath(*parts)}) \
                        from None
                if isinstance(exc, OSError):
                    raise HandoutsError("output.cannot_write", self.field,
                                        {"path": self.root.joinpath(*parts), "reason": exc.strerror or exc}) from None
                raise
        finally:
            os.close(dfd)
        return self.root.joinpath(*parts)

    def _refuse_folder_in_the_way(self, dfd: int, name: str, parts: tuple[str, ...]) -> None:
        """A folder where the file goes is someone's: refused, naming it (a rename would
        fail on it anyway, with a message about the output folder instead of the file)."""
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except OSError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise HandoutsError("output.folder_in_the_way", "", {"path": self.root.joinpath(*parts)})

    def _write_by_path(self, folder: tuple[str, ...], name: str, tmp: str, data: bytes) -> Path:  # pragma: no cover
        target_dir = self._checked_path(folder, create=True)
        tmp_path = target_dir / tmp
        try:
            with open(tmp_path, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_path, target_dir / name)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        return target_dir / name

    def read(self, rel: str | Path, limit: int = 64 * 1024 * 1024) -> bytes | None:
        """The bytes of root/rel, or None when it is absent, a link or not a file."""
        parts = self._parts(rel)
        if not _FD_SAFE:  # pragma: no cover
            try:
                folder = self._checked_path(parts[:-1], create=False)
            except HandoutsError:
                return None
            p = folder / parts[-1] if folder else None
            return p.read_bytes() if p and p.is_file() and not p.is_symlink() else None
        try:
            dfd = self._open_dir(parts[:-1], create=False)
        except HandoutsError:
            return None
        if dfd is None:
            return None
        try:
            # Non-blocking: a FIFO planted in the tree must not hang the build.
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0), dir_fd=dfd)
        except OSError:
            return None
        finally:
            os.close(dfd)
        if not _is_regular(fd):  # a folder, a FIFO, a device: not a file handouts wrote
            os.close(fd)
            return None
        with os.fdopen(fd, "rb") as fh:
            return fh.read(limit)

    def clean_partials(self, rel_folder: str | Path = "") -> None:
        """Temporary files left in one folder by a run that has ended (killed, or stopped
        by Ctrl-C): only names of our own pattern whose process is gone (never through
        a link)."""
        parts = self._parts(rel_folder) if str(rel_folder) not in ("", ".") else ()
        if not _FD_SAFE:  # pragma: no cover
            return
        try:
            dfd = self._open_dir(parts, create=False)
        except HandoutsError:
            return
        if dfd is None:
            return
        try:
            with os.scandir(dfd) as entries:
                names = [e.name for e in entries if is_stale_temp(e.name) and e.is_file(follow_symlinks=False)]
            for name in names:
                try:
                    os.unlink(name, dir_fd=dfd)
                except OSError:
                    pass
        finally:
            os.close(dfd)


    def folders(self, rel_folder: str | Path = "") -> list[str]:
        """The names of the folders (not links) in root/rel_folder; none if it is absent."""
        parts = self._parts(rel_folder) if str(rel_folder) not in ("", ".") else ()
        if not _FD_SAFE:  # pragma: no cover
            folder = self._checked_path(parts, create=False)
            return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink()) if folder else []
        dfd = self._open_dir(parts, create=False)
        if dfd is None:
            return []
        try:
            with os.scandir(dfd) as entries:
                return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
        finally:
            os.close(dfd)

    def move_aside(self, rel: str, rel_folder: str) -> str:
        """Move root/rel (a file or a folder, never through a link) into root/rel_folder,
        under its own name, or with "~2", "~3" ... before its suffix when that name is
        taken there: nothing is replaced. Returns its new path inside root."""
        parts, into = self._parts(rel), self._parts(rel_folder)
        name = parts[-1]
        stem, dot, suffix = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
        if not _FD_SAFE:  # pragma: no cover
            src_dir = self._checked_path(parts[:-1], create=False)
            dst_dir = self._checked_path(into, create=True)
            if src_dir is None or dst_dir is None:
                raise FileNotFoundError(rel)
            for n in range(1, 1000):
                target = name if n == 1 else f"{stem}~{n}{dot}{suffix}"
                if not (dst_dir / target).exists():
                    os.rename(src_dir / name, dst_dir / target)
                    return "/".join((*into, target))
            raise FileExistsError(rel)
        sfd = self._open_dir(parts[:-1], create=False)
        if sfd is None:
            raise HandoutsError("output.cannot_use", self.field, {"path": self.root.joinpath(*parts),
                                                                 "reason": os.strerror(errno.ENOENT)})
        try:
            dfd = self._open_dir(into, create=True)
            try:
                for n in range(1, 1000):
                    target = name if n == 1 else f"{stem}~{n}{dot}{suffix}"
                    try:
                        os.stat(target, dir_fd=dfd, follow_symlinks=False)
                    except FileNotFoundError:
                        break
                else:  # pragma: no cover - a thousand earlier versions of one pack
                    raise HandoutsError("output.cannot_use", self.field, {"path": self.root.joinpath(*into),
                                                                         "reason": os.strerror(errno.EEXIST)})
                try:
                    os.rename(name, target, src_dir_fd=sfd, dst_dir_fd=dfd)
                except OSError as exc:
                    raise HandoutsError("output.cannot_use", self.field,
                                        {"path": self.root.joinpath(*parts), "reason": exc.strerror or exc}) from None
                return "/".join((*into, target))
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)

    # -- the lock --------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, waiting: Callable[[int | None], None] | None = None) -> Iterator[None]:
        """Hold the output folder for one run: a second batch into the same folder waits
        (`waiting` is told first, with the holder's process id when known) instead of
        cleaning up or recording over the first. The lock (flock on LOCK_NAME) ends with
        the process, even a killed one; the file itself stays."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock (Windows): one run at a time is up to the user
            yield
            return
        path = self.root / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR):
                raise HandoutsError("output.folder_in_the_way" if exc.errno == errno.EISDIR else "output.link",
                                    self.field, {"path": path, "root": self.root}) from None
            raise HandoutsError("output.cannot_write", self.field, {"path": path, "reason": exc.strerror or exc}) \
                from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting is not None:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                    waiting(int(holder) if holder.isdigit() else None)
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock


# The longest name most file systems take (ext4, APFS, NTFS: 255 bytes or UTF-16 units).
MAX_NAME_BYTES = 255


def _refuse_long_name(name: str) -> None:
    """A name the file system would refuse (with its temporary name's additions): said
    about the name itself, not about the output folder."""
    size = len(name.encode("utf-8"))
    if size + TEMP_OVERHEAD > MAX_NAME_BYTES:
        shown = name if len(name) <= 60 else f"{name[:40]}...{name[-16:]}"
        raise HandoutsError("output.name_too_long", "", {"name": shown, "bytes": size,
                                                         "max": MAX_NAME_BYTES - TEMP_OVERHEAD})


def temp_name(name: str) -> str:
    """The temporary name under which `name` is written (see _TEMP)."""
    return f".{name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"


def is_stale_temp(name: str) -> bool:
    """A temporary file of ours whose writer has ended (or is this process, which calls
    this only when it is not writing)."""
    m = _TEMP.fullmatch(name)
    if m is None:
        return False
    pid = int(m["pid"])
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False  # alive under another user, or not a pid this system has: leave it
    return False


def _is_regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def ensure_writable_dir(path: Path, field: str = "out") -> Path:
    OutputDir(path, field).ensure()
    return path


def write_atomic(path: Path, data: bytes) -> Path:
    """Write one file into its own folder (the folder is the output root)."""
    return OutputDir(path.parent).write(path.name, data)


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}


def safe_name(text: str, fallback: str = "patient", max_len: int = 60, max_bytes: int | None = None) -> str:
    """A folder or file name that is safe on every OS and cannot climb out of out/: at
    most `max_len` characters and `max_bytes` bytes of UTF-8 (file systems limit names in
    bytes: a Chinese character takes three, some take four)."""
    norm = unicodedata.normalize("NFKC", text or "")
    cleaned = re.sub(r"[^\w\-]+", "-", norm, flags=re.UNICODE).strip("-_.")
    cleaned = cleaned[:max_len]
    if max_bytes is not None:
        cleaned = cleaned.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")  # whole characters only
    cleaned = cleaned.strip("-_.")
    if not cleaned or cleaned.upper().split(".")[0] in _WINDOWS_RESERVED:
        cleaned = f"{fallback}-{cleaned}" if cleaned else fallback
    return cleaned
