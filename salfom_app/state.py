"""Application state as plain Python objects that emit signals; widgets observe and edit it.

Nothing here imports Qt, so the state is testable without a window. Callbacks run
synchronously in the thread that changes the state; in the app that is always the GUI
thread (workers hand their results to it through Qt signals first).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from salfom_core.evaluate import GroundTruth

METRIC_LABELS = {"cc": "CC", "nss": "NSS", "sim": "SIM", "auc_judd": "AUC-Judd", "auc_shuffled": "sAUC",
                 "kld": "KLD"}
VIEW_MODES = ("overlay", "side-by-side")


class Signal:
    """A minimal observer list: connect(callback), emit(*args)."""

    def __init__(self):
        self._slots: list[Callable] = []

    def connect(self, slot: Callable) -> None:
        if slot not in self._slots:
            self._slots.append(slot)

    def disconnect(self, slot: Callable) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args) -> None:
        for slot in list(self._slots):
            slot(*args)


@dataclass(eq=False)
class Layer:
    """One predictor's maps for the open video: the centre bias, a SalFoM checkpoint, or a folder."""

    name: str
    kind: str                                 # "center-bias", "salfom", "folder"
    n_frames: int
    read: Callable[[int], np.ndarray | None]  # uint8 map of a frame, None while not computed
    source: str = ""                          # checkpoint or folder path
    visible: bool = True
    colormap: str = "jet"
    opacity: float = 0.5
    threshold: float = 0.0
    done: np.ndarray = None                   # bool per frame
    running: bool = False
    progress: tuple[int, int, float] = (0, 0, math.inf)   # done, total, eta seconds
    metrics: dict[str, np.ndarray] = field(default_factory=dict)   # name -> per-frame values (NaN unknown)
    changed: Signal = field(default_factory=Signal, repr=False)

    def __post_init__(self):
        if self.done is None:
            self.done = np.zeros(self.n_frames, bool)

    def set(self, **values) -> None:
        for key, value in values.items():
            setattr(self, key, value)
        self.changed.emit(self, tuple(values))

    def summary(self) -> dict[str, float]:
        """DHF1K protocol over this video: the mean of the frames with a value."""
        out = {}
        for name, values in self.metrics.items():
            finite = values[~np.isnan(values)]
            out[name] = float(finite.mean()) if finite.size else math.nan
        return out


class ViewerState:
    """The open video, its layers, gaze and ground truth, the playhead, and view settings."""

    def __init__(self):
        self.video = None                 # salfom_core.video.VideoSource (the GUI thread's reader)
        self.video_path: Path | None = None
        self.synthetic = False            # the bundled demo: label it as such
        self.frame = 0
        self.playing = False
        self.speed = 1.0
        self.layers: list[Layer] = []
        self.active: Layer | None = None   # the layer shown (left in side-by-side)
        self.compare: Layer | None = None  # the right layer in side-by-side
        self.gaze = None                   # salfom_core.gaze.GazeData
        self.truth: GroundTruth | None = None
        self.truth_source = ""
        self.show_fixations = True
        self.show_ground_truth = False
        self.view_mode = "overlay"
        self.interpolate = True            # blends between computed frames (View menu)
        self.curve_metric = "cc"
        self.checkpoint: str | None = None
        self.video_changed = Signal()      # ()
        self.frame_changed = Signal()      # (frame)
        self.layers_changed = Signal()     # ()
        self.truth_changed = Signal()      # ()
        self.view_changed = Signal()       # (what)
        self.playing_changed = Signal()    # (playing)

    # ----------------------------------------------------------------- video and frame

    @property
    def n_frames(self) -> int:
        return len(self.video) if self.video is not None else 0

    @property
    def fps(self) -> float:
        return self.video.info.fps if self.video is not None else 30.0

    def set_video(self, video, path: Path, synthetic: bool = False) -> None:
        if self.video is not None:
            self.video.close()
        self.video, self.video_path, self.synthetic = video, Path(path), synthetic
        self.frame, self.layers, self.active, self.compare = 0, [], None, None
        self.gaze, self.truth, self.truth_source = None, None, ""
        self.set_playing(False)
        self.video_changed.emit()
        self.layers_changed.emit()
        self.truth_changed.emit()
        self.frame_changed.emit(0)

    def set_frame(self, frame: int) -> None:
        if self.video is None:
            return
        frame = int(min(max(frame, 0), self.n_frames - 1))
        if frame != self.frame:
            self.frame = frame
            self.frame_changed.emit(frame)

    def step(self, delta: int) -> None:
        self.set_frame(self.frame + delta)

    def set_playing(self, playing: bool) -> None:
        if playing != self.playing:
            self.playing = playing
            self.playing_changed.emit(playing)

    def time_s(self, frame: int | None = None) -> float:
        return (self.frame if frame is None else frame) / self.fps

    # ----------------------------------------------------------------- layers

    def add_layer(self, layer: Layer) -> Layer:
        """Add (or replace a layer of the same name) and show it."""
        self.layers = [l for l in self.layers if l.name != layer.name] + [layer]
        if self.active is None or self.active.name == layer.name:
            self.active = layer
        elif self.compare is None or self.compare.name == layer.name:
            self.compare = layer
        self.layers_changed.emit()
        return layer

    def remove_layer(self, layer: Layer) -> None:
        self.layers = [l for l in self.layers if l is not layer]
        if self.active is layer:
            self.active = self.layers[0] if self.layers else None
        if self.compare is layer or self.compare is self.active:
            self.compare = next((l for l in self.layers if l is not self.active), None)
        self.layers_changed.emit()

    def layer(self, name: str) -> Layer | None:
        return next((l for l in self.layers if l.name == name), None)

    def set_active(self, layer: Layer | None, compare: Layer | None = None) -> None:
        self.active = layer
        if compare is not None:
            self.compare = compare
        self.layers_changed.emit()

    # ----------------------------------------------------------------- truth and settings

    def set_truth(self, gaze=None, truth: GroundTruth | None = None, source: str = "") -> None:
        self.gaze, self.truth, self.truth_source = gaze, truth, source
        for layer in self.layers:
            layer.metrics = {}
        self.truth_changed.emit()

    def set_view(self, **values) -> None:
        for key, value in values.items():
            if key == "view_mode" and value not in VIEW_MODES:
                raise ValueError(f"view mode must be one of {VIEW_MODES}")
            setattr(self, key, value)
        self.view_changed.emit(tuple(values))

    def ground_truth_frame(self, frame: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(fixation map, continuous map) of a frame, or Nones."""
        if self.truth is None or frame >= self.truth.n_frames:
            return None, None
        return self.truth.fixations(frame), self.truth.gt_map(frame)

    def worst_frame(self, layer: Layer, metric: str, direction: int) -> int | None:
        """The next (direction=+1) or previous (-1) frame, from the playhead, that is among the
        worst tenth of `layer` by `metric` (the lowest values; the highest for KLD)."""
        values = layer.metrics.get(metric)
        if values is None or np.all(np.isnan(values)):
            return None
        scores = -values if metric == "kld" else values
        cutoff = np.nanpercentile(scores, 10)
        bad = np.flatnonzero(scores <= cutoff)
        ahead = bad[bad > self.frame] if direction > 0 else bad[bad < self.frame][::-1]
        return int(ahead[0]) if len(ahead) else None

