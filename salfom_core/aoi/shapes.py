"""AOI shapes (AOI_SPEC.md, "The AOI file"): which points are inside, and which map pixels.

A shape is its kind (`rect`, `ellipse`, `polygon`) and its vertices in video pixels:
- `rect`: two corners, inside when x0 <= x <= x1 and y0 <= y <= y1 (either corner order);
- `ellipse`: two corners of its bounding box, inside when ((x-cx)/rx)^2 + ((y-cy)/ry)^2 <= 1;
- `polygon`: three or more vertices in order, inside by the even-odd rule.

Pixels follow the project's gaze convention: the 0-based map pixel [i, j] stands at the point
(x, y) = (j + 1, i + 1), and belongs to the AOI when that point does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SHAPES = ("rect", "ellipse", "polygon")


def vertex_problem(shape: str, n_vertices: int) -> str | None:
    """Why `n_vertices` cannot make a `shape`, or None when they can."""
    if shape not in SHAPES:
        return f"unknown shape {shape!r} (expected {', '.join(SHAPES)})"
    if shape == "polygon" and n_vertices < 3:
        return f"too few vertices for a polygon: {n_vertices} (at least 3)"
    if shape != "polygon" and n_vertices != 2:
        return f"a {shape} takes 2 vertices (two corners), not {n_vertices}"
    return None


def contains(shape: str, vertices, x, y) -> np.ndarray:
    """Which points (x, y) (arrays of one shape) are inside; a bool array of that shape."""
    v = np.asarray(vertices, dtype=np.float64)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if shape == "rect":
        (x0, x1), (y0, y1) = sorted(v[:, 0]), sorted(v[:, 1])
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    if shape == "ellipse":
        return _in_ellipse(v, x, y)
    if shape == "polygon":
        return _in_polygon(v, x, y)
    raise ValueError(vertex_problem(shape, len(v)))


def _in_ellipse(v: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    cx, cy = v[:, 0].sum() / 2, v[:, 1].sum() / 2
    rx, ry = abs(v[1, 0] - v[0, 0]) / 2, abs(v[1, 1] - v[0, 1]) / 2
    # multiplied out, so a boundary point with whole or half coordinates is exactly on it
    # (0.6 ** 2 + 0.8 ** 2 is not 1.0 in floating point; 36 * 25 + 16 * 100 == 2500 is)
    return (x - cx) ** 2 * ry ** 2 + (y - cy) ** 2 * rx ** 2 <= rx ** 2 * ry ** 2


def _in_polygon(v: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd rule: a ray from the point towards +x crosses the outline an odd number of times."""
    inside = np.zeros(np.broadcast(x, y).shape, dtype=bool)
    points = v.tolist()              # plain floats: the loop runs per edge, for every frame
    for (xa, ya), (xb, yb) in zip(points, points[1:] + points[:1]):
        if ya == yb:
            continue            # a horizontal edge: the half-open test below never counts it
        straddles = (ya > y) != (yb > y)
        x_cross = xa + (y - ya) * (xb - xa) / (yb - ya)
        inside ^= straddles & (x < x_cross)
    return inside


@dataclass(frozen=True)
class Region:
    """A shape's pixels on a W x H map: `mask` over the rows `r0:r1` and columns `c0:c1`."""

    r0: int
    r1: int
    c0: int
    c1: int
    mask: np.ndarray        # bool (r1 - r0, c1 - c0)
    pixels: int             # how many pixels are inside

    def sum(self, image: np.ndarray) -> float:
        """The sum of `image` (H, W) over the region's pixels."""
        if not self.pixels:
            return 0.0
        return float(image[self.r0:self.r1, self.c0:self.c1][self.mask].sum(dtype=np.float64))


def region(shape: str, vertices, size: tuple[int, int]) -> Region:
    """The pixels of a `size` (W, H) map that belong to the shape, tested only in its bounding box."""
    w, h = size
    v = np.asarray(vertices, dtype=np.float64)
    # pixel column j stands at x = j + 1: the box of columns whose points can be inside
    c0 = min(max(int(math.floor(v[:, 0].min())) - 1, 0), w)
    c1 = min(max(int(math.ceil(v[:, 0].max())), 0), w)
    r0 = min(max(int(math.floor(v[:, 1].min())) - 1, 0), h)
    r1 = min(max(int(math.ceil(v[:, 1].max())), 0), h)
    cols = np.arange(c0, c1, dtype=np.float64) + 1
    rows = np.arange(r0, r1, dtype=np.float64) + 1
    mask = contains(shape, v, cols[None, :], rows[:, None])
    mask = np.broadcast_to(mask, (r1 - r0, c1 - c0)).copy()
    return Region(r0, r1, c0, c1, mask, int(mask.sum()))


def full_mask(shape: str, vertices, size: tuple[int, int]) -> np.ndarray:
    """The shape's pixels as a bool (H, W) mask (for drawing and exports)."""
    w, h = size
    reg = region(shape, vertices, size)
    out = np.zeros((h, w), dtype=bool)
    out[reg.r0:reg.r1, reg.c0:reg.c1] = reg.mask
    return out
