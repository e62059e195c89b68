"""Atomic file writes: a temporary file beside the target, then os.replace.

A reader never sees a half-written file, and a crash leaves the previous version intact.
The file gets the permissions an ordinary `open()` would give it (those of the file it
replaces, else 0666 less the umask), not the 0600 of a temporary file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from ..errors import ConfigError, WriteError
from .disk import FULL_DISK_ERRNOS, naming_full_disk

STALE_TEMP_AGE_S = 30.0     # a temporary file untouched this long belongs to a write that was killed


def _read_umask() -> int:
    # os.umask can only be read by setting it: done once, at import
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", sync: bool = True):
    """`sync=False` skips the fsync: still atomic for readers and against a killed process, not
    durable across a power cut (for bulk writes of many small files that a rerun can check)."""
    path = Path(path)
    with naming_full_disk(path.parent, path.name):
        prepare_file_target(path)
        with _naming(path):
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            if hasattr(os, "fchmod"):   # not on Windows, where the mode means little
                os.fchmod(fd, _file_mode(path))
            with os.fdopen(fd, mode) as fh:
                yield fh
                fh.flush()
                if sync:
                    os.fsync(fh.fileno())
            with _naming(path):
                os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


@contextlib.contextmanager
def _naming(path: Path):
    """An OSError of our own temporary file (no permission, a read-only disk) as one line naming
    the file the user asked for; a full disk is `naming_full_disk`'s."""
    try:
        yield
    except OSError as exc:
        if exc.errno in FULL_DISK_ERRNOS:
            raise
        raise WriteError(f"{path}: cannot write ({exc.strerror or exc})") from None


def make_folder(folder: str | os.PathLike) -> Path:
    """`mkdir -p folder`, with a plain error where a file stands in the way.

    `mkdir` alone says "[Errno 17] File exists: 'notes.txt'" (a folder was asked for, not a file)
    or "[Errno 20] Not a directory"; the user needs to know which path is a file."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocker is None:
            raise
        inside = "" if blocker == folder else f" (the folder {folder} would be inside it)"
        raise ConfigError(f"{blocker}: is a file, and a folder is needed here{inside}: "
                          "give another folder, or move the file") from None
    return folder


def prepare_file_target(path: str | os.PathLike) -> Path:
    """Make `path`'s folder; a plain error where `path` is a folder or a file stands in its way.

    A folder at `path` would otherwise fail at the final rename, naming the temporary file
    ("Is a directory: '.taken.ne57611z.tmp' -> 'taken'"), which the user never made."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, and a file is written here: give a file name, or move the folder")
    make_folder(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, sync: bool = True) -> None:
    with atomic_write(path, "wb", sync) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temporaries(folder: str | os.PathLike, min_age_s: float = STALE_TEMP_AGE_S) -> None:
    """Delete the temporaries (`.NAME.XXXX.tmp`) of writes that were killed before their rename.

    A killed process cannot clean up after itself; a younger temporary may be another
    process's write in progress, so it stays.
    """
    now = time.time()
    for path in Path(folder).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > min_age_s:
                path.unlink()
