"""How many observers watched a video, read from its gaze without decoding the video.

A gaze recording names its observers (a CSV's `observer` column, one SMI export per observer);
`salfom make-dataset` keeps the converted gaze as `<video>/gaze.csv` beside the maps. Plain
DHF1K / Hollywood-2 / UCF-Sports annotations merge all observers into one fixation map per
frame, so they cannot say how many there were: the count is then unknown (None), not a guess.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def gaze_observers(gaze) -> int | None:
    """Distinct named observers with at least one sample in a GazeData; None when none is named."""
    named = np.unique(gaze.observer[gaze.observer >= 0])
    return int(named.size) if named.size else None


def csv_observers(path: str | Path) -> int | None:
    """Distinct non-empty values of a gaze CSV's `observer` column (None without one)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(line for line in fh if not line.startswith("#"))     # gaze-convert's `# fixations:`
        header = [h.strip().lower() for h in next(reader, [])]
        if "observer" not in header:
            return None
        column = header.index("observer")
        names = {row[column].strip() for row in reader if len(row) > column}
    names.discard("")
    return len(names) or None


def folder_observers(folder: str | Path) -> int | None:
    """An annotated video folder: its `gaze.csv` (make-dataset) or `gaze/` SMI exports, if any."""
    folder = Path(folder)
    if (folder / "gaze.csv").is_file():
        return csv_observers(folder / "gaze.csv")
    smi = sorted((folder / "gaze").glob("*.txt")) if (folder / "gaze").is_dir() else []
    return len(smi) or None          # SMI: one export per observer


def observer_count(truth) -> int | None:
    """Observers of one ground truth (`evaluate.GazeTruth` or `AnnotationTruth`), None when unknown."""
    gaze = getattr(truth, "gaze", None)
    if gaze is not None:
        return gaze_observers(gaze)
    root = getattr(getattr(truth, "annotations", None), "root", None)
    return None if root is None else folder_observers(root)
