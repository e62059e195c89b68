"""Saliency metrics, exactly as the DHF1K benchmark computes them (MIT saliency benchmark code).

Every function takes the saliency map first, then the fixation map (binary) or the
ground-truth map (continuous), as numpy arrays. A prediction of another size is resized to
the second map's size first, with a port of MATLAB's `imresize` (bicubic, antialiased when
shrinking), as the benchmark does. uint8 maps are read as MATLAB's `im2double` reads them.

NaN means "undefined for this frame" (no fixations, a constant prediction); the DHF1K
protocol drops such frames before averaging (`ProtocolScores`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

EPS = np.finfo(np.float64).eps        # MATLAB's eps, 2.220446049250313e-16 (not a rounded 2.2204e-16)
METRICS = ("auc_judd", "auc_shuffled", "nss", "cc", "sim", "kld")
DHF1K_METRICS = ("auc_judd", "sim", "auc_shuffled", "cc", "nss")   # the benchmark's five; KLD is extra

SeedLike = int | np.random.Generator | None


# --------------------------------------------------------------------------- MATLAB imresize


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


@lru_cache(maxsize=64)
def _contributions(in_len: int, out_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based source indices of MATLAB's imresize along one dimension."""
    scale = out_len / in_len
    width = 4.0
    kernel = _cubic
    if scale < 1:  # antialiasing: stretch the kernel when shrinking
        width = width / scale
        kernel = lambda x: scale * _cubic(scale * x)  # noqa: E731
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    weights = kernel(u[:, None] - idx)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    used = np.any(weights != 0, axis=0)
    return weights[:, used], idx[:, used]


def _resize_axis(img: np.ndarray, out_len: int, axis: int) -> np.ndarray:
    weights, idx = _contributions(img.shape[axis], out_len)
    moved = np.moveaxis(img, axis, 0)
    out = np.einsum("ok,ok...->o...", weights, moved[idx])
    return np.moveaxis(out, 0, axis)


def imresize(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """MATLAB `imresize(img, shape)` with its defaults (bicubic, antialiasing).

    uint8 input gives uint8 output, rounded after each pass as MATLAB does.
    """
    shape = tuple(int(s) for s in shape[:2])
    if img.shape[:2] == shape:
        return img
    is_uint8 = img.dtype == np.uint8
    out = img.astype(np.float64)
    scales = [shape[d] / img.shape[d] for d in (0, 1)]
    for axis in sorted((0, 1), key=lambda d: scales[d]):   # MATLAB resizes the smaller scale first
        out = _resize_axis(out, shape[axis], axis)
        if is_uint8:
            out = np.clip(np.round(out), 0, 255)
    return out.astype(np.uint8) if is_uint8 else out


def im2double(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float64) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float64) / 65535.0
    return np.asarray(img, dtype=np.float64)


