"""Scoring predicted maps by the DHF1K protocol against annotation folders or raw gaze."""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from ..errors import ConfigError
from . import metrics
from .truths import GroundTruth

NO_PREDICTION, NO_FIXATION = "no prediction", "no fixation"
SKIP_REASONS = (NO_PREDICTION, NO_FIXATION)
# metrics where a lower value is better (the worst frame is the highest)
LOWER_IS_BETTER = frozenset({"kld"})


class EvaluationGapError(ValueError):
    """--strict: a frame could not be scored."""


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


def _has_content(m: np.ndarray | None) -> bool:
    return m is not None and bool(np.any(m))


def score_frames(truth: GroundTruth, read: Callable[[int], np.ndarray | None], frames: Iterable[int],
                 pool, owner: dict, metric_names=metrics.METRICS, seed: int = 0,
                 skipped: Callable[[int, str], None] | None = None):
    """Yield (frame, {metric: value}) for each frame; values None where nothing can be scored
    (no prediction yet, or no fixation: neither fixated pixels nor a ground-truth map), and
    `skipped(frame, reason)` is told why. `pool`/`owner` come from `fixation_pool`. Each frame
    draws from its own stream (`frame_rng`): its values are `score_video`'s, in any order."""
    for i in frames:
        i = int(i)
        fix, gt = (truth.fixations(i), truth.gt_map(i)) if i < truth.n_frames else (None, None)
        # a frame without fixations can never be scored: say so before blaming the prediction
        prediction = read(i) if _has_content(fix) or _has_content(gt) else None
        reason = NO_FIXATION if not (_has_content(fix) or _has_content(gt)) else \
            NO_PREDICTION if prediction is None else None
        if reason:
            if skipped:
                skipped(i, reason)
            yield i, None
            continue
        shape = (fix if fix is not None else gt).shape
        rng = frame_rng(seed, truth.name, i)
        other = metrics.other_fixation_map(pool, shape, seed=rng, exclude=owner.get((truth.name, i))) \
            if pool and fix is not None else None
        yield i, metrics.frame_metrics(prediction, fix, gt, other, metric_names, seed=rng)


