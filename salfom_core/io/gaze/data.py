"""Per-frame fixation samples of one video, whatever tracker they came from.

Coordinates are video pixels in the benchmark's convention: the 1-based pixel (r, c) is at
(x, y) = (c, r), so `ground_truth.fixation_map` puts a point at pixel (round(y), round(x)) exactly
as DHF1K's scripts do. Frames are 0-based. Malformed input rows are skipped and counted in
`GazeData.skipped`, never fatal; samples outside the picture (beyond [0, W] x [0, H]) or
outside the video's frames are dropped and counted in `GazeData.outside` / `outside_frames`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..frame_clock import FrameClock, as_clock
from ..ground_truth import fixation_map


@dataclass
class FixationEvents:
    """Fixations as events (AOI_SPEC.md, "Fixations"): one row per fixation of one observer.

    `start_s` counts from the video's start (frame n starts at (n - 1) / fps), positions are
    video pixels as the samples', `observer` indexes the `GazeData.observers` of the same input.
    `method` says where they came from: "file" (the tracker's own events) or the detector and
    its parameters, e.g. "I-VT 30 deg/s, min 60 ms"."""

    observer: np.ndarray               # int64
    start_s: np.ndarray                # float64
    duration_s: np.ndarray             # float64
    x: np.ndarray                      # float64, video pixels
    y: np.ndarray
    method: str = "file"

    def __post_init__(self):
        order = np.lexsort((np.asarray(self.start_s, dtype=np.float64), np.asarray(self.observer, dtype=np.int64)))
        self.observer = np.asarray(self.observer, dtype=np.int64)[order]
        for name in ("start_s", "duration_s", "x", "y"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64)[order])

    def __len__(self) -> int:
        return len(self.start_s)

    @classmethod
    def concatenate(cls, parts: list["FixationEvents"], observers: list[np.ndarray]) -> "FixationEvents":
        """Several inputs' events in one; `observers[k]` maps part k's observer indices to the
        merged ones (as `load_gaze_files` merges observers)."""
        method = "; ".join(dict.fromkeys(p.method for p in parts))
        return cls(np.concatenate([remap[p.observer] for p, remap in zip(parts, observers)]),
                   *(np.concatenate([getattr(p, n) for p in parts]) for n in ("start_s", "duration_s", "x", "y")),
                   method=method)


@dataclass
class GazeData:
    """Fixation samples sorted by frame, with O(1) access to one frame's samples."""

    frame: np.ndarray                  # int64, 0-based
    x: np.ndarray                      # float64, video pixels
    y: np.ndarray
    observer: np.ndarray               # int64 index into `observers`; -1 when unknown
    observers: list[str]
    n_frames: int
    size: tuple[int, int]              # (width, height) of the video
    fps: float = 30.0                  # may be given as a FrameClock: kept in `clock`, `fps` its nominal rate
    source: str = ""
    skipped: int = 0                   # malformed rows skipped while reading
    events: FixationEvents | None = None   # the fixations as events, when the input has them
    warnings: list[str] = field(default_factory=list)   # what the reader noticed (one line each, naming the file)
    outside: int = field(default=0, init=False)          # samples outside the picture, dropped
    outside_frames: int = field(default=0, init=False)   # samples before frame 0 or after the last
    clock: FrameClock = field(init=False, repr=False)   # when each frame is on screen (gaze by time)
    _starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.clock = as_clock(self.fps)
        self.fps = self.clock.fps
        order = np.argsort(self.frame, kind="stable")
        for name in ("frame", "x", "y", "observer"):
            setattr(self, name, np.asarray(getattr(self, name))[order])
        self.frame = self.frame.astype(np.int64)
        self.x, self.y = self.x.astype(np.float64), self.y.astype(np.float64)
        in_time = (self.frame >= 0) & (self.frame < self.n_frames)
        # a sample off the picture (x = -5, x = 1e12) is no fixation: never kept, always counted
        w, h = self.size
        in_picture = (self.x >= 0) & (self.x <= w) & (self.y >= 0) & (self.y <= h)
        self.outside_frames = int((~in_time).sum())
        self.outside = int((in_time & ~in_picture).sum())
        keep = in_time & in_picture
        self.frame, self.x, self.y, self.observer = (a[keep] for a in (self.frame, self.x, self.y, self.observer))
        self._starts = np.searchsorted(self.frame, np.arange(self.n_frames + 1))

    def __len__(self) -> int:
        return len(self.frame)

    def for_frame(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, observer) of the samples in frame `index`."""
        a, b = self._starts[index], self._starts[index + 1]
        return self.x[a:b], self.y[a:b], self.observer[a:b]

    def fixation_map(self, index: int, shape: tuple[int, int] | None = None, grid: bool = False) -> np.ndarray:
        """Binary map of frame `index` at `shape` (H, W) (default: the video size)."""
        w, h = self.size
        shape = shape or (h, w)
        xs, ys, obs = self.for_frame(index)
        sx, sy = shape[1] / w, shape[0] / h
        return fixation_map(xs * sx, ys * sy, shape, groups=obs, grid=grid)

    def observers_per_frame(self) -> np.ndarray:
        """How many distinct observers have at least one sample in each frame."""
        counts = np.zeros(self.n_frames, dtype=np.int64)
        for i in range(self.n_frames):
            obs = self.for_frame(i)[2]
            counts[i] = len(np.unique(obs[obs >= 0])) if len(obs) else 0
        return counts

    def dropped_note(self) -> str:
        """'' or a clause naming what reading dropped, for messages."""
        parts = [f"{self.skipped} malformed rows skipped"] if self.skipped else []
        if self.outside:
            parts.append(f"{self.outside} outside the picture dropped")
        if self.outside_frames:
            parts.append(f"{self.outside_frames} outside the video's {self.n_frames} frames dropped")
        return "; ".join(parts)

    def observer_name(self, index: int) -> str:
        return self.observers[index] if 0 <= index < len(self.observers) else "?"
