"""What is open: the video, its gaze or annotations, map folders, the checkpoint; starting the
layers' predictions. Errors come back as `error(title, text)`; nothing here raises to the GUI.

The checkpoint is remembered (settings) only once a model loaded from it, and forgotten only
on a checkpoint error, never because a video, gaze or cache failed.
"""
from __future__ import annotations

import dataclasses
import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from superqt.utils import thread_worker

from salfom_core.errors import CacheError
from salfom_core.evaluation.sources import MapFolder
from salfom_core.evaluation.truths import AnnotationTruth, GazeTruth
from salfom_core.inference.engine import CenterBiasPredictor, EngineSettings, pick_device
from salfom_core.inference.model_cache import cached_salfom_predictor
from salfom_core.io.annotations import find_annotations
from salfom_core.io.files import as_uint8_map
from salfom_core.io.gaze import GazeOptions, load_gaze, read_annotation_folder
from salfom_core.io.paths import PathKind, PathKindError, classify_path
from salfom_core.io.video import open_video

from .gaze_import import gaze_error_message, is_annotation_folder, remembered_options
from .jobs import InferenceJobs, MetricsJobs, is_checkpoint_error, is_partial_checkpoint
from .metrics_cache import folder_maps_key, metrics_root
from .state import Layer, LayerNameError, ViewerState
from .weights_dialog import installed_checkpoint

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
DEMO_VIDEO = RESOURCES / "demo" / "demo.mp4"
STYLE = ("colormap", "opacity", "threshold")
SAVED_LAYERS = "layers"          # settings: layer identity -> what the user made of it (name, colour, style)
SAVED_LAYERS_KEPT = 1000         # the most recently changed are kept
VIEW_REMEMBERED = ("marker_style", "marker_size", "marker_opacity", "gt_opacity")
CENTER_BIAS_SOURCE = "built-in baseline"
NO_CHECKPOINT = ("No SalFoM checkpoint is loaded: showing the centre-bias baseline. Get the official DHF1K "
                 "weights (Help > Get the SalFoM weights...), load a file (File > Load checkpoint...), or train "
                 "one here (Train > New run...).")


