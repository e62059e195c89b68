"""The order in which the engine computes a video's frames.

`coarse_to_fine`: first every 16th frame (and the last, so that every frame lies between two
computed ones as soon as the first level is done), then every 8th, 4th, 2nd, then the rest;
within each level, frames are ordered outward from the playhead (nearest first, the later
frame first on a tie, as playback moves forward). The levels sit on a fixed grid (multiples of
16, 8, ...), not one relative to the playhead, so a re-plan after a seek keeps filling the
same grid and every frame between two computed ones stays a short blend.

`sequential`: from the playhead to the end, then the beginning (the fewest decodes; the
command line uses it).

Pure functions of (frame count or missing frames, playhead): no I/O, no state.
"""
from __future__ import annotations

import numpy as np

LEVELS = (16, 8, 4, 2, 1)
ORDERS = ("sequential", "coarse-to-fine")


def _check_strides(strides) -> tuple[int, ...]:
    strides = tuple(int(s) for s in strides)
    if not strides or any(s < 1 for s in strides) or any(a <= b for a, b in zip(strides, strides[1:])):
        raise ValueError(f"strides must be positive and strictly decreasing, not {strides}")
    return strides


def outward(frames: np.ndarray, playhead: int) -> np.ndarray:
    """`frames` sorted by distance from the playhead; on a tie the later frame first."""
    frames = np.asarray(frames, dtype=np.int64)
    distance = np.abs(frames - playhead)
    # lexsort sorts by the last key first: distance, then "before the playhead" (False first)
    return frames[np.lexsort((frames < playhead, distance))]


def grid(n_frames: int, stride: int) -> np.ndarray:
    """Every `stride`-th frame from frame 0, and the last frame: what `--stride` computes."""
    if n_frames <= 0:
        return np.zeros(0, np.int64)
    return np.union1d(np.arange(0, n_frames, stride), [n_frames - 1]).astype(np.int64)


def levels(n_frames: int, playhead: int = 0, strides=LEVELS) -> list[np.ndarray]:
    """The frames of each level of the coarse-to-fine plan, each ordered outward from the playhead.

    Level k holds the frames on the grid of `strides[k]` that no coarser level holds; the
    first level also holds the last frame. With a finest stride of 1 every frame is in
    exactly one level; with a coarser one, only the frames on that grid (and the last).
    """
    strides = _check_strides(strides)
    playhead = min(max(int(playhead), 0), max(n_frames - 1, 0))
    planned = np.zeros(max(n_frames, 0), bool)
    out = []
    for k, stride in enumerate(strides):
        on_grid = grid(n_frames, stride) if k == 0 else np.arange(0, n_frames, stride)
        level = on_grid[~planned[on_grid]]
        planned[level] = True
        out.append(outward(level, playhead))
    return out


def coarse_to_fine(n_frames: int, playhead: int = 0, strides=LEVELS) -> np.ndarray:
    """All levels of `levels` one after the other: the order to compute the frames in."""
    return np.concatenate(levels(n_frames, playhead, strides))


def target_batches(missing: np.ndarray, n_frames: int, playhead: int, batch_size: int,
                   order: str = "sequential") -> list[np.ndarray]:
    """The frames still `missing` as groups for the engine, in the order to compute them.

    Each group is sorted (the engine decodes it forward from one seek). `sequential` gives two
    groups: from the playhead to the end, then the beginning. `coarse-to-fine` goes level by
    level; within a level, groups of `batch_size` frames alternate between the side after the
    playhead and the side before it, each nearer than the next on its side: outward, with each
    group on one side so that it is one run of decoding and one full batch.
    """
    missing = np.asarray(missing, dtype=np.int64)
    if order == "sequential":
        return [part for part in (missing[missing >= playhead], missing[missing < playhead]) if len(part)]
    if order != "coarse-to-fine":
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    wanted = np.zeros(n_frames, bool)
    wanted[missing] = True
    groups = []
    for level in levels(n_frames, playhead):
        level = level[wanted[level]]
        after, before = np.sort(level[level >= playhead]), np.sort(level[level < playhead])[::-1]
        after_groups = [after[i:i + batch_size] for i in range(0, len(after), batch_size)]
        before_groups = [np.sort(before[i:i + batch_size]) for i in range(0, len(before), batch_size)]
        for k in range(max(len(after_groups), len(before_groups))):
            groups += [side[k] for side in (after_groups, before_groups) if k < len(side)]
    return groups
