"""Interpolated display: a frame not computed yet, with computed frames on both sides, shows
the linear blend of the nearest two (`salfom_core.interpolate`), marked as interpolated.

Qt-free pieces the window, the frame loader, the timeline strip and the metrics use:
- `DisplayReader`: what the frame loader calls for a layer; returns the exact map, else the
  blend (when interpolation is on), and says which it was.
- `strip_colours`: the timeline strip's row: exact frames green, interpolated ones a lighter
  shade, the rest grey.
- `exact_note`: the metrics summary's line saying how many frames are exact.
Metrics never see blends: they score `Layer.read`, which returns exact maps only.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from salfom_core.interpolate import map_or_blend

EXACT_ARGB = 0xFF33AA55          # the strip's colour of a computed frame
INTERPOLATED_ARGB = 0xFF9AD9AE   # a lighter shade of it: a blend is shown there
MISSING_ARGB = 0xFF3C3C3C
LABEL = "interpolated"


class DisplayReader:
    """read(i) -> (map, is_exact) for the frame loader, from a layer's exact reader and its
    record of exact frames (the store's `done`, updated by the inference thread; a frame
    turns exact only after its map is flushed, so reading it from another thread is safe)."""

    def __init__(self, read: Callable[[int], np.ndarray | None], exact: np.ndarray, interpolate: bool = True):
        self.read, self.exact, self.interpolate = read, exact, interpolate

    def __call__(self, index: int) -> tuple[np.ndarray | None, bool]:
        if self.exact[index]:
            return self.read(index), True
        if not self.interpolate:
            return None, False
        return map_or_blend(self.read, self.exact, index)


def covered(exact: np.ndarray) -> np.ndarray:
    """Frames that are not exact but lie between two exact ones: where a blend can be shown."""
    exact = np.asarray(exact, dtype=bool)
    computed = np.flatnonzero(exact)
    out = np.zeros(len(exact), bool)
    if len(computed) >= 2:
        out[computed[0]:computed[-1] + 1] = True
    return out & ~exact


def strip_colours(exact: np.ndarray, interpolate: bool = True) -> np.ndarray:
    """(N,) uint32 ARGB for the timeline strip."""
    exact = np.asarray(exact, dtype=bool)
    row = np.where(exact, EXACT_ARGB, MISSING_ARGB).astype(np.uint32)
    if interpolate:
        row[covered(exact)] = INTERPOLATED_ARGB
    return row


def exact_note(exact: np.ndarray) -> str:
    """'412 of 783 frames exact' for the metrics summary (its values use exact frames only)."""
    exact = np.asarray(exact, dtype=bool)
    return f"{int(exact.sum())} of {len(exact)} frames exact"
