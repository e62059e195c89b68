"""Pupil Labs recordings: Neon (Pupil Cloud "Timeseries Data" folder) and Core (Pupil Player export).

The scene video is the stimulus: gaze is in scene-video pixels; one observer per folder.

- Neon: `gaze.csv` (`timestamp [ns]`, `gaze x [px]`, `gaze y [px]`, `worn`, `fixation id`),
  `world_timestamps.csv` (one row per scene frame), `fixations.csv` (`fixation id`, `start/end
  timestamp [ns]`, `duration [ms]`, `fixation x/y [px]`), `info.json` (`wearer_name`).
  Frame rule: the scene frame with the nearest timestamp; samples more than half a frame before
  the first frame or after the last are left out. Fixation samples: those with a `fixation id`.
- Core: `exports/NNN/gaze_positions.csv` (`gaze_timestamp` s, `world_index`, `confidence`,
  `norm_pos_x/y` with the origin at the bottom left), `fixations.csv` (`start_timestamp` s,
  `duration` ms, `norm_pos_x/y`), `world_timestamps.npy`. Frame rule: `world_index`; samples
  under confidence 0.6 (`--min-confidence`) are dropped; fixation samples are those inside a
  fixation's [start, start + duration].

`--offset-ms` is added to every sample's time (frames are then re-assigned by the timestamps);
`--video-rect` maps the recording's pixels when the video given is a crop or resize of the scene
video (the rectangle of the video in the scene camera's pixels).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import GazeError
from ..frame_clock import as_clock
from .inspection import GazeInspection
from .options import GazeOptions
from .text import read_table as read_csv_columns, to_floats
from .tracks import Track, TrackSet, VideoRect

NEON, CORE = "Pupil Labs Neon (Cloud timeseries)", "Pupil Labs Core (Player export)"
CORE_CONFIDENCE = 0.6


def is_neon(folder: Path) -> bool:
    return (folder / "gaze.csv").is_file() and (folder / "world_timestamps.csv").is_file()


def core_export(folder: Path) -> Path | None:
    """The export folder of a Core recording: the folder itself, or its newest `exports/NNN`."""
    if (folder / "gaze_positions.csv").is_file():
        return folder
    exports = sorted((p for p in (folder / "exports").glob("*") if (p / "gaze_positions.csv").is_file()),
                     key=lambda p: p.name) if (folder / "exports").is_dir() else []
    return exports[-1] if exports else None


def read_table(path: Path, required: tuple[str, ...]) -> dict[str, list[str]]:
    """A CSV's columns by name, with the required ones checked."""
    return read_csv_columns(path, required, delimiter=",")[1]


def _observer_name(folder: Path, info_file: Path, key: str) -> str:
    try:
        name = str(json.loads(info_file.read_text(encoding="utf-8")).get(key) or "").strip()
    except (OSError, ValueError):
        name = ""
    return name or folder.name


# --------------------------------------------------------------------------- Neon


@dataclass
class PupilRecording:
    name: str
    t: np.ndarray             # s on the recording's clock
    x: np.ndarray             # scene pixels, top-left origin
    y: np.ndarray
    frame_index: np.ndarray | None      # Core: world_index
    fixation: np.ndarray | None         # per-sample labels from the file
    events: tuple | None                # (start s, duration s, x px, y px) on the recording's clock
    world: np.ndarray | None            # scene frame timestamps, s
    confidence: np.ndarray | None = None


def read_neon(folder: Path) -> PupilRecording:
    gaze = read_table(folder / "gaze.csv", ("timestamp [ns]", "gaze x [px]", "gaze y [px]"))
    world = read_table(folder / "world_timestamps.csv", ("timestamp [ns]",))
    # nanoseconds since 1970 exceed float64's exact integers: subtract the first frame's time first
    zero = _ns(world["timestamp [ns]"][:1])[0] if world["timestamp [ns]"] else 0

    def seconds(values: list[str]) -> np.ndarray:
        return (_ns(values) - zero) / 1e9

    t = seconds(gaze["timestamp [ns]"])
    x, y = to_floats(gaze["gaze x [px]"]), to_floats(gaze["gaze y [px]"])
    if "worn" in gaze:
        worn = to_floats(gaze["worn"])
        x = np.where(worn == 0, np.nan, x)
    fixation = np.array([v.strip() != "" for v in gaze["fixation id"]]) if "fixation id" in gaze else None
    events = None
    if (folder / "fixations.csv").is_file():
        fix = read_table(folder / "fixations.csv", ("start timestamp [ns]", "end timestamp [ns]",
                                                    "fixation x [px]", "fixation y [px]"))
        start, end = seconds(fix["start timestamp [ns]"]), seconds(fix["end timestamp [ns]"])
        events = (start, end - start, to_floats(fix["fixation x [px]"]), to_floats(fix["fixation y [px]"]))
    elif fixation is not None:
        events = _events_from_ids(t, x, y, gaze["fixation id"])
    name = _observer_name(folder, folder / "info.json", "wearer_name")
    return PupilRecording(name, t, x, y, None, fixation, events, seconds(world["timestamp [ns]"]))