@dataclass
class VideoScores:
    """One model's per-frame metrics on one video, and the frames it could not score."""

    name: str
    metric_names: tuple[str, ...]
    frames: list[int] = field(default_factory=list)               # 0-based, scored
    values: list[dict[str, float]] = field(default_factory=list)  # parallel to `frames`
    skipped: dict[str, list[int]] = field(default_factory=dict)   # reason -> 0-based frames

    @property
    def n_skipped(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def mean(self, metric: str) -> float:
        values = np.array([v[metric] for v in self.values], dtype=np.float64)
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else math.nan

    def worst_frame(self, metric: str) -> int | None:
        """The 0-based frame where `metric` is worst (None when none is finite)."""
        values = np.array([v[metric] for v in self.values], dtype=np.float64)
        if not np.isfinite(values).any():
            return None
        pick = np.nanargmax if metric in LOWER_IS_BETTER else np.nanargmin
        return self.frames[int(pick(np.where(np.isfinite(values), values, np.nan)))]

    def describe(self) -> str:
        """'0002: 700 of 783 frames scored; 83 skipped: no prediction (frames 701-783)'."""
        total = len(self.frames) + self.n_skipped
        text = f"{self.name}: {len(self.frames)} of {total} frames scored"
        if self.n_skipped:
            reasons = ", ".join(f"{reason} (frames {frame_ranges(frames)})"
                                for reason, frames in self.skipped.items() if frames)
            text += f"; {self.n_skipped} skipped: {reasons}"
        return text


def frame_ranges(frames: list[int], limit: int = 6) -> str:
    """0-based frames as 1-based ranges: [4, 5, 6, 39] -> '5-7, 40'."""
    runs, start = [], None
    for k, f in enumerate(frames):
        if start is None:
            start = f
        if k + 1 == len(frames) or frames[k + 1] != f + 1:
            runs.append(f"{start + 1}" if start == f else f"{start + 1}-{f + 1}")
            start = None
    return ", ".join(runs[:limit]) + (f", ... ({len(runs) - limit} more)" if len(runs) > limit else "")


def video_seed(seed: int, name: str) -> list[int]:
    """The random streams of one video: the same whatever order videos are scored in (the app's
    background scoring, the CLI) so that per-video scores can be cached and pooled later."""
    return [seed, zlib.crc32(name.encode())]


# Bumped whenever the draws behind a score change: cached scores of another scheme are stale.
SEEDING = "per-frame-1"


def frame_rng(seed: int, name: str, frame: int) -> np.random.Generator:
    """The random stream of one frame of one video (the shuffled-AUC negatives, AUC-Judd's
    jitter): a frame's score does not depend on which frames were scored before it, so the
    app, scoring the frames as they are computed, gives `salfom evaluate`'s numbers."""
    return np.random.default_rng([*video_seed(seed, name), int(frame)])


def score_video(truth: GroundTruth, read: Callable[[int], np.ndarray | None], pool=(), owner=None,
                metric_names=metrics.METRICS, seed: int = 0, every: int = 1, strict: bool = False,
                progress: Callable[[int], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> VideoScores | None:
    """Every `every`-th frame of one video; None when cancelled. `strict`: the first frame that
    cannot be scored raises `EvaluationGapError`."""
    results = score_video_models(truth, {"": read}, pool, owner, metric_names, seed, every, strict, progress, cancel)
    return None if results is None else results[""]


def score_video_models(truth: GroundTruth, readers: dict[str, Callable[[int], np.ndarray | None]], pool=(),
                       owner=None, metric_names=metrics.METRICS, seed: int = 0, every: int = 1,
                       strict: bool = False, progress: Callable[[int], None] | None = None,
                       cancel: Callable[[], bool] | None = None) -> dict[str, VideoScores] | None:
    """Several models on one video, reading its ground truth once per frame. Each frame draws
    from its own random stream, seeded by (seed, video, frame): its scores are those of a run
    alone, in any order.
    `progress(n)` counts model-frames; None when `cancel()` turned true."""
    names = tuple(metric_names)
    results = {model: VideoScores(truth.name, names) for model in readers}
    pool, owner = list(pool), owner or {}
    for i in range(0, truth.n_frames, every):
        fix, gt = truth.fixations(i), truth.gt_map(i)
        annotated = _has_content(fix) or _has_content(gt)
        for model, read in readers.items():
            prediction = read(i) if annotated else None
            reason = NO_FIXATION if not annotated else NO_PREDICTION if prediction is None else None
            if reason:
                if strict:
                    raise EvaluationGapError(f"{f'{model}: ' if model else ''}{truth.name}: frame {i + 1} "
                                             f"has {reason} (--strict)")
                results[model].skipped.setdefault(reason, []).append(i)
                continue
            rng = frame_rng(seed, truth.name, i)     # each model alone draws the same
            shape = (fix if fix is not None else gt).shape
            other = metrics.other_fixation_map(pool, shape, seed=rng, exclude=owner.get((truth.name, i))) \
                if pool and fix is not None else None
            results[model].frames.append(i)
            results[model].values.append(metrics.frame_metrics(prediction, fix, gt, other, names, seed=rng))
        if progress:
            progress(len(readers))
        if cancel and cancel():
            return None
    return results


@dataclass
class ModelScores:
    """One model over a dataset: per-video scores, pooled by the DHF1K protocol."""

    name: str
    videos: list[VideoScores]
    metric_names: tuple[str, ...] = metrics.METRICS

    @property
    def scores(self) -> metrics.ProtocolScores:
        """Mean over all scored frames of all videos (NaN frames dropped per metric)."""
        pooled = metrics.ProtocolScores(tuple(self.metric_names))
        for video in self.videos:
            for values in video.values:
                pooled.add(video.name, values)
        return pooled

    def skipped(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for video in self.videos:
            for reason, frames in video.skipped.items():
                out[reason] = out.get(reason, 0) + len(frames)
        return out

    def rows(self) -> list[dict]:
        """One row per scored frame (1-based frame numbers, as the files are named)."""
        return [{"video": v.name, "frame": i + 1, **values} for v in self.videos for i, values in zip(v.frames, v.values)]


def score_model(name: str, pairs: list[tuple[GroundTruth, Callable[[int], np.ndarray | None]]], every: int = 1,
                metric_names=metrics.METRICS, seed: int = 0, strict: bool = False, pool=None,
                progress: Callable[[int], None] | None = None) -> ModelScores:
    """Score (truth, read_prediction) pairs; the shuffled-AUC pool comes from all their truths
    unless given (several models share one)."""
    metric_names = tuple(metric_names)
    if pool is None:
        pool = shuffled_auc_pool([t for t, _ in pairs], every, metric_names)
    videos = [score_video(truth, read, pool[0], pool[1], metric_names, seed, every, strict, progress)
              for truth, read in pairs]
    return ModelScores(name, videos, metric_names)


def score_models(truths: list[GroundTruth], models: list, every: int = 1, metric_names=metrics.METRICS,
                 seed: int = 0, strict: bool = False, jobs: int = 1,
                 progress: Callable[[int], None] | None = None) -> list[ModelScores]:
    """Every model (an object with `.name` and `.reader(truth)`: `PredictionRoot`,
    `CenterBiasMaps`) on every video, the truth read once per frame for all models, on the
    same shuffled-AUC pool. `jobs` > 1 scores videos in that many processes; the numbers are
    the same (each video has its own random streams). `progress(n)` counts model-frames."""
    metric_names = tuple(metric_names)
    pool = shuffled_auc_pool(truths, every, metric_names)
    args = [(truth, models, pool, metric_names, seed, every, strict) for truth in truths]
    if jobs > 1 and len(truths) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: a clean interpreter per worker, whatever threads the caller runs (tqdm, Qt)
        with ProcessPoolExecutor(min(jobs, len(truths)), mp_context=multiprocessing.get_context("spawn")) as ex:
            per_video = []
            for truth, result in zip(truths, ex.map(_score_video_job, args)):
                per_video.append(result)
                if progress:
                    progress(len(models) * len(range(0, truth.n_frames, every)))
    else:
        per_video = [_score_video_job(a, progress) for a in args]
    return [ModelScores(m.name, [video[k] for video in per_video], metric_names) for k, m in enumerate(models)]


def _score_video_job(job, progress=None) -> list[VideoScores]:
    truth, models, (pool, owner), metric_names, seed, every, strict = job
    readers = {m.name: m.reader(truth) for m in models}
    if len(readers) != len(models):
        raise ValueError("models to score need distinct names")
    results = score_video_models(truth, readers, pool, owner, metric_names, seed, every, strict, progress)
    return [results[m.name] for m in models]


def shuffled_auc_pool(truths: list[GroundTruth], every: int = 1, metric_names=metrics.METRICS):
    if "auc_shuffled" not in metric_names:
        return [], {}
    return fixation_pool(truths, lambda t: range(0, t.n_frames, every))


def evaluate(pairs: list[tuple[GroundTruth, Callable[[int], np.ndarray | None]]], every: int = 1,
             metric_names=metrics.METRICS, seed: int = 0,
             progress: Callable[[int, int], None] | None = None) -> tuple[metrics.ProtocolScores, list[dict]]:
    """Score (truth, read_prediction) pairs; returns the protocol scores and one row per frame."""
    check_every(every)
    total, done = sum(len(range(0, t.n_frames, every)) for t, _ in pairs), [0]

    def step(n):
        done[0] += n
        if progress:
            progress(done[0], total)

    result = score_model("", pairs, every, metric_names, seed, progress=step)
    return result.scores, result.rows()


def check_every(every: int) -> int:
    if every < 1:
        raise ConfigError(f"every {every}: score every N-th frame needs N of at least 1")
    return every
