"""When each frame of a video is on screen, so gaze given by time lands on the frame it was recorded on.

A constant-rate video shows frame k from k / fps to (k + 1) / fps: a time t falls in frame
floor(fps t), the rule every benchmark and tracker export uses. Phones and screen recorders
write variable-frame-rate video: each frame lasts as long as its presentation timestamps say,
and the constant rule can be off by many frames (issue 22: 140 of 150 frames, up to 200 ms).
A `FrameClock` holds the frames' start times when they are uneven and the constant rate when
they are not, so constant-rate videos keep floor(fps t) exactly.
"""
from __future__ import annotations

import numpy as np

# a time computed as exactly k / fps may come out an ulp short (100000 * 1e-6 * 30 = 2.9999...):
# a billionth of a frame's tolerance keeps it in frame k
_TOLERANCE_FRAMES = 1e-9
# timestamps within this share of a frame of an even grid are a constant rate (container
# rounding: a 30 fps MKV in milliseconds steps 33, 33, 34 ms)
EVEN_SHARE = 0.05


class FrameClock:
    """The start time of each frame in seconds from the first frame's presentation.

    `fps` is the nominal rate (what `info` says); `starts` is None for a constant rate, else one
    start per frame (a variable rate, or a timeline with dropped frames: every frame a player
    would show counts, so frame k no longer starts at k / fps after a gap).
    """

    def __init__(self, fps: float, starts: np.ndarray | None = None):
        self.fps = float(fps)
        self.starts = None if starts is None else np.asarray(starts, dtype=np.float64)
        if self.starts is not None:
            steps = np.diff(self.starts)
            # the last frame lasts as long as a typical frame
            self._end = self.starts[-1] + (float(np.median(steps)) if len(steps) else 1 / self.fps)

    @classmethod
    def from_timestamps(cls, seconds, fps: float) -> "FrameClock":
        """The clock of frames presented at `seconds` (sorted): constant at `fps` when they lie
        on its even grid, variable otherwise."""
        starts = np.asarray(seconds, dtype=np.float64) - float(seconds[0])
        grid = np.arange(len(starts)) / fps
        if len(starts) < 2 or np.max(np.abs(starts - grid)) <= EVEN_SHARE / fps:
            return cls(fps)
        return cls(fps, starts)

    @property
    def variable(self) -> bool:
        return self.starts is not None

    def frame_at(self, t) -> np.ndarray:
        """The 0-based frame on screen at each time `t` (seconds from the video's start): -1
        before the start or for a time that is not a finite number; times after the last frame
        give frame numbers past the end (counted as outside the video by the readers)."""
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if self.starts is None:
                frame = np.floor(t * self.fps + _TOLERANCE_FRAMES)
            else:
                tolerance = _TOLERANCE_FRAMES / self.fps
                frame = np.searchsorted(self.starts, t + tolerance, side="right") - 1.0
                frame = np.where(t + tolerance >= self._end, len(self.starts), frame)
                frame = np.where(np.isfinite(t), frame, np.nan)
            return np.where(np.isfinite(frame) & (frame >= 0), frame, -1).astype(np.int64)

    def strictly_within(self, t) -> tuple[np.ndarray, np.ndarray]:
        """(frame, inside) of each time: its 0-based frame and whether it lies strictly inside it,
        with no tolerance: k < fps t < k + 1 at a constant rate (DHF1K's record_mapping.m drops
        samples exactly on a frame boundary), after frame k's timestamp and before the next's on a
        variable one."""
        t = np.asarray(t, dtype=np.float64)
        if self.starts is None:
            ft = self.fps * t
            frame = np.floor(ft).astype(np.int64)
            return frame, ft > frame
        after_end = self.frame_at(t) >= len(self.starts)
        frame = np.where(after_end, len(self.starts), np.searchsorted(self.starts, t, side="right") - 1)
        inside = (frame >= 0) & (after_end | (t > self.starts[np.clip(frame, 0, len(self.starts) - 1)]))
        return frame, inside

    def start_of(self, frames) -> np.ndarray:
        """Seconds from the video's start at which each 0-based frame starts."""
        frames = np.asarray(frames)
        if self.starts is None:
            return frames / self.fps
        past = frames - len(self.starts)
        inside = self.starts[np.clip(frames, 0, len(self.starts) - 1)]
        # frames outside the video (a reader's -1, frames past the end) at the nominal rate
        return np.where(past >= 0, self._end + past / self.fps, np.where(frames < 0, frames / self.fps, inside))

    def describe(self) -> str:
        if self.starts is None:
            return f"constant {self.fps:g} fps"
        steps = np.diff(self.starts)
        return (f"variable frame rate ({1 / steps.max():.3g} to {1 / max(steps.min(), 1e-9):.3g} fps): "
                "gaze by time is placed by the frames' timestamps")

    def __repr__(self) -> str:
        return f"FrameClock({self.describe()})"


def as_clock(fps_or_clock) -> FrameClock:
    """A frame rate (float) or a clock, as a clock: the readers take either."""
    return fps_or_clock if isinstance(fps_or_clock, FrameClock) else FrameClock(float(fps_or_clock))