def _ns(values: list[str]) -> np.ndarray:
    """Integer nanosecond strings, exactly (float64 would round them); unreadable ones become NaN later."""
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        try:
            out[i] = int(v)
        except ValueError:
            out[i] = np.nan
    if np.isfinite(out).all():
        return np.array([int(v) for v in values], dtype=np.int64)
    return out


def _events_from_ids(t, x, y, ids: list[str]):
    """One event per fixation id: first sample's time, to the last sample plus one interval, mean position."""
    keys = np.array([v.strip() for v in ids])
    has = keys != ""
    if not has.any():
        return (np.empty(0),) * 4
    order = np.flatnonzero(has)
    names, first, group = np.unique(keys[order], return_index=True, return_inverse=True)
    last = np.zeros(len(names), dtype=np.int64)
    np.maximum.at(last, group, np.arange(len(order)))
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    counts = np.bincount(group)
    return (t[order[first]], t[order[last]] - t[order[first]] + step,
            np.bincount(group, weights=np.nan_to_num(x[order])) / counts,
            np.bincount(group, weights=np.nan_to_num(y[order])) / counts)


# --------------------------------------------------------------------------- Core


def read_core(export: Path, size_hint: tuple[int, int] | None = None) -> PupilRecording:
    gaze = read_table(export / "gaze_positions.csv",
                      ("gaze_timestamp", "world_index", "confidence", "norm_pos_x", "norm_pos_y"))
    t = to_floats(gaze["gaze_timestamp"])
    index = to_floats(gaze["world_index"])
    confidence = to_floats(gaze["confidence"])
    nx, ny = to_floats(gaze["norm_pos_x"]), to_floats(gaze["norm_pos_y"])
    world = None
    for candidate in (export / "world_timestamps.npy", export.parent.parent / "world_timestamps.npy"):
        if candidate.is_file():
            try:
                world = np.load(candidate).astype(np.float64).ravel()
            except (OSError, ValueError) as exc:
                raise GazeError(f"{candidate}: cannot read ({exc})") from None
            break
    events = None
    if (export / "fixations.csv").is_file():
        fix = read_table(export / "fixations.csv", ("start_timestamp", "duration", "norm_pos_x", "norm_pos_y"))
        events = (to_floats(fix["start_timestamp"]), to_floats(fix["duration"]) / 1000,
                  to_floats(fix["norm_pos_x"]), to_floats(fix["norm_pos_y"]))
    recording = export.parent.parent if export.parent.name == "exports" else export
    name = _observer_name(recording, recording / "info.player.json", "recording_name")
    # norm_pos: fractions of the scene image, origin at the BOTTOM left (flipped in `_core_tracks`)
    return PupilRecording(name, t, nx, ny, index.astype(np.int64), None, events, world, confidence)


# --------------------------------------------------------------------------- tracks


def read_tracks(folder, size, n_frames, fps, options: GazeOptions) -> TrackSet:
    # Pupil places gaze on frames by its own scene-video timestamps: a clock's nominal rate is enough
    fps = as_clock(fps).fps
    folder = Path(folder)
    if is_neon(folder):
        return _neon_tracks(read_neon(folder), folder, size, fps, options)
    export = core_export(folder)
    if export is None:
        raise GazeError(f"{folder}: not a Pupil Labs folder (no gaze.csv + world_timestamps.csv, no "
                        "gaze_positions.csv, no exports/NNN/gaze_positions.csv)")
    return _core_tracks(read_core(export), export, size, fps, options)


def _nearest_frames(t: np.ndarray, world: np.ndarray) -> np.ndarray:
    """The scene frame with the nearest timestamp; -1 more than half a frame outside the frames."""
    if len(world) == 0:
        return np.full(len(t), -1, dtype=np.int64)
    half = float(np.median(np.diff(world))) / 2 if len(world) > 1 else np.inf
    k = np.clip(np.searchsorted(world, t), 1, max(len(world) - 1, 1))
    before = world[np.maximum(k - 1, 0)]
    after = world[np.minimum(k, len(world) - 1)]
    frame = np.where(np.abs(t - before) <= np.abs(after - t), k - 1, k)
    frame = np.minimum(frame, len(world) - 1)
    outside = (t < world[0] - half) | (t > world[-1] + half)
    return np.where(outside, -1, frame).astype(np.int64)


