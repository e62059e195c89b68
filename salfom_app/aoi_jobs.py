"""The AOI tools' background work: each AOI's figures computed off the GUI thread, after an edit
only for the AOIs it changed (`AoiFigureJobs`, the layers' maps kept in memory by `LayerMaps`),
and tracking forward (`AoiTracker`)."""
from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
import weakref
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from superqt.utils import thread_worker

from salfom_core.aoi import AOI
from salfom_core.aoi.figures import GAZE, AoiFigures, AoiInputs, MapSource, SourceSeries, compute_figures

from .aoi_state import AoiEditor
from .state import Layer, ViewerState


class LayerMaps(MapSource):
    """A layer's maps as the figures read them, kept between computations (each edit recomputes
    an AOI over every frame, so what does not depend on the AOI is read once): the core keeps
    each frame's total; this keeps the decoded maps, within a budget shared by all layers
    (`MAP_CACHE_BYTES`; beyond it maps are read again). Reading is most of an edit's cost: a
    PNG decoded, or a cached prediction brought from its compact form to the video's size,
    about 1 ms a frame at 640x360, where the figures need 0.1 ms. A frame's map never changes
    once computed (a layer computed anew is a new Layer), and frames not computed yet read as
    None and are not kept."""

    cached_bytes = 0            # all layers together
    _lock = threading.Lock()    # read in the figures' worker, released from the GUI thread

    def __init__(self, layer: Layer):
        super().__init__(layer.name, self._read_kept)
        self.layer = layer
        self._kept: dict[int, np.ndarray] = {}

    def _read_kept(self, index: int) -> np.ndarray | None:
        m = self._kept.get(index)
        if m is None:
            m = self.layer.read_values(index)
            with LayerMaps._lock:
                if m is not None and LayerMaps.cached_bytes + m.nbytes <= MAP_CACHE_BYTES:
                    self._kept[index] = m
                    LayerMaps.cached_bytes += m.nbytes
        return m

    def release(self) -> None:
        with LayerMaps._lock:
            LayerMaps.cached_bytes -= sum(m.nbytes for m in self._kept.values())
            self._kept.clear()


MAP_CACHE_BYTES = 1 << 30
_SERIALS = itertools.count(1)


def timed_figures(inputs: AoiInputs, aoi: AOI, cancel) -> tuple[AoiFigures | None, float]:
    """compute_figures of one AOI, and the seconds it took (in the worker thread)."""
    start = time.perf_counter()
    figures = compute_figures(inputs, [aoi], cancel=cancel)
    return figures, time.perf_counter() - start


def geometry_key(aoi: AOI) -> str:
    """What an AOI's figures depend on: its shape and keyframes (not its name or colour, so a
    rename or a recolour recomputes nothing, and an undo finds its figures again)."""
    d = aoi.to_dict()
    return json.dumps([d["shape"], d["keyframes"]])


