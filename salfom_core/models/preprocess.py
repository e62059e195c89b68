"""Model input and output conversions (SALFOM_SPEC.md, Preprocessing and Inference protocol)."""
from __future__ import annotations

import cv2
import numpy as np
import torch

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
BLUR_KERNEL = 11


def preprocess_frame(frame: np.ndarray, size: int = 224) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> normalized float32 (3, size, size); aspect ratio not kept (spec)."""
    resized = cv2.resize(frame, (size, size), interpolation=cv2.INTER_LINEAR)
    x = (resized.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def clip_tensor(frames: list[np.ndarray] | np.ndarray) -> torch.Tensor:
    """Preprocessed frames (T, 3, S, S) -> a model clip (3, T, S, S)."""
    return torch.from_numpy(np.stack(frames, axis=1))


def postprocess_map(saliency: np.ndarray, size: tuple[int, int], blur: bool = True) -> np.ndarray:
    """A model map (h, w) -> (H, W) float32 at the frame's size, blurred with kernel 11 (spec)."""
    w, h = size
    out = cv2.resize(saliency.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    if blur:
        out = cv2.GaussianBlur(out, (BLUR_KERNEL, BLUR_KERNEL), 0)
    return out


def to_uint8(saliency: np.ndarray) -> np.ndarray:
    """Min-max normalized to 0..255, as the reference writes its maps."""
    lo, hi = float(saliency.min()), float(saliency.max())
    if hi <= lo:
        return np.zeros(saliency.shape, np.uint8)
    return np.round((saliency - lo) * (255.0 / (hi - lo))).astype(np.uint8)
