"""Tobii Pro Lab data export (TSV): every participant of a project in one file.

Layout (exports/README.md): one header row; `Recording timestamp [μs]` (older versions: bare
`Recording timestamp`, also microseconds), `Participant name`, `Presented Media name`, `Gaze point
X/Y [MCS norm]` (fractions of the media, top-left origin; older: `(MCSnorm)`), `Eye movement
type` (`Fixation`, `Saccade`, ...), `Eye movement type index`, `Gaze event duration [ms]`,
`Fixation point X/Y [MCS norm]`, `Event` / `Event value` rows (`VideoStimulusStart` with the
media's name). Comma decimals and UTF-16 (the "16-bit" option) are read as well.

Frame rule: a sample at t = (timestamp - the participant's `VideoStimulusStart`) seconds is in
frame floor(fps * t); the fixation samples are the rows of type `Fixation` at their gaze point.
The file is read in blocks, parsing only the columns used: a million rows take a few seconds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import GazeError
from .inspection import GazeInspection, message_kinds
from .options import GazeOptions
from .text import ByteTable, bytes_to_codes, bytes_to_floats, has_comma_decimals
from .tracks import Track, TrackSet, VideoRect, check_participants, choose_stimulus, frame_at

FORMAT = "Tobii Pro Lab TSV"
START_EVENT = "VideoStimulusStart"
UNITS = {"μs": 1e6, "µs": 1e6, "us": 1e6, "ms": 1e3, "s": 1.0, "ns": 1e9}      # per second

# role -> (column name without its unit, unit or None for any); the first form found is used
COLUMNS = {
    "time": ("recording timestamp", None),
    "participant": ("participant name", None),
    "media": ("presented media name", None),
    "norm_x": ("gaze point x", "mcsnorm"), "norm_y": ("gaze point y", "mcsnorm"),
    "px_x": ("gaze point x", "dacspx"), "px_y": ("gaze point y", "dacspx"),
    "type": ("eye movement type", None), "type_index": ("eye movement type index", None),
    "duration": ("gaze event duration", None),
    "fix_x": ("fixation point x", "mcsnorm"), "fix_y": ("fixation point y", "mcsnorm"),
    "event": ("event", None), "event_value": ("event value", None),
}
# read once per participant and stimulus (constant along a showing)
GEOMETRY = {"media_x": ("presented media position x", "dacspx"), "media_y": ("presented media position y", "dacspx"),
            "media_w": ("presented media width", None), "media_h": ("presented media height", None),
            "recording_ms": ("recording duration", None),
            "screen_w": ("recording resolution width", None), "screen_h": ("recording resolution height", None)}
NUMBERS = ("time", "norm_x", "norm_y", "px_x", "px_y", "type_index", "duration", "fix_x", "fix_y")
LABELS = ("participant", "media", "type", "event", "event_value")


def is_tobii(head: str) -> bool:
    first = head.split("\n", 1)[0]
    return "\t" in first and "recording timestamp" in first.lower() and "participant name" in first.lower()


def column_key(name: str) -> tuple[str, str]:
    """('gaze point x', 'mcsnorm') from `Gaze point X [MCS norm]` or `Gaze point X (MCSnorm)`."""
    match = re.match(r"^(.*?)\s*[\[(]([^\])]*)[\])]\s*$", name.strip())
    base, unit = (match.group(1), match.group(2)) if match else (name.strip(), "")
    return base.strip().lower(), unit.replace(" ", "").lower()


@dataclass
class TobiiTable:
    """The used columns of a whole export: numbers as float arrays, labels as int codes."""

    path: Path
    header: list[str]
    time_unit: float                             # timestamp units per second
    values: dict[str, np.ndarray]
    names: dict[str, list[str]]                  # label column -> its distinct values (code order)
    geometry: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)  # (participant, media) -> values
    skipped: int = 0
    present: set[str] = field(default_factory=set)   # the roles of COLUMNS the header has

    def code(self, column: str, name: str) -> int:
        return self.names[column].index(name) if name in self.names[column] else -1

    def participants(self) -> list[str]:
        return [p for p in self.names["participant"] if p]

    def media(self) -> list[str]:
        return [m for m in self.names["media"] if m]


def read_table(path: str | Path, pixels: bool = False) -> TobiiTable:
    """Parse the export once: only the columns that `COLUMNS` and `GEOMETRY` name (the DACS
    pixel gaze only with `pixels` or where the MCS columns are missing)."""
    path = Path(path)
    table = ByteTable(path)
    index, geometry_index = {}, {}

    def choose(header: list[str]) -> dict[int, str]:
        found, geometry_found = _column_index(path, header)
        if not pixels and "norm_x" in found:
            found = {k: i for k, i in found.items() if k not in ("px_x", "px_y")}
        index.update(found)
        geometry_index.update(geometry_found)
        kinds = {i: "few" for i in geometry_found.values()}       # read at a few rows only
        kinds.update({i: "number" for k, i in found.items() if k in NUMBERS})
        kinds.update({i: "sparse" if k in ("event", "event_value") else "label" for k, i in found.items()
                      if k in LABELS})
        return kinds

    chunks: dict[str, list[np.ndarray]] = {k: [] for k in (*NUMBERS, *LABELS)}
    label_names: dict[str, dict[bytes, int]] = {k: {b"": 0} for k in LABELS}     # code 0: empty
    geometry: dict[tuple[int, int], dict[str, float]] = {}
    comma, previous_pair = None, None
    for block in table.blocks(choose):
        columns, n = block.columns, block.rows
        if comma is None:       # decided by the first block that has decimals
            comma = has_comma_decimals([columns[index[k]] for k in NUMBERS[1:] if k in index])
        for key in NUMBERS:
            # float32 where 7 digits do (fractions of the media, event numbers): half the memory
            dtype = np.float64 if key in ("time", "px_x", "px_y") else np.float32
            chunks[key].append(bytes_to_floats(columns[index[key]], bool(comma)).astype(dtype, copy=False)
                               if key in index else np.full(n, np.nan, dtype=dtype))
        for key in LABELS:
            chunks[key].append(bytes_to_codes(columns[index[key]], label_names[key]) if key in index
                               else np.zeros(n, dtype=np.int32))
        previous_pair = _note_geometry(block, chunks, geometry_index, geometry, bool(comma), previous_pair)
    if table.header is None:
        raise GazeError(f"{path}: empty file")
    values = {k: np.concatenate(v) if v else np.empty(0) for k, v in chunks.items()}
    names = {k: [_text(path, name) for name in v] for k, v in label_names.items()}
    unit = _time_unit(path, table.header, index["time"], values, names, geometry)
    return TobiiTable(path, table.header, unit, values, names, geometry, table.skipped, set(index))


def _text(path: Path, name: bytes) -> str:
    return name.decode("utf-8", errors="replace")


def _column_index(path: Path, header: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    keys = [column_key(h) for h in header]

    def find(base: str, unit: str | None) -> int | None:
        for i, (b, u) in enumerate(keys):
            if b == base and (unit is None or u == unit):
                return i
        return None

    index = {role: i for role, spec in COLUMNS.items() if (i := find(*spec)) is not None}
    geometry = {role: i for role, spec in GEOMETRY.items() if (i := find(*spec)) is not None}
    required = ["time", "participant", "media"]
    if "norm_x" not in index and "px_x" not in index:
        required.append("norm_x")
    missing = [r for r in required if r not in index]
    if missing:
        wanted = {"time": "Recording timestamp", "participant": "Participant name",
                  "media": "Presented Media name", "norm_x": "Gaze point X [MCS norm]"}
        raise GazeError(f"{path}: no column {', '.join(repr(wanted[m]) for m in missing)} in the header; "
                        f"it has: {', '.join(h for h in header if h)}")
    return index, geometry


def _note_geometry(block, chunks, geometry_index, geometry, comma, previous_pair):
    """The media's position and size at each (participant, media) pair's first row."""
    if not geometry_index:
        return previous_pair
    participant, media = chunks["participant"][-1], chunks["media"][-1]
    pairs = participant.astype(np.int64) * 100003 + media
    changes = np.flatnonzero(np.diff(pairs, prepend=-1 if previous_pair is None else previous_pair))
    new = [int(i) for i in changes if (int(participant[i]), int(media[i])) not in geometry]
    if new:
        fields = {role: block.field(col, new) for role, col in geometry_index.items()}
        for k, i in enumerate(new):
            geometry.setdefault((int(participant[i]), int(media[i])),
                                {role: _number(fields[role][k].decode("utf-8", "replace"), comma)
                                 for role in geometry_index})
    return int(pairs[-1]) if len(pairs) else previous_pair


def _number(text: str, comma: bool) -> float:
    try:
        return float(text.replace(",", ".") if comma else text)
    except ValueError:
        return float("nan")


def _time_unit(path: Path, header: list[str], column: int, values, names, geometry) -> float:
    """Timestamp units per second: from the header, and for a bare header microseconds unless the
    timestamps span a thousandth of the recording's duration (then milliseconds)."""
    unit = column_key(header[column])[1]
    if unit:
        if unit not in UNITS:
            raise GazeError(f"{path}: unknown unit of {header[column]!r}; expected μs, ms or s")
        return UNITS[unit]
    durations = [g.get("recording_ms", np.nan) for g in geometry.values()]
    longest = np.nanmax(durations) if durations and np.isfinite(durations).any() else np.nan
    times = values["time"][np.isfinite(values["time"])]
    if np.isfinite(longest) and len(times) and longest > 0:
        span_s = (times.max() - times.min()) / 1e6
        if span_s < longest / 1000 / 100:       # a thousand times too short as microseconds
            return 1e3
    return 1e6


