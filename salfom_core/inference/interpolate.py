"""Maps for frames that were not computed: a linear blend of the nearest computed frames.

Saliency changes slowly between neighbouring frames, so a frame between two exact (computed)
frames a < i < b gets (1 - w) * map(a) + w * map(b) with w = (i - a) / (b - a). A frame
before the first or after the last exact frame has no blend (None): nothing is extrapolated.
Blends are derived when read, never stored, so they cannot go stale when an exact map arrives.

`salfom predict --stride K` writes the blends as PNGs and records which ones they are in
`interpolated.json` beside the maps; `interpolation_warnings` reads that record back.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from ..io.atomic import atomic_write_text

RECORD_NAME = "interpolated.json"


def bracket(exact: np.ndarray, index: int) -> tuple[int, int, float] | None:
    """(a, b, w): the nearest exact frames a < index < b and the weight of b; None when
    `index` is exact itself or has no exact frame on one side."""
    exact = np.asarray(exact, dtype=bool)
    if exact[index]:
        return None
    computed = np.flatnonzero(exact)
    k = int(np.searchsorted(computed, index))
    if k == 0 or k == len(computed):
        return None
    a, b = int(computed[k - 1]), int(computed[k])
    return a, b, (index - a) / (b - a)


def blend(first: np.ndarray, second: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) * first + weight * second, rounded to uint8."""
    mixed = (1.0 - weight) * first.astype(np.float32) + weight * second.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def interpolated(read: Callable[[int], np.ndarray | None], exact: np.ndarray,
                 index: int) -> tuple[np.ndarray, tuple[int, int]] | None:
    """(blend, (a, b)): the blend for a frame that is not exact and the exact frames it mixes;
    None when the frame is exact, has no computed frame on a side, or a side cannot be read."""
    sides = bracket(exact, index)
    if sides is None:
        return None
    a, b, weight = sides
    first, second = read(a), read(b)
    if first is None or second is None:
        return None
    return blend(first, second, weight), (a, b)


def interpolated_map(read: Callable[[int], np.ndarray | None], exact: np.ndarray, index: int) -> np.ndarray | None:
    """The blend for a frame that is not exact, or None (exact, or no computed frame on a side)."""
    found = interpolated(read, exact, index)
    return None if found is None else found[0]


def iter_blends(read: Callable[[int], np.ndarray | None], exact: np.ndarray):
    """(index, blend) for every frame between two exact ones, in order; each exact map is read
    once (a walk over consecutive exact frames, not a search per frame)."""
    computed = np.flatnonzero(np.asarray(exact, dtype=bool))
    for a, b in zip(computed[:-1].tolist(), computed[1:].tolist()):
        if b - a < 2:
            continue
        first, second = read(a), read(b)
        for i in range(a + 1, b):
            yield i, blend(first, second, (i - a) / (b - a))


def map_or_blend(read: Callable[[int], np.ndarray | None], exact: np.ndarray, index: int):
    """(map, is_exact): the exact map, else the blend (is_exact False), else (None, False)."""
    if exact[index]:
        return read(index), True
    return interpolated_map(read, exact, index), False


# --------------------------------------------------------------------------- map folders


def write_interpolation_record(folder: Path, exact: np.ndarray, stride: int) -> dict:
    """`folder/interpolated.json`: which maps (1-based numbers, as the file names) are blends."""
    exact = np.asarray(exact, dtype=bool)
    record = {"stride": int(stride), "frames": int(len(exact)),
              "method": "linear blend of the nearest computed frames on both sides",
              "interpolated": [int(i) + 1 for i in np.flatnonzero(~exact)]}
    atomic_write_text(Path(folder) / RECORD_NAME, json.dumps(record))
    return record


def read_interpolation_record(folder: Path) -> dict | None:
    """The record `write_interpolation_record` left in `folder`, or None when there is none."""
    path = Path(folder) / RECORD_NAME
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        record["interpolated"] = [int(i) for i in record["interpolated"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a valid interpolation record ({exc})") from None
    return record


def interpolation_warnings(pred: str | Path) -> list[str]:
    """One line per maps folder under `pred` (itself or its subfolders) that holds blends."""
    pred = Path(pred)
    folders = [pred] + (sorted(p for p in pred.iterdir() if p.is_dir()) if pred.is_dir() else [])
    lines = []
    for folder in folders:
        record = read_interpolation_record(folder)
        if record and record["interpolated"]:
            lines.append(f"warning: {folder}: {len(record['interpolated'])} of {record['frames']} maps are "
                         f"interpolated (salfom predict --stride {record['stride']}), not computed by the model; "
                         "the scores include them")
    return lines


def write_blends(store, folder: Path, stride: int) -> int:
    """Write the blend of every frame of `store` that is not exact as `folder/NNNN.png`, then
    the record of which maps are blends; returns how many were written. Frames with no exact
    frame on one side get no file (`salfom predict` always computes the first and the last).
    When every frame is exact, the folder gets no record, and a record of an earlier run goes."""
    from ..io.export import write_png

    exact = store.exact
    if exact.all():
        (Path(folder) / RECORD_NAME).unlink(missing_ok=True)
        return 0
    written = 0
    for i, saliency in iter_blends(store.read, exact):
        write_png(Path(folder) / f"{i + 1:04d}.png", saliency)
        written += 1
    write_interpolation_record(folder, exact, stride)
    return written
