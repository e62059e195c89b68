"""Per-frame fixations from eye-tracking exports and annotation folders.

Coordinates are video pixels in the benchmark's convention: the 1-based pixel (r, c) is at
(x, y) = (c, r), so `ground_truth.fixation_map` puts a point at pixel (round(y), round(x)) exactly
as DHF1K's scripts do. Frames are 0-based. Malformed input rows are skipped and counted in
`GazeData.skipped`, never fatal; samples outside the picture (beyond [0, W] x [0, H]) or
outside the video's frames are dropped and counted in `GazeData.outside` / `outside_frames`.

Readers:
- `read_csv`: `frame` or `time_s`, `x`, `y`, optional `observer`; pixels or normalized 0..1,
- `read_smi`: raw SMI exports (one file per observer), screen geometry as parameters,
- `read_annotation_folder`: DHF1K / Hollywood-2 / UCF-Sports `fixation/maps/*.mat`
  (variable I) or `fixation/*.png`, and `maps/*.png` for the continuous ground truth,
- `load_gaze`: picks the reader from what the path is.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_write_text
from .errors import ConfigError
from .files import natural_key, numbered_files
from .ground_truth import fixation_map
from .video import read_grey


class GazeError(ValueError):
    """Gaze input that cannot be read at all (a bad row is only skipped)."""


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
    fps: float = 30.0
    source: str = ""
    skipped: int = 0                   # malformed rows skipped while reading
    outside: int = field(default=0, init=False)          # samples outside the picture, dropped
    outside_frames: int = field(default=0, init=False)   # samples before frame 0 or after the last
    _starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
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


# --------------------------------------------------------------------------- plain CSV


def read_csv(path: str | os.PathLike, size: tuple[int, int], n_frames: int, fps: float = 30.0,
             normalized: bool | None = None) -> GazeData:
    """A CSV with `frame` (0-based) or `time_s`, `x`, `y` and optionally `observer`.

    `normalized=None` guesses: coordinates all within 0..1 are read as fractions of the frame.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GazeError(f"{path}: cannot read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower(): f for f in (reader.fieldnames or [])}
    if not {"x", "y"} <= fields.keys() or not ({"frame", "time_s"} & fields.keys()):
        raise GazeError(f"{path}: a gaze CSV needs columns x, y and frame or time_s; "
                        f"found {', '.join(fields) or 'none'}")
    rows, skipped = [], 0
    names: dict[str, int] = {}
    for row in reader:
        try:
            x, y = float(row[fields["x"]]), float(row[fields["y"]])
            if "frame" in fields and (row.get(fields["frame"]) or "").strip() != "":
                frame = int(float(row[fields["frame"]]))
            else:
                frame = int(math.floor(float(row[fields["time_s"]]) * fps))
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError
        except (TypeError, ValueError, KeyError):
            skipped += 1
            continue
        name = (row.get(fields["observer"]) or "").strip() if "observer" in fields else ""
        obs = names.setdefault(name, len(names)) if name else -1
        rows.append((frame, x, y, obs))
    data = np.array(rows, dtype=np.float64).reshape(-1, 4)
    xs, ys = data[:, 1], data[:, 2]
    if normalized is None:
        normalized = len(data) > 0 and xs.min() >= 0 and ys.min() >= 0 and xs.max() <= 1 and ys.max() <= 1
    if normalized:
        xs, ys = xs * size[0], ys * size[1]
    # observers in natural order (P2 before P10), whatever order the rows came in
    ordered = sorted(names, key=lambda n: natural_key(Path(n)))
    remap = np.array([ordered.index(n) for n in names] + [-1], dtype=np.int64)   # index -1 stays -1
    observer = remap[data[:, 3].astype(np.int64)]
    return GazeData(data[:, 0].astype(np.int64), xs, ys, observer, ordered, n_frames, size, fps, str(path), skipped)


def write_csv(gaze: GazeData, path: str | os.PathLike) -> None:
    """The plain CSV (`frame,time_s,x,y,observer`), written atomically."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["frame", "time_s", "x", "y", "observer"])
    for f, x, y, o in zip(gaze.frame, gaze.x, gaze.y, gaze.observer):
        writer.writerow([int(f), f"{f / gaze.fps:.6f}", f"{x:.3f}", f"{y:.3f}",
                         gaze.observer_name(int(o)) if o >= 0 else ""])
    atomic_write_text(path, out.getvalue())


# --------------------------------------------------------------------------- SMI raw exports


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
    dropped as there). Points outside the picture are dropped.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if not paths:
        raise GazeError("no SMI files given")
    frames, xs, ys, obs, names, skipped = [], [], [], [], [], 0
    for path in sorted(paths, key=natural_key):
        t, x, y, bad = _read_smi_file(path)
        skipped += bad
        ft = fps * t
        frame = np.floor(ft).astype(np.int64)
        vx, vy = screen.to_video(x, y, size)
        keep = (ft > frame) & (vx > 0) & (vy > 0) & (vx < size[0]) & (vy < size[1]) & (frame < n_frames)
        names.append(path.stem.split("_")[0])
        frames.append(frame[keep]), xs.append(vx[keep]), ys.append(vy[keep])
        obs.append(np.full(keep.sum(), len(names) - 1))
    if not names:
        raise GazeError(f"{paths[0].parent}: no fixation samples in the SMI files")
    return GazeData(np.concatenate(frames), np.concatenate(xs), np.concatenate(ys), np.concatenate(obs),
                    names, n_frames, size, fps, str(paths[0].parent), skipped)


def _read_smi_file(path: Path):
    """Seconds since the first sample, x and y of the `Fixation` rows; and the malformed-row count."""
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
    times, t_fix, x_fix, y_fix, bad = [], [], [], [], 0
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
        if event.startswith("F"):
            t_fix.append(t), x_fix.append(x), y_fix.append(y)
    if not times:
        return np.empty(0), np.empty(0), np.empty(0), bad
    # time counts from the observer's first sample, fixation or not
    return np.array(t_fix) - times[0], np.array(x_fix), np.array(y_fix), bad


# --------------------------------------------------------------------------- annotation folders


def read_fixation_file(path: Path) -> np.ndarray:
    """One binary fixation map from a `.mat` (variable I) or an image; uint8 0/1."""
    if path.suffix.lower() == ".mat":
        from scipy.io import loadmat

        try:
            content = loadmat(str(path))
        except Exception as exc:  # scipy raises several unrelated types for bad files
            raise GazeError(f"{path}: not a readable MATLAB file ({exc})") from None
        if "I" not in content:
            raise GazeError(f"{path}: no variable I in the MATLAB file")
        return (np.asarray(content["I"]) > 0).astype(np.uint8)
    image = read_grey(path)
    if image is None:
        raise GazeError(f"{path}: not a readable image")
    return (image > 127).astype(np.uint8)


@dataclass
class AnnotationFolder:
    """`maps/` (continuous GT) and `fixation/` (binary) of one annotated video."""

    root: Path
    map_files: dict[int, Path]           # 0-based frame -> file
    fixation_files: dict[int, Path]

    @property
    def n_frames(self) -> int:
        return max(list(self.map_files) + list(self.fixation_files), default=-1) + 1

    def gt_map(self, index: int) -> np.ndarray | None:
        """The continuous map as MATLAB's im2double reads it (float64 in 0..1), or None."""
        path = self.map_files.get(index)
        if path is None:
            return None
        image = read_grey(path)
        if image is None:
            raise GazeError(f"{path}: not a readable image")
        return image.astype(np.float64) / 255.0

    def fixations(self, index: int) -> np.ndarray | None:
        path = self.fixation_files.get(index)
        return None if path is None else read_fixation_file(path)


def find_annotations(root: str | os.PathLike) -> AnnotationFolder:
    """Index `maps/*.png` and `fixation/maps/*.mat` (preferred, exact) or `fixation/*.png`."""
    root = Path(root)
    fixation = numbered_files(root / "fixation" / "maps", (".mat",)) or numbered_files(root / "fixation")
    maps = numbered_files(root / "maps")
    if not fixation and not maps:
        raise GazeError(f"{root}: no annotations (expected maps/*.png, fixation/*.png or fixation/maps/*.mat)")
    return AnnotationFolder(root, maps, fixation)


def read_annotation_folder(root: str | os.PathLike, size: tuple[int, int] | None = None,
                           fps: float = 30.0) -> GazeData:
    """The fixated pixels of every annotated frame as gaze samples (observer unknown)."""
    ann = find_annotations(root)
    if not ann.fixation_files:
        raise GazeError(f"{root}: no fixation maps (only continuous maps)")
    frames, xs, ys, shape = [], [], [], None
    for index in sorted(ann.fixation_files):
        fix = ann.fixations(index)
        shape = shape or fix.shape
        rows, cols = np.nonzero(fix)
        frames.append(np.full(len(rows), index)), xs.append(cols + 1.0), ys.append(rows + 1.0)
    h, w = shape
    xs_all, ys_all = np.concatenate(xs), np.concatenate(ys)
    if size and size != (w, h):
        xs_all, ys_all = xs_all * size[0] / w, ys_all * size[1] / h
    return GazeData(np.concatenate(frames), xs_all, ys_all, np.full(len(xs_all), -1), [],
                    ann.n_frames, size or (w, h), fps, str(root))


# --------------------------------------------------------------------------- dispatch


def load_gaze(path: str | os.PathLike, size: tuple[int, int], n_frames: int, fps: float = 30.0,
              screen: ScreenGeometry = ScreenGeometry()) -> GazeData:
    """Any supported gaze input, chosen by what `path` is."""
    path = Path(path)
    if not path.exists():
        raise GazeError(f"{path}: no such file or folder")
    if path.is_dir():
        smi = sorted(path.glob("*.txt"))
        if smi:
            return read_smi(smi, size, n_frames, fps, screen)
        return read_annotation_folder(path, size, fps)
    if path.suffix.lower() == ".csv":
        return read_csv(path, size, n_frames, fps)
    if path.suffix.lower() == ".txt":
        return read_smi([path], size, n_frames, fps, screen)
    raise GazeError(f"{path}: unknown gaze format (expected .csv, SMI .txt, or an annotation folder)")


def load_gaze_files(paths, size: tuple[int, int], n_frames: int, fps: float = 30.0,
                    screen: ScreenGeometry = ScreenGeometry()) -> GazeData:
    """Several gaze inputs (as a shell glob gives them) merged into one recording.

    SMI exports are one file per observer and are read together; any other mix is read input
    by input, an input's unnamed observer taking the input's file name. A path given twice
    counts once.
    """
    paths = list(dict.fromkeys(Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)))
    if not paths:
        raise GazeError("no gaze input given")
    if len(paths) == 1:
        return load_gaze(paths[0], size, n_frames, fps, screen)
    for path in paths:
        if not path.exists():
            raise GazeError(f"{path}: no such file or folder")
    if all(p.is_file() and p.suffix.lower() == ".txt" for p in paths):
        return read_smi(paths, size, n_frames, fps, screen)
    parts = [load_gaze(p, size, n_frames, fps, screen) for p in paths]
    names: list[str] = []

    def observer_index(name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    observer = []
    for path, part in zip(paths, parts):
        own = [observer_index(name) for name in part.observers]
        unnamed = observer_index(path.stem) if (part.observer < 0).any() else -1
        remap = np.array(own + [unnamed], dtype=np.int64)
        observer.append(remap[part.observer])   # an unnamed sample's -1 picks the last entry
    return GazeData(np.concatenate([p.frame for p in parts]), np.concatenate([p.x for p in parts]),
                    np.concatenate([p.y for p in parts]), np.concatenate(observer), names, n_frames, size, fps,
                    ", ".join(map(str, paths)), sum(p.skipped for p in parts))
