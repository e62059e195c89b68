"""Synthetic videos whose saliency is known: a moving object on a textured background.

Used by the tests (small datasets in each standard layout) and by the bundled demo
(simulated observers whose gaze follows the moving objects). Everything is seeded.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from .ground_truth import density_map, fixation_map


def object_track(n_frames: int, size: tuple[int, int], seed: int = 0, n_objects: int = 1) -> np.ndarray:
    """Centres (n_frames, n_objects, 2) of objects moving on smooth Lissajous paths."""
    w, h = size
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[:, None]
    fx, fy = rng.uniform(0.02, 0.06, n_objects), rng.uniform(0.03, 0.07, n_objects)
    px, py = rng.uniform(0, 2 * math.pi, n_objects), rng.uniform(0, 2 * math.pi, n_objects)
    x = w * (0.5 + 0.33 * np.sin(fx * t + px))
    y = h * (0.5 + 0.3 * np.sin(fy * t + py))
    return np.stack([x, y], axis=-1)


def render_frames(track: np.ndarray, size: tuple[int, int], seed: int = 0, radius: float | None = None,
                  muted: bool = False):
    """Yield RGB frames: a low-contrast textured background, bright discs at the track.

    `muted`: a calm, dark blue-grey background (the bundled demo), so that a heatmap drawn
    over it stands out; the default colour texture is busier (harder for the models in tests).
    """
    w, h = size
    rng = np.random.default_rng(seed)
    # large soft blobs: texture that pans, lower in contrast than the objects
    wide = w + len(track)      # a texture wider than the frame: the view slides over it, no seam
    channels = 1 if muted else 3
    blur = max(2.0, min(w, h) / (8 if muted else 30))
    noise = cv2.GaussianBlur(rng.random((h, wide, channels)).astype(np.float32), (0, 0), blur)
    noise = noise.reshape(h, wide, channels)
    noise = (noise - noise.min()) / (noise.max() - noise.min() + 1e-6)
    if muted:
        tint = np.array([0.85, 0.92, 1.0], np.float32)       # dark slate: no hue the colormaps use
        base = ((38 + 34 * noise) * tint).astype(np.uint8)
    else:
        base = (30 + 110 * noise).astype(np.uint8)
    radius = radius or max(3.0, min(w, h) / 14)
    colours = [(250, 210, 40), (60, 220, 250), (250, 90, 160)]
    for k, centres in enumerate(track):
        frame = base[:, k:k + w].copy()               # a panning background, so frames differ
        for j, (x, y) in enumerate(centres):
            cv2.circle(frame, (int(round(x)), int(round(y))), int(radius), colours[j % 3], -1, cv2.LINE_AA)
        yield frame


def simulated_gaze(track: np.ndarray, n_observers: int = 8, seed: int = 0, spread: float = 6.0,
                   lag_frames: int = 3):
    """Observers fixating near one of the objects (each keeps a favourite), with a short lag."""
    rng = np.random.default_rng(seed)
    frames, xs, ys, obs = [], [], [], []
    n_frames, n_objects, _ = track.shape
    for o in range(n_observers):
        favourite = o % n_objects
        for k in range(n_frames):
            if rng.random() < 0.1:     # blinks and saccades: no fixation this frame
                continue
            target = track[max(0, k - lag_frames), favourite]
            x, y = target + rng.normal(0, spread, 2)
            frames.append(k), xs.append(x), ys.append(y), obs.append(o)
    return np.array(frames), np.array(xs), np.array(ys), np.array(obs)


def write_annotated_video(folder: Path, n_frames: int, size=(128, 96), seed: int = 0, name_prefix: str = "",
                          frame_suffix: str = ".png", n_observers: int = 6) -> None:
    """One video in the standard annotation layout: images/, maps/, fixation/ (1-based names)."""
    track = object_track(n_frames, size, seed)
    frames, xs, ys, obs = simulated_gaze(track, n_observers, seed)
    for sub in ("images", "maps", "fixation"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(render_frames(track, size, seed)):
        stem = f"{name_prefix}{k + 1:03d}" if name_prefix else f"{k + 1:04d}"   # UCF vs DHF1K naming
        cv2.imwrite(str(folder / "images" / (stem + frame_suffix)), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        sel = frames == k
        fix = fixation_map(xs[sel], ys[sel], (size[1], size[0]))
        cv2.imwrite(str(folder / "fixation" / f"{stem}.png"), fix * 255)
        cv2.imwrite(str(folder / "maps" / f"{stem}.png"), np.round(density_map(fix, sigma=6) * 255).astype(np.uint8))


def write_dataset(root: Path, layout: str = "dhf1k", videos: dict[str, int] | None = None,
                  size=(128, 96)) -> Path:
    """A small dataset: DHF1K (`train/`, `val/`, `0001/`) or Hollywood-2/UCF (`training/`, `testing/`)."""
    videos = videos or {"train": 3, "val": 2}
    splits = {"train": "train", "val": "val"} if layout == "dhf1k" else {"train": "training", "val": "testing"}
    seed = 0
    for split, count in videos.items():
        for i in range(count):
            seed += 1
            if layout == "dhf1k":
                folder, prefix, suffix = root / splits[split] / f"{seed:04d}", "", ".png"
            else:
                folder, prefix, suffix = root / splits[split] / f"Action-{seed:03d}", f"Action_{seed:03d}_", ".jpg"
            write_annotated_video(folder, 40, size, seed, prefix, suffix)
    return root