# --------------------------------------------------------------------------- tracks


def read_tracks(path, size: tuple[int, int], n_frames: int, fps: float, options: GazeOptions,
                table: TobiiTable | None = None) -> TrackSet:
    table = table or read_table(path, pixels=options.video_rect is not None)
    v, source = table.values, str(table.path)
    stimulus = choose_stimulus(source, table.media(), options, "Presented Media name")
    if stimulus is None:
        raise GazeError(f"{source}: no row has a Presented Media name: the export holds no stimulus")
    media = table.code("media", stimulus)
    people = check_participants(source, table.participants(), options)
    use_pixels = options.video_rect is not None or "norm_x" not in table.present
    tracks, missing_start, no_samples, rect = [], [], [], None
    for name in people:
        p = table.code("participant", name)
        rows = np.flatnonzero((v["participant"] == p) & (v["media"] == media))
        if len(rows) == 0:
            no_samples.append(name)
            continue
        start = _start_times(table, p, stimulus, options)
        if len(start) == 0:
            missing_start.append(name)
            continue
        geometry = table.geometry.get((p, media), {})
        media_rect = _media_rect(geometry)
        rect = rect or (VideoRect.of(options.video_rect) if options.video_rect else media_rect)
        tracks.append(_track(table, name, rows, start, size, fps, options, use_pixels, rect, media_rect))
    if missing_start:
        what = f"{START_EVENT} {stimulus}" if not options.start_message else f"event matching {options.start_message!r}"
        raise GazeError(f"{source}: no {what} for participant{'s' if len(missing_start) > 1 else ''} "
                        f"{', '.join(missing_start)}: give the start with --start-message REGEX, or leave "
                        f"{'them' if len(missing_start) > 1 else 'it'} out with --participants")
    warnings = []
    if no_samples:
        if options.participants is not None:
            raise GazeError(f"{source}: participant{'s' if len(no_samples) > 1 else ''} {', '.join(no_samples)} "
                            f"saw no {stimulus}")
        warnings.append(f"{source}: {', '.join(no_samples)} saw no {stimulus}: left out")
    return TrackSet(tracks, source, rect if use_pixels else None, _screen(table, options), table.skipped, warnings,
                    "file: Tobii Pro Lab Eye movement type")


