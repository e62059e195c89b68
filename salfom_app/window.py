"""The main window: layout, menus, shortcuts, dialogs, settings and shutdown.

The work lives elsewhere: what is open and the predictions in `session.py` (with the jobs of
`jobs.py`), the menu bar's entries in `menus.py`, exports in `exports.py`, playback in
`playback.py`; the widgets observe the
`ViewerState`. Other parts of the app add their entries with `add_action("Help", ...)`.
"""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QMargins, QSettings, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from salfom_core.inference.engine import pick_device

from .aoi_tools import install_aoi
from .curves import MetricCurves
from .dataset_panel import install_dataset_panel
from .exports import Exporter
from .jobs import wait_for
from .layer_panel import LayerPanel
from .menus import MENUS, build_menus, fill_recent
from .playback import Playback
from .session import DEMO_VIDEO, Session
from .shortcuts import install_playhead_keys
from .state import Layer, ViewerState
from .timeline import Timeline
from .training import NewRunDialog, TrainingRun, gaze_sources
from .video_view import VideoView
from .weights_dialog import NO_CHECKPOINT_BANNER, attach_weights_dialog
from .workers import FrameLoader

__all__ = ["DEMO_VIDEO", "MainWindow"]


DEFAULT_SIZE = (1280, 860)          # the first window (and `--screenshot`'s default), fitted to the screen


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a frameless vertical scroll area that follows its width."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    area.setMinimumWidth(widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


def no_checkpoint_banner(shown: Layer | None) -> str:
    """The no-checkpoint banner, naming what the view shows (not always the centre bias)."""
    if shown is None:
        what = "no layer yet"
    elif shown.kind == "center-bias":
        what = "the centre-bias baseline"
    else:
        what = f"the layer '{html.escape(shown.name)}'"      # the banner is rich text (its link)
    return NO_CHECKPOINT_BANNER.replace("showing the centre-bias baseline", f"showing {what}")


