"""Application state as plain Python objects that emit signals; widgets observe and edit it.

Nothing here imports Qt, so the state is testable without a window. Callbacks run
synchronously in the thread that changes the state; in the app that is always the GUI
thread (workers hand their results to it through Qt signals first).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np

from salfom_core.errors import SalfomError
from salfom_core.evaluation.truths import GroundTruth
from salfom_core.io.frame_clock import FrameClock
from salfom_core.io.overlay import MARKER_STYLES, without_observers

METRIC_LABELS = {"cc": "CC", "nss": "NSS", "sim": "SIM", "auc_judd": "AUC-Judd", "auc_shuffled": "sAUC",
                 "kld": "KLD"}
# what each metric measures and which way is better: the tooltip of every place that names a metric
METRIC_TIPS = {
    "cc": "CC: linear correlation between the prediction and the ground-truth density map (-1 to 1); "
          "higher is better",
    "nss": "NSS: the standardised prediction's mean at the fixated pixels (0 is chance); higher is better",
    "sim": "SIM: histogram intersection of the prediction and the ground-truth density as distributions "
           "(0 to 1); higher is better",
    "auc_judd": "AUC-Judd: area under the ROC curve of fixated against all other pixels (0.5 is chance, "
                "1 perfect); higher is better",
    "auc_shuffled": "sAUC: shuffled AUC, the negatives are other frames' fixations, so a centre bias gains "
                    "nothing (0.5 is chance); higher is better",
    "kld": "KLD: Kullback-Leibler divergence of the ground-truth density from the prediction (0 is identical); "
           "lower is better"}
VIEW_MODES = ("single", "split")          # one pane, or two layers side by side
# curve colours, in the order layers take them (colour-blind-friendly enough, bright on the dark plot)
LAYER_PENS = [(255, 170, 0), (80, 200, 255), (255, 90, 160), (140, 230, 100), (200, 160, 255)]
GAZE_SOURCE = "gaze"           # the gaze's name in the AOI figures (salfom_core.aoi.figures.GAZE): no layer's
MAX_LAYER_NAME = 60            # characters: the summary table and the legends still show the figures beside it


class LayerNameError(SalfomError):
    """A rename the layers cannot take (empty, or another layer's name)."""


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
    read: Callable[[int], np.ndarray | None]  # uint8 map of a frame (shown), None while not computed
    source: str = ""                          # checkpoint or folder path
    maps_key: str = ""                        # what the maps are (cache entry, files): keys the cached metrics
    visible: bool = True
    colormap: str = "jet"
    opacity: float = 0.5
    threshold: float = 0.0
    done: np.ndarray = None                   # bool per frame
    running: bool = False
    error: str = ""                           # why computing stopped, when it failed
    colour: tuple[int, int, int] = None       # its curve's colour, the same in the app and every export
    progress: tuple[int, int, float] = (0, 0, math.inf)   # done, total, eta seconds
    metrics: dict[str, np.ndarray] = field(default_factory=dict)   # name -> per-frame values (NaN unknown)
    scored: np.ndarray = None                 # bool per frame: its metrics are known (a value, or none to give)
    changed: Signal = field(default_factory=Signal, repr=False)
    # the maps as stored, where they are deeper than what is shown (a folder of 16-bit or float
    # maps): metrics and AOI figures read these, as `salfom evaluate` and `salfom aoi` do
    read_stored: Callable[[int], np.ndarray | None] | None = None

    def read_values(self, index: int) -> np.ndarray | None:
        """Frame `index`'s map as metrics and AOI figures take it."""
        return (self.read_stored or self.read)(index)

    def __post_init__(self):
        if self.done is None:
            self.done = np.zeros(self.n_frames, bool)
        if self.scored is None:
            self.scored = np.zeros(self.n_frames, bool)

    def set(self, **values) -> None:
        unknown = set(values) - {f.name for f in fields(self)}
        if unknown:
            raise AttributeError(f"a layer has no {', '.join(sorted(unknown))}")
        for key, value in values.items():
            setattr(self, key, value)
        self.changed.emit(self, tuple(values))

    @property
    def scores_final(self) -> bool:
        """Every frame scored: the summary is the video's, not that of the frames so far."""
        return bool(self.scored.all())

    def scored_note(self) -> str:
        """'610 of 783 frames scored' (the summary of a partial layer says it)."""
        return f"{int(self.scored.sum())} of {self.n_frames} frames scored"

    def summary(self) -> dict[str, float]:
        """DHF1K protocol over this video: the mean of the frames with a value."""
        out = {}
        for name, values in self.metrics.items():
            finite = values[~np.isnan(values)]
            out[name] = float(finite.mean()) if finite.size else math.nan
        return out


def follow_layers(observed: list[Layer], layers: list[Layer], slot: Callable) -> list[Layer]:
    """Move `slot` from the `changed` signals of the layers watched so far to those of `layers`;
    returns the new watch list (a copy: the state's list changes under it)."""
    for layer in observed:
        layer.changed.disconnect(slot)
    for layer in layers:
        layer.changed.connect(slot)
    return list(layers)


class ViewerState:
    """The open video, its layers, gaze and ground truth, the playhead, and view settings.

    Every field changes through a setter that emits; assigning a name that is not a field is
    an error (a typo must not silently create state nobody observes).
    """

    __slots__ = ("video", "video_path", "synthetic", "frame", "playing", "speed", "layers", "active", "compare",
                 "gaze", "truth", "truth_source", "show_fixations", "show_ground_truth", "view_mode",
                 "curve_metric", "marker_style", "marker_size", "marker_opacity", "hidden_observers",
                 "interpolate", "gt_opacity", "layer_renamed", "video_changed", "frame_changed", "layers_changed",
                 "truth_changed", "view_changed", "playing_changed", "speed_changed")

    def __init__(self):
        self.video = None                 # salfom_core.io.video.VideoSource (the GUI thread's reader)
        self.video_path: Path | None = None
        self.synthetic = False            # the bundled demo: label it as such
        self.frame = 0                    # the playhead; inference jobs read it to plan
        self.playing = False
        self.speed = 1.0
        self.layers: list[Layer] = []
        self.active: Layer | None = None   # the layer shown (left in split view)
        self.compare: Layer | None = None  # the right layer in split view
        self.gaze = None                   # salfom_core.io.gaze.GazeData
        self.truth: GroundTruth | None = None
        self.truth_source = ""
        self.show_fixations = True
        self.marker_style = "ring"        # fixation markers: ring, cross or dot
        self.marker_size = 14             # screen pixels, whatever the zoom
        self.marker_opacity = 0.9
        self.hidden_observers: frozenset[int] = frozenset()   # observers whose markers are hidden
        self.show_ground_truth = False
        self.gt_opacity = 0.7             # the ground-truth map, drawn above the prediction
        self.view_mode = "single"
        self.interpolate = True            # blends between computed frames (View menu)
        self.curve_metric = "cc"
        self.video_changed = Signal()      # ()
        self.frame_changed = Signal()      # (frame)
        self.layers_changed = Signal()     # ()
        self.layer_renamed = Signal()      # (layer, old name)
        self.truth_changed = Signal()      # ()
        self.view_changed = Signal()       # (names of what changed: "active", "compare", "view_mode", ...)
        self.playing_changed = Signal()    # (playing)
        self.speed_changed = Signal()      # (speed)

    # ----------------------------------------------------------------- video and frame

    @property
    def n_frames(self) -> int:
        return len(self.video) if self.video is not None else 0

    @property
    def fps(self) -> float:
        return self.video.info.fps if self.video is not None else 30.0

    @property
    def clock(self) -> FrameClock:
        """When each frame is on screen (a variable-frame-rate video's timestamps), for gaze by time."""
        return self.video.clock if self.video is not None else FrameClock(30.0)

    def set_video(self, video, path: Path, synthetic: bool = False) -> None:
        if self.video is not None:
            self.video.close()
        self.video, self.video_path, self.synthetic = video, Path(path), synthetic
        self.frame, self.layers, self.active, self.compare = 0, [], None, None
        self.gaze, self.truth, self.truth_source = None, None, ""
        self.hidden_observers = frozenset()
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

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"playback speed must be positive, not {speed!r}")
        if speed != self.speed:
            self.speed = float(speed)
            self.speed_changed.emit(self.speed)

    def time_s(self, frame: int | None = None) -> float:
        return float(self.clock.start_of(self.frame if frame is None else frame))

    # ----------------------------------------------------------------- layers

    def add_layer(self, layer: Layer) -> Layer:
        """Add (or replace a layer of the same name) and show it."""
        replaced = self.layer(layer.name)
        self.layers = [l for l in self.layers if l.name != layer.name] + [layer]
        if layer.colour is None:
            layer.colour = replaced.colour if replaced is not None else self._free_colour()
        if self.active is None or self.active.name == layer.name:
            self.active = layer
        elif self.compare is None or self.compare.name == layer.name:
            self.compare = layer
        self.layers_changed.emit()
        return layer

    def _free_colour(self) -> tuple[int, int, int]:
        """The first pen no other layer has: a layer keeps its colour when others come and go."""
        taken = [l.colour for l in self.layers]
        free = [pen for pen in LAYER_PENS if pen not in taken]
        return free[0] if free else LAYER_PENS[len(self.layers) % len(LAYER_PENS)]

    def distinct_name(self, name: str, folder: Path | None = None) -> str:
        """`name` when no layer has it; else `parent/name` (two `maps` folders: `mA/maps`, `mB/maps`);
        else a number appended."""
        if not self._taken(name):
            return name
        if folder is not None and folder.parent.name:
            name = f"{folder.parent.name}/{name}"
        base, k = name, 2
        while self._taken(name):
            name, k = f"{base} ({k})", k + 1
        return name

    def _taken(self, name: str) -> bool:
        return self.layer(name) is not None or name == GAZE_SOURCE

    def rename_layer(self, layer: Layer, name: str) -> None:
        """The layer's name everywhere (list, curves, table, exports); an empty or taken name is an error."""
        name = name.strip()
        if name == layer.name:
            return
        if not name:
            raise LayerNameError("a layer needs a name")
        if name == GAZE_SOURCE:
            raise LayerNameError(f"{name!r} names the gaze in the AOI figures: choose another name")
        if len(name) > MAX_LAYER_NAME:
            raise LayerNameError(f"a layer name has at most {MAX_LAYER_NAME} characters (this one has {len(name)})")
        if self.layer(name) is not None:
            raise LayerNameError(f"a layer is already named {name!r}")
        old = layer.name
        layer.set(name=name)
        self.layer_renamed.emit(layer, old)
        self.layers_changed.emit()

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
        what = []
        if layer is not self.active:
            if compare is None and layer is self.compare:
                compare = self.active          # swap: never compare a layer with itself
            self.active = layer
            what.append("active")
        if compare is not None and compare is not self.compare:
            self.compare = compare
            what.append("compare")
        if what:
            self.view_changed.emit(tuple(what))

    def set_compare(self, layer: Layer | None) -> None:
        """The layer beside the active one; comparing the active layer makes the other one active."""
        if layer is not None and layer is self.active:
            other = self.compare if self.compare not in (None, layer) else \
                next((l for l in reversed(self.layers) if l is not layer), None)
            if other is not None:
                self.set_active(other, compare=layer)
                return
        if layer is not self.compare:
            self.compare = layer
            self.view_changed.emit(("compare",))

    # ----------------------------------------------------------------- truth and settings

    def set_truth(self, gaze=None, truth: GroundTruth | None = None, source: str = "") -> None:
        self.gaze, self.truth, self.truth_source = gaze, truth, source
        self.hidden_observers = frozenset()          # indices of the previous gaze mean nothing now
        for layer in self.layers:
            layer.metrics, layer.scored = {}, np.zeros(layer.n_frames, bool)
        self.truth_changed.emit()

    VIEW_SETTINGS = ("show_fixations", "show_ground_truth", "view_mode", "curve_metric", "marker_style",
                     "marker_size", "marker_opacity", "hidden_observers", "interpolate", "gt_opacity")

    def set_view(self, **values) -> None:
        """Change view settings (names in VIEW_SETTINGS); emits view_changed with what changed."""
        unknown = set(values) - set(self.VIEW_SETTINGS)
        if unknown:
            raise AttributeError(f"not a view setting: {', '.join(sorted(unknown))}; one of {self.VIEW_SETTINGS}")
        if "view_mode" in values and values["view_mode"] not in VIEW_MODES:
            raise ValueError(f"view mode must be one of {VIEW_MODES}, not {values['view_mode']!r}")
        if "marker_style" in values and values["marker_style"] not in MARKER_STYLES:
            raise ValueError(f"marker style must be one of {MARKER_STYLES}, not {values['marker_style']!r}")
        if "curve_metric" in values and values["curve_metric"] not in METRIC_LABELS:
            raise ValueError(f"curve metric must be one of {tuple(METRIC_LABELS)}, not {values['curve_metric']!r}")
        if "gt_opacity" in values and not 0 <= values["gt_opacity"] <= 1:
            raise ValueError(f"ground-truth opacity must be in 0..1, not {values['gt_opacity']!r}")
        changed = tuple(k for k, v in values.items() if getattr(self, k) != v)
        for key in changed:
            setattr(self, key, values[key])
        if changed:
            self.view_changed.emit(changed)

    def set_view_mode(self, mode: str) -> None:
        self.set_view(view_mode=mode)

    def set_curve_metric(self, metric: str) -> None:
        self.set_view(curve_metric=metric)

    def pane_layers(self) -> list[Layer | None]:
        """The layer of each pane: the active one, and beside it in split view the compare one
        (the active one again when none is chosen). The view paints these, the exports draw them."""
        if self.view_mode == "split":
            return [self.active, self.compare if self.compare is not None else self.active]
        return [self.active]

    def shown_fixations(self, fixations):
        """(x, y, observer) of a frame without the hidden observers' samples (as every export)."""
        return without_observers(fixations, self.hidden_observers)

    def ground_truth_frame(self, frame: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(fixation map, continuous map) of a frame, or Nones."""
        if self.truth is None or frame >= self.truth.n_frames:
            return None, None
        return self.truth.fixations(frame), self.truth.gt_map(frame)

    @staticmethod
    def worst_threshold(layer: Layer, metric: str) -> float | None:
        """The value that bounds `layer`'s worst tenth by `metric` among its scored frames: at
        most it (at least it for KLD, where lower is better); None with no values."""
        values = layer.metrics.get(metric)
        if values is None or np.all(np.isnan(values)):
            return None
        scores = -values if metric == "kld" else values
        cutoff = float(np.nanpercentile(scores, 10))
        return -cutoff if metric == "kld" else cutoff

    def worst_frame(self, layer: Layer, metric: str, direction: int) -> int | None:
        """The next (direction=+1) or previous (-1) frame, from the playhead, that is among the
        worst tenth of `layer` by `metric` (the lowest values; the highest for KLD)."""
        cutoff = self.worst_threshold(layer, metric)
        if cutoff is None:
            return None
        values = layer.metrics[metric]
        bad = np.flatnonzero(values >= cutoff if metric == "kld" else values <= cutoff)
        ahead = bad[bad > self.frame] if direction > 0 else bad[bad < self.frame][::-1]
        return int(ahead[0]) if len(ahead) else None