def _screen(table: TobiiTable, options: GazeOptions) -> tuple[float, float] | None:
    """The screen in pixels: the export's `Recording resolution`, else --screen."""
    for g in table.geometry.values():
        if np.isfinite(g.get("screen_w", np.nan)) and np.isfinite(g.get("screen_h", np.nan)):
            return g["screen_w"], g["screen_h"]
    return tuple(options.screen_px) if options.screen_px else None


def _start_times(table: TobiiTable, participant: int, stimulus: str, options: GazeOptions) -> np.ndarray:
    """Timestamps of the events that start the video for one participant, sorted."""
    v = table.values
    rows = np.flatnonzero((v["participant"] == participant) & (v["event"] > 0))
    events, values = table.names["event"], table.names["event_value"]
    if options.start_message:
        pattern = re.compile(options.start_message)
        hits = [i for i in rows if pattern.search(f"{events[v['event'][i]]} {values[v['event_value'][i]]}".strip())]
    else:
        hits = [i for i in rows
                if events[v["event"][i]] == START_EVENT and values[v["event_value"][i]] in ("", stimulus)]
    return np.sort(v["time"][hits])


def _media_rect(geometry: dict[str, float]) -> VideoRect | None:
    values = [geometry.get(k, np.nan) for k in ("media_x", "media_y", "media_w", "media_h")]
    return VideoRect(*values) if np.isfinite(values).all() and values[2] > 0 and values[3] > 0 else None


