"""What every tracker reader produces before it becomes `GazeData`: one `Track` per observer.

A reader knows its format: where the video starts, which frame each sample falls in (the
format's frame rule), the video's place in the tracker's coordinates, and the tracker's own
fixation labels and events if it has them. `assemble` does the rest alike for all formats: the
fixation detector where a file has no fixations (or one is asked for), the per-frame fixation
samples, the events, and the checks that turn a silent empty result into a clear error.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import GazeError
from ..frame_clock import FrameClock, as_clock
from .data import FixationEvents, GazeData
from .events import Detector, label_runs
from .options import GazeOptions

OUTSIDE_WARNING = 0.25      # a warning when more of the fixation samples than this fall off the video


@dataclass(frozen=True)
class VideoRect:
    """The video's rectangle in the tracker's pixel coordinates (screen or scene camera)."""

    x: float
    y: float
    w: float
    h: float

    def to_video(self, xs, ys, size: tuple[int, int]):
        return ((np.asarray(xs, dtype=np.float64) - self.x) * (size[0] / self.w),
                (np.asarray(ys, dtype=np.float64) - self.y) * (size[1] / self.h))

    def to_tracker(self, xs, ys, size: tuple[int, int]):
        return (np.asarray(xs) * (self.w / size[0]) + self.x, np.asarray(ys) * (self.h / size[1]) + self.y)

    def scale(self, size: tuple[int, int]) -> float:
        """Tracker pixels per video pixel (horizontally)."""
        return self.w / size[0]

    def text(self) -> str:
        return ",".join(f"{v:g}" for v in (self.x, self.y, self.w, self.h))

    @classmethod
    def of(cls, values) -> "VideoRect | None":
        return None if values is None else cls(*map(float, values))


def frame_at(t: np.ndarray, fps: float | FrameClock) -> np.ndarray:
    """The frame on screen at times in seconds from the video's start (-1 before 0 or not a
    number): floor(fps t) at a constant rate, by the frames' timestamps on a variable one."""
    return as_clock(fps).frame_at(t)


def fit_rect(screen: tuple[float, float], size: tuple[int, int]) -> VideoRect:
    """The video scaled to fit the screen, centred (how SMI and most players show it)."""
    scale = min(screen[0] / size[0], screen[1] / size[1])
    w, h = size[0] * scale, size[1] * scale
    return VideoRect((screen[0] - w) / 2, (screen[1] - h) / 2, w, h)


def aspect_warning(path, rect: VideoRect, size: tuple[int, int], where: str) -> str | None:
    """A warning when the rectangle's aspect differs from the video's by more than 1 %."""
    ratio = (rect.w / rect.h) / (size[0] / size[1])
    if abs(ratio - 1) <= 0.01:
        return None
    return (f"{path}: the video's rectangle {rect.text()} ({where}) has aspect {rect.w / rect.h:.3f}, the video "
            f"{size[0]}x{size[1]} has {size[0] / size[1]:.3f}: give --video-rect X,Y,W,H if it was shown otherwise")


@dataclass
class Track:
    """One observer's samples of the video, in video pixels and seconds from the video's start."""

    name: str
    t: np.ndarray                       # seconds from the video's start (frame k starts at k / fps)
    x: np.ndarray                       # video pixels; NaN where the tracker lost the eye
    y: np.ndarray
    frame: np.ndarray                   # 0-based frame by the format's rule; -1: outside the video's time
    fixation: np.ndarray | None = None  # the file's own fixation labels per sample; None: it has none
    events: tuple | None = None         # the file's own fixations: (start_s, duration_s, x, y) arrays
    scale: float = 1.0                  # tracker pixels per video pixel (detector thresholds in px)


@dataclass
class TrackSet:
    """A reader's result: tracks and what the reader knows about the geometry."""

    tracks: list[Track]
    source: str
    rect: VideoRect | None = None       # the video in the tracker's coordinates (None: already video pixels)
    screen: tuple[float, float] | None = None   # the tracker's coordinate space in pixels, when a screen
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    events_name: str = "file"           # where the file's own events come from, for the CSV header


def assemble(found: TrackSet, size: tuple[int, int], n_frames: int, fps: float,
             options: GazeOptions) -> GazeData:
    """The per-frame fixation samples and the events of every track, checked."""
    if not found.tracks:
        raise GazeError(f"{found.source}: no gaze samples of the video")
    detector = _detector(found, options)
    warnings = list(found.warnings)
    frames, xs, ys, observers, events, methods = [], [], [], [], [], set()
    for k, track in enumerate(found.tracks):
        labels, runs, method = _fixations(track, detector, found, options)
        methods.add(method)
        keep = labels & np.isfinite(track.x) & np.isfinite(track.y)
        frames.append(track.frame[keep]), xs.append(track.x[keep]), ys.append(track.y[keep])
        observers.append(np.full(int(keep.sum()), k, dtype=np.int64))
        events.append(runs)
    runs = FixationEvents(np.concatenate([np.full(len(e[0]), k) for k, e in enumerate(events)]),
                          *(np.concatenate([np.asarray(e[i], dtype=np.float64) for e in events]) for i in range(4)),
                          method="; ".join(sorted(methods)))
    if detector.description in methods and options.screen_mm and detector.px_per_unit == 1.0:
        warnings.append(f"{found.source}: the fixation thresholds are in pixels: the file's coordinates are not a "
                        "screen's, so --screen-mm and --distance-mm cannot make them degrees")
    gaze = GazeData(np.concatenate(frames), np.concatenate(xs), np.concatenate(ys), np.concatenate(observers),
                    [t.name for t in found.tracks], n_frames, size, fps, found.source, found.skipped, runs, warnings)
    _check(gaze, found, size)
    return gaze


