"""Scoring predicted maps by the DHF1K protocol against annotation folders or raw gaze."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import metrics
from .errors import ConfigError
from .gaze import AnnotationFolder, GazeData, find_annotations
from .video import numbered_files, read_grey


class GroundTruth:
    """Per-frame fixations and continuous maps of one video, whatever they came from."""

    name: str
    n_frames: int

    def fixations(self, index: int) -> np.ndarray | None:
        raise NotImplementedError

    def gt_map(self, index: int) -> np.ndarray | None:
        raise NotImplementedError


@dataclass
class AnnotationTruth(GroundTruth):
    name: str
    annotations: AnnotationFolder

    @property
    def n_frames(self) -> int:
        return self.annotations.n_frames

    def fixations(self, index):
        return self.annotations.fixations(index)

    def gt_map(self, index):
        return self.annotations.gt_map(index)


@dataclass
class GazeTruth(GroundTruth):
    """Fixation maps from gaze samples; continuous maps by DHF1K's Gaussian (FWHM 30 px)."""

    name: str
    gaze: GazeData
    sigma: float = metrics.DHF1K_SIGMA
    grid: bool = False

    @property
    def n_frames(self) -> int:
        return self.gaze.n_frames

    def fixations(self, index):
        return self.gaze.fixation_map(index, grid=self.grid)

    def gt_map(self, index):
        fix = self.fixations(index)
        return metrics.density_map(fix, self.sigma) if fix.any() else None


class MapFolder:
    """Predicted maps as images, frame k from the file numbered k+1 (`0001.png`, `x_001.png`)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.files = numbered_files(self.folder)
        if not self.files:
            raise ValueError(f"{self.folder}: no numbered map images")

    @property
    def n_frames(self) -> int:
        return max(self.files) + 1

    def read(self, index: int) -> np.ndarray | None:
        path = self.files.get(index)
        if path is None:
            return None
        image = read_grey(path)
        if image is None:
            raise ValueError(f"{path}: not a readable image")
        return image


def fixation_pool(truths: Iterable[GroundTruth], frames: Callable[[GroundTruth], Iterable[int]]):
    """(pool, owner) over every scored frame of every video: the shuffled-AUC negatives."""
    pool, owner = [], {}
    for truth in truths:
        for i in frames(truth):
            fix = truth.fixations(i)
            if fix is not None and fix.any():
                owner[(truth.name, i)] = len(pool)
                pool.append(metrics.fixation_points(fix))
    return pool, owner


def score_frames(truth: GroundTruth, read: Callable[[int], np.ndarray | None], frames: Iterable[int],
                 pool, owner: dict, metric_names=metrics.METRICS, rng: np.random.Generator | None = None):
    """Yield (frame, {metric: value}) for each frame; values None where nothing can be scored
    (no prediction yet, or no ground truth). `pool`/`owner` come from `fixation_pool`."""
    rng = rng if rng is not None else np.random.default_rng(0)
    for i in frames:
        i = int(i)
        prediction = read(i)
        fix, gt = (truth.fixations(i), truth.gt_map(i)) if i < truth.n_frames else (None, None)
        if prediction is None or (fix is None and gt is None):
            yield i, None
            continue
        shape = (fix if fix is not None else gt).shape
        other = metrics.other_fixation_map(pool, shape, seed=rng, exclude=owner.get((truth.name, i))) \
            if pool and fix is not None else None
        yield i, metrics.frame_metrics(prediction, fix, gt, other, metric_names, seed=rng)


def evaluate(pairs: list[tuple[GroundTruth, Callable[[int], np.ndarray | None]]], every: int = 1,
             metric_names=metrics.METRICS, seed: int = 0,
             progress: Callable[[int, int], None] | None = None) -> tuple[metrics.ProtocolScores, list[dict]]:
    """Score (truth, read_prediction) pairs; returns the protocol scores and one row per frame."""
    check_every(every)

    def frames(truth):
        return range(0, truth.n_frames, every)

    pool, owner = fixation_pool([t for t, _ in pairs], frames) if "auc_shuffled" in metric_names else ([], {})
    scores = metrics.ProtocolScores(tuple(metric_names))
    rows, total, done = [], sum(len(frames(t)) for t, _ in pairs), 0
    rng = np.random.default_rng(seed)
    for truth, read in pairs:
        for i, values in score_frames(truth, read, frames(truth), pool, owner, metric_names, rng):
            done += 1
            if values is not None:
                scores.add(truth.name, values)
                rows.append({"video": truth.name, "frame": i + 1, **values})
            if progress:
                progress(done, total)
    return scores, rows


def check_every(every: int) -> int:
    if every < 1:
        raise ConfigError(f"every {every}: score every N-th frame needs N of at least 1")
    return every


def dataset_truths(data_root: str | Path, layout: str | None = None, split: str = "val") -> list[AnnotationTruth]:
    """Annotated videos under a dataset root, a split folder, or one video folder."""
    from .datasets import SPLITS, discover

    root = Path(data_root)
    if (root / "maps").is_dir() or (root / "fixation").is_dir():
        return [AnnotationTruth(root.name, find_annotations(root))]
    if layout:
        return [AnnotationTruth(v.name, v.annotations) for v in discover(root, layout, split)]
    for layout_name, splits in SPLITS.items():
        if (root / splits[split]).is_dir():
            return [AnnotationTruth(v.name, v.annotations) for v in discover(root, layout_name, split)]
    # a folder of video folders
    return [AnnotationTruth(p.name, find_annotations(p)) for p in sorted(root.iterdir())
            if p.is_dir() and ((p / "maps").is_dir() or (p / "fixation").is_dir())]
