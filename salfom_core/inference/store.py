"""On-disk prediction store: one folder per (video content, predictor, settings).

Layout of a store folder:
    meta.json   what was predicted, frame count and size, whether it is complete
    maps.u8     (N, H, W) uint8 memory map, each frame min-max scaled to 0..255
    done.npy    (N,) bool: frames whose maps are written: the record of exact frames (computed
                by the model); blends for the frames between them are derived on reading
                (`read_or_blend`), never stored

A frame is marked done only after its map is flushed, and `done.npy` is replaced
atomically, so a killed run resumes with exactly the frames it had finished. Frames are
read one at a time through the memory map, never the whole video.

A damaged entry (unreadable `meta.json` or `done.npy`, a map file of the wrong size) is
discarded with a one-line warning and computed again; temporary files a killed write left
behind are removed. A complete entry in a read-only cache is read as it is. A cache folder
that cannot be used raises `CacheError` naming it.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import CacheError
from ..io.atomic import atomic_write_bytes, atomic_write_text, remove_stale_temporaries
from ..io.disk import naming_full_disk, require_free_space

ENTRY_FILES = ("meta.json", "maps.u8", "done.npy")

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """$SALFOM_CACHE_DIR, else the platform's user cache folder."""
    env = os.environ.get("SALFOM_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("salfom-studio", appauthor=False)) / "predictions"


def store_key(video_key: str, predictor_key: str, settings: dict) -> str:
    blob = json.dumps({"video": video_key, "predictor": predictor_key, "settings": settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def usable_cache_root(root: Path) -> Path:
    """`root`, created if needed; a `CacheError` naming it when it cannot be a cache folder."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CacheError(root, "it is a file, not a folder") from None
    except OSError as exc:
        raise CacheError(root, exc.strerror or str(exc)) from None
    if not root.is_dir():
        raise CacheError(root, "it is not a folder")
    return root


class PredictionStore:
    """`warn` receives one line per damaged entry discarded (default: the `logging` warning);
    the same lines are kept in `notes` for a caller that shows them later."""

    def __init__(self, folder: Path, n_frames: int, height: int, width: int, meta: dict | None = None,
                 warn: Callable[[str], None] | None = None, replace_other_geometry: bool = False):
        self.folder = Path(folder)
        self.n_frames, self.height, self.width = n_frames, height, width
        self.notes: list[str] = []
        self._warn = warn or log.warning
        usable_cache_root(self.folder)
        self.writable = os.access(self.folder, os.W_OK | os.X_OK)
        if self.writable:
            self._remove_stale_temp_files()
        self.meta = {**(meta or {}), "n_frames": n_frames, "height": height, "width": width}
        self.done, self._maps = self._open_entry(replace_other_geometry)

    @classmethod
    def open(cls, root: Path | None, video_key: str, predictor_key: str, settings: dict,
             n_frames: int, height: int, width: int, meta: dict | None = None,
             warn: Callable[[str], None] | None = None) -> "PredictionStore":
        """The cache entry of (video, predictor, settings) under `root` (default: the user cache).

        An entry of another frame count or size was made by an older reader of the same file:
        it is replaced.
        """
        root = usable_cache_root(Path(root) if root else default_cache_dir())
        key = store_key(video_key, predictor_key, settings)
        if not (root / key).exists() and not os.access(root, os.W_OK | os.X_OK):
            raise CacheError(root, "it is read-only and holds no predictions for this video yet")
        return cls(root / key, n_frames, height, width,
                   {**(meta or {}), "video_key": video_key, "predictor": predictor_key, "settings": settings},
                   warn=warn, replace_other_geometry=True)

    # ------------------------------------------------------------------ opening

    def _open_entry(self, replace_other_geometry: bool):
        problem = self._problem()
        if problem and problem.startswith("holds") and not replace_other_geometry:
            raise ValueError(f"{self.folder}: store {problem}")
        if problem and not self.writable:
            raise CacheError(self.folder, f"the entry is damaged ({problem}) and the folder is read-only")
        if problem:
            self._discard(problem)
        maps_path, done_path = self.folder / "maps.u8", self.folder / "done.npy"
        shape = (self.n_frames, self.height, self.width)
        if maps_path.exists():
            done = np.load(done_path) if done_path.exists() else np.zeros(self.n_frames, bool)
            if not self.writable and not done.all():
                raise CacheError(self.folder, "the folder is read-only and its predictions are incomplete")
            maps = np.memmap(maps_path, dtype=np.uint8, mode="r+" if self.writable else "r", shape=shape)
        else:
            done = np.zeros(self.n_frames, bool)
            require_free_space(self.folder, int(np.prod(shape)), f"the predictions of {self.n_frames} frames of "
                               f"{self.width}x{self.height} (the prediction cache; --cache chooses another folder)")
            maps = np.memmap(maps_path, dtype=np.uint8, mode="w+", shape=shape)
        if not (self.folder / "meta.json").exists():
            self._write_meta_of(done)
        return done, maps

    def _problem(self) -> str | None:
        """What is wrong with the files already in the folder, or None (none there is fine)."""
        meta_path, maps_path, done_path = (self.folder / name for name in ENTRY_FILES)
        if meta_path.exists():
            try:
                old = json.loads(meta_path.read_text())
                geometry = tuple(int(old[k]) for k in ("n_frames", "height", "width"))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                return f"meta.json unreadable: {type(exc).__name__}"
            if geometry != (self.n_frames, self.height, self.width):
                return (f"holds {geometry[0]} frames of {geometry[2]}x{geometry[1]}, "
                        f"not {self.n_frames} of {self.width}x{self.height}")
        expected = self.n_frames * self.height * self.width
        if maps_path.exists() and maps_path.stat().st_size != expected:
            return f"maps.u8 has {maps_path.stat().st_size} bytes, not {expected}"
        if done_path.exists():
            if not maps_path.exists():
                return "done.npy without maps.u8"
            try:
                done = np.load(done_path)
            except (OSError, ValueError, EOFError) as exc:
                return f"done.npy unreadable: {type(exc).__name__}"
            if done.dtype != bool or done.shape != (self.n_frames,):
                return f"done.npy holds {done.dtype} {done.shape}, not bool ({self.n_frames},)"
        return None

    def _discard(self, problem: str) -> None:
        note = f"{self.folder}: damaged cache entry ({problem}); discarded, computing it again"
        if problem.startswith("holds"):
            note = f"{self.folder}: cache entry {problem} (made by an older version?); computing it again"
        self.notes.append(note)
        self._warn(note)
        for name in ENTRY_FILES:
            (self.folder / name).unlink(missing_ok=True)

    def _remove_stale_temp_files(self) -> None:
        """`atomic_write` temporaries (`.done.npy.XXXX.tmp`) of a write that was killed."""
        remove_stale_temporaries(self.folder)

    # ------------------------------------------------------------------ use

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    def missing(self) -> np.ndarray:
        return np.flatnonzero(~self.done)

    def write(self, index: int, saliency_u8: np.ndarray) -> None:
        """Where the system has `os.pwrite`, one write() of the whole map into the page cache the
        memory map shares: filling a fresh memory-mapped file faults once per 4 KiB page
        (5 ms per 1080p map measured on a 2-core CPU, 0.6 ms with pwrite)."""
        data = np.asarray(saliency_u8)
        if not hasattr(os, "pwrite") or data.shape != self._maps.shape[1:]:
            self._maps[index] = saliency_u8          # the memory map casts and checks as before
            return
        data = np.ascontiguousarray(data, dtype=np.uint8)
        with naming_full_disk(self.folder, "a map into the prediction cache"):
            self._pwrite(index, data)

    def _pwrite(self, index: int, data: np.ndarray) -> None:
        row = self.height * self.width
        fd = os.open(self.folder / "maps.u8", os.O_WRONLY)
        try:
            os.pwrite(fd, memoryview(data).cast("B"), int(index) * row)
        finally:
            os.close(fd)
        self._written_by_pwrite = True

    def mark_ready(self, indices) -> None:
        """Written maps this process may read at once; they become durable at the next `commit`
        (the engine commits about once a second rather than after every batch)."""
        self.done[np.asarray(list(indices), dtype=np.int64)] = True

    def commit(self, indices) -> None:
        """Flush written maps, then mark them done (atomically)."""
        with naming_full_disk(self.folder, "the prediction cache"):
            self._flush()
        self.done[np.asarray(list(indices), dtype=np.int64)] = True
        buf = io.BytesIO()
        np.save(buf, self.done)
        atomic_write_bytes(self.folder / "done.npy", buf.getvalue())
        if self.complete:
            self._write_meta()

    def _flush(self) -> None:
        self._maps.flush()
        if getattr(self, "_written_by_pwrite", False):      # msync need not cover write()s everywhere
            fd = os.open(self.folder / "maps.u8", os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._written_by_pwrite = False

    def read(self, index: int) -> np.ndarray | None:
        """The uint8 map of frame `index`, or None when it is not computed yet."""
        return np.array(self._maps[index]) if self.done[index] else None

    @property
    def exact(self) -> np.ndarray:
        """(N,) bool: frames whose maps the model computed (a copy; `done` is the record)."""
        return self.done.copy()

    def read_or_blend(self, index: int) -> tuple[np.ndarray | None, bool]:
        """(map, is_exact): the computed map, else the blend of the nearest computed frames on
        both sides (is_exact False), else (None, False)."""
        from .interpolate import map_or_blend

        return map_or_blend(self.read, self.done, index)

    def _write_meta(self) -> None:
        self._write_meta_of(self.done)

    def _write_meta_of(self, done: np.ndarray) -> None:
        if self.writable:
            atomic_write_text(self.folder / "meta.json",
                              json.dumps({**self.meta, "complete": bool(done.all())}, indent=1))
