"""Annotation folders read as gaze: the fixated pixels of each frame (observers unknown)."""
from __future__ import annotations

import os

import numpy as np

from ...errors import GazeError
from ..annotations import find_annotations
from .data import GazeData


def read_annotation_folder(root: str | os.PathLike, size: tuple[int, int] | None = None,
                           fps: float = 30.0) -> GazeData:
    """The fixated pixels of every annotated frame as gaze samples (observer unknown)."""
    ann = find_annotations(root)
    if not ann.fixation_files:
        raise GazeError(f"{root}: no fixation maps (only continuous maps)")
    frames, xs, ys, shape = [], [], [], None
    for index in sorted(ann.fixation_files):
        fix = ann.fixations(index)
        shape = shape or fix.shape
        rows, cols = np.nonzero(fix)
        frames.append(np.full(len(rows), index)), xs.append(cols + 1.0), ys.append(rows + 1.0)
    h, w = shape
    xs_all, ys_all = np.concatenate(xs), np.concatenate(ys)
    if size and size != (w, h):
        xs_all, ys_all = xs_all * size[0] / w, ys_all * size[1] / h
    return GazeData(np.concatenate(frames), xs_all, ys_all, np.full(len(xs_all), -1), [],
                    ann.n_frames, size or (w, h), fps, str(root))
