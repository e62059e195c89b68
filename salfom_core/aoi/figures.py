"""The AOI figures of AOI_SPEC.md, for gaze and for any number of models.

Three tables, each with exactly the spec's columns:
- `aoi_observers.csv` (`OBSERVER_COLUMNS`): per AOI and observer, from the fixation events:
  time to first fixation, first fixation's duration, hitting fixations, visits;
- `aoi_frames.csv` (`FRAME_COLUMNS`): per AOI, active frame and source (`gaze` or a model's
  name): the share of the frame's gaze samples or of the map's mass inside the AOI, that share
  over the AOI's area share (`density`), and for gaze how many observers look inside;
- `aoi_summary.csv` (`SUMMARY_COLUMNS`): per AOI and source, the means over the active frames
  and, for gaze, the percentage of observers who fixated the AOI and the means of their times.

Frames are 1-based in the tables. The work is split per AOI so that the app recomputes only
the AOIs an edit changed (`compute_figures(inputs, [aoi])`), and each model's maps are read once
for all the AOIs computed together.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..evaluation.metrics import imresize
from ..io.atomic import atomic_write_bytes, atomic_write_text, make_folder
from ..io.gaze import GazeData
from .keyframes import AOI, AoiError
from .shapes import Region, contains, region

GAZE = "gaze"
OBSERVER_COLUMNS = ("aoi", "observer", "ttff_ms", "ttff_from_onset_ms", "first_fixation_ms", "fixations",
                    "fixation_ms", "visits", "visit_ms")
FRAME_COLUMNS = ("aoi", "frame", "active", "source", "share", "density", "observers")
SUMMARY_COLUMNS = ("aoi", "source", "frames_active", "share_mean", "density_mean", "percent_fixated",
                   "ttff_ms_mean", "fixation_ms_mean")
CSV_NAMES = ("aoi_observers.csv", "aoi_frames.csv", "aoi_summary.csv")


# --------------------------------------------------------------------------- inputs


class MapSource:
    """A model's maps: `read(index)` gives frame `index`'s (0-based) 2-D map at any size, or
    None where the model has none. Maps are brought to the video's size as `salfom evaluate`
    reads them (MATLAB imresize, uint8 staying uint8); its im2double (a division by 255) is
    left out: the shares are ratios of sums, which a common scale does not change.
    `constant`: one map for every frame (the centre bias), read once. `keep_maps`: hold the
    maps in memory (the app, recomputing after each edit: W x H bytes a frame for 8-bit maps)."""

    def __init__(self, name: str, read: Callable[[int], np.ndarray | None], constant: bool = False,
                 keep_maps: bool = False):
        self.name, self._read, self.constant, self.keep_maps = name, read, constant, keep_maps
        self._maps: dict[int, np.ndarray | None] = {}
        self._totals: dict[int, float] = {}

    def map(self, index: int, size: tuple[int, int]) -> np.ndarray | None:
        """Frame `index`'s map at the video's `size` (W, H), or None."""
        key = 0 if self.constant else index
        if key in self._maps:
            return self._maps[key]
        raw = self._read(key)
        m = None if raw is None else imresize(np.asarray(raw), (size[1], size[0]))
        if m is not None and m.ndim != 2:
            raise AoiError(f"{self.name}: frame {index + 1}'s map is not a grey image ({m.shape})")
        if self.constant or self.keep_maps:
            self._maps[key] = m
        return m

    def total(self, index: int, m: np.ndarray) -> float:
        key = 0 if self.constant else index
        if key not in self._totals:
            self._totals[key] = float(m.sum(dtype=np.float64))
        return self._totals[key]


@dataclass
class AoiInputs:
    """What the figures are computed from: the video's frame count, size (W, H) and frame
    rate, its gaze (per-frame samples and fixation events) and the models' maps."""

    n_frames: int
    size: tuple[int, int]
    fps: float
    gaze: GazeData | None = None
    models: Sequence[MapSource] = ()

    @property
    def sources(self) -> list[str]:
        return ([GAZE] if self.gaze is not None else []) + [m.name for m in self.models]


# --------------------------------------------------------------------------- the AOI frame by frame


