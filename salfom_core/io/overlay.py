"""Heatmap colouring and blending, shared by the CLI's overlay video and the app."""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ..errors import ConfigError

COLORMAPS = {"jet": cv2.COLORMAP_JET, "viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA,
             "inferno": cv2.COLORMAP_INFERNO, "cividis": cv2.COLORMAP_CIVIDIS, "turbo": cv2.COLORMAP_TURBO,
             "hot": cv2.COLORMAP_HOT}


@lru_cache(maxsize=None)
def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB lookup table of a named colormap."""
    if name not in COLORMAPS:
        raise ConfigError(f"unknown colormap {name!r}; one of {', '.join(COLORMAPS)}")
    bgr = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], COLORMAPS[name])[:, 0]
    return np.ascontiguousarray(bgr[:, ::-1])


def blend(frame: np.ndarray, saliency_u8: np.ndarray, colormap: str = "jet", opacity: float = 0.5,
          threshold: float = 0.0) -> np.ndarray:
    """The frame with the coloured map over it; opacity grows with saliency, zero below `threshold`."""
    if saliency_u8.shape != frame.shape[:2]:
        saliency_u8 = cv2.resize(saliency_u8, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
    heat = colormap_lut(colormap)[saliency_u8]
    alpha = saliency_u8.astype(np.float32) * (opacity / 255.0)
    if threshold > 0:
        alpha[saliency_u8 < threshold * 255] = 0
    alpha = alpha[..., None]
    return (frame * (1 - alpha) + heat * alpha).astype(np.uint8)


# One colour per observer, shared by the app's markers and the exported overlays.
OBSERVER_COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
                    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
                    (170, 255, 195), (128, 128, 0)]
MARKER_STYLES = ("ring", "cross", "dot")


def observer_colour(observer: int) -> tuple[int, int, int]:
    return OBSERVER_COLOURS[observer % len(OBSERVER_COLOURS)] if observer >= 0 else (255, 255, 255)


def one_per_observer(xs, ys, observers):
    """A marker per observer and frame: eye trackers give several samples per frame (DHF1K's at
    250 Hz: about eight), drawn one by one they pile into thick blots over the map. Each known
    observer's samples become their median point; samples of unknown observers (-1) stay."""
    xs, ys, observers = np.asarray(xs, float), np.asarray(ys, float), np.asarray(observers)
    known = observers >= 0
    ids = np.unique(observers[known])
    mx = [np.median(xs[observers == o]) for o in ids] + list(xs[~known])
    my = [np.median(ys[observers == o]) for o in ids] + list(ys[~known])
    return np.array(mx), np.array(my), np.concatenate([ids, observers[~known]]).astype(int)


def draw_fixations(image: np.ndarray, xs, ys, observers, style: str = "ring", size: int = 14,
                   opacity: float = 0.9) -> np.ndarray:
    """Fixation markers as the app draws them: a thin dark outline under the observer's colour;
    rings and crosses leave the map under their centre visible. `xs`, `ys` are benchmark
    coordinates (1-based pixel centres); `size` is the marker's diameter in pixels."""
    if style not in MARKER_STYLES:
        raise ValueError(f"marker style must be one of {MARKER_STYLES}, not {style!r}")
    if len(xs) == 0:
        return image
    xs, ys, observers = one_per_observer(xs, ys, observers)
    marks = image.copy()
    radius = max(2, size // 2)
    for x, y, o in zip(xs, ys, observers):
        centre = (int(round(x - 1)), int(round(y - 1)))
        colour = observer_colour(int(o))
        if style == "ring":
            cv2.circle(marks, centre, radius, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.circle(marks, centre, radius, colour, 2, cv2.LINE_AA)
        elif style == "cross":
            for dx, dy in ((radius, 0), (0, radius)):
                a, b = (centre[0] - dx, centre[1] - dy), (centre[0] + dx, centre[1] + dy)
                cv2.line(marks, a, b, (0, 0, 0), 3, cv2.LINE_AA)
                cv2.line(marks, a, b, colour, 2, cv2.LINE_AA)
        else:
            cv2.circle(marks, centre, max(2, radius // 2), colour, -1, cv2.LINE_AA)
            cv2.circle(marks, centre, max(2, radius // 2), (0, 0, 0), 1, cv2.LINE_AA)
    return cv2.addWeighted(marks, opacity, image, 1 - opacity, 0) if opacity < 1 else marks
