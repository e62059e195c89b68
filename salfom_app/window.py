"""The main window: menus, shortcuts, drag and drop; starts workers and routes their results
into the state. The GUI thread only paints and edits state."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QProgressDialog, QSplitter, QVBoxLayout, QWidget)
from superqt.utils import thread_worker

from salfom_core.atomic import atomic_write_text
from salfom_core.engine import CenterBiasPredictor, EngineSettings, SalFoMPredictor, pick_device
from salfom_core.evaluate import AnnotationTruth, GazeTruth, MapFolder

from .dataset_panel import install_dataset_panel
from salfom_core.gaze import find_annotations, load_gaze, read_annotation_folder
from salfom_core.metrics import METRICS
from salfom_core.video import IMAGE_SUFFIXES, file_fingerprint, open_video

from .interpolated import DisplayReader, stale
from .panels import LayerPanel, MetricCurves, Timeline
from .state import METRIC_LABELS, Layer, ViewerState
from .training import NewRunDialog, TrainingRun
from .video_view import VideoView
from .weights_dialog import NO_CHECKPOINT_BANNER, attach_weights_dialog, installed_checkpoint
from .workers import FrameLoader, export_worker, inference_worker, metrics_worker

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
DEMO_VIDEO = RESOURCES / "demo" / "demo.mp4"
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv")
NO_CHECKPOINT = ("No SalFoM checkpoint is loaded: showing the centre-bias baseline. Get the official DHF1K "
                 "weights (Help > Get the SalFoM weights...), load a file (File > Load checkpoint...), or train "
                 "one here (Train > New run...).")


class MainWindow(QMainWindow):
    def __init__(self, cache_dir: str | None = None, settings: QSettings | None = None):
        super().__init__()
        self.state = ViewerState()
        self.cache_dir = cache_dir
        self.settings = settings or QSettings("SalFoM", "SalFoM Studio")
        self.errors: list[str] = []          # every error shown to the user (tests read it)
        self._inference: dict[str, object] = {}     # layer name -> running worker
        self._predictors: dict[tuple, object] = {}  # (checkpoint, content) -> loaded predictor, reused across videos
        self._metrics_job = None
        self._metrics_done: dict[str, np.ndarray] = {}
        self._seek_target = 0
        self._export = None
        self.training_runs: list[TrainingRun] = []

        self.loader = FrameLoader()
        self.loader.ready.connect(self._paint)
        self.loader.failed.connect(lambda msg: self.report_error("Cannot read frame", msg))
        self.view = VideoView(self.state)
        self.timeline = Timeline(self.state)
        self.curves = MetricCurves(self.state)
        self.layer_panel = LayerPanel(self.state)
        self.layer_panel.cancel_requested.connect(self.cancel_inference)
        self._build_layout()
        self._build_menus()
        attach_weights_dialog(self)
        self._build_shortcuts()
        self.setAcceptDrops(True)

        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._tick)
        self.redraw_timer = QTimer(self, singleShot=True, interval=250)
        self.redraw_timer.timeout.connect(self._refresh_metric_views)
        self.metrics_timer = QTimer(self, singleShot=True, interval=400)
        self.metrics_timer.timeout.connect(self._start_metrics)

        s = self.state
        s.frame_changed.connect(self._request_frame)
        s.layers_changed.connect(self._layers_changed)
        s.view_changed.connect(self._view_changed)
        s.truth_changed.connect(self._truth_changed)
        s.playing_changed.connect(self._playing_changed)
        self.checkpoint: str | None = self.settings.value("checkpoint") or None
        if self.checkpoint and not Path(self.checkpoint).is_file():
            self.checkpoint = None
        self.checkpoint = self.checkpoint or installed_checkpoint()     # `salfom weights install`
        self._update_banner()
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 860)
        self._update_title()
        # the dataset dock and its File menu items (issue 11): one hook, the panel is self-contained
        self.dataset_panel = install_dataset_panel(self, str(Path(cache_dir) / "scores") if cache_dir else None)

    # ----------------------------------------------------------------- building

    def _build_layout(self):
        center = QSplitter(Qt.Vertical)
        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.view, 1)
        column.addWidget(self.timeline)
        center.addWidget(top)
        center.addWidget(self.curves)
        center.setStretchFactor(0, 3)
        center.setStretchFactor(1, 2)
        self.setCentralWidget(center)
        dock = QDockWidget("Layers", self)
        dock.setWidget(self.layer_panel)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status)

    def _action(self, menu, text, slot, shortcut=None):
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        menu.addAction(action)
        return action

    def _build_menus(self):
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "Open video or frame folder...", self._choose_video, QKeySequence.Open)
        self._action(f, "Open gaze (CSV, SMI export)...", self._choose_gaze)
        self._action(f, "Open gaze folder (SMI exports) or annotation folder...", self._choose_gaze_folder)
        self._action(f, "Add maps folder as a layer...", self._choose_map_folder)
        self._action(f, "Load checkpoint...", self._choose_checkpoint)
        self.recent_menu = f.addMenu("Open recent")
        self._fill_recent()
        f.addSeparator()
        export = f.addMenu("Export")
        self._action(export, "Overlay video (MP4)...", self._choose_export_overlay)
        self._action(export, "Current frame (PNG)...", self._choose_export_frame)
        self._action(export, "Per-frame metrics (CSV)...", self._choose_export_csv)
        self._action(export, "Metric plot (PNG)...", self._choose_export_plot)
        f.addSeparator()
        self._action(f, "Quit", self.close, QKeySequence.Quit)
        p = bar.addMenu("&Predict")
        self._action(p, "Centre-bias baseline", self.run_center_bias)
        self._action(p, "SalFoM (loaded checkpoint)", lambda: self.run_salfom())
        self._action(p, "Cancel all predictions", self.cancel_all)
        v = bar.addMenu("&View")
        self._action(v, "Overlay", lambda: self.set_view_mode("overlay"))
        self._action(v, "Side by side (compare two layers)", lambda: self.set_view_mode("side-by-side"))
        v.addSeparator()
        self.interpolate_action = self._action(v, "Interpolate between computed frames", self._toggle_interpolate)
        self.interpolate_action.setCheckable(True)
        self.interpolate_action.setChecked(self.state.interpolate)
        t = bar.addMenu("&Train")
        self._action(t, "New run...", self.new_training_run)
        h = bar.addMenu("&Help")
        self._action(h, "About", lambda: QMessageBox.about(
            self, "SalFoM Studio", "SalFoM Studio: video saliency prediction with SalFoM (ICPR 2024)."))

    def _build_shortcuts(self):
        keys = {Qt.Key_Space: lambda: self.state.set_playing(not self.state.playing),
                Qt.Key_Right: lambda: self._seek_by(1), Qt.Key_Left: lambda: self._seek_by(-1),
                Qt.SHIFT | Qt.Key_Right: lambda: self._seek_by(10), Qt.SHIFT | Qt.Key_Left: lambda: self._seek_by(-10),
                Qt.Key_PageDown: lambda: self._seek_by(10), Qt.Key_PageUp: lambda: self._seek_by(-10),
                Qt.Key_Home: lambda: self.seek(0), Qt.Key_End: lambda: self.seek(self.state.n_frames - 1)}
        for key, slot in keys.items():
            QShortcut(QKeySequence(key), self, activated=slot)

    # ----------------------------------------------------------------- errors and status

    def report_error(self, title: str, message: str) -> None:
        """A dialog that says what and where; never modal-blocking, the session goes on."""
        self.errors.append(f"{title}: {message}")
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def _update_title(self):
        s = self.state
        name = s.video_path.name if s.video_path else "no video"
        tag = "  [synthetic demo: simulated observers]" if s.synthetic else ""
        self.setWindowTitle(f"SalFoM Studio - {name}{tag}")
        device = pick_device().type.upper()
        self.status.setText(f"{'synthetic demo, ' if s.synthetic else ''}device: {device}")

    def _update_banner(self):
        self.layer_panel.set_banner("" if self.checkpoint else NO_CHECKPOINT_BANNER)

    # ----------------------------------------------------------------- opening

    def _choose_video(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", "Videos (*" + " *".join(VIDEO_SUFFIXES)
                                              + ");;All files (*)")
        if path:
            self.open_video(path)

    def open_video(self, path, synthetic: bool | None = None, gaze: str | None = None) -> bool:
        """Open a video (or frame folder), its gaze when found beside it, and start predicting."""
        path = Path(path)
        try:
            video = open_video(path)
        except Exception as exc:
            self.report_error("Cannot open video", str(exc))
            return False
        self.cancel_all(wait=True)
        if self._metrics_job is not None:
            self._metrics_job.quit()
        self._metrics_done = {}
        self.view.reset()
        self.state.set_video(video, path, synthetic=path.resolve() == DEMO_VIDEO.resolve() if synthetic is None
                             else synthetic)
        self.loader.configure(video_path=path, layers={})
        self._remember(path)
        self._update_title()
        gaze = gaze or self._gaze_beside(path)
        if gaze:
            self.open_gaze(gaze)
        self.run_center_bias()
        if self.checkpoint:
            self.run_salfom(self.checkpoint)
        self._request_frame(0)
        return True

    @staticmethod
    def _gaze_beside(video: Path) -> str | None:
        """`<stem>_gaze.csv`, `gaze/` (SMI exports) or an annotation folder next to the video."""
        folder = video if video.is_dir() else video.parent
        for candidate in (folder / f"{video.stem}_gaze.csv", folder / "gaze.csv", folder / "gaze"):
            if candidate.exists():
                return str(candidate)
        if (folder / "fixation").is_dir() or (folder / "maps").is_dir():
            return str(folder)
        return None

    def _choose_gaze(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open gaze", "", "Gaze (*.csv *.txt);;All files (*)")
        if path:
            self.open_gaze(path)

    def _choose_gaze_folder(self):
        path = QFileDialog.getExistingDirectory(self, "Open gaze or annotation folder")
        if path:
            self.open_gaze(path)

    def open_gaze(self, path) -> bool:
        """Gaze (CSV / SMI) or an annotation folder (maps/ and fixation/) for the open video."""
        s = self.state
        if s.video is None:
            self.report_error("No video", "Open a video before its gaze.")
            return False
        path = Path(path)
        info = s.video.info
        try:
            if path.is_dir() and not list(path.glob("*.txt")):
                ann = find_annotations(path)
                gaze = read_annotation_folder(path, (info.width, info.height), info.fps) if ann.fixation_files else None
                truth = AnnotationTruth(s.video_path.stem, ann)
            else:
                gaze = load_gaze(path, (info.width, info.height), info.frame_count, info.fps)
                truth = GazeTruth(s.video_path.stem, gaze)
        except Exception as exc:
            self.report_error("Cannot read gaze", str(exc))
            return False
        note = f" ({gaze.skipped} malformed rows skipped)" if gaze is not None and gaze.skipped else ""
        observers = f", {len(gaze.observers)} observers" if gaze is not None and gaze.observers else ""
        s.set_truth(gaze, truth, f"{path.name}{observers}{note}")
        self._remember(path)
        return True

    def _choose_map_folder(self):
        path = QFileDialog.getExistingDirectory(self, "Folder of saliency maps (0001.png ...)")
        if path:
            self.add_map_folder(path)

    def add_map_folder(self, path) -> Layer | None:
        """Maps made elsewhere (another model) as a layer, resized to the video when needed."""
        s = self.state
        if s.video is None:
            self.report_error("No video", "Open a video before adding maps.")
            return None
        try:
            folder = MapFolder(path)
        except Exception as exc:
            self.report_error("Cannot read maps", str(exc))
            return None
        size = (s.video.info.width, s.video.info.height)

        def read(i, folder=folder, size=size):
            m = folder.read(i)
            if m is not None and (m.shape[1], m.shape[0]) != size:
                import cv2
                m = cv2.resize(m, size, interpolation=cv2.INTER_LINEAR)
            return m

        layer = Layer(Path(path).name, "folder", s.n_frames, read, source=str(path))
        layer.done[[i for i in folder.files if i < s.n_frames]] = True
        self._restore_style(layer)
        s.add_layer(layer)
        self._schedule_metrics()
        return layer

    def _choose_checkpoint(self):
        path, _ = QFileDialog.getOpenFileName(self, "Load SalFoM checkpoint", "", "Checkpoints (*.pth *.pt);;All (*)")
        if path:
            self.load_checkpoint(path)

    def load_checkpoint(self, path) -> None:
        """Use this checkpoint from now on; the model loads in the inference worker (errors come back)."""
        path = str(path)
        if not Path(path).is_file():
            self.report_error("Cannot load checkpoint", f"{path}: no such file")
            return
        self.checkpoint = path
        self.settings.setValue("checkpoint", path)
        self._update_banner()
        if self.state.video is not None:
            self.run_salfom(path)

    def _remember(self, path: Path):
        recent = [p for p in (self.settings.value("recent") or []) if p != str(path)]
        self.settings.setValue("recent", [str(path)] + recent[:9])
        self._fill_recent()

    def _fill_recent(self):
        self.recent_menu.clear()
        for p in self.settings.value("recent") or []:
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _=False, p=p: self.open_any(p))

    def open_any(self, path) -> None:
        """Drop or recent file: decide what it is."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in (".pth", ".pt"):
            self.load_checkpoint(path)
        elif suffix in (".csv", ".txt"):
            self.open_gaze(path)
        elif path.is_dir() and (path / "images").is_dir():
            self.open_video(path)
        elif path.is_dir() and ((path / "fixation").is_dir() or list(path.glob("*.txt"))):
            self.open_gaze(path)
        elif path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
            # plain images: another model's maps when a video is open, else the frames of a video
            if self.state.video is not None:
                self.add_map_folder(path)
            else:
                self.open_video(path)
        else:
            self.open_video(path)

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_any(url.toLocalFile())

    # ----------------------------------------------------------------- frames and playback

    def seek(self, frame: int) -> None:
        """A user seek: the playhead moves and inference re-plans from there."""
        self._seek_target = max(0, frame)
        self.state.set_frame(frame)

    def _seek_by(self, delta: int) -> None:
        self.seek(self.state.frame + delta)

    def _request_frame(self, frame: int) -> None:
        if self.state.video is not None:
            self.loader.request(frame)

    def _paint(self, bundle) -> None:
        if bundle.index == self.state.frame or self.state.playing:
            self.view.show_bundle(bundle)

    def _playing_changed(self, playing: bool) -> None:
        if playing:
            if self.state.frame >= self.state.n_frames - 1:
                self.state.set_frame(0)
            self.play_timer.start(max(1, int(1000 / (self.state.fps * self.state.speed))))
        else:
            self.play_timer.stop()

    def _tick(self) -> None:
        s = self.state
        if s.frame >= s.n_frames - 1:
            s.set_playing(False)
            return
        interval = max(1, int(1000 / (s.fps * s.speed)))
        if self.play_timer.interval() != interval:
            self.play_timer.setInterval(interval)
        s.step(1)

    def _toggle_interpolate(self, on: bool) -> None:
        self.state.set_view(interpolate=bool(on))

    def set_view_mode(self, mode: str) -> None:
        self.state.set_view(view_mode=mode)
        self.view.set_mode(mode)

    def _layers_changed(self) -> None:
        for layer in self.state.layers:
            layer.changed.connect(self._layer_changed)
        self._configure_loader()
        active = self.state.active
        self.timeline.strip.set_done(active.done if active else None, self.state.interpolate)
        self._request_frame(self.state.frame)

    STYLE = ("colormap", "opacity", "threshold")

    def _restore_style(self, layer: Layer) -> None:
        """A new layer looks as the user last left a layer of its kind (kept across restarts)."""
        saved = self.settings.value(f"layer_style/{layer.kind}")
        if isinstance(saved, dict):
            layer.colormap = str(saved.get("colormap", layer.colormap))
            layer.opacity = float(saved.get("opacity", layer.opacity))
            layer.threshold = float(saved.get("threshold", layer.threshold))

    def _layer_changed(self, layer: Layer, what) -> None:
        if set(what) & set(self.STYLE):
            self.settings.setValue(f"layer_style/{layer.kind}", {k: getattr(layer, k) for k in self.STYLE})
        if "visible" in what or "read" in what:
            self._configure_loader()
        if layer is self.state.active and "progress" in what:
            self.timeline.strip.set_done(layer.done)
        shown = self.view.bundle
        # repaint only when the frame on screen gains its map (or a nearer blend), not on every batch elsewhere
        gained = "progress" in what and shown is not None and shown.index == self.state.frame \
            and stale(shown.shown.get(layer.name), layer.done, shown.index, self.state.interpolate)
        if gained or set(what) & {"visible", "colormap", "opacity", "threshold", "read"}:
            self._request_frame(self.state.frame)

    def _configure_loader(self) -> None:
        s = self.state
        self.loader.configure(layers={l.name: DisplayReader(l.read, l.done, s.interpolate) for l in s.layers if l.visible},
                              gaze=s.gaze, truth=s.truth, show_gt=s.show_ground_truth)

    def _view_changed(self, what) -> None:
        self._configure_loader()          # the ground-truth toggle decides what the loader reads
        if "interpolate" in what:
            self.timeline.strip.set_done(self.state.active.done if self.state.active else None, self.state.interpolate)
        self._request_frame(self.state.frame)

    def _truth_changed(self) -> None:
        self._metrics_done = {}
        self._view_changed(("truth",))
        self._schedule_metrics()
        self.curves.redraw()

    # ----------------------------------------------------------------- inference

    def run_center_bias(self) -> None:
        if self.state.video is not None:
            self._start_inference("Centre bias", "center-bias", CenterBiasPredictor, "built-in baseline",
                                  EngineSettings(batch_size=64))

    def run_salfom(self, checkpoint: str | None = None) -> None:
        checkpoint = checkpoint or self.checkpoint
        if not checkpoint:
            self.report_error("No SalFoM checkpoint", NO_CHECKPOINT)
            return
        if self.state.video is None:
            return
        device = pick_device()

        def make_predictor(path=checkpoint):
            # runs in the worker thread: a 1.6 GB checkpoint loads off the GUI thread. Keyed by
            # content too: a training run may have rewritten best.pt since it was loaded.
            key = (path, file_fingerprint(path))
            if key not in self._predictors:
                self._predictors[key] = SalFoMPredictor.from_checkpoint(path, device=str(device))
            return self._predictors[key]

        name = f"SalFoM ({Path(checkpoint).stem})"
        self._start_inference(name, "salfom", make_predictor, checkpoint,
                              EngineSettings(batch_size=4 if device.type == "cuda" else 1))

    def _start_inference(self, name, kind, make_predictor, source, settings) -> None:
        s = self.state
        previous = self._inference.pop(name, None)
        if previous is not None:
            previous.quit()
        layer = Layer(name, kind, s.n_frames, lambda i: None, source=str(source), running=True)
        self._restore_style(layer)
        s.add_layer(layer)
        worker = inference_worker(s.video_path, make_predictor, self.cache_dir, settings, lambda: self._seek_target,
                                  _ignore_errors=True)   # errors are reported by _inference_failed
        worker.yielded.connect(lambda item, layer=layer: self._inference_step(layer, item))
        worker.errored.connect(lambda exc, layer=layer: self._inference_failed(layer, exc))
        worker.finished.connect(lambda layer=layer, w=worker: self._inference_finished(layer, w))
        self._inference[name] = worker
        worker.start()

    def _inference_step(self, layer: Layer, item) -> None:
        if layer not in self.state.layers:
            return
        if isinstance(item, tuple) and item[0] == "store":
            store = item[1]
            layer.done = store.done.copy()
            layer.set(read=store.read, progress=(int(layer.done.sum()), layer.n_frames, self._first_eta(store)))
        else:
            layer.done[item.frames] = True
            layer.set(progress=(item.done, item.total, item.eta_s))
        self._schedule_metrics()

    @staticmethod
    def _first_eta(store) -> float:
        """Before a batch is timed: the measured speed of this preset on this kind of device."""
        from salfom_core.perf import estimate_seconds

        preset, dtype = store.meta.get("preset"), store.meta.get("dtype")
        if not preset:
            return math.inf
        estimate = estimate_seconds(preset, pick_device().type, dtype, len(store.missing()))
        return math.inf if estimate is None else estimate

    def _inference_failed(self, layer: Layer, exc: BaseException) -> None:
        message = str(exc)
        if "out of memory" in message.lower():
            message += "\n\nThe GPU ran out of memory. Close other GPU programs or predict on the CPU."
        self.report_error(f"{layer.name} failed", message)
        if layer.kind == "salfom" and isinstance(exc, ValueError):
            self.checkpoint = None            # a checkpoint that cannot load is forgotten
            self.settings.remove("checkpoint")
            self._update_banner()

    def _inference_finished(self, layer: Layer, worker) -> None:
        if self._inference.get(layer.name) is worker:
            del self._inference[layer.name]
        layer.set(running=False)
        self._schedule_metrics()

    def cancel_inference(self, layer: Layer | None) -> None:
        if layer is not None and layer.name in self._inference:
            self._inference[layer.name].quit()

    def cancel_all(self, wait: bool = False) -> None:
        workers = list(self._inference.values())
        for worker in workers:
            worker.quit()
        if wait:
            self._wait(workers)

    @staticmethod
    def _wait(workers, timeout_s: float = 30.0) -> None:
        """Let aborted workers reach their next yield and end (a running QThread must not be destroyed)."""
        import time

        deadline = time.monotonic() + timeout_s
        while any(w.is_running for w in workers) and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)

    def busy(self) -> bool:
        """Inference or metrics still computing for the visible layers."""
        return bool(self._inference) or self._metrics_job is not None or self.metrics_timer.isActive() \
            or self._metrics_pending()

    # ----------------------------------------------------------------- metrics

    def _schedule_metrics(self) -> None:
        if self.state.truth is not None and not self.metrics_timer.isActive():
            self.metrics_timer.start()

    def _metrics_pending(self) -> list:
        s = self.state
        if s.truth is None:
            return []
        jobs = []
        for layer in s.layers:
            done = self._metrics_done.setdefault(layer.name, np.zeros(layer.n_frames, bool))
            todo = np.flatnonzero(layer.done & ~done)
            if len(todo):
                jobs.append((layer.name, layer.read, todo))
        return jobs

    def _start_metrics(self) -> None:
        if self._metrics_job is not None:
            return
        jobs = self._metrics_pending()
        if not jobs:
            return
        for layer_name, _read, frames in jobs:
            self._metrics_done[layer_name][frames] = True      # claimed: not scheduled twice
        worker = metrics_worker(jobs, self.state.truth, METRICS, _ignore_errors=True)
        worker.yielded.connect(self._metrics_step)
        worker.errored.connect(lambda exc: self.report_error("Metrics failed", str(exc)))
        worker.finished.connect(self._metrics_finished)
        self._metrics_job = worker
        worker.start()

    def _metrics_step(self, item) -> None:
        name, frames, rows = item
        layer = self.state.layer(name)
        if layer is None:
            return
        for metric, values in rows.items():
            array = layer.metrics.setdefault(metric, np.full(layer.n_frames, np.nan))
            array[frames] = values
        if not self.redraw_timer.isActive():
            # while a model computes, curves refresh once a second: the GUI thread stays free
            self.redraw_timer.start(1000 if self._inference else 250)

    def _metrics_finished(self) -> None:
        self._metrics_job = None
        self._refresh_metric_views()
        if self._metrics_pending():
            self._schedule_metrics()

    def _refresh_metric_views(self) -> None:
        self.curves.redraw()

    # ----------------------------------------------------------------- export

    def _export_folder(self) -> Path:
        """A new folder beside the video: exports never write over inputs."""
        video = self.state.video_path
        return (video.parent if video else Path.home()) / f"{video.stem if video else 'salfom'}_salfom_export"

    def _choose_export_overlay(self):
        layer = self.state.active
        if layer is None:
            self.report_error("Nothing to export", "No prediction layer.")
            return
        default = self._export_folder() / f"{self.state.video_path.stem}_{layer.kind}_overlay.mp4"
        path, _ = QFileDialog.getSaveFileName(self, "Export overlay video", str(default), "MP4 (*.mp4)")
        if path:
            self.export_overlay(path)

    def export_overlay(self, path) -> object | None:
        """Write the active layer over the video to an MP4 in the background, with progress."""
        s = self.state
        layer = s.active
        if layer is None or s.video is None:
            return None
        if self._export is not None:
            self.report_error("Export running", "Wait for the running export, or cancel it.")
            return None
        path = Path(path)
        if s.video_path is not None and path.resolve() == s.video_path.resolve():
            self.report_error("Export refused", f"{path} is the open video; choose a new file.")
            return None
        dialog = QProgressDialog(f"Writing {path.name}...", "Cancel", 0, s.n_frames, self)
        dialog.setWindowModality(Qt.NonModal)
        dialog.setMinimumDuration(0)
        worker = export_worker(s.video_path, layer.read, path, layer.colormap, layer.opacity, layer.threshold,
                               _ignore_errors=True)
        worker.yielded.connect(lambda p: dialog.setValue(p[0]))
        dialog.canceled.connect(worker.quit)
        worker.errored.connect(lambda exc: self.report_error("Export failed", f"{path}: {exc}"))

        def done():
            dialog.reset()
            self._export = None
            if path.exists():
                self.statusBar().showMessage(f"Export done: {path}", 20000)

        worker.finished.connect(done)
        self._export = worker
        worker.start()
        return worker

    def _choose_export_frame(self):
        default = self._export_folder() / f"frame_{self.state.frame + 1:04d}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export frame", str(default), "PNG (*.png)")
        if path:
            self.export_frame(path)

    def export_frame(self, path) -> None:
        from salfom_core.export import write_png

        image = self.view.composite()
        if image is not None:
            self._in_background(lambda: write_png(Path(path), image), f"Frame saved: {path}")

    def _choose_export_csv(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", str(self._export_folder() / "metrics.csv"),
                                              "CSV (*.csv)")
        if path:
            self.export_metrics_csv(path)

    def metrics_table(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["layer", "frame", *METRICS])
        for layer in self.state.layers:
            if not layer.metrics:
                continue
            for i in range(layer.n_frames):
                values = [layer.metrics.get(m, np.full(layer.n_frames, np.nan))[i] for m in METRICS]
                if not all(math.isnan(v) for v in values):
                    writer.writerow([layer.name, i + 1, *("" if math.isnan(v) else f"{v:.6f}" for v in values)])
        return out.getvalue()

    def export_metrics_csv(self, path) -> None:
        text = self.metrics_table()
        self._in_background(lambda: atomic_write_text(path, text), f"Metrics saved: {path}")

    def _choose_export_plot(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", str(self._export_folder() / "metrics.png"),
                                              "PNG (*.png)")
        if path:
            self.export_plot(path)

    def export_plot(self, path) -> None:
        metric = self.state.curve_metric
        series = {l.name: l.metrics[metric].copy() for l in self.state.layers if metric in l.metrics}
        title = f"{METRIC_LABELS[metric]} per frame - {self.state.video_path.name if self.state.video_path else ''}"

        def render():
            import matplotlib
            matplotlib.use("Agg")
            from matplotlib.figure import Figure

            from salfom_core.atomic import atomic_write_bytes

            fig = Figure(figsize=(9, 3.5), dpi=120)
            ax = fig.add_subplot()
            for name, values in series.items():
                mean = np.nanmean(values) if np.isfinite(values).any() else math.nan
                ax.plot(np.arange(1, len(values) + 1), values, label=f"{name} (mean {mean:.3f})")
            ax.set_xlabel("frame")
            ax.set_ylabel(METRIC_LABELS[metric])
            ax.set_title(title)
            ax.grid(alpha=0.3)
            if series:
                ax.legend()
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            atomic_write_bytes(path, buf.getvalue())

        self._in_background(render, f"Plot saved: {path}")

    def _in_background(self, fn, message: str):
        worker = thread_worker(fn, start_thread=False, ignore_errors=True)()
        worker.returned.connect(lambda _r: self.statusBar().showMessage(message, 15000))
        worker.errored.connect(lambda exc: self.report_error("Export failed", str(exc)))
        worker.start()            # superqt keeps a running worker alive
        return worker

    # ----------------------------------------------------------------- training

    def new_training_run(self):
        import torch

        dialog = NewRunDialog(self, cuda=torch.cuda.is_available())
        if dialog.exec():
            self.start_training(dialog.config())

    def start_training(self, cfg) -> TrainingRun:
        run = TrainingRun(cfg)
        run.best_checkpoint.connect(self.load_checkpoint)
        run.finished.connect(lambda code, run=run: self._training_finished(run, code))
        self.training_runs.append(run)
        run.show()
        run.start()
        return run

    def _training_finished(self, run: TrainingRun, code: int):
        best = run.out / "best.pt"
        if code == 0 and best.exists():
            self.statusBar().showMessage(f"Training finished: {best} (Load best checkpoint in its window)", 30000)

    # ----------------------------------------------------------------- shutdown

    def closeEvent(self, event):
        self.state.set_playing(False)
        self.settings.setValue("geometry", self.saveGeometry())
        workers = list(self._inference.values()) + [w for w in (self._metrics_job, self._export) if w is not None]
        for worker in workers:
            worker.quit()
        self._wait(workers)
        for run in self.training_runs:
            run.shutdown()
        self.loader.stop()
        super().closeEvent(event)
