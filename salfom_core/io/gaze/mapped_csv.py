"""Any delimited gaze file through a column mapping: `--columns time=t,x=gx,y=gy,observer=subject`.

Roles: `time` (or `frame`, 0-based), `x`, `y`, and optionally `observer`, `fixation` (a label:
`fixation`, `1`, `true`, `yes` or `f` mark a fixation sample) and `stimulus` (rows of the
`--stimulus` only). The delimiter (comma, semicolon, tab) is sniffed; `0,5` decimals are read
when the delimiter is not a comma.

Time: the unit from `--time-unit` (s, ms, us, ns), else the column name's (`time [ms]`,
`time (us)`, `time_ms`), else guessed from the median sample interval (an eye tracker samples
at 10 Hz to 2 kHz); each observer's first sample is the video's first frame, `--offset-ms` is
added to every sample's time, and a sample at t seconds is in frame floor(fps t)
(by the frames' timestamps on a variable-frame-rate video).
Coordinates: `--coords px` (video pixels; with `--video-rect`, the file's pixels of which the
rectangle is the video) or `norm` (fractions of the video; with `--video-rect`, of the screen
`--screen`); by default norm when every value lies in 0..1. Without a `fixation` column the
file has no fixations of its own: a detector finds them (`--detect`, default I-VT).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import GazeError
from ..frame_clock import as_clock
from .inspection import GazeInspection
from .options import TIME_UNITS, GazeOptions
from .text import read_head, read_table, sniff_delimiter, to_floats
from .tracks import Track, TrackSet, VideoRect, choose_stimulus, frame_at

FORMAT = "CSV by column mapping"
FIXATION_WORDS = {"fixation", "1", "true", "yes", "f", "fix"}


def _columns(path: Path, options: GazeOptions):
    mapping = options.columns or {}
    delimiter = sniff_delimiter(read_head(path, 1 << 14).split("\n", 1)[0])
    header, columns, skipped = read_table(path, delimiter=delimiter)
    missing = [f"{column!r} (for {role}=)" for role, column in mapping.items() if column not in columns]
    if missing:
        raise GazeError(f"{path}: no column {', '.join(missing)}; it has: {', '.join(h for h in header if h)}")
    return delimiter, columns, skipped


def _numbers(values: list[str], delimiter_comma: bool) -> np.ndarray:
    """Floats; `0,5` decimals where the delimiter leaves commas to the numbers."""
    comma = not delimiter_comma and any("," in v for v in values[:200])
    return to_floats(values, comma)


def time_unit(name: str, seconds: np.ndarray, options: GazeOptions) -> tuple[float, str]:
    """Seconds per unit of the time column, and where that came from."""
    if options.time_unit:
        return TIME_UNITS[options.time_unit], f"--time-unit {options.time_unit}"
    match = re.search(r"[\[(_ ](s|ms|us|µs|μs|ns)[\])]?\s*$", name.strip(), re.IGNORECASE)
    if match:
        unit = {"µs": "us", "μs": "us"}.get(match.group(1), match.group(1).lower())
        return TIME_UNITS[unit], f"the column name {name!r}"
    steps = np.diff(seconds[np.isfinite(seconds)])
    steps = steps[steps > 0]
    if len(steps) == 0:
        return 1.0, "assumed seconds"
    step = float(np.median(steps))
    # the unit that puts the sample interval between 0.5 ms and 100 ms
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if 0.0004 <= step * factor <= 0.11:
            return factor, f"guessed {unit} from the sample interval"
    return 1.0, "assumed seconds"


def read_tracks(path, size, n_frames, fps, options: GazeOptions, screen_px=(1440, 900)) -> TrackSet:
    path = Path(path)
    mapping = options.columns or {}
    delimiter, columns, skipped = _columns(path, options)
    comma_delimited = delimiter == ","
    n = len(columns[mapping["x"]])
    rows = np.arange(n)
    if "stimulus" in mapping:
        media = np.array([v.strip() for v in columns[mapping["stimulus"]]])
        chosen = choose_stimulus(str(path), list(media), options, f"column {mapping['stimulus']!r}")
        rows = np.flatnonzero(media == chosen)
    x = _numbers(columns[mapping["x"]], comma_delimited)[rows]
    y = _numbers(columns[mapping["y"]], comma_delimited)[rows]
    x, y, rect, scale = _coordinates(x, y, size, options, screen_px)
    names = ([v.strip() or path.stem for v in columns[mapping["observer"]]] if "observer" in mapping
             else [path.stem] * n)
    names = np.array(names, dtype=object)[rows]
    fixation = None
    if "fixation" in mapping:
        fixation = np.array([v.strip().lower() in FIXATION_WORDS for v in columns[mapping["fixation"]]])[rows]
    warnings = []
    if "time" in mapping:
        raw = _numbers(columns[mapping["time"]], comma_delimited)[rows]
        unit, said = time_unit(mapping["time"], raw, options)
        if said.startswith("guessed"):
            warnings.append(f"{path}: time unit {said}; give --time-unit if it is not")
    tracks = []
    for name in dict.fromkeys(names):
        mine = np.flatnonzero(names == name)
        if "time" in mapping:
            seconds = raw[mine] * unit
            t = seconds - np.nanmin(seconds) + options.offset_ms / 1000
            frame = frame_at(t, fps)
        else:
            frame = _numbers(columns[mapping["frame"]], comma_delimited)[rows][mine]
            frame = np.where(np.isfinite(frame), frame, -1).astype(np.int64)
            t = as_clock(fps).start_of(frame) + options.offset_ms / 1000
        order = np.argsort(t, kind="stable")
        tracks.append(Track(str(name), t[order], x[mine][order], y[mine][order], frame[order],
                            None if fixation is None else fixation[mine][order], None, scale))
    return TrackSet(tracks, str(path), rect, tuple(options.screen_px or screen_px) if rect else None,
                    skipped, warnings, f"file: column {mapping.get('fixation', '')!r}")


def _coordinates(x, y, size, options: GazeOptions, screen_px):
    """Video pixels from the file's values; the rectangle and tracker pixels per video pixel."""
    finite = np.isfinite(x) & np.isfinite(y)
    coords = options.coords or ("norm" if finite.any() and x[finite].min() >= 0 and y[finite].min() >= 0
                                and x[finite].max() <= 1 and y[finite].max() <= 1 else "px")
    rect = VideoRect.of(options.video_rect)
    if rect is None:
        if coords == "norm":
            return x * size[0], y * size[1], None, 1.0
        return x, y, None, 1.0
    screen = options.screen_px or screen_px
    if coords == "norm":
        x, y = x * screen[0], y * screen[1]
    vx, vy = rect.to_video(x, y, size)
    return vx, vy, rect, rect.scale(size)


def inspect(path, options: GazeOptions) -> GazeInspection:
    found = read_tracks(path, (1, 1), 1, 30.0, options)
    inspection = GazeInspection(str(path), FORMAT, [t.name for t in found.tracks],
                                has_events=found.tracks[0].fixation is not None if found.tracks else False)
    for track in found.tracks:
        inspection.sample_counts[track.name] = len(track.t)
        inspection.fixation_counts[track.name] = int(track.fixation.sum()) if track.fixation is not None else 0
    mapping = options.columns or {}
    if "stimulus" in mapping:
        _, columns, _ = _columns(Path(path), options)
        inspection.stimuli = list(dict.fromkeys(v.strip() for v in columns[mapping["stimulus"]] if v.strip()))
    inspection.notes += found.warnings
    return inspection