class AoiGeometry:
    """An AOI on the video's frames: active or not, its vertices and its pixels per frame.

    Pixels are computed once per distinct shape (an AOI that holds still between keyframes,
    or after its last one, costs one mask)."""

    def __init__(self, aoi: AOI, n_frames: int, size: tuple[int, int]):
        self.aoi, self.n_frames, self.size = aoi, n_frames, size
        self.active = aoi.active_frames(n_frames)
        self.vertices = [aoi.vertices_at(f + 1) if on else None for f, on in enumerate(self.active)]
        self._regions: dict[tuple, Region] = {}
        self.onset = next((f + 1 for f, on in enumerate(self.active) if on), None)   # first active frame

    def region(self, index: int) -> Region | None:
        """Pixels at frame `index` (0-based), None where the AOI is off."""
        v = self.vertices[index]
        if v is None:
            return None
        if v not in self._regions:
            self._regions[v] = region(self.aoi.shape, v, self.size)
        return self._regions[v]

    def contains(self, index: int, x, y) -> np.ndarray:
        v = self.vertices[index]
        if v is None:
            return np.zeros(np.shape(x), dtype=bool)
        return contains(self.aoi.shape, v, x, y)

    def area_share(self, index: int) -> float:
        reg = self.region(index)
        w, h = self.size
        return reg.pixels / (w * h) if reg is not None else math.nan


@dataclass
class SourceSeries:
    """One AOI's per-frame figures for one source, over all frames (index = frame - 1):
    NaN where the AOI is off or the source has no value (no samples, no map)."""

    aoi: str
    source: str
    active: np.ndarray            # bool
    share: np.ndarray             # float64
    density: np.ndarray           # float64
    observers: np.ndarray | None = None   # int64, gaze only; -1 where the AOI is off

    @property
    def frames_active(self) -> int:
        return int(self.active.sum())

    def mean(self, values: np.ndarray) -> float:
        """Mean over the active frames that have a value; NaN when none has."""
        kept = values[self.active & ~np.isnan(values)]
        return float(kept.mean()) if kept.size else math.nan


def gaze_series(geometry: AoiGeometry, gaze: GazeData) -> SourceSeries:
    """Per frame: the frame's fixation samples (all observers) inside the AOI / all of them, and
    how many observers have a sample inside (not known for inputs without observers, such as
    annotation folders: `observers` is then None)."""
    n = geometry.n_frames
    share, density = np.full(n, np.nan), np.full(n, np.nan)
    observers = np.full(n, -1, dtype=np.int64)
    for i in np.flatnonzero(geometry.active):
        x, y, obs = gaze.for_frame(int(i)) if i < gaze.n_frames else (np.empty(0),) * 3
        inside = geometry.contains(int(i), x, y)
        observers[i] = len(np.unique(obs[inside & (obs >= 0)]))
        if len(x):
            share[i] = inside.sum() / len(x)
            density[i] = _density(share[i], geometry.area_share(int(i)))
    return SourceSeries(geometry.aoi.name, GAZE, geometry.active.copy(), share, density,
                        observers if gaze.observers else None)


def model_series(geometries: Sequence[AoiGeometry], model: MapSource,
                 step: Callable[[], bool | None] | None = None) -> list[SourceSeries]:
    """Per frame and AOI: the map's mass inside the AOI / its whole mass. Each map is read
    once for all the AOIs. `step()` is called after each frame read; True from it cancels
    (the result is then None)."""
    if not geometries:
        return []
    n, size = geometries[0].n_frames, geometries[0].size
    shares = [np.full(n, np.nan) for _ in geometries]
    wanted = np.logical_or.reduce([g.active for g in geometries])
    for i in np.flatnonzero(wanted):
        i = int(i)
        m = model.map(i, size)
        if m is not None:
            total = model.total(i, m)
            for g, share in zip(geometries, shares):
                reg = g.region(i)
                if reg is not None and total > 0:
                    share[i] = reg.sum(m) / total
        if step is not None and step():
            return None
    out = []
    for g, share in zip(geometries, shares):
        area = np.array([g.area_share(i) if on else np.nan for i, on in enumerate(g.active)])
        out.append(SourceSeries(g.aoi.name, model.name, g.active.copy(), share, _density(share, area)))
    return out


def _density(share, area_share):
    """share / area share; NaN where the AOI covers no pixel."""
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.asarray(share, dtype=np.float64) / np.asarray(area_share, dtype=np.float64)
    d = np.where(np.asarray(area_share) > 0, d, np.nan)
    return float(d) if np.ndim(d) == 0 else d


# --------------------------------------------------------------------------- per observer


