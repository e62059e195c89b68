"""Raw SMI exports (iView / BeGaze text files, one per observer), as DHF1K recorded them."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ConfigError, GazeError
from ..files import natural_key
from ..frame_clock import as_clock
from .data import FixationEvents, GazeData


@dataclass(frozen=True)
class ScreenGeometry:
    """How the video was shown: scaled to the screen width, centred vertically (DHF1K)."""

    width: int = 1440
    height: int = 900

    def __post_init__(self):
        if not (self.width > 0 and self.height > 0):
            raise ConfigError(f"eye-tracker screen {self.width}x{self.height}: width and height must be positive")

    def to_video(self, xs, ys, video_size: tuple[int, int]):
        a = video_size[0] / self.width
        b = (self.height - video_size[1] / a) / 2
        return a * np.asarray(xs), a * (np.asarray(ys) - b)


_SMI_COLUMNS = {"time": "Time", "x": "POR X [px]", "y": "POR Y [px]", "event": "Event Info"}


def read_smi(paths, size: tuple[int, int], n_frames: int, fps: float = 30.0,
             screen: ScreenGeometry = ScreenGeometry()) -> GazeData:
    """Raw SMI exports, one file per observer (`Pxx_...txt`), `Fixation` samples only.

    A sample at t seconds after the observer's first sample belongs to 0-based frame k when
    k < fps * t < k + 1 (DHF1K's record_mapping.m; samples exactly on a frame boundary are
    dropped as there); on a variable-frame-rate video (`fps` a FrameClock) k is the frame whose
    timestamps enclose t. Points outside the picture are dropped.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if not paths:
        raise GazeError("no SMI files given")
    clock = as_clock(fps)
    frames, xs, ys, obs, names, skipped, events = [], [], [], [], [], 0, []
    for path in sorted(paths, key=natural_key):
        t, x, y, bad, runs = _read_smi_file(path)
        skipped += bad
        events.append((runs[0], runs[1], *screen.to_video(runs[2], runs[3], size)))
        frame, inside = clock.strictly_within(t)
        vx, vy = screen.to_video(x, y, size)
        keep = inside & (vx > 0) & (vy > 0) & (vx < size[0]) & (vy < size[1]) & (frame < n_frames)
        names.append(path.stem.split("_")[0])
        frames.append(frame[keep]), xs.append(vx[keep]), ys.append(vy[keep])
        obs.append(np.full(keep.sum(), len(names) - 1))
    if not names:
        raise GazeError(f"{paths[0].parent}: no fixation samples in the SMI files")
    runs = FixationEvents(np.concatenate([np.full(len(e[0]), k) for k, e in enumerate(events)]),
                          *(np.concatenate([e[i] for e in events]) for i in range(4)))
    return GazeData(np.concatenate(frames), np.concatenate(xs), np.concatenate(ys), np.concatenate(obs),
                    names, n_frames, size, clock, str(paths[0].parent), skipped, runs)


def _read_smi_file(path: Path):
    """Seconds since the first sample, x and y of the `Fixation` rows; the malformed-row count;
    and the fixation runs as (start s, duration s, mean screen x, mean screen y) arrays."""
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise GazeError(f"{path}: cannot read ({exc})") from None
    header_at = next((i for i, line in enumerate(lines) if line.startswith("Time")), None)
    if header_at is None:
        raise GazeError(f"{path}: not an SMI export (no header line starting with 'Time')")
    header = lines[header_at].split("\t")
    cols = {}
    for key, suffix in _SMI_COLUMNS.items():
        match = [i for i, h in enumerate(header) if h == suffix or h.endswith(" " + suffix)]
        if not match:
            raise GazeError(f"{path}: SMI header lacks a '{suffix}' column")
        cols[key] = match[0]  # the left eye when both are exported
    times, is_fix, t_fix, x_fix, y_fix, bad = [], [], [], [], [], 0
    for line in lines[header_at + 1:]:
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            t = float(parts[cols["time"]]) * 1e-6
            event = parts[cols["event"]]
            if event.startswith("F"):
                x, y = float(parts[cols["x"]]), float(parts[cols["y"]])
        except (IndexError, ValueError):
            bad += 1
            continue
        times.append(t)
        is_fix.append(event.startswith("F"))
        if is_fix[-1]:
            t_fix.append(t), x_fix.append(x), y_fix.append(y)
    if not times:
        return np.empty(0), np.empty(0), np.empty(0), bad, (np.empty(0),) * 4
    # time counts from the observer's first sample, fixation or not
    t = np.array(times) - times[0]
    runs = fixation_runs(t, np.array(is_fix), np.array(x_fix), np.array(y_fix))
    return np.array(t_fix) - times[0], np.array(x_fix), np.array(y_fix), bad, runs


def fixation_runs(t: np.ndarray, is_fix: np.ndarray, x_fix: np.ndarray, y_fix: np.ndarray):
    """Maximal runs of consecutive fixation samples (AOI_SPEC.md): start, duration, mean x, y.

    `t`, `is_fix`: every sample's time and label; `x_fix`, `y_fix`: the fixation samples'
    coordinates in order. A run lasts until the next sample's time; a run that ends the file
    until its last sample plus the median sample interval."""
    if not is_fix.any():
        return (np.empty(0),) * 4
    edges = np.diff(np.concatenate([[0], is_fix.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)      # ends: index after the run
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    after = np.where(ends < len(t), t[np.minimum(ends, len(t) - 1)], t[ends - 1] + step)
    # the fixation samples' coordinates, cut at the runs' lengths
    bounds = np.concatenate([[0], np.cumsum(ends - starts)])
    mean_x = np.add.reduceat(x_fix, bounds[:-1]) / (ends - starts)
    mean_y = np.add.reduceat(y_fix, bounds[:-1]) / (ends - starts)
    return t[starts], after - t[starts], mean_x, mean_y