class Session(QObject):
    error = Signal(str, str)                 # title, message
    opened = Signal()                        # a new video is open
    checkpoint_changed = Signal()            # remembered or forgotten
    partial_checkpoint = Signal(str, str)    # path, what stays untrained: ask before going on
    recent_changed = Signal()

    def __init__(self, state: ViewerState, settings: QSettings, cache_dir: str | None, loader):
        super().__init__()
        self.state = state
        self.settings = settings
        self.loader = loader
        self.inference = InferenceJobs(state, cache_dir, self._prepare_layer)
        self.inference.failed.connect(self._inference_failed)
        self.inference.loaded.connect(self._model_loaded)
        self.metrics = MetricsJobs(state, lambda: self.inference.busy, cache_root=metrics_root(cache_dir))
        self.metrics.error.connect(lambda msg: self.error.emit("Metrics failed", msg))
        self.checkpoint: str | None = settings.value("checkpoint") or None
        if self.checkpoint and not Path(self.checkpoint).is_file():
            self.checkpoint = None
        self.checkpoint = self.checkpoint or installed_checkpoint()     # `salfom weights install`
        self._checking = None                # a checkpoint being loaded while no video is open
        self.gaze_path: str | None = None    # the open video's gaze (Train > New run can train on it)
        state.layers_changed.connect(self._observe_layers)
        state.layer_renamed.connect(self._layer_renamed)
        self._restore_view()
        state.view_changed.connect(self._save_view)

    # ----------------------------------------------------------------- video, gaze, maps

    def open_video(self, path, synthetic: bool | None = None, gaze: str | None = None) -> bool:
        """Open a video (or frame folder), its gaze when found beside it, and start predicting."""
        path = Path(path)
        try:
            video = open_video(path)
        except Exception as exc:        # a bad file is a message; the open video (if any) stays
            self.error.emit("Cannot open video", str(exc) if str(path) in str(exc) else f"{path}: {exc}")
            return False
        self.inference.cancel_all(wait=True)
        self.metrics.reset()
        is_demo = path.resolve() == DEMO_VIDEO.resolve() if synthetic is None else synthetic
        self.loader.configure(video_path=path, layers={})
        self.state.set_video(video, path, synthetic=is_demo)
        self.gaze_path = None
        self.remember(path)
        self.opened.emit()
        gaze = gaze or gaze_beside(path)
        if gaze:
            self.open_gaze(gaze)
        self.run_center_bias()
        if self.checkpoint:
            self.run_salfom(self.checkpoint)
        return True

    def open_gaze(self, path, options=None) -> bool:
        """Gaze (any tracker's export, see `load_gaze`) or an annotation folder (maps/ and fixation/)
        for the open video. `options` (a GazeOptions): default, the settings File > Import gaze...
        remembered for this file, so a drop, `--gaze` and the gaze beside a video read it alike."""
        s = self.state
        if s.video is None:
            self.error.emit("No video", "Open a video before its gaze.")
            return False
        path = Path(path)
        info = s.video.info
        try:
            if is_annotation_folder(path):
                ann = find_annotations(path)
                gaze = read_annotation_folder(path, (info.width, info.height), s.clock) if ann.fixation_files else None
                truth = AnnotationTruth(s.video_path.stem, ann)
            else:
                options = options or remembered_options(self.settings, path) or GazeOptions()
                # the stimulus named like the open video (a Tobii file holds every media shown)
                options = dataclasses.replace(options, video_name=s.video_path.name)
                gaze = load_gaze(path, (info.width, info.height), info.frame_count, s.clock, options=options)
                truth = GazeTruth(s.video_path.stem, gaze)
        except Exception as exc:
            self.error.emit("Cannot read gaze", gaze_error_message(path, exc))
            return False
        return self._show_truth(path, gaze, truth)

    def use_gaze(self, path, gaze) -> bool:
        """Gaze read already (File > Import gaze... keeps its preview's reading) for the open video."""
        if self.state.video is None:
            self.error.emit("No video", "Open a video before its gaze.")
            return False
        return self._show_truth(Path(path), gaze, GazeTruth(self.state.video_path.stem, gaze))

    def _show_truth(self, path: Path, gaze, truth) -> bool:
        s = self.state
        note = f" ({gaze.skipped} malformed rows skipped)" if gaze is not None and gaze.skipped else ""
        observers = f", {len(gaze.observers)} observers" if gaze is not None and gaze.observers else ""
        s.set_truth(gaze, truth, f"{path.name}{observers}{note}")
        self.gaze_path = str(path)
        self.remember(path)
        return True

    def add_map_folder(self, path) -> Layer | None:
        """Maps made elsewhere (another model) as a layer, resized to the video when needed."""
        s = self.state
        if s.video is None:
            self.error.emit("No video", "Open a video before adding maps.")
            return None
        try:
            folder = MapFolder(path)
            folder.read(min(folder.files))       # unreadable images: say so now, not frame by frame
        except Exception as exc:
            self.error.emit("Cannot read maps", str(exc))
            return None
        size = (s.video.info.width, s.video.info.height)
        try:
            mismatches = folder.mismatches(s.n_frames, size)
        except Exception as exc:
            self.error.emit("Cannot read maps", str(exc))
            return None

        def read_stored(i, folder=folder, size=size):
            m = folder.read(i)
            if m is not None and (m.shape[1], m.shape[0]) != size:
                import cv2
                m = cv2.resize(m, size, interpolation=cv2.INTER_LINEAR)
            return m

        def read(i):
            m = read_stored(i)
            return None if m is None else as_uint8_map(m)      # 16-bit and float maps shown with peak 255

        deep = folder.read(min(folder.files)).dtype.name != "uint8"
        layer = Layer(self._layer_name("folder", str(path), Path(path).name, Path(path)), "folder", s.n_frames,
                      read, source=str(path), maps_key=folder_maps_key(folder.files.values(), size),
                      read_stored=read_stored if deep else None)
        layer.done[[i for i in folder.files if i < s.n_frames]] = True
        self._prepare_layer(layer)
        self._add_and_show(layer)
        if mismatches:           # said, not refused: another video's or rotated maps, 0-based names
            self.error.emit("Maps added", "\n".join(mismatches))
        return layer

    def _layer_name(self, kind: str, source: str, default: str, folder: Path | None = None) -> str:
        """The name a new layer takes: the open layer's of the same source (it is replaced: the same
        folder added again, the same checkpoint run again); else the name the user gave this source
        (kept across sessions), else `default`; another layer's name is never taken: another folder
        of the same name (`mA/maps`, `mB/maps`) is named with its parent, a saved name gets a number."""
        identity = layer_identity(kind, source)
        same = next((l for l in self.state.layers if layer_identity(l.kind, l.source) == identity), None)
        if same is not None:
            return same.name
        saved = self._saved_layer(identity).get("name")
        if isinstance(saved, str) and saved.strip():
            return self.state.distinct_name(saved.strip())
        return self.state.distinct_name(default, folder)

    def _add_and_show(self, layer: Layer) -> None:
        before = self.state.active
        self.state.add_layer(layer)
        self._show_new(layer, before)

    def _show_new(self, layer: Layer, before: Layer | None = None) -> None:
        """A layer the user just added is the one shown; the one shown before goes beside it."""
        s = self.state
        if before is None and s.active is not layer:
            before = s.active
        if before is not None and before in s.layers and before is not layer:
            s.set_active(layer, compare=before)
        else:
            s.set_active(layer)

    def rename_layer(self, layer: Layer, name: str) -> bool:
        """Rename a layer (the layer panel); a name that cannot be taken is said, not applied."""
        try:
            self.state.rename_layer(layer, name)
        except LayerNameError as exc:
            self.error.emit("Cannot rename layer", f"{layer.name}: {exc}")
            return False
        return True

    def _layer_renamed(self, layer: Layer, old: str) -> None:
        if old in self.inference.workers:          # its job keeps running under the new name
            self.inference.workers[layer.name] = self.inference.workers.pop(old)
        self._save_layer(layer, name=layer.name)

    def open_any(self, path) -> None:
        """Drop, recent file or command line: one decision of what a path is (salfom_core.io.paths)."""
        try:
            kind = classify_path(path)
        except PathKindError as exc:
            self.error.emit("Cannot open", str(exc))
            return
        if kind is PathKind.CHECKPOINT:
            self.load_checkpoint(path)
        elif kind in (PathKind.GAZE, PathKind.ANNOTATIONS):
            self.open_gaze(path)
        elif kind is PathKind.MAPS and self.state.video is not None:
            self.add_map_folder(path)
        elif kind is PathKind.DATASET:
            self.error.emit("A dataset root", f"{path}: a dataset; open one of its videos (a folder with images/)")
        else:
            self.open_video(path)

    def remember(self, path: Path) -> None:
        recent = [p for p in (self.settings.value("recent") or []) if p != str(path)]
        self.settings.setValue("recent", [str(path)] + recent[:9])
        self.recent_changed.emit()

    # ----------------------------------------------------------------- predictions

    def run_center_bias(self) -> None:
        if self.state.video is not None:
            name = self._layer_name("center-bias", CENTER_BIAS_SOURCE, "Centre bias")
            self._show_new(self.inference.start(name, "center-bias", CenterBiasPredictor,
                                                CENTER_BIAS_SOURCE, EngineSettings(batch_size=64)))

    def run_salfom(self, checkpoint: str | None = None, allow_partial: bool = False) -> None:
        checkpoint = str(checkpoint or self.checkpoint or "")
        if not checkpoint:
            self.error.emit("No SalFoM checkpoint", NO_CHECKPOINT)
            return
        if self.state.video is None:
            return
        device = str(pick_device())
        name = self._layer_name("salfom", checkpoint, f"SalFoM ({Path(checkpoint).stem})")
        # the model loads in the worker thread: a 1.6 GB checkpoint never blocks the GUI
        predictor = partial(cached_salfom_predictor, checkpoint, device, allow_partial=allow_partial)
        self._show_new(self.inference.start(name, "salfom", predictor, checkpoint,
                                            EngineSettings(batch_size=4 if device.startswith("cuda") else 1)))

    def load_checkpoint(self, path, allow_partial: bool = False) -> None:
        """Predict with this checkpoint from now on; the next session gets it only once a model
        loaded from it (settings are written then)."""
        path = str(path)
        if not Path(path).is_file():
            self.error.emit("Cannot load checkpoint", f"{path}: no such file")
            return
        self.checkpoint = path
        self.checkpoint_changed.emit()
        if self.state.video is not None:
            self.run_salfom(path, allow_partial)
            return
        device = str(pick_device())     # no video yet: load the model now, to know it is good
        worker = thread_worker(cached_salfom_predictor, start_thread=False, ignore_errors=True)(
            path, device, allow_partial=allow_partial)
        worker.returned.connect(lambda _p: self._remember_checkpoint(path))
        worker.errored.connect(lambda exc: self._checkpoint_failed(path, exc))
        self._checking = worker
        worker.start()

    def _model_loaded(self, layer: Layer) -> None:
        if layer.kind == "salfom":
            self._remember_checkpoint(layer.source)

    def _remember_checkpoint(self, path: str) -> None:
        self.checkpoint = path
        self.settings.setValue("checkpoint", path)
        self.checkpoint_changed.emit()

    def _inference_failed(self, layer: Layer, exc: BaseException) -> None:
        if layer.kind == "salfom" and is_checkpoint_error(exc):      # a partial one is a checkpoint error too
            self._checkpoint_failed(layer.source, exc)
            return
        message = str(exc)
        if isinstance(exc, (OSError, CacheError)):
            message = f"{message}\n\nThe prediction cache ({self.inference.cache_dir or 'the user cache'}) " \
                      "cannot be used: choose another with --cache, or free the disk."
        elif "out of memory" in message.lower():
            message += "\n\nThe GPU ran out of memory. Close other GPU programs or predict on the CPU."
        self.error.emit(f"{layer.name} failed", message)

    def _checkpoint_failed(self, path: str, exc: BaseException) -> None:
        if is_partial_checkpoint(exc):
            self.partial_checkpoint.emit(path, str(exc))     # the window asks; the checkpoint stays as it was
            return
        self.error.emit("Cannot load checkpoint", str(exc))
        if is_checkpoint_error(exc):
            if self.checkpoint == path:
                self.checkpoint = None
            if self.settings.value("checkpoint") == path:
                self.settings.remove("checkpoint")
            self.checkpoint_changed.emit()

    # ----------------------------------------------------------------- layer styles

    def _prepare_layer(self, layer: Layer) -> None:
        """A new layer looks as the user last left this source's layer (its folder, its checkpoint),
        else as the user last left a layer of its kind (kept across restarts); it takes the colour
        it had unless another layer has it now."""
        saved = self._saved_layer(layer_identity(layer.kind, layer.source)) or \
            self.settings.value(f"layer_style/{layer.kind}")
        if not isinstance(saved, dict):
            return
        try:
            layer.colormap = str(saved.get("colormap", layer.colormap))
            layer.opacity = float(saved.get("opacity", layer.opacity))
            layer.threshold = float(saved.get("threshold", layer.threshold))
            colour = tuple(int(c) for c in saved.get("colour") or ())
        except (TypeError, ValueError):
            return                                   # settings of another version: the defaults
        others = [l.colour for l in self.state.layers if l.name != layer.name]    # a replaced layer's is free
        if len(colour) == 3 and colour not in others:
            layer.colour = colour

    def _saved_layers(self) -> dict:
        saved = self.settings.value(SAVED_LAYERS)
        return saved if isinstance(saved, dict) else {}

    def _saved_layer(self, identity: str) -> dict:
        record = self._saved_layers().get(identity)
        return record if isinstance(record, dict) else {}

    def _save_layer(self, layer: Layer, **extra) -> None:
        """What the user made of this source's layer (a name given, a style chosen; its colour), kept
        for the next time it is added, in this session or another; a name is written to disk at
        once (a crash after a rename loses nothing) and kept until the user gives another."""
        identity = layer_identity(layer.kind, layer.source)
        saved = self._saved_layers()
        record = {**self._saved_layer(identity), **{k: getattr(layer, k) for k in STYLE}, **extra}
        if layer.colour is not None:
            record["colour"] = list(layer.colour)
        record["saved_at"] = time.time()             # the settings keep keys sorted: the age says which go first
        saved[identity] = record
        if len(saved) > SAVED_LAYERS_KEPT:
            newest = sorted(saved, key=lambda k: _age_key(saved[k]))[-SAVED_LAYERS_KEPT:]
            saved = {k: saved[k] for k in newest}
        self.settings.setValue(SAVED_LAYERS, saved)
        if "name" in extra:
            self.settings.sync()

    def _restore_view(self) -> None:
        """Fixation marker settings come back in the next session."""
        saved = self.settings.value("view")
        if isinstance(saved, dict):
            try:
                self.state.set_view(**{k: type(getattr(self.state, k))(v) for k, v in saved.items()
                                       if k in VIEW_REMEMBERED})
            except (ValueError, AttributeError, TypeError):
                self.settings.remove("view")          # settings from another version: start fresh

    def _save_view(self, what) -> None:
        if set(what) & set(VIEW_REMEMBERED):
            self.settings.setValue("view", {k: getattr(self.state, k) for k in VIEW_REMEMBERED})

    def _observe_layers(self) -> None:
        for layer in self.state.layers:
            layer.changed.connect(self._save_style)

    def _save_style(self, layer: Layer, what) -> None:
        if set(what) & set(STYLE):
            self.settings.setValue(f"layer_style/{layer.kind}", {k: getattr(layer, k) for k in STYLE})
            self._save_layer(layer)

    # ----------------------------------------------------------------- status

    @property
    def busy(self) -> bool:
        return self.inference.busy or self.metrics.busy

    def shutdown(self) -> list:
        """Stop every job (the window closes); returns the workers to wait for."""
        extra = [self._checking] if self._checking is not None and self._checking.is_running else []
        return self.inference.shutdown() + self.metrics.shutdown() + extra


def _age_key(record) -> float:
    try:
        return float(record.get("saved_at", 0)) if isinstance(record, dict) else 0.0
    except (TypeError, ValueError):
        return 0.0


def layer_identity(kind: str, source: str) -> str:
    """What a layer's saved name, colour and style belong to: its maps folder or its checkpoint
    (the resolved path: the same folder however it was reached); the centre bias is one."""
    if kind in ("folder", "salfom") and source:
        return f"{kind}:{Path(source).resolve()}"
    return kind


def gaze_beside(video: Path) -> str | None:
    """`<stem>_gaze.csv` (or `.tsv`: a Tobii export), `gaze.csv`, a `<stem>_gaze/` or `gaze/` folder
    (exports of any tracker, one file or folder per observer) or an annotation folder next to the video."""
    folder = video if video.is_dir() else video.parent
    names = (f"{video.stem}_gaze.csv", f"{video.stem}_gaze.tsv", "gaze.csv", "gaze.tsv", f"{video.stem}_gaze", "gaze")
    for candidate in (folder / name for name in names):
        if candidate.exists():
            return str(candidate)
    if (folder / "fixation").is_dir() or (folder / "maps").is_dir():
        return str(folder)
    return None