class AoiFigureJobs(QObject):
    """The figures of every AOI for gaze and each visible model layer, computed in a worker
    thread one AOI at a time (the selected one first), cached by (AOI geometry, source): after
    an edit only the AOIs it changed are computed, and only for the sources they lack.

    `updated(names)` says whose figures are in (the table and the curves redraw);
    `failed(message)` says why an AOI's figures could not be computed."""

    updated = Signal(object)
    failed = Signal(str)
    CACHE_ENTRIES = 4000
    PROGRESS_DELAY_MS = 2000        # a layer still computing: its figures follow at most this often

    def __init__(self, state: ViewerState, editor: AoiEditor, parent=None):
        super().__init__(parent)
        self.state = state
        self.editor = editor
        self.series: OrderedDict[tuple, SourceSeries] = OrderedDict()      # (geometry, source key) -> series
        self.observers: OrderedDict[tuple, list] = OrderedDict()          # (geometry, gaze key) -> observer figures
        self.maps: dict[Layer, LayerMaps] = {}                            # layer -> its maps
        # sources are keyed by serial numbers, never by id(): a new object may reuse a freed one's id
        self.serials: weakref.WeakKeyDictionary[Layer, int] = weakref.WeakKeyDictionary()
        self.gaze_serial = 0                        # the gaze changes: figures keyed by the new number
        self.generation = 0                         # a new video: results of the old one are dropped
        self.job = None
        self.job_key: tuple | None = None          # (AOI name, geometry key) being computed
        self.cancel_flag = threading.Event()
        self.closed = False
        self.computed = 0                          # AOI computations finished (tests read it)
        self.last_compute_s = 0.0                  # the worker's time for the last one (the bench reads it)
        self._observed: list[Layer] = []
        self.timer = QTimer(self, singleShot=True, interval=0)
        self.timer.timeout.connect(self._start_next)
        self.progress_timer = QTimer(self, singleShot=True, interval=self.PROGRESS_DELAY_MS)
        self.progress_timer.timeout.connect(self.schedule)
        editor.changed.connect(lambda _names: self.schedule())
        editor.selection_changed.connect(lambda _name: self.schedule())
        state.truth_changed.connect(self._truth_changed)
        state.layers_changed.connect(self._layers_changed)
        state.video_changed.connect(self._video_changed)

    # ----------------------------------------------------------------- what the figures are made of

    def sources(self) -> list[tuple[str, object]]:
        """(source key, what it is) of gaze and each visible layer, in the table's order."""
        out = []
        if self.state.gaze is not None:
            out.append((("gaze", self.gaze_serial), self.state.gaze))
        for layer in self.state.layers:
            if layer.visible:
                # a layer still computing has more maps later: its figures are keyed by how many it has;
                # never by its name, so that a renamed layer keeps its figures (and a job running
                # through the rename lands under the new name)
                out.append((("layer", self.serial(layer), int(layer.done.sum())), layer))
        return out

    def layer_maps(self, layer: Layer) -> LayerMaps:
        maps = self.maps.get(layer)
        if maps is None:
            maps = self.maps[layer] = LayerMaps(layer)
        maps.name = layer.name          # its current name (read for messages and the exports' colours)
        return maps

    def serial(self, layer: Layer) -> int:
        if layer not in self.serials:
            self.serials[layer] = next(_SERIALS)
        return self.serials[layer]

    def missing(self, aoi: AOI) -> list[tuple[tuple, object]]:
        geometry = geometry_key(aoi)
        return [(key, what) for key, what in self.sources() if (geometry, key) not in self.series]

    def inputs(self, gaze=None, layers=()) -> AoiInputs:
        info = self.state.video.info
        return AoiInputs(self.state.n_frames, (info.width, info.height), self.state.fps, gaze,
                         [self.layer_maps(layer) for layer in layers])

    @property
    def pending(self) -> list[str]:
        """The AOIs whose figures are not all in yet."""
        if self.state.video is None:
            return []
        return [aoi.name for aoi in self.editor.aois if self.missing(aoi)]

    @property
    def busy(self) -> bool:
        return self.job is not None or self.timer.isActive() or bool(self.pending)

    # ----------------------------------------------------------------- scheduling

    def schedule(self) -> None:
        if not self.closed and not self.timer.isActive():
            self.timer.start()

    def _layers_changed(self) -> None:
        for layer in self._observed:
            layer.changed.disconnect(self._layer_changed)
        self._observed = list(self.state.layers)
        for layer in self._observed:
            layer.changed.connect(self._layer_changed)
        for layer in [layer for layer in self.maps if layer not in self.state.layers]:
            self.maps.pop(layer).release()
        self.schedule()

    def _layer_changed(self, _layer: Layer, what) -> None:
        if "visible" in what or "read" in what:
            self.schedule()
        elif "progress" in what and not self.progress_timer.isActive():
            self.progress_timer.start()

    def _truth_changed(self) -> None:
        self.gaze_serial = next(_SERIALS)
        self.schedule()

    def _video_changed(self) -> None:
        self.generation += 1
        self.cancel_flag.set()
        for maps in self.maps.values():
            maps.release()
        self.maps.clear()
        self.series.clear()
        self.observers.clear()

    def _start_next(self) -> None:
        if self.closed or self.state.video is None:
            return
        if self.job is not None:
            name, geometry = self.job_key
            current = next((a for a in self.editor.aois if a.name == name), None)
            if current is None or geometry_key(current) != geometry:
                self.cancel_flag.set()             # edited meanwhile: its result would be stale
            return
        order = sorted(self.editor.aois, key=lambda a: a.name != self.editor.selected)   # the selected first
        for aoi in order:
            missing = self.missing(aoi)
            if missing:
                self._start(aoi, missing)
                return

    def _start(self, aoi: AOI, missing: list) -> None:
        snapshot = AOI(aoi.name, aoi.shape, list(aoi.keyframes), aoi.color)      # keyframes are immutable
        gaze = next((what for key, what in missing if key[0] == "gaze"), None)
        layers = [what for key, what in missing if key[0] == "layer"]
        inputs = self.inputs(gaze, layers)
        self.cancel_flag = flag = threading.Event()
        worker = thread_worker(timed_figures, start_thread=False, ignore_errors=True)(inputs, snapshot, flag.is_set)
        geometry = geometry_key(snapshot)
        keys = [key for key, _what in missing]
        generation = self.generation
        worker.returned.connect(lambda result: self._done(snapshot.name, geometry, keys, result)
                                if generation == self.generation else None)
        worker.errored.connect(lambda exc: self._failed(snapshot.name, geometry, keys, exc)
                               if generation == self.generation else None)
        worker.finished.connect(lambda w=worker: self._finished(w))
        self.job, self.job_key = worker, (snapshot.name, geometry)
        worker.start()

    def _done(self, name: str, geometry: str, keys: list, result) -> None:
        figures, self.last_compute_s = result
        if self.closed or figures is None:          # cancelled
            return
        # one AOI's series come in the order of its inputs (gaze first, then the layers: `missing`'s
        # order): matched by place, not by name (a layer may have been renamed meanwhile)
        if len(figures.series) != len(keys):
            self._failed(name, geometry, keys, RuntimeError(f"{len(figures.series)} series for {len(keys)} sources"))
            return
        for key, series in zip(keys, figures.series):
            self._remember(self.series, (geometry, key), series)
            if key[0] == "gaze":
                self._remember(self.observers, (geometry, key), list(figures.observers))
        self.computed += 1
        self.updated.emit(frozenset([name]))

    def _failed(self, name: str, geometry: str, keys: list, exc: BaseException) -> None:
        if self.closed:
            return
        for key in keys:                       # not tried again until the AOI or the source changes
            self._remember(self.series, (geometry, key), None)
        self.failed.emit(f"AOI {name!r}: figures failed: {exc}")
        self.updated.emit(frozenset([name]))

    def _remember(self, cache: OrderedDict, key, value) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self.CACHE_ENTRIES:
            cache.popitem(last=False)

    def _finished(self, worker) -> None:
        if self.job is worker:
            self.job, self.job_key = None, None
        if not self.closed:
            self.schedule()

    def shutdown(self) -> list:
        self.closed = True
        self.cancel_flag.set()
        self.timer.stop()
        self.progress_timer.stop()
        return [self.job] if self.job is not None else []

    # ----------------------------------------------------------------- the figures as they stand

    def figures(self) -> AoiFigures | None:
        """Every AOI's figures that are in, under the AOIs' and the layers' current names, for
        the current sources: what the table, the curves and the exports show."""
        if self.state.video is None:
            return None
        sources = self.sources()
        gaze = self.state.gaze
        layers = [what for key, what in sources if key[0] == "layer"]
        figures = AoiFigures(self.inputs(gaze, layers), self.editor.names())
        for aoi in self.editor.aois:
            geometry = geometry_key(aoi)
            for key, what in sources:
                series = self.series.get((geometry, key))
                if series is not None:
                    source = GAZE if key[0] == "gaze" else what.name      # the layer's name now
                    figures.series.append(dataclasses.replace(series, aoi=aoi.name, source=source))
                if key[0] == "gaze":
                    figures.observers.extend(dataclasses.replace(o, aoi=aoi.name)
                                             for o in self.observers.get((geometry, key), []))
        return figures


