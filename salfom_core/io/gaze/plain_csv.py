"""The plain gaze CSV: `frame` or `time_s`, `x`, `y`, optional `observer`; pixels or 0..1."""
from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np

from ...errors import GazeError
from ..atomic import atomic_write
from ..files import natural_key
from ..frame_clock import as_clock
from .data import GazeData
from .text import looks_comma_decimal, read_lines, sniff_delimiter

WRITE_ROWS = 100_000


def read_csv(path: str | os.PathLike, size: tuple[int, int], n_frames: int, fps: float = 30.0,
             normalized: bool | None = None) -> GazeData:
    """A CSV with `frame` (0-based) or `time_s`, `x`, `y` and optionally `observer`. A time
    falls in frame floor(fps t), or by the frames' timestamps when `fps` is a variable FrameClock.

    `normalized=None` guesses, for the whole file: coordinates all within 0..1 are fractions of
    the frame (said in a warning); a file mostly within 0..1 with some rows beyond is refused
    (mixed units), naming its first such line. A time or frame that is not a finite number
    (`inf`, `1e400`) makes its row malformed: skipped and counted.
    """
    path = Path(path)
    table = PlainTable.open(path)
    reader, fields, head = table.reader, table.fields, table.head
    number = table.number
    rows, lines, skipped = [], [], 0
    names: dict[str, int] = {}
    for row in reader:
        try:
            x, y = number(row[fields["x"]]), number(row[fields["y"]])
            time_s = math.nan          # a row by time is placed on its frame below, by the video's clock
            if "frame" in fields and (row.get(fields["frame"]) or "").strip() != "":
                frame = int(number(row[fields["frame"]]))
            else:
                time_s = number(row[fields["time_s"]])
                frame = math.nan if math.isfinite(time_s) else int(time_s)      # int(inf): OverflowError
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError
        except (TypeError, ValueError, KeyError, OverflowError):     # OverflowError: int(inf)
            skipped += 1
            continue
        name = (row.get(fields["observer"]) or "").strip() if "observer" in fields else ""
        obs = names.setdefault(name, len(names)) if name else -1
        rows.append((frame, x, y, obs, time_s))
        lines.append(head + reader.line_num)
    if not rows:
        raise GazeError(f"{path}: no gaze rows" + (f" ({skipped} malformed rows skipped)" if skipped else
                                                   " (only a header)"))
    data = np.array(rows, dtype=np.float64).reshape(-1, 5)
    by_time = np.isnan(data[:, 0])
    data[by_time, 0] = as_clock(fps).frame_at(data[by_time, 4])
    xs, ys = data[:, 1], data[:, 2]
    warnings = []
    if normalized is None:
        normalized = _fractions_of_the_frame(path, xs, ys, lines)
        if normalized:
            warnings.append(f"{path}: every coordinate lies within 0..1: read as fractions of the frame")
    if normalized:
        xs, ys = xs * size[0], ys * size[1]
    # observers in natural order (P2 before P10), whatever order the rows came in
    ordered = sorted(names, key=lambda n: natural_key(Path(n)))
    remap = np.array([ordered.index(n) for n in names] + [-1], dtype=np.int64)   # index -1 stays -1
    observer = remap[data[:, 3].astype(np.int64)]
    if names and (observer < 0).any():
        # a hand-merged file: rows without a name would be nobody's markers, which no observer box hides
        ordered.append(path.stem if path.stem not in ordered else f"{path.stem} (unnamed)")
        warnings.append(f"{path}: {int((observer < 0).sum())} rows have no observer name: read as observer "
                        f"{ordered[-1]!r}")
        observer = np.where(observer < 0, len(ordered) - 1, observer)
    gaze = GazeData(data[:, 0].astype(np.int64), xs, ys, observer, ordered, n_frames, size, fps, str(path), skipped,
                    warnings=warnings)
    _require_samples(gaze, path)
    return gaze


def _require_samples(gaze: GazeData, path: Path) -> None:
    """No silent empty result: a file whose every sample falls off the video says so."""
    if len(gaze):
        return
    w, h = gaze.size
    if gaze.outside:
        frames = f" ({gaze.outside_frames} more outside its frames)" if gaze.outside_frames else ""
        raise GazeError(f"{path}: all {gaze.outside} samples fall outside the video's {w}x{h} picture{frames}: "
                        "are they in another unit or for another video?")
    raise GazeError(f"{path}: all {gaze.outside_frames} samples fall outside the video's {gaze.n_frames} frames "
                    "(is `time_s` in seconds, and the gaze of this video?)")


