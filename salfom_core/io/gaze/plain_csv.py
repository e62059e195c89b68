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
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GazeError(f"{path}: cannot read ({exc})") from None
    # `#` lines are comments (gaze-convert states the fixation detector in one)
    all_lines = text.split("\n")
    head = next((k for k, line in enumerate(all_lines) if not line.startswith("#")), len(all_lines))
    # later `#` lines are blanked (the reader skips blank rows), so its line numbers + head are the file's
    text = "\n".join("" if line.startswith("#") else line for line in all_lines[head:])
    reader = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower(): f for f in (reader.fieldnames or [])}
    if not {"x", "y"} <= fields.keys() or not ({"frame", "time_s"} & fields.keys()):
        raise GazeError(f"{path}: a gaze CSV needs columns x, y and frame or time_s; "
                        f"found {', '.join(fields) or 'none'} (another layout: --columns time=...,x=...,y=...)")
    rows, lines, skipped = [], [], 0
    names: dict[str, int] = {}
    for row in reader:
        try:
            x, y = float(row[fields["x"]]), float(row[fields["y"]])
            time_s = math.nan          # a row by time is placed on its frame below, by the video's clock
            if "frame" in fields and (row.get(fields["frame"]) or "").strip() != "":
                frame = int(float(row[fields["frame"]]))
            else:
                time_s = float(row[fields["time_s"]])
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
    return GazeData(data[:, 0].astype(np.int64), xs, ys, observer, ordered, n_frames, size, fps, str(path), skipped,
                    warnings=warnings)


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