def _video_start(world: np.ndarray | None, fps: float) -> float:
    """Where frame 0 starts on the recording's clock: half a frame before its timestamp."""
    if world is None or len(world) == 0:
        return 0.0
    half = float(np.median(np.diff(world))) / 2 if len(world) > 1 else 0.5 / fps
    return float(world[0]) - half


def _mapping(options: GazeOptions, size):
    rect = VideoRect.of(options.video_rect)
    if rect is None:
        return None, (lambda x, y: (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))), 1.0
    return rect, (lambda x, y: rect.to_video(x, y, size)), rect.scale(size)


def _neon_tracks(rec: PupilRecording, folder: Path, size, fps, options: GazeOptions) -> TrackSet:
    rect, to_video, scale = _mapping(options, size)
    shifted = rec.t + options.offset_ms / 1000
    frame = _nearest_frames(shifted, rec.world)
    start = _video_start(rec.world, fps)
    x, y = to_video(rec.x, rec.y)
    events = None
    if rec.events is not None:
        ex, ey = to_video(rec.events[2], rec.events[3])
        events = (rec.events[0] + options.offset_ms / 1000 - start, rec.events[1], ex, ey)
    track = Track(rec.name, shifted - start, x, y, frame, rec.fixation, events, scale)
    return TrackSet([track], str(folder), rect, None, 0, [], "file: Pupil Neon fixation ids")


def _core_tracks(rec: PupilRecording, export: Path, size, fps, options: GazeOptions) -> TrackSet:
    minimum = CORE_CONFIDENCE if options.min_confidence is None else options.min_confidence
    keep = rec.confidence >= minimum
    if not keep.any():
        raise GazeError(f"{export}: no gaze sample has confidence {minimum:g} or more "
                        f"(the best has {np.nanmax(rec.confidence):.2f}): lower it with --min-confidence")
    warnings = [f"{export}: --video-rect does not apply to Pupil Core (its positions are fractions of the "
                f"scene video): ignored"] if options.video_rect else []
    t = rec.t[keep] + options.offset_ms / 1000
    # norm_pos has its origin at the bottom left: y grows upwards
    px, py = rec.x[keep] * size[0], (1 - rec.y[keep]) * size[1]
    if options.offset_ms and rec.world is None:
        raise GazeError(f"{export}: --offset-ms needs world_timestamps.npy (the frames are world_index otherwise)")
    frame = _nearest_frames(t, rec.world) if options.offset_ms else rec.frame_index[keep]
    start = _video_start(rec.world, fps) if rec.world is not None else _estimated_start(rec, fps)
    labels, events = None, None
    if rec.events is not None:
        starts, durations = rec.events[0] + options.offset_ms / 1000, rec.events[1]
        order = np.argsort(starts)
        starts, durations = starts[order], durations[order]
        k = np.searchsorted(starts, t, side="right") - 1
        labels = (k >= 0) & (t <= starts[np.maximum(k, 0)] + durations[np.maximum(k, 0)])
        ex, ey = rec.events[2][order] * size[0], (1 - rec.events[3][order]) * size[1]
        events = (starts - start, durations, ex, ey)
    track = Track(rec.name, t - start, px, py, frame, labels, events)
    return TrackSet([track], str(export), None, None, 0, warnings, "file: Pupil Core fixations")


def _estimated_start(rec: PupilRecording, fps: float) -> float:
    """Without world_timestamps.npy: frame k's time as the samples of world_index k say it."""
    return float(np.median(rec.t - rec.frame_index / fps)) - 0.5 / fps


# --------------------------------------------------------------------------- inspection


def inspect(folder, options: GazeOptions) -> GazeInspection:
    folder = Path(folder)
    kind = NEON if is_neon(folder) else CORE
    found = read_tracks(folder, (1, 1), 1, 30.0, options)      # positions unused: the counts
    track = found.tracks[0]
    inspection = GazeInspection(str(folder), kind, [track.name], has_events=track.events is not None)
    inspection.sample_counts[track.name] = len(track.t)
    inspection.fixation_counts[track.name] = int(track.fixation.sum()) if track.fixation is not None else 0
    frames = int(track.frame.max()) + 1 if len(track.frame) else 0
    inspection.start_events = [f"scene frame 1 (of {frames} with gaze)"]
    inspection.notes += found.warnings
    return inspection