class PlainTable:
    """The plain CSV's rows as a DictReader, whatever wrote it: UTF-8 or UTF-16 (with or without a
    BOM), comma, semicolon or tab separated, decimal points or (German Excel's) decimal commas.
    `#` lines are comments (gaze-convert states the fixation detector in one); `head` + a row's
    `reader.line_num` is its line in the file."""

    def __init__(self, reader: csv.DictReader, fields: dict[str, str], head: int, comma_decimal: bool,
                 comments: list[str]):
        self.reader, self.fields, self.head, self.comments = reader, fields, head, comments
        self.number = (lambda text: float(text.replace(",", "."))) if comma_decimal else float

    @classmethod
    def open(cls, path: Path, required: bool = True) -> "PlainTable":
        all_lines = read_lines(path, fallback="cp1252")[0]
        head = next((k for k, line in enumerate(all_lines) if not line.startswith("#")), len(all_lines))
        delimiter = sniff_delimiter(all_lines[head]) if head < len(all_lines) else ","
        # later `#` lines are blanked (the reader skips blank rows), so its line numbers + head are the file's
        body = ["" if line.startswith("#") else line for line in all_lines[head:]]
        reader = csv.DictReader(io.StringIO("\n".join(body)), delimiter=delimiter)
        fields = {(f or "").strip().lower(): f for f in (reader.fieldnames or [])}
        if required and (not {"x", "y"} <= fields.keys() or not ({"frame", "time_s"} & fields.keys())):
            raise GazeError(f"{path}: a gaze CSV needs columns x, y and frame or time_s; "
                            f"found {', '.join(fields) or 'none'} (another layout: --columns time=...,x=...,y=...)")
        comma = delimiter != "," and looks_comma_decimal(
            [row.split(delimiter)[k] for row in body[1:200] if row for k in range(min(3, row.count(delimiter) + 1))])
        return cls(reader, fields, head, bool(comma), all_lines[:head])


def _fractions_of_the_frame(path: Path, xs: np.ndarray, ys: np.ndarray, lines: list[int]) -> bool:
    """Whether the file's coordinates are fractions of the frame rather than pixels: all within
    0..1. Mostly within 0..1 but not all is mixed units (a pixel file has few points in its
    top-left pixel): a GazeError naming the first line beyond."""
    unit = (xs >= 0) & (xs <= 1) & (ys >= 0) & (ys <= 1)
    if not len(xs) or unit.all():
        return bool(len(xs))
    if unit.mean() > 0.5:
        k = int(np.flatnonzero(~unit)[0])
        raise GazeError(f"{path}: mixed units: {int(unit.sum())} of {len(xs)} samples are fractions of the frame "
                        f"(0..1) but line {lines[k]} is not (x {xs[k]:g}, y {ys[k]:g}); give every row in one unit")
    return False


def write_csv(gaze: GazeData, path: str | os.PathLike) -> None:
    """The plain CSV (`frame,time_s,x,y,observer`), written atomically; a first line
    `# fixations: ...` says where the fixations came from (the file's events or a detector)."""
    head = f"# fixations: {' '.join(gaze.events.method.split())}\n" if gaze.events is not None and \
        gaze.events.method else ""
    names = [_csv_field(gaze.observer_name(k)) for k in range(len(gaze.observers))] + [""]
    with atomic_write(path, "wb") as fh:
        fh.write(f"{head}frame,time_s,x,y,observer\n".encode("utf-8"))
        # one f-string per row (no csv.writer call), written in chunks: memory stays small
        for a in range(0, len(gaze), WRITE_ROWS):
            part = slice(a, a + WRITE_ROWS)
            frames = gaze.frame[part]
            rows = zip(frames.tolist(), gaze.clock.start_of(frames).tolist(), gaze.x[part].tolist(), gaze.y[part].tolist(),
                       gaze.observer[part].tolist())
            fh.write("".join(f"{f},{t:.6f},{x:.3f},{y:.3f},{names[o]}\n" for f, t, x, y, o in rows).encode("utf-8"))


def _csv_field(text: str) -> str:
    """A name as one CSV field (quoted when it holds a comma, a quote or a line end)."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