def _prepare(saliency: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Resize the prediction to the reference's size; float64 as im2double reads it."""
    saliency = np.asarray(saliency)
    if saliency.ndim != 2 or np.asarray(reference).ndim != 2:
        raise ValueError(f"metrics take 2-D maps; got {saliency.shape} and {np.asarray(reference).shape}")
    return im2double(imresize(saliency, reference.shape))


def _minmax(s: np.ndarray) -> np.ndarray:
    lo, hi = s.min(), s.max()
    with np.errstate(invalid="ignore", divide="ignore"):
        return (s - lo) / (hi - lo)


def _rng(seed: SeedLike) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _trapz(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Trapezoidal area along the last axis (MATLAB trapz(x, y))."""
    return np.sum(np.diff(x, axis=-1) * (y[..., 1:] + y[..., :-1]) / 2, axis=-1)


# --------------------------------------------------------------------------- the six metrics


def auc_judd(saliency, fixations, jitter: bool = True, seed: SeedLike = 0) -> float:
    """AUC-Judd: every fixated value is a threshold; tied values count one by one (as the reference)."""
    fixations = np.asarray(fixations)
    s = _prepare(saliency, fixations)
    if not np.any(fixations):
        return math.nan
    if jitter:
        # breaks ties of models with many equal values (the reference adds rand/1e7)
        s = s + _rng(seed).random(s.shape) / 10000000
    s = _minmax(s)
    if np.isnan(s).all():
        return math.nan
    s = s.ravel()
    at_fix = s[fixations.ravel() > 0]
    n_fix, n_pix = at_fix.size, s.size
    thresholds = np.sort(at_fix)[::-1]
    above = n_pix - np.searchsorted(np.sort(s), thresholds, side="left")   # #{s >= t}
    i = np.arange(1, n_fix + 1)
    tp = np.concatenate([[0.0], i / n_fix, [1.0]])
    with np.errstate(invalid="ignore", divide="ignore"):   # every pixel fixated: NaN, as the reference
        fp = np.concatenate([[0.0], (above - i) / (n_pix - n_fix), [1.0]])
    return float(_trapz(fp, tp))


def auc_shuffled(saliency, fixations, other_fixations, n_splits: int = 100, step: float = 0.1,
                 seed: SeedLike = 0) -> float:
    """Shuffled AUC: negatives are the saliency values at other frames' fixations."""
    fixations = np.asarray(fixations)
    other = np.asarray(other_fixations)
    s = _prepare(saliency, fixations)
    if not np.any(fixations):
        return math.nan
    s = _minmax(s)
    if np.isnan(s).all():
        return math.nan
    s = s.ravel()
    at_fix = s[fixations.ravel() > 0]
    other_idx = np.flatnonzero(other.ravel() > 0)
    n_fix = at_fix.size
    n_oth = min(n_fix, other_idx.size)
    if n_oth == 0:
        return math.nan   # the reference divides by zero negatives
    rng = _rng(seed)
    picks = np.stack([rng.permutation(other_idx.size)[:n_oth] for _ in range(n_splits)])
    negatives = s[other_idx[picks]]                                # (splits, n_oth)
    limits = np.maximum(at_fix.max(), negatives.max(axis=1))
    ranges = [_octave_range(0.0, float(lim), step)[::-1] for lim in limits]
    width = max(len(r) for r in ranges)
    # pad the top with +inf thresholds: they add zero-width segments at (0, 0)
    thresholds = np.full((n_splits, width), np.inf)
    for k, r in enumerate(ranges):
        thresholds[k, width - len(r):] = r
    tp = (at_fix[None, None, :] >= thresholds[:, :, None]).mean(axis=2)
    fp = (negatives[:, None, :] >= thresholds[:, :, None]).mean(axis=2)
    zeros, ones = np.zeros((n_splits, 1)), np.ones((n_splits, 1))
    tp = np.concatenate([zeros, tp, ones], axis=1)
    fp = np.concatenate([zeros, fp, ones], axis=1)
    return float(np.mean(_trapz(fp, tp)))


def nss(saliency, fixations) -> float:
    """Normalized scanpath saliency: mean of the standardized map (sample std) at fixations."""
    fixations = np.asarray(fixations)
    s = _prepare(saliency, fixations)
    mask = fixations != 0
    if not mask.any():
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (s[mask] - s.mean()) / s.std(ddof=1)
    return float(z.mean())


def cc(saliency, ground_truth) -> float:
    """Pearson's linear correlation coefficient between prediction and continuous GT."""
    g = im2double(np.asarray(ground_truth))
    s = _prepare(saliency, g)
    # the reference standardizes both maps before corr2; Pearson's r is the same without it
    a, b = s - s.mean(), g - g.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.dot(a.ravel(), b.ravel()) / math.sqrt(np.dot(a.ravel(), a.ravel()) * np.dot(b.ravel(), b.ravel())))


def _as_distribution(m: np.ndarray, minmax: bool) -> np.ndarray:
    if not m.any():
        return m          # an all-zero map stays zero (reference)
    if minmax:
        m = _minmax(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return m / m.sum()


def sim(saliency, ground_truth) -> float:
    """Similarity (histogram intersection) of the two maps as distributions."""
    g = im2double(np.asarray(ground_truth))
    s = _prepare(saliency, g)
    return float(np.minimum(_as_distribution(s, True), _as_distribution(g, True)).sum())


def kld(saliency, ground_truth) -> float:
    """KL divergence of the GT from the prediction (both as distributions), MATLAB eps."""
    g = im2double(np.asarray(ground_truth))
    s = _prepare(saliency, g)
    p, q = _as_distribution(s, False), _as_distribution(g, False)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(q * np.log(EPS + q / (p + EPS))))


# --------------------------------------------------------------------------- Octave's colon operator


def _fuzzy_floor(x: float, ct: float) -> float:
    """Hagerty's FL5 (Octave's xtfloor): floor that forgives round-off below ct."""
    q = 1.0 if x >= 0 else 1.0 - ct
    rmax = q / (2.0 - ct)
    t1 = 1.0 + math.floor(x)
    t1 = (ct / q) * abs(t1)
    t1 = min(rmax, t1)
    t1 = max(ct, t1)
    t1 = math.floor(x + t1)
    return t1 if (x <= 0 or (t1 - x) < rmax) else t1 - 1


def _fuzzy_equal(u: float, v: float, ct: float) -> bool:
    return abs(u - v) < max(abs(u), abs(v)) * ct


def _octave_range(base: float, limit: float, inc: float) -> np.ndarray:
    """`base:inc:limit` element for element as Octave builds it (the oracle ran under Octave).

    Elements are base + i*inc; the last is clipped to `limit` when it would overshoot, so
    MATLAB's `0:0.1:1` holds 1.0 itself (a plain np.arange drops it).
    """
    if inc == 0 or (inc > 0 and base > limit):
        return np.empty(0)
    ct = 3 * EPS
    n = max(int(_fuzzy_floor((limit - base + inc) / inc, ct)), 0)
    if not _fuzzy_equal(base + (n - 1) * inc, limit, ct):
        if _fuzzy_equal(base + (n - 2) * inc, limit, ct):
            n -= 1
        elif _fuzzy_equal(base + n * inc, limit, ct):
            n += 1
    values = base + np.arange(n) * inc
    if n > 1 and values[-1] >= limit:
        values[-1] = limit
    return values


# --------------------------------------------------------------------------- shuffled-AUC negatives


def fixation_points(fixations: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """A binary map as (rows, cols, shape): what a pool of other frames keeps in memory."""
    rows, cols = np.nonzero(fixations)
    return rows, cols, tuple(fixations.shape)


def other_fixation_map(pool: list[tuple[np.ndarray, np.ndarray, tuple[int, int]]], shape: tuple[int, int],
                       n: int = 10, seed: SeedLike = 0, exclude: int | None = None) -> np.ndarray:
    """The shuffled-AUC negatives: fixations of `n` random frames of the dataset, rescaled to `shape`.

    `pool` holds `fixation_points` of every frame; `exclude` is the scored frame's own entry.
    """
    rng = _rng(seed)
    candidates = [i for i in range(len(pool)) if i != exclude]
    out = np.zeros(shape, dtype=np.uint8)
    for i in rng.choice(candidates, size=min(n, len(candidates)), replace=False):
        rows, cols, (sh, sw) = pool[i]
        r = np.minimum((rows * shape[0] / sh).astype(np.int64), shape[0] - 1)
        c = np.minimum((cols * shape[1] / sw).astype(np.int64), shape[1] - 1)
        out[r, c] = 1
    return out


# --------------------------------------------------------------------------- one frame, many frames


def frame_metrics(saliency, fixations=None, ground_truth=None, other=None,
                  metrics=METRICS, seed: SeedLike = 0) -> dict[str, float]:
    """The chosen metrics of one frame; a metric whose input is missing is NaN."""
    reference = fixations if fixations is not None else ground_truth
    s = saliency if reference is None else _prepare(saliency, np.asarray(reference))   # resize once
    has_fix, has_gt = fixations is not None, ground_truth is not None
    calls = {
        "auc_judd": (has_fix, lambda: auc_judd(s, fixations, seed=seed)),
        "auc_shuffled": (has_fix and other is not None, lambda: auc_shuffled(s, fixations, other, seed=seed)),
        "nss": (has_fix, lambda: nss(s, fixations)),
        "cc": (has_gt, lambda: cc(s, ground_truth)),
        "sim": (has_gt, lambda: sim(s, ground_truth)),
        "kld": (has_gt, lambda: kld(s, ground_truth)),
    }
    return {name: calls[name][1]() if calls[name][0] else math.nan for name in metrics}


@dataclass
class ProtocolScores:
    """DHF1K protocol: mean over all frames of all videos, NaN frames dropped per metric."""

    metrics: tuple[str, ...] = METRICS
    frames: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def add(self, video: str, scores: dict[str, float]) -> None:
        self.frames.setdefault(video, []).append(scores)

    @staticmethod
    def _mean(rows: list[dict[str, float]], name: str) -> float:
        values = np.array([r.get(name, math.nan) for r in rows], dtype=np.float64)
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else math.nan

    def per_video(self) -> dict[str, dict[str, float]]:
        return {v: {m: self._mean(rows, m) for m in self.metrics} for v, rows in self.frames.items()}

    def overall(self) -> dict[str, float]:
        rows = [r for video_rows in self.frames.values() for r in video_rows]
        return {m: self._mean(rows, m) for m in self.metrics}

    def frame_count(self) -> int:
        return sum(len(rows) for rows in self.frames.values())
