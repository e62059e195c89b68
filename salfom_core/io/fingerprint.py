"""Content fingerprints of files: cache keys (cheap, partial reads) and full digests."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def file_fingerprint(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """A content hash of a file without reading all of it: size plus first, middle and last MiB."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        for offset in sorted({0, max(0, size // 2 - chunk // 2), max(0, size - chunk)}):
            fh.seek(offset)
            h.update(fh.read(chunk))
    return h.hexdigest()[:32]


def frame_files_fingerprint(files: list[Path]) -> str:
    """A frame folder's content key: every file's name, size and mtime, plus the first file's content."""
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    h.update(file_fingerprint(files[0]).encode())
    return h.hexdigest()[:32]


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """The SHA-256 of the whole file (what `salfom info` and the weights registry show)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
