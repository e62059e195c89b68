"""Ground truth from fixations: binary fixation maps and continuous density maps, as DHF1K builds them.

`fixation_map` is DHF1K's record_mapping.m (video-pixel coordinates to a binary map);
`density_map` is its make_gauss_masks.m (a Gaussian at every fixated pixel). The metrics that
score predictions against them live in `metrics`.
"""
from __future__ import annotations

import math

import numpy as np


def matlab_round(x) -> np.ndarray:
    """Round half away from zero (MATLAB), not to even (numpy)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def fixation_map(xs, ys, shape: tuple[int, int], groups=None, grid: bool = False) -> np.ndarray:
    """Binary fixation map (uint8 0/1) from video-pixel coordinates, as DHF1K's record_mapping.m.

    A point maps to the 1-based pixel (round(y), round(x)); points with x <= 0, x >= W, y <= 0
    or y >= H are dropped (the script's bounds). `grid=True` reproduces the script's quirk
    `map(ys, xs) = 1`, which marks every (y, x) combination of one group's (observer's) points.
    """
    h, w = shape
    cols, rows = matlab_round(xs), matlab_round(ys)
    keep = (cols > 0) & (cols < w) & (rows > 0) & (rows < h)
    cols, rows = cols[keep].astype(np.int64) - 1, rows[keep].astype(np.int64) - 1
    out = np.zeros((h, w), dtype=np.uint8)
    if not grid:
        out[rows, cols] = 1
        return out
    groups = np.zeros(keep.sum(), dtype=np.int64) if groups is None else np.asarray(groups)[keep]
    for g in np.unique(groups):
        sel = groups == g
        out[np.ix_(rows[sel], cols[sel])] = 1
    return out


DHF1K_SIGMA = 30.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))   # FWHM 30 px -> 12.74 px


# up to this many fixated pixels, summing one separable Gaussian per pixel beats filtering the
# whole frame (a frame of eye tracking has one to a few dozen; a filter costs 2 x 103 taps a pixel)
SPARSE_POINTS = 64


def density_map(fixations: np.ndarray, sigma: float = DHF1K_SIGMA, kernel_size: int | None = None,
                border: str = "constant") -> np.ndarray:
    """Continuous ground truth: a Gaussian at every fixated pixel, summed, divided by its maximum.

    Defaults are DHF1K's make_gauss_masks.m (FWHM 30 px, Gaussians cut only by the frame).
    Hollywood-2 / UCF-Sports: `density_map(f, sigma=20, kernel_size=150, border="replicate")`.
    """
    import cv2

    f = (np.asarray(fixations) > 0).astype(np.float64)
    if not f.any():
        return np.zeros_like(f)
    size = kernel_size or 2 * int(math.ceil(4 * sigma)) + 1
    # fspecial('gaussian', size, sigma): centred taps, normalized; imfilter anchors at floor((size+1)/2)
    taps = np.arange(size) - (size - 1) / 2
    g1 = np.exp(-(taps ** 2) / (2 * sigma ** 2))
    g1 /= g1.sum()
    anchor = (size + 1) // 2 - 1
    rows, cols = np.nonzero(f)
    if border == "constant" and len(rows) <= SPARSE_POINTS:
        out = _sum_of_gaussians(rows, cols, f.shape, g1, anchor)
    else:
        mode = {"constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}[border]
        out = cv2.sepFilter2D(f, cv2.CV_64F, g1, g1, anchor=(anchor, anchor), borderType=mode)
    out = np.maximum(out, 0)
    return out / out.max()


def _sum_of_gaussians(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], g1: np.ndarray,
                      anchor: int) -> np.ndarray:
    """What `sepFilter2D` with a zero border gives for these fixated pixels, as a product of their
    vertical and horizontal Gaussians: out(y, x) = sum_p g1[r_p - y + anchor] g1[c_p - x + anchor]."""
    h, w = shape

    def taps(points: np.ndarray, n: int) -> np.ndarray:
        k = points[None, :] - np.arange(n)[:, None] + anchor        # (n, points): index into g1
        inside = (k >= 0) & (k < len(g1))
        return np.where(inside, g1[np.clip(k, 0, len(g1) - 1)], 0.0)

    return taps(rows, h) @ taps(cols, w).T
