"""Interpolated display: a frame not computed yet, with computed frames on both sides, shows
the linear blend of the nearest two (`salfom_core.inference.interpolate`), marked as interpolated.

Qt-free pieces the window, the frame loader, the timeline strip and the metrics use:
- `DisplayReader` / `read_layers`: what the frame loader calls for a layer; the exact map,
  else the blend (when interpolation is on), and which it was; `stale` tells the window when
  a painted map must be replaced (its exact map arrived, or a nearer computed frame).
- `strip_colours`: the timeline strip's row: exact frames green, interpolated ones a lighter
  shade, the rest grey.
- `exact_note`: the metrics summary's line saying how many frames are exact.
Metrics never see blends: they score `Layer.read`, which returns exact maps only.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from salfom_core.inference.interpolate import bracket, interpolated

EXACT_ARGB = 0xFF33AA55          # the strip's colour of a computed frame
INTERPOLATED_ARGB = 0xFF9AD9AE   # a lighter shade of it: a blend is shown there
MISSING_ARGB = 0xFF3C3C3C
LABEL = "interpolated"           # the view's label on a blended map
EXACT = "exact"                  # what `DisplayReader` says of a computed map


class DisplayReader:
    """What the frame loader calls for a layer: read(i) -> (map, shown), where `shown` is
    EXACT, (a, b) for a blend of exact frames a < i < b, or None with no map.

    `exact` is the layer's record of computed frames (updated in place as batches finish;
    a frame is marked only after its map is written, so reading it from the loader's thread
    is safe). `read` returns exact maps only (the metrics score it)."""

    def __init__(self, read: Callable[[int], np.ndarray | None], exact: np.ndarray, interpolate: bool = True):
        self.read, self.exact, self.interpolate = read, exact, interpolate

    def __call__(self, index: int) -> tuple[np.ndarray | None, object]:
        if self.exact[index]:
            saliency = self.read(index)
            return saliency, (EXACT if saliency is not None else None)
        found = interpolated(self.read, self.exact, index) if self.interpolate else None
        return (None, None) if found is None else found


def read_layers(sources: dict, index: int) -> tuple[dict, dict]:
    """({layer: map}, {layer: shown}) of one frame; plain readers count as exact."""
    maps, shown = {}, {}
    for name, read in sources.items():
        if isinstance(read, DisplayReader):
            maps[name], shown[name] = read(index)
        else:
            maps[name] = read(index)
            shown[name] = EXACT if maps[name] is not None else None
    return maps, shown


def is_blend(shown) -> bool:
    return isinstance(shown, tuple)


def stale(shown, exact: np.ndarray, index: int, interpolate: bool = True) -> bool:
    """Whether a painted map of frame `index` (its `shown`) is out of date now that `exact`
    changed: the frame is computed, or a nearer computed frame makes a different blend."""
    if shown == EXACT:
        return False
    if exact[index]:
        return True
    now = bracket(exact, index) if interpolate else None
    return now is not None and tuple(now[:2]) != shown


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
