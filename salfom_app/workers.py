"""Everything slow runs here, off the GUI thread; results come back as Qt signals.

- `FrameLoader`: one thread decoding frames; the newest request wins, stale ones are dropped;
  a bounded LRU of decoded frames. It also reads each visible layer's map and the ground
  truth of the frame, so the GUI thread only paints.
- `inference_worker`, `metrics_worker`, `export_worker`: superqt generator workers that yield
  progress and stop at the next yield when aborted.
"""
from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from superqt.utils import thread_worker

from salfom_core.evaluation.scoring import fixation_pool, score_frames
from salfom_core.inference.engine import EngineSettings, iter_predict
from salfom_core.inference.predict import open_store
from salfom_core.io.video import open_video

from .interpolated import read_layers


@dataclass
class FrameBundle:
    """What the view paints for one frame."""

    index: int
    image: np.ndarray                                  # RGB uint8
    maps: dict[str, np.ndarray | None] = field(default_factory=dict)   # layer name -> uint8 map
    fixations: tuple | None = None                     # (x, y, observer) arrays
    gt_map: np.ndarray | None = None
    shown: dict[str, object] = field(default_factory=dict)   # layer name -> EXACT, (a, b) of a blend, None


class FrameLoader(QObject):
    """Decode frames in a thread of its own; `request(i)` from the GUI, `ready(bundle)` back."""

    ready = Signal(object)
    failed = Signal(str)
    _wake = Signal()

    def __init__(self, cache_frames: int = 48):
        super().__init__()
        self._lock = threading.Lock()
        self._wanted: int | None = None
        self._pending_video: Path | None = None
        self._show_gt = False
        self._video = None
        self._sources: dict = {}            # layer name -> read(i) callable, set by the GUI
        self._gaze = None
        self._truth = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_frames = cache_frames
        self._reported: set[str] = set()    # layers whose unreadable maps were already reported
        self._thread = QThread()
        self._thread.setObjectName("frame-loader")
        self.moveToThread(self._thread)
        self._wake.connect(self._work)
        self._thread.start()

    def configure(self, video_path: Path | None = None, layers: dict | None = None, gaze=None, truth=None,
                  show_gt: bool = False) -> None:
        """Called from the GUI thread; takes effect at the next request."""
        with self._lock:
            if video_path is not None:
                self._pending_video = video_path
            if layers is not None:
                self._sources = dict(layers)
            self._gaze, self._truth, self._show_gt = gaze, truth, show_gt

    def request(self, index: int) -> None:
        with self._lock:
            self._wanted = index
        self._wake.emit()

    @Slot()
    def _work(self) -> None:
        with self._lock:
            index, self._wanted = self._wanted, None
            new_video, self._pending_video = self._pending_video, None
            sources, gaze, truth, show_gt = self._sources, self._gaze, self._truth, self._show_gt
        if new_video is not None:
            if self._video is not None:
                self._video.close()
            self._cache.clear()
            self._reported.clear()
            try:
                self._video = open_video(new_video)
            except Exception as exc:   # reported to the user; the loader keeps running
                self._video = None
                self.failed.emit(str(exc))
        if index is None or self._video is None or not 0 <= index < len(self._video):
            return
        try:
            image = self._frame(index)
        except Exception as exc:
            self.failed.emit(str(exc))
            return
        maps, shown = {}, {}
        for name, read in sources.items():
            maps[name], shown[name] = self._read_map(name, read, index)
        bundle = FrameBundle(index, image, maps, shown=shown)
        if gaze is not None:
            bundle.fixations = gaze.for_frame(index) if index < gaze.n_frames else None
        if show_gt and truth is not None and index < truth.n_frames:
            bundle.gt_map = truth.gt_map(index)
        self.ready.emit(bundle)

    def _read_map(self, name: str, read, index: int) -> tuple[np.ndarray | None, object]:
        """A layer's map (exact or a blend, `interpolated.read_layers`), or (None, None) when it
        cannot be read: said once per layer, the frame still shows."""
        try:
            maps, shown = read_layers({name: read}, index)
            return maps[name], shown[name]
        except Exception as exc:
            if name not in self._reported:
                self._reported.add(name)
                self.failed.emit(f"{name}: {exc}")
            return None, None

    def _frame(self, index: int) -> np.ndarray:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        image = self._video.read(index)
        self._cache[index] = image
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)
        return image

    def stop(self) -> None:
        self._thread.quit()
        self._thread.wait(5000)
        if self._video is not None:
            self._video.close()


def close_on_abort(worker):
    """superqt stops iterating an aborted generator worker but never closes the generator, so
    its `finally` and `with` blocks (the engine's decoding thread, a partial export file) would
    wait for garbage collection, or for the interpreter's exit. Close it in the worker's thread,
    right at the abort."""
    worker.aborted.connect(lambda: worker._gen.close(), Qt.DirectConnection)
    return worker


@thread_worker(start_thread=False)
def inference_worker(video_path: Path, make_predictor, store_root, settings: EngineSettings, playhead):
    """Open the video and the predictor in this thread, yield ("store", store) then Progress steps."""
    with open_video(video_path) as source:
        predictor = make_predictor()
        store = open_store(source, video_path, predictor, settings, store_root)
        yield "store", store
        # closed with this worker: the engine's decoding thread stops when the user cancels
        with contextlib.closing(iter_predict(source, predictor, store, settings, start_at=playhead,
                                             order="coarse-to-fine")) as steps:
            yield from steps
        # read once more now that every frame was decoded here: damage found on the way is known
        yield "integrity", getattr(source, "integrity_warning", None)


@thread_worker(start_thread=False)
def metrics_worker(queue, truth, names: tuple[str, ...], seed: int = 0, chunk: int = 8):
    """Per-frame metrics against `truth` of what `queue.take(chunk)` hands out, (layer, read(i),
    frames), until it is empty; yields (layer, frames, {metric: values}) per chunk. Each frame
    is seeded on its own (`scoring.frame_rng`), so the values are `salfom evaluate`'s whatever
    the order; the shuffled-AUC negatives come from the other frames of this video, as there."""
    pool, owner = fixation_pool([truth], lambda t: range(t.n_frames)) if "auc_shuffled" in names else ([], {})
    while (task := queue.take(chunk)) is not None:
        layer, read, frames = task
        done, rows = [], {n: [] for n in names}
        for i, values in score_frames(truth, read, frames, pool, owner, names, seed):
            done.append(i)
            for n in names:
                rows[n].append(np.nan if values is None else values[n])
        yield layer, done, rows


@thread_worker(start_thread=False)
def export_worker(video_path: Path, panes, target: Path, captions=None, frames: range | None = None, gaze=None,
                  hidden_observers=(), marker_style: str = "ring", marker_size: int = 14, decorate=None):
    """Overlay video export of `panes` (`salfom_core.io.export.ExportPane`, side by side) with
    their `captions`, the fixations of `gaze` but those of `hidden_observers`, and what
    `decorate(i, image)` draws; yields (done, total); the file appears only when complete."""
    from salfom_core.io.export import NO_CAPTIONS, iter_overlay_video

    with open_video(video_path) as source:
        yield from iter_overlay_video(source, None, target, frames=frames, gaze=gaze, marker_style=marker_style,
                                      marker_size=marker_size, decorate=decorate, panes=panes,
                                      captions=captions or NO_CAPTIONS, hidden_observers=hidden_observers)
    return str(target)
