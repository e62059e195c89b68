"""Per-frame metrics kept beside the predictions, so that a reopened video shows its curves
and scores at once instead of scoring every frame again.

An entry is one .npz file per (maps, ground truth, metric settings): its name hashes the
layer's `maps_key` (a prediction-cache entry, or the names, sizes and times of a folder's map
files), the truth's name and content stamp (gaze samples or annotation files), the metric
names, the seed and the seeding scheme. Anything that changes a number changes the name, so an
entry is never stale; a damaged one is ignored and the frames scored again.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from salfom_core.evaluation.dataset_scores import truth_stamp
from salfom_core.evaluation.scoring import SEEDING
from salfom_core.io.files import MAP_READING


def metrics_root(prediction_cache: str | Path | None) -> Path:
    """Beside the prediction cache (never inside it: its entries are its own)."""
    from salfom_core.inference.store import default_cache_dir

    return Path(prediction_cache or default_cache_dir()).parent / "frame-metrics"


def folder_maps_key(files, size: tuple[int, int]) -> str:
    """A map folder's identity: its files' names, sizes and times, and the size read at."""
    h = hashlib.sha256()
    for path in sorted(str(p) for p in files):
        st = os.stat(path)
        h.update(f"{path}:{st.st_size}:{st.st_mtime_ns};".encode())
    return f"folder{MAP_READING}:{h.hexdigest()[:24]}:{size[0]}x{size[1]}"     # a new reading: scored again


class FrameMetricsCache:
    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root else None

    def key(self, maps_key: str, truth, names, seed: int) -> str | None:
        if self.root is None or not maps_key:
            return None
        text = json.dumps([maps_key, truth.name, truth_stamp(truth), list(names), seed, SEEDING])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def load(self, key: str | None, n_frames: int, names) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """(scored per frame, {metric: values}) or None when absent or unreadable."""
        if key is None or not self._path(key).exists():
            return None
        try:
            with np.load(self._path(key)) as data:
                scored = data["scored"].astype(bool)
                values = {n: data[n].astype(np.float64) for n in names}
        except Exception:           # a damaged entry: score again, it is rewritten
            return None
        if len(scored) != n_frames or any(len(v) != n_frames for v in values.values()):
            return None
        return scored, values

    def save(self, key: str | None, scored: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Atomically (a reader never sees half a file); a read-only cache is left as it is."""
        if key is None or not scored.any():
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".npz.tmp")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, scored=scored, **values)
            os.replace(tmp, self._path(key))
        except OSError:
            pass
