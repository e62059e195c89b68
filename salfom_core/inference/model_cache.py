"""Loaded models kept for reuse: at most one per device, keyed by the checkpoint's content.

A 300M-parameter model takes seconds to load and over a gigabyte to hold; reopening a video or
opening the next one with the same checkpoint should reuse it. A training run may rewrite
`best.pt` in place: the key is the file's content fingerprint, so the rewritten file loads
afresh and the old model is dropped (one per device), never kept beside the new one.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from ..io.fingerprint import file_fingerprint


class ModelCache:
    """`get(path, device, load)` returns the cached object for (device, content of path), or
    calls `load()` and keeps its result in place of the device's previous one. Thread-safe:
    workers load off the GUI thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_device: dict[str, tuple[str, object]] = {}     # device -> (content key, model)

    def get(self, path: str | os.PathLike, device: str, load: Callable[[], object], variant: str = ""):
        """`variant`: what else changes the loaded object (dtype, partial loading)."""
        key = f"{file_fingerprint(Path(path))}:{variant}"
        with self._lock:
            cached = self._by_device.get(device)
            if cached is not None and cached[0] == key:
                return cached[1]
            # drop the old model before loading: two large models need not fit at once
            self._by_device.pop(device, None)
            model = load()
            self._by_device[device] = (key, model)
            return model

    def clear(self) -> None:
        with self._lock:
            self._by_device.clear()

    def __len__(self) -> int:
        return len(self._by_device)


_DEFAULT = ModelCache()


def cached_salfom_predictor(path: str | os.PathLike, device: str = "auto", dtype: str = "auto",
                            allow_partial: bool = False, cache: ModelCache = _DEFAULT):
    """A `SalFoMPredictor` for `path`, from the cache when the same file content was loaded on
    the same device with the same settings. `allow_partial`: the user confirmed a checkpoint
    that fills only part of the model."""
    from .engine import SalFoMPredictor, pick_device

    resolved = str(pick_device(device))
    return cache.get(path, resolved, lambda: SalFoMPredictor.from_checkpoint(path, device=resolved, dtype=dtype,
                                                                             allow_partial=allow_partial),
                     variant=f"{dtype}{':partial' if allow_partial else ''}")
