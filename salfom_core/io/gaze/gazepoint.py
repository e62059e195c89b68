"""Gazepoint Analysis CSV export (one file per participant: `User 0_all_gaze.csv`).

Columns used: `MEDIA_NAME`, `TIME` (seconds; also written `TIME(2023/01/31 10:00:00.000)`) or
`TIMETICK(f=10000000)`, `FPOGX`/`FPOGY` (the fixation point of gaze as fractions of the screen),
`FPOGS` (its start, s), `FPOGD` (its duration so far, s), `FPOGID` (the fixation's number),
`FPOGV` (1: valid), and for a detector the raw best point of gaze `BPOGX`/`BPOGY`/`BPOGV`.

Frame rule: t = TIME - TIME of the first row of the chosen media, frame floor(fps t). The
fixation samples are the rows with FPOGV = 1, at FPOGX/FPOGY; the events one per FPOGID (start
FPOGS, duration its largest FPOGD, position its last FPOGX/FPOGY). Screen fractions become
pixels with the screen size (`--screen`, default 1440x900), then video pixels with the video's
rectangle (`--video-rect`, default the video fitted to the screen, centred).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import GazeError
from .inspection import GazeInspection
from .options import GazeOptions
from .text import read_table, to_floats
from .tracks import Track, TrackSet, VideoRect, aspect_warning, choose_stimulus, fit_rect, frame_at

FORMAT = "Gazepoint Analysis CSV"
REQUIRED = ("FPOGX", "FPOGY", "FPOGV")


def is_gazepoint(head: str) -> bool:
    first = head.split("\n", 1)[0].upper()
    return "FPOGX" in first and "FPOGY" in first


def _time_column(path: Path, header: list[str], columns) -> np.ndarray:
    """Seconds from TIME / TIME(...), else TIMETICK(f=N) / N."""
    for name in header:
        if name.upper() == "TIME" or name.upper().startswith("TIME("):
            return to_floats(columns[name])
    for name in header:
        tick = re.match(r"TIMETICK\(f=(\d+)\)", name, re.IGNORECASE)
        if tick:
            return to_floats(columns[name]) / float(tick.group(1))
    raise GazeError(f"{path}: no column 'TIME' (or 'TIMETICK(f=...)'); it has: {', '.join(header)}")


def read_tracks(path, size, n_frames, fps, options: GazeOptions, screen_px=(1440, 900)) -> TrackSet:
    path = Path(path)
    header, columns, skipped = read_table(path, REQUIRED)
    t = _time_column(path, header, columns)
    rows = np.arange(len(t))
    stimulus = None
    if "MEDIA_NAME" in columns:
        media = np.array([m.strip() for m in columns["MEDIA_NAME"]])
        stimulus = choose_stimulus(str(path), list(media), options, "MEDIA_NAME column")
        if stimulus is not None:
            rows = np.flatnonzero(media == stimulus)
    if len(rows) == 0:
        raise GazeError(f"{path}: no rows")
    screen = tuple(options.screen_px or screen_px)
    rect = VideoRect.of(options.video_rect) or fit_rect(screen, size)
    warnings = [] if options.video_rect else [w for w in [aspect_warning(path, rect, size, "fitted")] if w]
    start = t[rows[0]]
    times = t[rows] - start + options.offset_ms / 1000
    frame = frame_at(times, fps)
    detect = options.detect in ("ivt", "idt") and "BPOGX" in columns and "BPOGY" in columns
    kind = "BPOG" if detect else "FPOG"
    sx, sy = to_floats(columns[f"{kind}X"])[rows] * screen[0], to_floats(columns[f"{kind}Y"])[rows] * screen[1]
    valid = to_floats(columns[f"{kind}V"])[rows] == 1 if f"{kind}V" in columns else np.isfinite(sx)
    x, y = rect.to_video(np.where(valid, sx, np.nan), np.where(valid, sy, np.nan), size)
    labels, events = (None, None) if detect else (valid, _events(columns, rows, valid, start, options, screen,
                                                                  rect, size))
    track = Track(path.stem, times, x, y, frame, labels, events, rect.scale(size))
    return TrackSet([track], str(path), rect, screen, skipped, warnings, "file: Gazepoint FPOGID")


def _events(columns, rows, valid, start, options, screen, rect, size):
    if not {"FPOGID", "FPOGS", "FPOGD"} <= columns.keys():
        return None
    ids = to_floats(columns["FPOGID"])[rows][valid]
    starts = to_floats(columns["FPOGS"])[rows][valid]
    durations = to_floats(columns["FPOGD"])[rows][valid]
    fx = to_floats(columns["FPOGX"])[rows][valid] * screen[0]
    fy = to_floats(columns["FPOGY"])[rows][valid] * screen[1]
    if len(ids) == 0:
        return (np.empty(0),) * 4
    names, first, group = np.unique(ids, return_index=True, return_inverse=True)
    last = np.zeros(len(names), dtype=np.int64)
    np.maximum.at(last, group, np.arange(len(ids)))
    longest = np.full(len(names), -np.inf)
    np.maximum.at(longest, group, durations)
    ex, ey = rect.to_video(fx[last], fy[last], size)
    order = np.argsort(starts[first])
    return ((starts[first] - start + options.offset_ms / 1000)[order], longest[order], ex[order], ey[order])


def inspect(path, options: GazeOptions, screen_px=(1440, 900)) -> GazeInspection:
    path = Path(path)
    header, columns, _ = read_table(path, REQUIRED)
    media = list(dict.fromkeys(m.strip() for m in columns.get("MEDIA_NAME", []) if m.strip()))
    found = GazeInspection(str(path), FORMAT, [path.stem], media, has_events="FPOGID" in columns)
    try:
        found.stimulus = choose_stimulus(str(path), media, options, "MEDIA_NAME column") if media else None
    except GazeError as exc:
        found.notes.append(str(exc))
    chosen = [m.strip() == found.stimulus for m in columns.get("MEDIA_NAME", [])] if found.stimulus else \
        [True] * len(columns["FPOGX"])
    valid = to_floats(columns["FPOGV"])[np.array(chosen, dtype=bool)] == 1
    found.sample_counts[path.stem] = int(sum(chosen))
    found.fixation_counts[path.stem] = int(valid.sum())
    found.screen = tuple(options.screen_px or screen_px)
    # the file does not say where the video was: fitted to the screen unless --video-rect says otherwise
    found.video_rect = tuple(options.video_rect) if options.video_rect else None
    found.start_events = [f"first row of {found.stimulus}"] if found.stimulus else ["first row"]
    return found