@dataclass
class ObserverFigures:
    """One observer on one AOI (times in ms from the video's start; None: no hit)."""

    aoi: str
    observer: str
    ttff_ms: float | None
    ttff_from_onset_ms: float | None
    first_fixation_ms: float | None
    fixations: int
    fixation_ms: float
    visits: int
    visit_ms: float

    def row(self) -> dict:
        return {c: getattr(self, c) for c in OBSERVER_COLUMNS}


def observer_figures(geometry: AoiGeometry, gaze: GazeData) -> list[ObserverFigures]:
    """Each observer's fixations on the AOI (AOI_SPEC.md): a fixation belongs to the frame it
    starts in, floor(fps * t0) + 1 (by the frames' timestamps on a variable-frame-rate video), and
    hits when its position is inside the AOI there."""
    events = require_events(gaze)
    clock, n = gaze.clock, geometry.n_frames
    onset_ms = float(clock.start_of(geometry.onset - 1)) * 1000 if geometry.onset else None
    frame = clock.frame_at(events.start_s) + 1
    inside_video = (frame >= 1) & (frame <= n)           # fixations starting outside the video: left out
    hits = np.zeros(len(frame), dtype=bool)
    for f in np.unique(frame[inside_video]):             # every event of a frame tested at once
        at = np.flatnonzero(frame == f)
        hits[at] = geometry.contains(int(f) - 1, events.x[at], events.y[at])
    out = []
    for k, name in enumerate(gaze.observers):
        mine = (events.observer == k) & inside_video
        out.append(_observer(geometry.aoi.name, name, events.start_s[mine], events.duration_s[mine], hits[mine],
                             onset_ms))
    return out


