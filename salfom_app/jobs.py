"""The background jobs of the open video: inference per layer and the per-frame metrics.

Both observe the `ViewerState`: inference reads the playhead (`state.frame`) before every
batch, so any way of moving it (slider, curve click, worst-frame buttons, keys, playback)
makes the model work around the new position first; metrics follow the layers' progress.
Results come back on the GUI thread through the workers' Qt signals and go into the state.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from salfom_core.evaluation.metrics import METRICS
from salfom_core.inference.engine import EngineSettings, pick_device

from .metrics_cache import FrameMetricsCache
from .state import Layer, ViewerState
from .workers import close_on_abort, inference_worker, metrics_worker


def is_checkpoint_error(exc: BaseException) -> bool:
    """Only these make the app forget a checkpoint (never a bad video, gaze or cache)."""
    from salfom_core.models.checkpoint import CheckpointError

    return isinstance(exc, CheckpointError)


def is_partial_checkpoint(exc: BaseException) -> bool:
    from salfom_core.models.checkpoint import PartialCheckpointError

    return isinstance(exc, PartialCheckpointError)


class InferenceJobs(QObject):
    """One background inference worker per layer; the layer's `done`, `read`, `progress` and
    `running` follow it. `failed(layer, exception)` reports errors; `loaded(layer)` says its
    model loaded and its cache opened (the first result)."""

    failed = Signal(object, object)
    loaded = Signal(object)
    integrity = Signal(object)        # the video's integrity warning after a full pass (str or None)

    def __init__(self, state: ViewerState, cache_dir: str | None, prepare_layer: Callable[[Layer], None]):
        super().__init__()
        self.state = state
        self.cache_dir = cache_dir
        self.prepare_layer = prepare_layer          # e.g. restore the user's style for the layer's kind
        self.workers: dict[str, object] = {}        # layer name -> running worker
        self.closed = False                         # after shutdown, late results are dropped

    def start(self, name: str, kind: str, make_predictor, source: str, settings: EngineSettings) -> Layer:
        s = self.state
        previous = self.workers.pop(name, None)
        if previous is not None:
            previous.quit()
        layer = Layer(name, kind, s.n_frames, lambda i: None, source=str(source), running=True)
        self.prepare_layer(layer)
        s.add_layer(layer)
        worker = close_on_abort(inference_worker(s.video_path, make_predictor, self.cache_dir, settings,
                                                 self.playhead, _ignore_errors=True))      # errors go to `failed`
        worker.yielded.connect(lambda item, layer=layer: self._step(layer, item))
        worker.errored.connect(lambda exc, layer=layer: self._failed(layer, exc))
        worker.finished.connect(lambda layer=layer, w=worker: self._finished(layer, w))
        self.workers[name] = worker
        worker.start()
        return layer

    def playhead(self) -> int:
        """Read by the worker thread before each batch: an int read, safe without a lock."""
        return self.state.frame

    def _step(self, layer: Layer, item) -> None:
        if self.closed or layer not in self.state.layers:
            return
        if isinstance(item, tuple) and item[0] == "integrity":
            self.integrity.emit(item[1])
            return
        if isinstance(item, tuple) and item[0] == "store":
            store = item[1]
            layer.done = store.done.copy()
            layer.maps_key = f"store:{store.folder.name}"      # (video, predictor, settings): its cached metrics
            layer.set(read=store.read, progress=(int(layer.done.sum()), layer.n_frames, first_eta(store)))
            self.loaded.emit(layer)
        else:
            layer.done[item.frames] = True
            layer.set(progress=(item.done, item.total, item.eta_s))

    def _failed(self, layer: Layer, exc: BaseException) -> None:
        if self.closed:
            return
        layer.set(error=str(exc))
        self.failed.emit(layer, exc)

    def _finished(self, layer: Layer, worker) -> None:
        if self.workers.get(layer.name) is worker:
            del self.workers[layer.name]
        if not self.closed:
            layer.set(running=False)

    def cancel(self, layer: Layer | None) -> None:
        if layer is not None and layer.name in self.workers:
            self.workers[layer.name].quit()

    def cancel_all(self, wait: bool = False) -> None:
        workers = list(self.workers.values())
        for worker in workers:
            worker.quit()
        if wait:
            wait_for(workers)

    def shutdown(self) -> list:
        """Stop every worker; returns them (to wait for). Results still queued are dropped."""
        self.closed = True
        workers = list(self.workers.values())
        for worker in workers:
            worker.quit()
        return workers

    @property
    def busy(self) -> bool:
        return bool(self.workers)


def first_eta(store) -> float:
    """Before a batch is timed: the measured speed of this preset on this kind of device."""
    from salfom_core.inference.perf import estimate_seconds

    preset, dtype = store.meta.get("preset"), store.meta.get("dtype")
    if not preset:
        return math.inf
    estimate = estimate_seconds(preset, pick_device().type, dtype, len(store.missing()))
    return math.inf if estimate is None else estimate


def wait_for(workers, timeout_s: float = 30.0) -> None:
    """Let aborted workers reach their next yield and end (a running QThread must not be destroyed)."""
    deadline = time.monotonic() + timeout_s
    while any(w.is_running for w in workers) and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)


class ScoringQueue:
    """Frames waiting for their metrics, per layer; the GUI thread adds, the metrics worker takes.

    `take` serves the layers in turn, so a computing layer's curve fills in while another
    layer's backlog waits, and within a layer the frames added last first (the newest exact
    frames, then nearest the playhead among those that came together)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._frames: dict[Layer, list[int]] = {}
        self._reads: dict[Layer, Callable] = {}
        self._turn = 0

    def add(self, layer: Layer, frames: np.ndarray, playhead: int) -> None:
        # popped from the end: the frame nearest the playhead last in
        batch = sorted((int(f) for f in frames), key=lambda f: -abs(f - playhead))
        with self._lock:
            self._reads[layer] = layer.read_values
            self._frames.setdefault(layer, []).extend(batch)

    def take(self, chunk: int) -> tuple[Layer, Callable, list[int]] | None:
        with self._lock:
            waiting = [layer for layer, frames in self._frames.items() if frames]
            if not waiting:
                return None
            self._turn = (self._turn + 1) % len(waiting)
            layer = waiting[self._turn]
            frames = self._frames[layer]
            batch = frames[-chunk:][::-1]
            del frames[-chunk:]
            return layer, self._reads[layer], batch

    def drop(self, keep) -> None:
        """Forget the layers not in `keep` (removed or replaced)."""
        with self._lock:
            for layer in [l for l in self._frames if l not in keep]:
                del self._frames[layer], self._reads[layer]

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._reads.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(frames) for frames in self._frames.values())