class MainWindow(QMainWindow):
    def __init__(self, cache_dir: str | None = None, settings: QSettings | None = None):
        super().__init__()
        self.state = ViewerState()
        self.settings = settings or QSettings("SalFoM", "SalFoM Studio")
        self.errors: list[str] = []          # every error shown to the user (tests read it)
        self.remember_geometry = True        # --screenshot: the next session does not take its size
        self.training_runs: list[TrainingRun] = []
        self.partial_question: QMessageBox | None = None
        self.loader = FrameLoader()
        # a bound slot, not a lambda: the loader's signals come from its own thread, and only a
        # receiver that is a GUI-thread QObject makes PySide queue the call to the GUI thread
        self.loader.failed.connect(self._frame_failed)
        self.session = Session(self.state, self.settings, cache_dir, self.loader)
        self.session.error.connect(self.report_error)
        self.session.opened.connect(self._video_opened)
        self.session.checkpoint_changed.connect(self._update_banner)
        self.session.partial_checkpoint.connect(self._confirm_partial)
        self.session.recent_changed.connect(lambda: fill_recent(self))
        # frames found undecodable while a model read the whole video
        self.session.inference.integrity.connect(lambda w: self._show_integrity(w) if w else None)
        self.view = VideoView(self.state, self.loader)
        self.view.hover.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.timeline = Timeline(self.state)
        self.curves = MetricCurves(self.state)
        self.session.metrics.updated.connect(self.curves.redraw)
        self.curves.message.connect(lambda text: self.statusBar().showMessage(text, 20000))
        self.session.metrics.updated.connect(self.view.show_values)     # each pane's value at the playhead
        self.layer_panel = LayerPanel(self.state)
        self.layer_panel.cancel_requested.connect(self.session.inference.cancel)
        self.layer_panel.rename_requested.connect(self.session.rename_layer)
        # the banner says which layer is shown, so it follows the shown layer and its name
        self.state.layers_changed.connect(self._update_banner)
        self.state.view_changed.connect(lambda what: self._update_banner() if "active" in what else None)
        self.exporter = Exporter(self.state, self.view, self)
        self.exporter.message.connect(lambda text: self.statusBar().showMessage(text, 20000))
        self.exporter.error.connect(self.report_error)
        self.playback = Playback(self.state, self)
        self._menus: dict[str, QMenu] = {}
        self._build_layout()
        build_menus(self)
        attach_weights_dialog(self)              # Help > Get the SalFoM weights... and the banner's link
        self._build_shortcuts()
        self.setAcceptDrops(True)
        self._update_banner()
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(*DEFAULT_SIZE)
        self.fit_to_screen()
        self._update_title()
        # the dataset dock and its File menu items (issue 11): one hook, the panel is self-contained
        self.dataset_panel = install_dataset_panel(self, str(Path(cache_dir) / "scores") if cache_dir else None)
        # areas of interest (issue 20): the AOI layer over the view, its dock, curves and menu
        self.aoi = install_aoi(self)

    # ----------------------------------------------------------------- the session's API, for menus and tests

    def open_video(self, path, synthetic: bool | None = None, gaze: str | None = None) -> bool:
        return self.session.open_video(path, synthetic, gaze)

    def open_gaze(self, path) -> bool:
        return self.session.open_gaze(path)

    def add_map_folder(self, path) -> Layer | None:
        return self.session.add_map_folder(path)

    def load_checkpoint(self, path, allow_partial: bool = False) -> None:
        self.session.load_checkpoint(path, allow_partial)

    def open_any(self, path) -> None:
        self.session.open_any(path)

    def cancel_all(self, wait: bool = False) -> None:
        self.session.inference.cancel_all(wait)

    @property
    def checkpoint(self) -> str | None:
        return self.session.checkpoint

    @checkpoint.setter
    def checkpoint(self, path: str | None) -> None:
        self.session.checkpoint = path
        self._update_banner()

    @property
    def cache_dir(self) -> str | None:
        return self.session.inference.cache_dir

    def seek(self, frame: int) -> None:
        self.state.set_frame(frame)

    def set_view_mode(self, mode: str) -> None:
        self.state.set_view_mode(mode)

    def busy(self) -> bool:
        """Inference or metrics still computing for the visible layers."""
        return self.session.busy

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
        # in a scroll area: the panel's many controls never raise the window's minimum height
        # (a 1366x768 laptop), they scroll when the dock is short
        dock.setWidget(scrolling(self.layer_panel))
        dock.setObjectName("layers_dock")
        self.layers_dock = dock                  # the AOI and dataset panels are tabs beside it
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status)

    def fit_to_screen(self) -> None:
        """At most the available geometry of the screen the window is on (a saved size from a
        bigger monitor, or the default on a laptop), and inside it."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        room = screen.availableGeometry()
        self.winId()                    # the native window exists: its frame (title bar, borders) is known
        frame = self.windowHandle().frameMargins() if self.windowHandle() is not None else QMargins()
        width = min(self.width(), room.width() - frame.left() - frame.right())
        height = min(self.height(), room.height() - frame.top() - frame.bottom())
        self.resize(max(width, 1), max(height, 1))
        if not room.contains(self.geometry().marginsAdded(frame)):
            self.move(room.topLeft())

    def menu(self, title: str) -> QMenu:
        """The menu bar's menu of that title ("&Help" or "Help"), created in MENUS order."""
        key = title if title in MENUS else next((m for m in MENUS if m.replace("&", "") == title), title)
        if key not in self._menus:
            self._menus[key] = self.menuBar().addMenu(key)
        return self._menus[key]

    def add_action(self, menu: str | QMenu, text: str, slot, shortcut=None) -> QAction:
        """One entry in a menu, e.g. `window.add_action("Help", "Get the SalFoM weights...", show)`."""
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        (self.menu(menu) if isinstance(menu, str) else menu).addAction(action)
        return action

    def _build_shortcuts(self):
        install_playhead_keys(self)          # Space, arrows, PageUp/Down, Home, End (shortcuts.py)

    # ----------------------------------------------------------------- errors and status

    @Slot(str)
    def _frame_failed(self, message: str) -> None:
        self.report_error("Cannot read frame", message)

    def report_error(self, title: str, message: str) -> None:
        """A dialog that says what and where; never modal-blocking, the session goes on."""
        self.errors.append(f"{title}: {message}")
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def _confirm_partial(self, path: str, message: str) -> None:
        """A checkpoint that fills only part of the model: the expert may go on, knowingly."""
        box = QMessageBox(QMessageBox.Question, "Checkpoint fills only part of the model",
                          f"{message}\n\nPredict anyway (the untrained part gives meaningless maps)?",
                          QMessageBox.Yes | QMessageBox.No, self)
        box.setDefaultButton(QMessageBox.No)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.finished.connect(lambda answer: self.load_checkpoint(path, allow_partial=True)
                             if answer == QMessageBox.Yes else None)
        self.partial_question = box              # tests answer it
        box.open()

    def _video_opened(self) -> None:
        self._update_title()
        self._show_integrity(getattr(self.state.video, "integrity_warning", None))

    def _show_integrity(self, warning: str | None) -> None:
        """A damaged or cut file: said in the status bar and on the timeline (it names the file)."""
        self.timeline.set_warning(warning)
        if warning:
            self.statusBar().showMessage(warning)

    def _update_title(self):
        s = self.state
        name = s.video_path.name if s.video_path else "no video"
        tag = "  [synthetic demo: simulated observers]" if s.synthetic else ""
        self.setWindowTitle(f"SalFoM Studio - {name}{tag}")
        device = pick_device().type.upper()
        self.status.setText(f"{'synthetic demo, ' if s.synthetic else ''}device: {device}")

    def _update_banner(self):
        self.layer_panel.set_banner("" if self.session.checkpoint else no_checkpoint_banner(self.state.active))

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.session.open_any(url.toLocalFile())

    # ----------------------------------------------------------------- training

    def new_training_run(self):
        import torch

        dialog = NewRunDialog(self, cuda=torch.cuda.is_available(), gaze_sources=self.training_gaze_sources())
        if dialog.exec():
            self.start_training(dialog.config(), dialog.gaze_pairs())

    def training_gaze_sources(self) -> dict:
        """The open video's gaze and the open dataset's, for Train > New run."""
        return gaze_sources(self.state.video_path, self.session.gaze_path, self.dataset_panel.truths)

    def start_training(self, cfg, gaze_pairs=None) -> TrainingRun:
        """A run on cfg.data_root, or on data built first from `gaze_pairs` [(video, gaze)]."""
        run = TrainingRun(cfg, gaze_pairs=gaze_pairs)
        run.best_checkpoint.connect(self.load_checkpoint)
        run.finished.connect(lambda code, run=run: self._training_finished(run, code))
        self.training_runs.append(run)
        run.show()
        run.start()
        return run

    def _training_finished(self, run: TrainingRun, code: int):
        best = Path(run.out) / "best.pt"
        if code == 0 and best.exists():
            self.statusBar().showMessage(f"Training finished: {best} (Load best checkpoint in its window)", 30000)

    # ----------------------------------------------------------------- shutdown

    def closeEvent(self, event):
        self.state.set_playing(False)
        self.view.detach()
        if self.remember_geometry:
            self.settings.setValue("geometry", self.saveGeometry())
        workers = self.session.shutdown() + self.exporter.workers() + self.aoi.shutdown()
        for worker in workers:
            worker.quit()
        wait_for(workers)
        for run in self.training_runs:
            run.shutdown()
        self.loader.stop()
        super().closeEvent(event)