def _detector(found: TrackSet, options: GazeOptions) -> Detector:
    kind = options.detect if options.detect in ("ivt", "idt") else "ivt"      # the default detector
    px_per_deg = None
    if options.screen_mm and options.distance_mm and found.screen:
        mm_per_px = options.screen_mm[0] / found.screen[0]
        px_per_deg = 2 * options.distance_mm * np.tan(np.radians(0.5)) / mm_per_px
    return Detector.make(kind, options, px_per_deg, found.screen, options.screen_mm, options.distance_mm)


def _fixations(track: Track, detector: Detector, found: TrackSet, options: GazeOptions):
    """(per-sample fixation labels, the events, how they were found) of one track."""
    if options.detect == "none":
        labels = np.ones(len(track.t), dtype=bool)
        return labels, label_runs(track.t, labels, track.x, track.y), "none: every sample is a fixation sample"
    if options.detect is None and track.fixation is not None:
        labels = track.fixation
        runs = track.events if track.events is not None else label_runs(track.t, labels, track.x, track.y)
        return labels, runs, found.events_name
    labels, runs = detector.run(track.t, track.x, track.y, track.scale)
    return labels, runs, detector.description


def _check(gaze: GazeData, found: TrackSet, size: tuple[int, int]) -> None:
    """No silent empty result: say why nothing (or most) fell off the video."""
    total = len(gaze) + gaze.outside + gaze.outside_frames
    if total == 0:
        raise GazeError(f"{found.source}: no fixation samples ({sum(len(t.t) for t in found.tracks)} samples "
                        f"read, none in a fixation)")
    if len(gaze) == 0 and gaze.outside_frames and not gaze.outside:
        raise GazeError(f"{found.source}: all {gaze.outside_frames} fixation samples fall outside the video's "
                        f"{gaze.n_frames} frames: check the start message and --offset-ms")
    if gaze.outside and gaze.outside >= OUTSIDE_WARNING * max(1, len(gaze) + gaze.outside):
        hint = _suggest_rect(found, size)
        if len(gaze) == 0:
            frames = f" ({gaze.outside_frames} more outside its frames)" if gaze.outside_frames else ""
            raise GazeError(f"{found.source}: all {gaze.outside} fixation samples fall outside the video's "
                            f"picture{frames}{hint}")
        gaze.warnings.append(f"{found.source}: {gaze.outside} of {len(gaze) + gaze.outside} fixation samples fall "
                             f"outside the video's picture{hint}")


def _suggest_rect(found: TrackSet, size: tuple[int, int]) -> str:
    """'; they lie in ... : try --video-rect ...' from where the fixation samples are."""
    if found.rect is None:
        return ""
    xs = np.concatenate([t.x[np.isfinite(t.x)] for t in found.tracks])
    ys = np.concatenate([t.y[np.isfinite(t.y)] for t in found.tracks])
    if len(xs) == 0:
        return ""
    sx, sy = found.rect.to_tracker(xs, ys, size)
    x0, x1 = np.percentile(sx, [1, 99])
    y0, y1 = np.percentile(sy, [1, 99])
    # the samples' box, grown to the video's aspect around its centre
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    aspect = size[0] / size[1]
    w, h = max(w, h * aspect), max(h, w / aspect)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    guess = VideoRect(round(cx - w / 2), round(cy - h / 2), round(w), round(h))
    return (f" (rectangle {found.rect.text()}); the samples lie in x {x0:.0f}..{x1:.0f}, y {y0:.0f}..{y1:.0f}: "
            f"try --video-rect {guess.text()}")


# --------------------------------------------------------------------------- choices every reader makes


def choose_stimulus(source, names: list[str], options: GazeOptions, what: str) -> str | None:
    """The stimulus to read: `options.stimulus`, else the one named like the video, else the only one.

    `what` names where the names come from (e.g. "Presented Media name"), for the messages."""
    names = [n for n in dict.fromkeys(names) if n]
    if not names:
        return None
    listed = ", ".join(names)
    if options.stimulus:
        if options.stimulus in names:
            return options.stimulus
        raise GazeError(f"{source}: no stimulus {options.stimulus!r} in its {what}; it has: {listed}")
    if options.video_name:
        video = options.video_name.rsplit("/", 1)[-1]
        stem = video.rsplit(".", 1)[0].lower()
        for match in (lambda n: n == video, lambda n: n.lower() == video.lower(),
                      lambda n: n.rsplit(".", 1)[0].lower() == stem):
            found = [n for n in names if match(n)]
            if found:
                return found[0]
    if len(names) == 1:
        return names[0]
    named = f"none is named {options.video_name}" if options.video_name else "several stimuli"
    raise GazeError(f"{source}: {named} in its {what}; it has: {listed}: choose one with --stimulus NAME")


def check_participants(source, names: list[str], options: GazeOptions) -> list[str]:
    """The observers to read, in the file's order: all, or those `options.participants` names."""
    if options.participants is None:
        return list(names)
    missing = [p for p in options.participants if p not in names]
    if missing:
        raise GazeError(f"{source}: no participant {', '.join(missing)}; it has: {', '.join(names) or 'none'}")
    return [n for n in names if n in options.participants]
