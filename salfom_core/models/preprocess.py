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


def postprocess_to_uint8(saliency: np.ndarray, size: tuple[int, int], blur: bool = True, work: dict | None = None,
                         out: np.ndarray | None = None, fused: bool = False) -> np.ndarray:
    """`to_uint8(postprocess_map(saliency, size, blur))`, the same float32 operations (so the
    same bytes), into float buffers kept in `work` from call to call: at 1080p a fresh 8 MB
    array per map costs more in page faults than the blur. `out`: the (H, W) uint8 result.

    `fused`: the 8-bit scaling in one OpenCV pass (x * a + b, rounded), several times faster
    than the passes of `to_uint8` at 1080p; its float32 arithmetic differs from theirs by about
    1e-5 of a level, so a pixel on a rounding tie may come out one level apart."""
    w, h = size
    work = {} if work is None else work
    if work.get("size") != (w, h):
        work.update(size=(w, h), resized=np.empty((h, w), np.float32), blurred=np.empty((h, w), np.float32))
    out = np.empty((h, w), np.uint8) if out is None else out
    x = cv2.resize(np.ascontiguousarray(saliency, dtype=np.float32), (w, h), dst=work["resized"],
                   interpolation=cv2.INTER_LINEAR)
    if blur:
        x = cv2.GaussianBlur(x, (BLUR_KERNEL, BLUR_KERNEL), 0, dst=work["blurred"])
    if fused:
        _scale_to_uint8_fused(x, out)
    else:
        to_uint8_into(x, out)
    return out


def _scale_to_uint8_fused(saliency: np.ndarray, out: np.ndarray) -> None:
    lo, hi, _, _ = cv2.minMaxLoc(saliency)
    if hi <= lo:
        out[...] = 0
        return
    scale = 255.0 / (hi - lo)
    # |x * scale - lo * scale|: x >= lo, so the absolute value changes nothing but a -0
    cv2.convertScaleAbs(saliency, dst=out, alpha=scale, beta=-lo * scale)


def to_uint8_into(saliency: np.ndarray, out: np.ndarray) -> None:
    """`to_uint8` (the same float32 operations, so the same bytes), in place: one pass for the
    range, no temporary arrays. `saliency` is overwritten."""
    lo, hi, _, _ = cv2.minMaxLoc(saliency)
    if hi <= lo:
        out[...] = 0
        return
    saliency -= lo
    saliency *= 255.0 / (hi - lo)
    np.rint(saliency, out=saliency)
    np.copyto(out, saliency, casting="unsafe")


def to_uint8(saliency: np.ndarray) -> np.ndarray:
    """Min-max normalized to 0..255, as the reference writes its maps."""
    lo, hi = float(saliency.min()), float(saliency.max())
    if hi <= lo:
        return np.zeros(saliency.shape, np.uint8)
    return np.round((saliency - lo) * (255.0 / (hi - lo))).astype(np.uint8)
