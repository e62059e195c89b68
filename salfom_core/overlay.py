"""Heatmap colouring and blending, shared by the CLI's overlay video and the app."""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .errors import ConfigError

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