class MetricsJobs(QObject):
    """Scores each layer's exact frames against the ground truth as they are computed, in one
    worker fed by a `ScoringQueue`; `updated` asks for the curves to be redrawn (throttled
    while a model computes). The values are `salfom evaluate`'s (frames seeded one by one)."""

    updated = Signal()
    error = Signal(str)

    def __init__(self, state: ViewerState, inference_running: Callable[[], bool], seed: int = 0,
                 cache_root=None):
        super().__init__()
        self.state = state
        self.inference_running = inference_running
        self.seed = seed
        self.cache = FrameMetricsCache(cache_root)
        self.cached: dict[Layer, tuple] = {}         # layer -> (cache key, what the cache held or None)
        self.job = None
        self.stopping: list = []                     # reset jobs on their way out (shutdown waits for them)
        self.closed = False
        self.queue = ScoringQueue()
        self.claimed: dict[Layer, np.ndarray] = {}   # frames queued or scored, per layer
        self.start_timer = QTimer(self, singleShot=True, interval=400)
        self.start_timer.timeout.connect(self._start)
        self.redraw_timer = QTimer(self, singleShot=True, interval=250)
        self.redraw_timer.timeout.connect(self.updated.emit)
        state.layers_changed.connect(self._observe_layers)
        state.truth_changed.connect(self._truth_changed)

    def _observe_layers(self) -> None:
        for layer in self.state.layers:
            layer.changed.connect(self._layer_changed)
        self.queue.drop(self.state.layers)
        self.claimed = {l: c for l, c in self.claimed.items() if l in self.state.layers}
        self.cached = {l: c for l, c in self.cached.items() if l in self.state.layers}
        self.schedule()

    def _layer_changed(self, _layer, what) -> None:
        if "progress" in what or "read" in what or "running" in what:
            self.schedule()

    def _truth_changed(self) -> None:
        self.reset()
        self.schedule()

    def reset(self) -> None:
        """A new video or new truth: stop scoring and forget what was scored."""
        if self.job is not None:
            self.job.quit()
            self.stopping.append(self.job)
            self.job = None
        self.queue = ScoringQueue()        # the stopped job keeps the old one: nothing of it leaks in
        self.claimed = {}
        self.cached = {}

    def schedule(self) -> None:
        """Queue the frames computed since the last call; a running job takes them at once."""
        if self.state.truth is None:
            return
        self._enqueue()
        if self.job is None and len(self.queue) and not self.start_timer.isActive():
            self.start_timer.start()

    def _enqueue(self) -> None:
        for layer in self.state.layers:
            claimed = self.claimed.setdefault(layer, np.zeros(layer.n_frames, bool))
            if len(claimed) != len(layer.done):
                continue
            self._take_cached(layer, claimed)
            todo = np.flatnonzero(layer.done & ~claimed)
            if len(todo):
                claimed[todo] = True
                self.queue.add(layer, todo, self.state.frame)

    def _take_cached(self, layer: Layer, claimed: np.ndarray) -> None:
        """The cached metrics of the layer's computed frames: no need to score them again."""
        if layer not in self.cached and layer.maps_key:
            key = self.cache.key(layer.maps_key, self.state.truth, METRICS, self.seed)
            self.cached[layer] = key, self.cache.load(key, layer.n_frames, METRICS)
        entry = self.cached.get(layer)
        if entry is None or entry[1] is None:
            return
        scored, values = entry[1]
        hit = scored & layer.done & ~claimed
        if not hit.any():
            return
        for metric in METRICS:
            layer.metrics.setdefault(metric, np.full(layer.n_frames, np.nan))[hit] = values[metric][hit]
        layer.scored |= hit
        claimed |= hit
        if not self.redraw_timer.isActive():
            self.redraw_timer.start(0)

    def save_cached(self) -> None:
        """Write each layer's metrics so far into its cache entry (with what it held already)."""
        for layer, (key, held) in list(self.cached.items()):
            if layer not in self.state.layers or not layer.scored.any():
                continue
            scored = layer.scored.copy()
            values = {m: layer.metrics.get(m, np.full(layer.n_frames, np.nan)).copy() for m in METRICS}
            if held is not None:
                old = held[0] & ~scored
                for metric in METRICS:
                    values[metric][old] = held[1][metric][old]
                scored |= held[0]
            if held is None or not np.array_equal(scored, held[0]):
                self.cache.save(key, scored, values)
                self.cached[layer] = key, (scored, values)

    def pending(self) -> list:
        """Frames of each layer computed but not queued yet: [(layer, frames)]."""
        if self.state.truth is None:
            return []
        claimed = [self.claimed.get(layer) for layer in self.state.layers]
        return [(layer, todo) for layer, c in zip(self.state.layers, claimed)
                if len(todo := np.flatnonzero(layer.done & ~c if c is not None and len(c) == len(layer.done)
                                              else layer.done))]

    def _start(self) -> None:
        if self.job is not None or self.closed:
            return
        self._enqueue()
        if not len(self.queue):
            return
        worker = close_on_abort(metrics_worker(self.queue, self.state.truth, METRICS, self.seed,
                                               _ignore_errors=True))
        # results of a job stopped by a reset (new truth) are dropped, not mixed with the new ones
        worker.yielded.connect(lambda item, w=worker: self._step(item) if self.job is w else None)
        worker.errored.connect(self._failed)
        worker.finished.connect(lambda w=worker: self._finished(w))
        self.job = worker
        worker.start()

    def _step(self, item) -> None:
        layer, frames, rows = item
        if layer not in self.state.layers:
            return
        for metric, values in rows.items():
            array = layer.metrics.setdefault(metric, np.full(layer.n_frames, np.nan))
            array[frames] = values
        layer.scored[frames] = True
        if not self.redraw_timer.isActive():
            # while a model computes, curves refresh once a second: the GUI thread stays free
            self.redraw_timer.start(1000 if self.inference_running() else 250)

    def _failed(self, exc) -> None:
        self.queue.clear()            # said once: the frames left would fail the same way
        self.error.emit(str(exc))

    def _finished(self, worker) -> None:
        if self.job is worker:
            self.job = None
        if worker in self.stopping:
            self.stopping.remove(worker)
        if self.closed:
            return
        self.redraw_timer.stop()
        self.save_cached()
        self.updated.emit()
        if worker is not None and len(self.queue):
            self._start()                 # frames queued as the job ended
        else:
            self.schedule()

    def shutdown(self) -> list:
        self.closed = True
        self.start_timer.stop()
        self.redraw_timer.stop()
        self.save_cached()            # what was scored before closing comes back at the next open
        self.reset()
        self.state.truth_changed.disconnect(self._truth_changed)
        self.state.layers_changed.disconnect(self._observe_layers)
        for layer in self.state.layers:
            layer.changed.disconnect(self._layer_changed)
        return list(self.stopping)

    @property
    def busy(self) -> bool:
        return self.job is not None or self.start_timer.isActive() or bool(len(self.queue)) or bool(self.pending())

    def workers(self) -> list:
        return ([self.job] if self.job is not None else []) + self.stopping
