"""Free space: checked before a long job, and a full disk named when a write finds one.

"[Errno 28] No space left on device" names no file; with the output, the cache and a dataset
on different disks the user cannot tell which is full. Every write that can fill a disk goes
through `naming_full_disk(folder)`, and a job that knows its size asks `require_free_space`
before it starts.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

from ..errors import DiskFullError

FULL_DISK_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def free_bytes(folder: str | os.PathLike) -> int | None:
    """Free space where `folder` is (its nearest existing parent), or None when unknown."""
    path = Path(folder).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def require_free_space(folder: str | os.PathLike, needed: int, what: str) -> None:
    """DiskFullError naming `folder` when less than `needed` bytes are free there."""
    free = free_bytes(folder)
    if free is not None and needed > free:
        raise DiskFullError(f"{folder}: not enough free space for {what}: it needs about {human_bytes(needed)}, "
                            f"{human_bytes(free)} free")


@contextlib.contextmanager
def naming_full_disk(path: str | os.PathLike, what: str = ""):
    """Turn a full-disk OSError inside the block into a DiskFullError naming `path`."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in FULL_DISK_ERRNOS:
            raise
        free = free_bytes(path)
        left = f" ({human_bytes(free)} free)" if free is not None else ""
        raise DiskFullError(f"{path}: the disk is full{left}; writing {what or 'here'} failed: free some "
                            "space or choose another folder") from None
