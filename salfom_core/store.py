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
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from .atomic import atomic_write_bytes, atomic_write_text


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


class PredictionStore:
    def __init__(self, folder: Path, n_frames: int, height: int, width: int, meta: dict | None = None):
        self.folder = Path(folder)
        self.n_frames, self.height, self.width = n_frames, height, width
        self.folder.mkdir(parents=True, exist_ok=True)
        meta_path = self.folder / "meta.json"
        if meta_path.exists():
            old = json.loads(meta_path.read_text())
            if (old.get("n_frames"), old.get("height"), old.get("width")) != (n_frames, height, width):
                raise ValueError(f"{self.folder}: store holds {old.get('n_frames')} frames of "
                                 f"{old.get('width')}x{old.get('height')}, not {n_frames} of {width}x{height}")
        self.meta = {**(meta or {}), "n_frames": n_frames, "height": height, "width": width}
        data = self.folder / "maps.u8"
        mode = "r+" if data.exists() and data.stat().st_size == n_frames * height * width else "w+"
        self._maps = np.memmap(data, dtype=np.uint8, mode=mode, shape=(n_frames, height, width))
        done_path = self.folder / "done.npy"
        self.done = np.load(done_path) if mode == "r+" and done_path.exists() else np.zeros(n_frames, bool)
        if not meta_path.exists():
            self._write_meta()

    @classmethod
    def open(cls, root: Path | None, video_key: str, predictor_key: str, settings: dict,
             n_frames: int, height: int, width: int, meta: dict | None = None) -> "PredictionStore":
        root = Path(root) if root else default_cache_dir()
        key = store_key(video_key, predictor_key, settings)
        return cls(root / key, n_frames, height, width,
                   {**(meta or {}), "video_key": video_key, "predictor": predictor_key, "settings": settings})

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    def missing(self) -> np.ndarray:
        return np.flatnonzero(~self.done)

    def write(self, index: int, saliency_u8: np.ndarray) -> None:
        self._maps[index] = saliency_u8

    def mark_ready(self, indices) -> None:
        """Written maps this process may read at once; they become durable at the next `commit`
        (the engine commits about once a second rather than after every batch)."""
        self.done[np.asarray(list(indices), dtype=np.int64)] = True

    def commit(self, indices) -> None:
        """Flush written maps, then mark them done (atomically)."""
        self._maps.flush()
        self.done[np.asarray(list(indices), dtype=np.int64)] = True
        buf = io.BytesIO()
        np.save(buf, self.done)
        atomic_write_bytes(self.folder / "done.npy", buf.getvalue())
        if self.complete:
            self._write_meta()

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
        atomic_write_text(self.folder / "meta.json", json.dumps({**self.meta, "complete": self.complete}, indent=1))