def _track(table, name, rows, starts, size, fps, options, use_pixels, rect, media_rect) -> Track:
    v = table.values
    ts = v["time"][rows]
    # a showing is timed from the last start event at or before it (a video shown twice: each showing)
    which = np.searchsorted(starts, ts, side="right") - 1
    # divided by the units per second (1e6 is exact, 1e-6 is not): 100000 us is 0.1 s to the last bit
    t = (ts - starts[np.maximum(which, 0)]) / table.time_unit + options.offset_ms / 1000
    frame = np.where(which >= 0, frame_at(t, fps), -1)
    if use_pixels:
        if rect is None:
            raise GazeError(f"{table.path}: no Presented Media position/size columns: give --video-rect X,Y,W,H")
        x, y = rect.to_video(v["px_x"][rows], v["px_y"][rows], size)
    else:
        x, y = v["norm_x"][rows] * size[0], v["norm_y"][rows] * size[1]
    scale = media_rect.scale(size) if media_rect else 1.0
    if "type" not in table.present:
        return Track(name, t, x, y, frame, None, None, scale)
    is_fix = v["type"][rows] == table.code("type", "Fixation")
    return Track(name, t, x, y, frame, is_fix, _events(table, rows, is_fix, t, x, y, size), scale)


def _events(table, rows, is_fix, t, x, y, size):
    """One event per fixation: its first row's time, `Gaze event duration`, `Fixation point`."""
    v = table.values
    fix = np.flatnonzero(is_fix)
    if len(fix) == 0:
        return (np.empty(0),) * 4
    index = v["type_index"][rows][fix]
    # a new fixation where the index changes or a non-fixation row came between
    new = np.ones(len(fix), dtype=bool)
    known = np.isfinite(index[1:]) & np.isfinite(index[:-1])
    new[1:] = np.where(known, index[1:] != index[:-1], np.diff(fix) > 1)
    first = fix[new]
    group = np.cumsum(new) - 1
    counts = np.bincount(group)
    mean_x = np.bincount(group, weights=np.nan_to_num(x[fix])) / counts
    mean_y = np.bincount(group, weights=np.nan_to_num(y[fix])) / counts
    duration = v["duration"][rows][first] / 1000
    step = np.median(np.diff(t)) if len(t) > 1 else 0.0
    last = fix[np.r_[np.flatnonzero(new)[1:] - 1, len(fix) - 1]]
    duration = np.where(np.isfinite(duration), duration, t[last] - t[first] + step)
    fx, fy = v["fix_x"][rows][first] * size[0], v["fix_y"][rows][first] * size[1]
    return (t[first], duration, np.where(np.isfinite(fx), fx, mean_x), np.where(np.isfinite(fy), fy, mean_y))


# --------------------------------------------------------------------------- inspection


def inspect(path, options: GazeOptions) -> GazeInspection:
    table = read_table(path)
    v = table.values
    participants, media = table.participants(), table.media()
    found = GazeInspection(str(path), FORMAT, participants, media, has_events="type" in table.present)
    try:
        found.stimulus = choose_stimulus(str(path), media, options, "Presented Media name")
    except GazeError as exc:
        found.notes.append(str(exc))
    events, values = table.names["event"], table.names["event_value"]
    texts = [f"{e} {values[val]}".strip() for e, val in zip((events[c] for c in v["event"][v["event"] > 0]),
                                                            v["event_value"][v["event"] > 0])]
    found.start_events = [t for t in dict.fromkeys(texts) if t.split(" ")[0].endswith("Start")]
    found.messages = message_kinds(texts)
    code = table.code("media", found.stimulus) if found.stimulus else -2
    fixation = table.code("type", "Fixation")
    for name in participants:
        p = table.code("participant", name)
        mine = (v["participant"] == p) & (v["media"] == code)
        found.sample_counts[name] = int(mine.sum())
        found.fixation_counts[name] = int((mine & (v["type"] == fixation)).sum()) if fixation >= 0 else 0
        starts = _start_times(table, p, found.stimulus or "", options) if found.stimulus else np.empty(0)
        found.starts[name] = float(starts[0] / table.time_unit) if len(starts) else None
        rect = _media_rect(table.geometry.get((p, code), {}))
        if rect and found.video_rect is None:
            found.video_rect = (rect.x, rect.y, rect.w, rect.h)
    lacking = [n for n, s in found.starts.items() if s is None and found.sample_counts[n]]
    if lacking:
        found.notes.append(f"no start event for {', '.join(lacking)}")
    return found