def _observer(aoi: str, name: str, t0: np.ndarray, dur: np.ndarray, hits: np.ndarray, onset_ms) -> ObserverFigures:
    if not hits.any():
        return ObserverFigures(aoi, name, None, None, None, 0, 0.0, 0, 0.0)
    first = int(np.flatnonzero(hits)[0])
    ttff = t0[first] * 1000
    # visits: maximal runs of consecutive hitting fixations, from the first one's start to the last one's end
    edges = np.diff(np.concatenate([[0], hits.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    visit_ms = float(((t0[ends] + dur[ends]) - t0[starts]).sum() * 1000)
    return ObserverFigures(aoi, name, float(ttff), float(ttff - onset_ms), float(dur[first] * 1000), int(hits.sum()),
                           float(dur[hits].sum() * 1000), len(starts), visit_ms)


def require_events(gaze: GazeData):
    if gaze.events is None:
        raise AoiError(f"{gaze.source or 'the gaze input'}: no fixation events (the file has only samples); "
                       "give --detect ivt to detect fixations from the samples")
    return gaze.events


# --------------------------------------------------------------------------- all of it


@dataclass
class AoiFigures:
    """The figures of some AOIs: per-frame series (gaze first, then the models, per AOI) and
    per-observer figures; `*_rows()` give the CSV rows with the spec's columns."""

    inputs: AoiInputs
    aois: list[str]
    series: list[SourceSeries] = field(default_factory=list)
    observers: list[ObserverFigures] = field(default_factory=list)

    def series_of(self, aoi: str) -> list[SourceSeries]:
        return [s for s in self.series if s.aoi == aoi]

    def frame_rows(self) -> list[dict]:
        rows = []
        for aoi in self.aois:
            series = self.series_of(aoi)
            if not series:
                continue
            for i in np.flatnonzero(series[0].active):
                for s in series:
                    rows.append({"aoi": aoi, "frame": int(i) + 1, "active": 1, "source": s.source,
                                 "share": s.share[i], "density": s.density[i],
                                 "observers": int(s.observers[i]) if s.observers is not None else None})
        return rows

    def observer_rows(self) -> list[dict]:
        return [o.row() for o in self.observers]

    def summary_rows(self) -> list[dict]:
        rows = []
        n_observers = len(self.inputs.gaze.observers) if self.inputs.gaze is not None else 0
        for aoi in self.aois:
            for s in self.series_of(aoi):
                row = {"aoi": aoi, "source": s.source, "frames_active": s.frames_active,
                       "share_mean": s.mean(s.share), "density_mean": s.mean(s.density),
                       "percent_fixated": None, "ttff_ms_mean": None, "fixation_ms_mean": None}
                if s.source == GAZE and n_observers and self.inputs.gaze.events is not None:
                    mine = [o for o in self.observers if o.aoi == aoi]
                    hit = [o.ttff_ms for o in mine if o.ttff_ms is not None]
                    row["percent_fixated"] = 100 * len(hit) / n_observers
                    row["ttff_ms_mean"] = float(np.mean(hit)) if hit else None
                    row["fixation_ms_mean"] = float(np.mean([o.fixation_ms for o in mine])) if mine else None
                rows.append(row)
        return rows


def compute_figures(inputs: AoiInputs, aois: Sequence[AOI],
                    progress: Callable[[int, int], object] | None = None,
                    cancel: Callable[[], bool] | None = None) -> AoiFigures | None:
    """Every figure of `aois` (all of a set, or only those an edit changed). Gaze without
    fixation events gives its per-frame figures only (`salfom aoi` refuses it, naming the
    input: `require_events`). `progress(done, total)` counts frames read per model and one step
    per AOI for gaze; `cancel()` True stops the work and returns None."""
    geometries = [AoiGeometry(a, inputs.n_frames, inputs.size) for a in aois]
    figures = AoiFigures(inputs, [a.name for a in aois])
    reads = sum(int(np.logical_or.reduce([g.active for g in geometries]).sum()) if geometries else 0
                for _ in inputs.models)
    total, done = reads + (len(geometries) if inputs.gaze is not None else 0), 0

    def step() -> bool:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)
        return bool(cancel and cancel())

    per_aoi: dict[str, list[SourceSeries]] = {a.name: [] for a in aois}
    if inputs.gaze is not None:
        for g in geometries:
            per_aoi[g.aoi.name].append(gaze_series(g, inputs.gaze))
            if inputs.gaze.events is not None:      # without events: the per-frame shares only
                figures.observers.extend(observer_figures(g, inputs.gaze))
            if step():
                return None
    for model in inputs.models:
        series = model_series(geometries, model, step)
        if series is None:
            return None
        for s in series:
            per_aoi[s.aoi].append(s)
    figures.series = [s for a in aois for s in per_aoi[a.name]]
    return figures


# --------------------------------------------------------------------------- files


def _cell(value, column: str = "") -> str:
    """Empty for no value (None, NaN); whole numbers as they are; times in ms to the
    microsecond (trackers' clocks tick in microseconds: 67.99900002 is 67.999); other values
    to 10 significant digits."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = round(float(value), 3) if "_ms" in column else float(value)
        return format(value, ".10g") if abs(value) < 1e10 else repr(value)
    return str(value)


def csv_text(columns: Sequence[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c], c) for c in columns])
    return buf.getvalue()


def write_csvs(figures: AoiFigures, out: str | Path) -> list[Path]:
    """aoi_observers.csv, aoi_frames.csv and aoi_summary.csv in `out`, each atomically."""
    out = make_folder(out)
    tables = ((OBSERVER_COLUMNS, figures.observer_rows()), (FRAME_COLUMNS, figures.frame_rows()),
              (SUMMARY_COLUMNS, figures.summary_rows()))
    paths = []
    for name, (columns, rows) in zip(CSV_NAMES, tables):
        atomic_write_text(out / name, csv_text(columns, rows))
        paths.append(out / name)
    return paths


def write_plot(figures: AoiFigures, path: str | Path, colors: dict[str, str] | None = None) -> None:
    """One panel per AOI: its share over time (frames), gaze in black and each model in colour;
    gaps where the AOI is off. The format follows the suffix (.png, .svg, .pdf)."""
    from ..evaluation.scoreboard import plot_format

    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError("--plot needs matplotlib (pip install matplotlib)") from None
    fmt = plot_format(path)
    aois = [a for a in figures.aois if figures.series_of(a)] or figures.aois
    fig = Figure(figsize=(9, 1.9 * max(len(aois), 1) + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(len(aois), 1), 1, squeeze=False, sharex=True)[:, 0]
    frames = np.arange(1, figures.inputs.n_frames + 1)
    models = [m.name for m in figures.inputs.models]
    style = {GAZE: {"color": "black", "lw": 0.9}}
    style.update({name: {"color": (colors or {}).get(name, f"C{k}"), "lw": 1.2} for k, name in enumerate(models)})
    for ax, aoi in zip(axes, aois):
        for s in figures.series_of(aoi):
            ax.plot(frames, np.where(s.active, s.share, np.nan), label=s.source, **style[s.source])
        ax.set_title(aoi, fontsize=9, loc="left")
        ax.set_ylabel("share", fontsize=8)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("frame", fontsize=8)
    axes[-1].set_xlim(1, max(figures.inputs.n_frames, 2))
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    atomic_write_bytes(path, buf.getvalue())
