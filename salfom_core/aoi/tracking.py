"""Track forward: follow an AOI's content through the next frames of the video.

The AOI's bounding box at the start frame is the template; in each next frame OpenCV's
normalised cross-correlation (`TM_CCOEFF_NORMED`) looks for it in a search window around its
last position, the peak refined to a fraction of a pixel. The AOI follows by translation: a
keyframe every `every` frames and at the last frame followed. Tracking stops at the end of
the video (or after `max_frames`), when the best match scores under `threshold` (the content
changed or is hidden: the user re-anchors there), when the box leaves the picture, or when
`cancel()` says so. The template stays the start frame's, so errors do not accumulate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..io.video import VideoSource
from .keyframes import AOI, AoiError, Keyframe

MIN_TEMPLATE = 6          # pixels: a smaller box has too little content to match


@dataclass
class TrackResult:
    """What tracking found: `keyframes` (1-based frames after `start`), the last frame
    followed, why it stopped (`end`, `low score`, `left the picture`, `cancelled`), and the
    match score and offset from the start (dx, dy) of each frame followed."""

    start: int
    last: int
    stopped: str
    keyframes: list[Keyframe] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    offsets: list[tuple[float, float]] = field(default_factory=list)

    def apply(self, aoi: AOI) -> None:
        """Put the keyframes into `aoi` in place of those it had after `start` up to `last`."""
        if self.keyframes:
            aoi.replace_keyframes(self.keyframes, self.start + 1, self.last)


def _grey(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb


def _subpixel(scores: np.ndarray, x: int, y: int) -> tuple[float, float]:
    """The peak at (x, y) refined by a parabola through it and its neighbours on each axis."""
    def shift(a: float, b: float, c: float) -> float:
        curve = a - 2 * b + c
        return 0.0 if curve >= 0 else float(np.clip((a - c) / (2 * curve), -0.5, 0.5))

    h, w = scores.shape
    dx = shift(scores[y, x - 1], scores[y, x], scores[y, x + 1]) if 0 < x < w - 1 else 0.0
    dy = shift(scores[y - 1, x], scores[y, x], scores[y + 1, x]) if 0 < y < h - 1 else 0.0
    return x + dx, y + dy


def track_forward(source: VideoSource, aoi: AOI, start: int, *, every: int = 5, threshold: float = 0.4,
                  search: int | None = None, max_frames: int | None = None,
                  progress: Callable[[int, int], object] | None = None,
                  cancel: Callable[[], bool] | None = None) -> TrackResult:
    """Follow `aoi` from frame `start` (1-based, where it is active) through the next frames.

    `search`: how far (pixels) the content may move between two frames (default: half the
    box's larger side, at least 16). `progress(done, total)` after each frame."""
    import cv2

    if every < 1:
        raise AoiError(f"track every {every} frames: at least 1")
    if not 0 < threshold < 1:
        raise AoiError(f"track threshold {threshold}: between 0 and 1")
    n_frames = len(source)
    if not 1 <= start <= n_frames:
        raise AoiError(f"AOI {aoi.name!r}: frame {start} is outside the video's {n_frames} frames")
    vertices = aoi.vertices_at(start)
    if vertices is None:
        raise AoiError(f"AOI {aoi.name!r} is not shown at frame {start}: nothing to track")
    first = _grey(source.read(start - 1))
    h, w = first.shape
    v = np.asarray(vertices)
    # the box in array coordinates: the pixel at column j stands at x = j + 1
    x0, y0 = max(int(round(v[:, 0].min())) - 1, 0), max(int(round(v[:, 1].min())) - 1, 0)
    x1, y1 = min(int(round(v[:, 0].max())), w), min(int(round(v[:, 1].max())), h)
    if x1 - x0 < MIN_TEMPLATE or y1 - y0 < MIN_TEMPLATE:
        raise AoiError(f"AOI {aoi.name!r} covers under {MIN_TEMPLATE}x{MIN_TEMPLATE} pixels of the picture "
                       f"at frame {start}: too little to track")
    template = first[y0:y1, x0:x1]
    th, tw = template.shape
    margin = search if search is not None else max(16, int(math.ceil(max(tw, th) / 2)))
    last_frame = n_frames if max_frames is None else min(n_frames, start + max_frames)
    total = last_frame - start
    result = TrackResult(start, start, "end")
    px, py = float(x0), float(y0)             # the template's top-left corner, where last found
    for done, (index, rgb) in enumerate(source.iter_frames(start, last_frame), 1):
        frame = index + 1
        grey = _grey(rgb)
        wx0, wy0 = max(int(round(px)) - margin, 0), max(int(round(py)) - margin, 0)
        wx1, wy1 = min(int(round(px)) + tw + margin, w), min(int(round(py)) + th + margin, h)
        if wx1 - wx0 < tw or wy1 - wy0 < th:
            result.stopped = "left the picture"
            break
        scores = cv2.matchTemplate(grey[wy0:wy1, wx0:wx1], template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if not best >= threshold:            # NaN (a flat window) counts as a failed match
            result.stopped = "low score"
            break
        sx, sy = _subpixel(scores, bx, by)
        px, py = wx0 + sx, wy0 + sy
        dx, dy = px - x0, py - y0
        result.scores.append(float(best))
        result.offsets.append((dx, dy))
        result.last = frame
        if (frame - start) % every == 0:
            result.keyframes.append(_shifted(frame, vertices, dx, dy))
        if progress:
            progress(done, total)
        if cancel and cancel():
            result.stopped = "cancelled"
            break
    if result.last > start and (not result.keyframes or result.keyframes[-1].frame != result.last):
        dx, dy = result.offsets[-1]
        result.keyframes.append(_shifted(result.last, vertices, dx, dy))
    return result


def _shifted(frame: int, vertices, dx: float, dy: float) -> Keyframe:
    return Keyframe(frame, True, tuple((round(x + dx, 2), round(y + dy, 2)) for x, y in vertices))
