"""`load_gaze`: any supported gaze input, the reader picked by what the path is."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import GazeError
from .annotation import read_annotation_folder
from .data import FixationEvents, GazeData
from .plain_csv import read_csv
from .smi import ScreenGeometry, read_smi


def load_gaze(path: str | os.PathLike, size: tuple[int, int], n_frames: int, fps: float = 30.0,
              screen: ScreenGeometry = ScreenGeometry()) -> GazeData:
    """Any supported gaze input, chosen by what `path` is."""
    path = Path(path)
    if not path.exists():
        raise GazeError(f"{path}: no such file or folder")
    if path.is_dir():
        smi = sorted(path.glob("*.txt"))
        if smi:
            return read_smi(smi, size, n_frames, fps, screen)
        return read_annotation_folder(path, size, fps)
    if path.suffix.lower() == ".csv":
        return read_csv(path, size, n_frames, fps)
    if path.suffix.lower() == ".txt":
        return read_smi([path], size, n_frames, fps, screen)
    raise GazeError(f"{path}: unknown gaze format (expected .csv, SMI .txt, or an annotation folder)")


def load_gaze_files(paths, size: tuple[int, int], n_frames: int, fps: float = 30.0,
                    screen: ScreenGeometry = ScreenGeometry()) -> GazeData:
    """Several gaze inputs (as a shell glob gives them) merged into one recording.

    SMI exports are one file per observer and are read together; any other mix is read input
    by input, an input's unnamed observer taking the input's file name. A path given twice
    counts once.
    """
    paths = list(dict.fromkeys(Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)))
    if not paths:
        raise GazeError("no gaze input given")
    if len(paths) == 1:
        return load_gaze(paths[0], size, n_frames, fps, screen)
    for path in paths:
        if not path.exists():
            raise GazeError(f"{path}: no such file or folder")
    if all(p.is_file() and p.suffix.lower() == ".txt" for p in paths):
        return read_smi(paths, size, n_frames, fps, screen)
    parts = [load_gaze(p, size, n_frames, fps, screen) for p in paths]
    names: list[str] = []

    def observer_index(name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    observer, remaps = [], []
    for path, part in zip(paths, parts):
        own = [observer_index(name) for name in part.observers]
        unnamed = observer_index(path.stem) if (part.observer < 0).any() else -1
        remap = np.array(own + [unnamed], dtype=np.int64)
        observer.append(remap[part.observer])   # an unnamed sample's -1 picks the last entry
        remaps.append(remap)
    events = (FixationEvents.concatenate([p.events for p in parts], remaps)
              if all(p.events is not None for p in parts) else None)
    return GazeData(np.concatenate([p.frame for p in parts]), np.concatenate([p.x for p in parts]),
                    np.concatenate([p.y for p in parts]), np.concatenate(observer), names, n_frames, size, fps,
                    ", ".join(map(str, paths)), sum(p.skipped for p in parts), events)