# ----------------------------------------------------------------------------- tracking in the background


class AoiTracker(QObject):
    """Track forward (`salfom_core.aoi.tracking.track_forward`) in a worker thread with its own
    video reader; progress is polled from the GUI thread (the worker only writes two ints).
    `finished(name, result or None, error message)`."""

    finished = Signal(str, object, str)
    progressed = Signal(int, int)
    KEYFRAME_EVERY = 5

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.job = None
        self.cancel_flag = threading.Event()
        self._progress = (0, 1)
        self.poll = QTimer(self, interval=100)
        self.poll.timeout.connect(lambda: self.progressed.emit(*self._progress))

    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self, aoi: AOI, index: int, threshold: float) -> bool:
        """Follow `aoi` from the playhead's frame `index` (0-based)."""
        from salfom_core.aoi.tracking import track_forward

        if self.job is not None or self.state.video_path is None:
            return False
        snapshot = AOI(aoi.name, aoi.shape, list(aoi.keyframes), aoi.color)
        path = self.state.video_path
        self.cancel_flag = flag = threading.Event()
        self._progress = (0, max(self.state.n_frames - index - 1, 1))

        def run():
            from salfom_core.io.video import open_video

            with open_video(path) as source:
                return track_forward(source, snapshot, index + 1, every=self.KEYFRAME_EVERY, threshold=threshold,
                                     progress=self._set_progress, cancel=flag.is_set)

        worker = thread_worker(run, start_thread=False, ignore_errors=True)()
        # a result for a video no longer open is dropped (an AOI of the new one may have the same name)
        worker.returned.connect(lambda result: self.finished.emit(snapshot.name, result, "")
                                if self.state.video_path == path else None)
        worker.errored.connect(lambda exc: self.finished.emit(snapshot.name, None, str(exc))
                               if self.state.video_path == path else None)
        worker.finished.connect(self._ended)
        self.job = worker
        self.poll.start()
        worker.start()
        return True

    def _set_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)          # read by the GUI thread's timer: a tuple swap is atomic

    def cancel(self) -> None:
        self.cancel_flag.set()

    def _ended(self) -> None:
        self.job = None
        self.poll.stop()

    def shutdown(self) -> list:
        self.cancel_flag.set()
        self.poll.stop()
        return [self.job] if self.job is not None else []


# ----------------------------------------------------------------------------- the whole of it in the window
