"""The AOI panel: the open video's areas of interest, their figures for gaze and every visible
model side by side, the share-over-time curves, tracking and exports.

- The list: draw (rectangle, ellipse, polygon), rename (double-click), recolour, delete,
  "Hide from here" / "Show from here", jump between the selected AOI's keyframes, undo/redo.
- Track forward: the selected AOI followed from the playhead through the next frames in the
  background (`salfom_core.aoi.tracking`), with progress and cancel; its keyframes become one
  undoable edit.
- The table: per AOI and source (gaze, each visible model) the summary figures of AOI_SPEC.md,
  sortable. The curves: the selected AOI's share per frame for gaze and the models, in the
  curves area, with the playhead.
- Figures are computed off the GUI thread (`AoiFigureJobs`), and after an edit only for the
  AOIs it changed.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
import weakref
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from superqt.utils import thread_worker

from salfom_core.aoi import AOI
from salfom_core.aoi.figures import AoiFigures, AoiInputs, MapSource, SourceSeries, compute_figures

from .aoi_layer import AoiOverlay
from .aoi_state import AoiEditor
from .dataset_panel import NumberItem
from .state import Layer, ViewerState

SUMMARY_COLUMNS = (("aoi", "AOI"), ("source", "source"), ("frames_active", "frames"), ("share_mean", "share"),
                   ("density_mean", "density"), ("percent_fixated", "% fixated"), ("ttff_ms_mean", "TTFF ms"),
                   ("fixation_ms_mean", "fixation ms"))
GAZE_PEN = (255, 255, 255)


def colour_icon(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class AoiPanel(QWidget):
    """The AOIs of the open video and what can be done to them (see the module's doc)."""

    track_requested = Signal(str, float)        # AOI name, minimum match score
    track_cancel = Signal()
    export_requested = Signal(str)              # "csv", "plot", "overlay"

    def __init__(self, state: ViewerState, editor: AoiEditor, overlay: AoiOverlay, parent=None):
        super().__init__(parent)
        self.state = state
        self.editor = editor
        self.overlay = overlay
        self._filling = False
        # drawing tools
        self.tools: dict[str, QToolButton] = {}
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Draw"))
        for tool, text in (("rect", "Rectangle"), ("ellipse", "Ellipse"), ("polygon", "Polygon")):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.clicked.connect(lambda on, tool=tool: overlay.set_tool(tool if on else None))
            self.tools[tool] = button
            tools.addWidget(button)
        tools.addStretch(1)
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.clicked.connect(editor.undo)
        self.redo_button = QToolButton()
        self.redo_button.setText("Redo")
        self.redo_button.clicked.connect(editor.redo)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.redo_button)
        # the list
        self.list = QListWidget()
        self.list.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemChanged.connect(self._item_renamed)
        self.list.setMaximumHeight(130)
        self.colour_button = QPushButton("Colour...")
        self.colour_button.clicked.connect(self._choose_colour)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(lambda: self._on_selected(editor.delete))
        self.hide_button = QPushButton("Hide from here")
        self.hide_button.clicked.connect(lambda: self._on_selected(lambda n: editor.hide_from(n, state.frame)))
        self.show_button = QPushButton("Show from here")
        self.show_button.clicked.connect(lambda: self._on_selected(lambda n: editor.show_from(n, state.frame)))
        self.previous_key = QPushButton("\u25c0 Keyframe")
        self.previous_key.clicked.connect(lambda: self.jump_keyframe(-1))
        self.next_key = QPushButton("Keyframe \u25b6")
        self.next_key.clicked.connect(lambda: self.jump_keyframe(+1))
        self.remove_key = QPushButton("Remove keyframe")
        self.remove_key.clicked.connect(lambda: self._on_selected(lambda n: editor.remove_keyframe(n, state.frame)))
        buttons = QGridLayout()
        for k, button in enumerate((self.colour_button, self.delete_button, self.hide_button, self.show_button,
                                    self.previous_key, self.next_key, self.remove_key)):
            buttons.addWidget(button, k // 3, k % 3)
        # tracking
        self.track_button = QPushButton("Track forward")
        self.track_button.setToolTip("Follow the selected AOI's content from this frame on (template matching); "
                                     "stops where the match falls under the minimum score")
        self.track_button.clicked.connect(self._track)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.05, 0.99)
        self.min_score.setSingleStep(0.05)
        self.min_score.setValue(0.6)
        self.min_score.setToolTip("Tracking stops where the match score falls under this")
        self.track_progress = QProgressBar()
        self.track_progress.setVisible(False)
        self.track_stop = QPushButton("Cancel")
        self.track_stop.setVisible(False)
        self.track_stop.clicked.connect(self.track_cancel.emit)
        self.track_note = QLabel()
        self.track_note.setWordWrap(True)
        track_row = QHBoxLayout()
        track_row.addWidget(self.track_button)
        track_row.addWidget(QLabel("min score"))
        track_row.addWidget(self.min_score)
        track_row.addWidget(self.track_progress, 1)
        track_row.addWidget(self.track_stop)
        # figures
        self.table = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.table.setHorizontalHeaderLabels([label for _key, label in SUMMARY_COLUMNS])
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)   # the AOIs' order until a click
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.figures_note = QLabel()
        self.figures_note.setWordWrap(True)
        exports = QHBoxLayout()
        for what, text in (("csv", "Export CSVs..."), ("plot", "Export plot..."), ("overlay", "Export overlay video...")):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, what=what: self.export_requested.emit(what))
            exports.addWidget(button)
        self.message = QLabel()           # the last problem (a refused edit, a file that cannot be read)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ffb020;")
        self.message.setVisible(False)
        aois_box = QGroupBox("Areas of interest")
        column = QVBoxLayout(aois_box)
        column.addLayout(tools)
        column.addWidget(self.list)
        column.addLayout(buttons)
        column.addLayout(track_row)
        column.addWidget(self.track_note)
        figures_box = QGroupBox("Figures (AOI_SPEC.md)")
        figures = QVBoxLayout(figures_box)
        figures.addWidget(self.table, 1)
        figures.addWidget(self.figures_note)
        figures.addLayout(exports)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(aois_box)
        layout.addWidget(figures_box, 1)
        editor.changed.connect(lambda _names: self._fill_list())
        editor.selection_changed.connect(self._selection_changed)
        editor.history_changed.connect(self._history_changed)
        editor.problem.connect(self.show_problem)
        overlay.tool_changed.connect(self._tool_changed)
        state.frame_changed.connect(lambda _f: self._update_buttons())
        self._fill_list()
        self._history_changed()

    # ----------------------------------------------------------------- the list

    def _fill_list(self) -> None:
        self._filling = True
        try:
            self.list.clear()
            for name in self.editor.names():
                item = QListWidgetItem(colour_icon(self.editor.colour(name)), name)
                item.setData(Qt.UserRole, name)
                item.setFlags(item.flags() | Qt.ItemIsEditable)
                item.setToolTip(f"{self.editor.shape_kind(name)}, {len(self.editor.keyframe_indices(name))} keyframes")
                self.list.addItem(item)
                if name == self.editor.selected:
                    self.list.setCurrentItem(item)
        finally:
            self._filling = False
        self._update_buttons()

    def _current_changed(self, current, _previous) -> None:
        if not self._filling:
            self.editor.select(current.data(Qt.UserRole) if current is not None else None)

    def _selection_changed(self, name) -> None:
        self._filling = True
        try:
            for row in range(self.list.count()):
                item = self.list.item(row)
                if item.data(Qt.UserRole) == name:
                    self.list.setCurrentItem(item)
                    break
            else:
                self.list.setCurrentItem(None)
        finally:
            self._filling = False
        self._update_buttons()

    def _item_renamed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        old, new = item.data(Qt.UserRole), item.text()
        if not self.editor.rename(old, new):
            self._fill_list()               # refused (a name taken, empty): the list shows the state

    def _on_selected(self, action) -> None:
        if self.editor.selected is not None:
            action(self.editor.selected)

    def _choose_colour(self) -> None:
        name = self.editor.selected
        if name is None:
            return
        colour = QColorDialog.getColor(QColor(self.editor.colour(name)), self, f"Colour of {name}")
        if colour.isValid():
            self.editor.recolour(name, colour.name())

    def rename_selected(self) -> None:
        name = self.editor.selected
        if name is not None:
            new, ok = QInputDialog.getText(self, "Rename AOI", "Name:", text=name)
            if ok:
                self.editor.rename(name, new)

    def jump_keyframe(self, direction: int) -> None:
        """The playhead to the selected AOI's next (+1) or previous (-1) keyframe."""
        name = self.editor.selected
        if name is None:
            return
        frames = [f for f, _active in self.editor.keyframe_indices(name)]
        here = self.state.frame
        ahead = [f for f in frames if f > here] if direction > 0 else [f for f in frames if f < here][::-1]
        if ahead:
            self.state.set_frame(ahead[0])

    def _update_buttons(self) -> None:
        name = self.editor.selected
        has = name is not None
        for button in (self.colour_button, self.delete_button, self.track_button):
            button.setEnabled(has)
        active = has and self.editor.shape_at(name, self.state.frame)[0]
        keys = dict(self.editor.keyframe_indices(name)) if has else {}
        self.hide_button.setEnabled(has and active)
        self.show_button.setEnabled(has and not active and self.editor.shape_at(name, self.state.frame)[1] is not None)
        self.remove_key.setEnabled(has and self.state.frame in keys and len(keys) > 1)
        self.previous_key.setEnabled(has and any(f < self.state.frame for f in keys))
        self.next_key.setEnabled(has and any(f > self.state.frame for f in keys))

    def _history_changed(self) -> None:
        self.undo_button.setEnabled(self.editor.can_undo)
        self.redo_button.setEnabled(self.editor.can_redo)
        self.undo_button.setToolTip(f"Undo {self.editor.undo_label()}" if self.editor.can_undo else "")
        self.redo_button.setToolTip(f"Redo {self.editor.redo_label()}" if self.editor.can_redo else "")

    def _tool_changed(self, tool) -> None:
        for name, button in self.tools.items():
            button.setChecked(name == tool)

    def show_problem(self, message: str) -> None:
        self.message.setText(message)
        self.message.setToolTip(message)
        self.message.setVisible(bool(message))

    # ----------------------------------------------------------------- tracking

    def _track(self) -> None:
        if self.editor.selected is not None:
            self.track_requested.emit(self.editor.selected, float(self.min_score.value()))

    def tracking(self, running: bool, note: str = "") -> None:
        self.track_button.setEnabled(not running and self.editor.selected is not None)
        self.track_progress.setVisible(running)
        self.track_stop.setVisible(running)
        if running:
            self.track_progress.setValue(0)
        self.track_note.setText(note)

    def track_step(self, done: int, total: int) -> None:
        self.track_progress.setMaximum(max(total, 1))
        self.track_progress.setValue(done)

    # ----------------------------------------------------------------- figures

    def show_summary(self, rows: list[dict], note: str = "") -> None:
        """The summary rows (dicts with SUMMARY_COLUMNS' keys), numbers sortable by value."""
        sorting = self.table.isSortingEnabled()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (key, _label) in enumerate(SUMMARY_COLUMNS):
                value = row.get(key)
                if key in ("aoi", "source"):
                    item = QTableWidgetItem(str(value))
                else:
                    digits = 0 if key in ("frames_active", "ttff_ms_mean", "fixation_ms_mean") else (
                        1 if key == "percent_fixated" else 3)
                    item = NumberItem(_number(value), digits)       # blank: no value (no hit, no events)
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(sorting)
        self.figures_note.setText(note)


def _number(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class AoiCurves(QWidget):
    """The selected AOI's share per frame for gaze and each visible model, with the playhead."""

    def __init__(self, state: ViewerState, editor: AoiEditor, parent=None):
        super().__init__(parent)
        self.state = state
        self.editor = editor
        self.title = QLabel("AOI share per frame: select an AOI")
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.RichText)
        self.plot = pg.PlotWidget()
        self.plot.setBackground((25, 25, 25))
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "frame")
        self.plot.setLabel("left", "share")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((255, 255, 255), width=1))
        self.cursor.sigDragged.connect(lambda line: state.set_frame(int(round(line.value())) - 1))
        self.plot.addItem(self.cursor)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.painted = 0                     # how many times the curves were set (the bench waits on it)
        self.shown_key: tuple | None = None  # (aoi, geometry key) of what the curves show
        row = QHBoxLayout()
        row.addWidget(self.title)
        row.addWidget(self.legend, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        state.frame_changed.connect(lambda f: self.cursor.setValue(f + 1))

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        vb = self.plot.getPlotItem().vb
        if vb.sceneBoundingRect().contains(event.scenePos()):
            self.state.set_frame(int(round(vb.mapSceneToView(event.scenePos()).x())) - 1)

    def show_series(self, name: str | None, series: dict[str, np.ndarray], pens: dict[str, tuple],
                    key: tuple | None = None) -> None:
        """`series`: source -> share per frame (NaN where none), frame 1 first."""
        for source in [s for s in self.curves if s not in series]:
            self.plot.removeItem(self.curves.pop(source))
        for source, values in series.items():
            curve = self.curves.get(source)
            if curve is None:
                curve = self.plot.plot(name=source, connect="finite")
                self.curves[source] = curve
            curve.setPen(pg.mkPen(pens.get(source, GAZE_PEN), width=1.5))
            curve.setData(np.arange(1, len(values) + 1), values)
        self.title.setText(f"AOI share per frame: {name}" if name else "AOI share per frame: select an AOI")
        self.legend.setText("&nbsp;&nbsp;".join(
            f'<span style="color: rgb{tuple(pens.get(s, GAZE_PEN))}">&#9632;</span> {s}' for s in series))
        self.shown_key = key
        self.painted += 1


# ----------------------------------------------------------------------------- figures in the background


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
            m = self.layer.read(index)
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
                # a layer still computing has more maps later: its figures are keyed by how many it has
                out.append((("layer", self.serial(layer), layer.name, int(layer.done.sum())), layer))
        return out

    def layer_maps(self, layer: Layer) -> LayerMaps:
        maps = self.maps.get(layer)
        if maps is None:
            maps = self.maps[layer] = LayerMaps(layer)
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
        by_source = {s.source: s for s in figures.series}
        for key in keys:
            source = "gaze" if key[0] == "gaze" else key[2]
            self._remember(self.series, (geometry, key), by_source.get(source))
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
        """Every AOI's figures that are in, under the AOIs' current names, for the current
        sources: what the table, the curves and the exports show."""
        if self.state.video is None:
            return None
        sources = self.sources()
        gaze = self.state.gaze
        layers = [what for key, what in sources if key[0] == "layer"]
        figures = AoiFigures(self.inputs(gaze, layers), self.editor.names())
        for aoi in self.editor.aois:
            geometry = geometry_key(aoi)
            for key, _what in sources:
                series = self.series.get((geometry, key))
                if series is not None:
                    figures.series.append(dataclasses.replace(series, aoi=aoi.name))
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


class AoiTools(QObject):
    """The AOI editor, its layer over the view, the panel, the curves, the figure jobs, tracking
    and exports, joined to a main window (`install_aoi`)."""

    message = Signal(str)            # for the status bar

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        state = self.state = window.state
        self.editor = AoiEditor()
        self.overlay = AoiOverlay(window.view, state, self.editor)
        self.panel = AoiPanel(state, self.editor, self.overlay)
        self.curves = AoiCurves(state, self.editor)
        self.jobs = AoiFigureJobs(state, self.editor, self)
        self.tracker = AoiTracker(state, self)
        self.export_jobs: list = []
        self.panel.track_requested.connect(self.track)
        self.panel.track_cancel.connect(self.tracker.cancel)
        self.panel.export_requested.connect(self._choose_export)
        self.tracker.progressed.connect(self.panel.track_step)
        self.tracker.finished.connect(self._tracked)
        self.jobs.updated.connect(lambda _names: self.refresh())
        self.jobs.failed.connect(self.panel.show_problem)
        self.editor.changed.connect(lambda _names: self.refresh())
        self.editor.selection_changed.connect(lambda _name: self.refresh())
        self.editor.changed.connect(lambda _names: self._show_keyframes())
        self.editor.selection_changed.connect(lambda _name: self._show_keyframes())
        self.editor.saved.connect(lambda path: self.message.emit(f"AOIs saved: {path}"))
        self.editor.problem.connect(self.message.emit)
        state.layers_changed.connect(self.refresh)
        state.truth_changed.connect(self.refresh)
        window.session.opened.connect(self.video_opened)

    def video_opened(self) -> None:
        s = self.state
        self.tracker.cancel()
        self.panel.tracking(False, "")
        if not self.editor.open_for_video(s.video_path, s.n_frames, s.fps):
            self.window.report_error("Cannot read the AOI file", self.editor.blocked)

    # ----------------------------------------------------------------- showing

    def refresh(self) -> None:
        """The table and the selected AOI's curves from the figures that are in (cheap: no
        figure is computed here)."""
        figures = self.jobs.figures()
        if figures is None:
            self.panel.show_summary([])
            self.curves.show_series(None, {}, {})
            return
        pending = self.jobs.pending
        note = f"computing {len(pending)} AOI(s)..." if pending else ""
        if self.state.gaze is not None and self.state.gaze.events is None:
            note = (note + " " if note else "") + "The gaze has no fixation events: per-frame shares only."
        self.panel.show_summary(figures.summary_rows(), note)
        name = self.editor.selected
        if name is None:
            self.curves.show_series(None, {}, {})
            return
        aoi = self.editor.get(name)
        if self.jobs.missing(aoi) and self.curves.shown_key is not None and self.curves.shown_key[0] == name:
            return            # edited: its curves stay as they were until the new figures are in
        series = {s.source: np.where(s.active, s.share, np.nan) for s in figures.series_of(name)}
        key = (name, geometry_key(aoi)) if not self.jobs.missing(aoi) else None
        self.curves.show_series(name, series, self.pens(), key)

    def pens(self) -> dict[str, tuple]:
        from .curves import LAYER_PENS

        pens = {"gaze": GAZE_PEN}
        for k, layer in enumerate(self.state.layers):      # the colours the metric curves give them
            pens[layer.name] = LAYER_PENS[k % len(LAYER_PENS)]
        return pens

    def _show_keyframes(self) -> None:
        name = self.editor.selected
        ticks = self.window.timeline.keyframes
        if name is None:
            ticks.set_keyframes([], self.state.n_frames)
        else:
            ticks.set_keyframes(self.editor.keyframe_indices(name), self.state.n_frames, self.editor.colour(name))

    # ----------------------------------------------------------------- tracking

    def track(self, name: str | None = None, threshold: float | None = None) -> bool:
        name = name or self.editor.selected
        if name is None or self.tracker.running:
            return False
        threshold = threshold if threshold is not None else float(self.panel.min_score.value())
        aoi = self.editor.get(name)
        if not aoi.is_active(self.state.frame + 1):
            self.panel.show_problem(f"AOI {name!r} is not shown at frame {self.state.frame + 1}: nothing to track")
            return False
        self.panel.tracking(True, f"Tracking {name} from frame {self.state.frame + 1}...")
        return self.tracker.start(aoi, self.state.frame, threshold)

    def _tracked(self, name: str, result, error: str) -> None:
        if error:
            self.panel.tracking(False, "")
            self.panel.show_problem(error)
            return
        if name not in self.editor.names():
            self.panel.tracking(False, f"{name} was deleted while it was tracked")
            return
        self.editor.apply_track(name, result)
        why = {"end": "to the end of the video", "low score": "where the match score fell under the minimum: "
               "re-anchor it there and track again", "left the picture": "where it left the picture",
               "cancelled": "(cancelled)"}.get(result.stopped, result.stopped)
        self.panel.tracking(False, f"{name} followed from frame {result.start} to {result.last} {why}; "
                                   f"{len(result.keyframes)} keyframes.")
        if result.stopped == "low score" and result.last < self.state.n_frames:
            self.state.set_frame(result.last)        # the first frame it lost (0-based last = 1-based last + 1)

    # ----------------------------------------------------------------- exports

    def _choose_export(self, what: str) -> None:
        folder = self.window.exporter.default_folder()
        stem = self.state.video_path.stem if self.state.video_path else "aoi"
        if what == "csv":
            path = QFileDialog.getExistingDirectory(self.window, "Export the AOI tables into", str(folder))
            if path:
                self.export_csvs(path)
        elif what == "plot":
            path, _ = QFileDialog.getSaveFileName(self.window, "Export the AOI plot", str(folder / f"{stem}_aois.png"),
                                                  "Images (*.png *.svg *.pdf)")
            if path:
                self.export_plot(path)
        else:
            path, _ = QFileDialog.getSaveFileName(self.window, "Export the overlay video with AOIs",
                                                  str(folder / f"{stem}_aois_overlay.mp4"), "MP4 (*.mp4)")
            if path:
                self.export_overlay(path)

    def _complete_figures(self) -> AoiFigures | None:
        if self.state.video is None or not self.editor.names():
            self.window.report_error("Nothing to export", "No AOI: draw one first.")
            return None
        if self.jobs.pending:
            self.window.report_error("Figures still computing",
                                     f"{len(self.jobs.pending)} AOI(s) are being computed: export when the table is full.")
            return None
        return self.jobs.figures()

    def export_csvs(self, folder):
        from salfom_core.aoi.figures import write_csvs

        figures = self._complete_figures()
        if figures is None:
            return None
        return self._in_background(lambda: write_csvs(figures, folder), f"AOI tables saved in {folder}")

    def export_plot(self, path):
        from salfom_core.aoi.figures import write_plot

        figures = self._complete_figures()
        if figures is None:
            return None
        colours = {name: "#%02x%02x%02x" % pen for name, pen in self.pens().items() if name != "gaze"}
        return self._in_background(lambda: write_plot(figures, path, colours), f"AOI plot saved: {path}")

    def export_overlay(self, path):
        """The active layer over the video with every AOI's outline, as File > Export > Overlay
        video writes it (fixations as the view shows them)."""
        from salfom_core.io.export import iter_overlay_video
        from salfom_core.io.video import open_video

        from .aoi_layer import draw_outlines
        from .workers import close_on_abort

        s = self.state
        if s.video is None:
            self.window.report_error("Nothing to export", "No video.")
            return None
        path = Path(path)
        if s.video_path is not None and path.resolve() == s.video_path.resolve():
            self.window.report_error("Export refused", f"{path} is the open video; choose a new file.")
            return None
        aois = self.editor.aois.copy()
        layer = s.active
        read = layer.read if layer is not None and layer.visible else (lambda _i: None)
        style = (layer.colormap, layer.opacity, layer.threshold) if layer is not None else ("jet", 0.5, 0.0)
        gaze = s.gaze if s.show_fixations else None
        video_path = s.video_path

        @thread_worker(start_thread=False, ignore_errors=True)
        def export():
            with open_video(video_path) as source:
                yield from iter_overlay_video(source, read, path, colormap=style[0], opacity=style[1],
                                              threshold=style[2], gaze=gaze, marker_style=s.marker_style,
                                              marker_size=s.marker_size,
                                              decorate=lambda i, image: draw_outlines(image, aois, i + 1))

        worker = close_on_abort(export())
        dialog = QProgressDialog(f"Writing {path.name}...", "Cancel", 0, s.n_frames, self.window)
        dialog.setWindowModality(Qt.NonModal)
        dialog.setMinimumDuration(0)
        worker.yielded.connect(lambda p: dialog.setValue(p[0]))
        dialog.canceled.connect(worker.quit)
        worker.errored.connect(lambda exc: self.window.report_error("Export failed", f"{path}: {exc}"))

        def done():
            dialog.reset()
            if path.exists():
                self.message.emit(f"Export done: {path}")

        worker.finished.connect(done)
        self._keep(worker)
        worker.start()
        return worker

    def _in_background(self, fn, message: str):
        worker = thread_worker(fn, start_thread=False, ignore_errors=True)()
        worker.returned.connect(lambda _r: self.message.emit(message))
        worker.errored.connect(lambda exc: self.window.report_error("Export failed", str(exc)))
        self._keep(worker)
        worker.start()
        return worker

    def _keep(self, worker) -> None:
        self.export_jobs.append(worker)
        worker.finished.connect(lambda w=worker: self.export_jobs.remove(w) if w in self.export_jobs else None)

    # ----------------------------------------------------------------- files and shutdown

    def import_aois(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import AOIs (this app's file or a Tobii Pro Lab AOI export)",
                                              "", "AOI files (*.json);;All files (*)")
        if path:
            added = self.editor.import_file(path)
            if added:
                self.message.emit(f"{len(added)} AOI(s) imported from {path}")

    def save_as(self) -> None:
        default = str(self.editor.path) if self.editor.path else ""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save AOIs as", default, "AOI files (*.aois.json)")
        if path:
            self.editor.save_as(path)

    def shutdown(self) -> list:
        return self.jobs.shutdown() + self.tracker.shutdown() + list(self.export_jobs)


def install_aoi(window) -> AoiTools:
    """The AOI tools in `window`: the panel docked on the right (tabbed with the layers), the
    share curves under the metric curves, the AOI menu, and the AOI file opened with each video."""
    tools = AoiTools(window)
    ov = tools.overlay
    dock = QDockWidget("AOIs", window)
    dock.setObjectName("aoi_dock")
    dock.setWidget(tools.panel)
    dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
    window.addDockWidget(Qt.RightDockWidgetArea, dock)
    layers = next((d for d in window.findChildren(QDockWidget) if d.widget() is window.layer_panel), None)
    if layers is not None:
        window.tabifyDockWidget(layers, dock)
        layers.raise_()
    # the curves area: the metric curves and the AOI share curves as two tabs, so the view
    # above keeps its size whether AOIs exist or not
    centre = window.centralWidget()
    tabs = QTabWidget()
    tabs.setDocumentMode(True)
    if isinstance(centre, QSplitter) and centre.indexOf(window.curves) >= 0:
        tabs.setSizePolicy(window.curves.sizePolicy())      # the splitter's stretch factor lives there
        centre.replaceWidget(centre.indexOf(window.curves), tabs)
    tabs.addTab(window.curves, "Metrics")
    tabs.addTab(tools.curves, "AOI share")
    tools.curves_tab = tabs

    def show_aoi_parts(names=None):
        if names is None and tools.editor.names():
            dock.raise_()                            # a video opened with AOIs: their panel comes forward

    tools.editor.changed.connect(show_aoi_parts)
    # the user works on an AOI: its panel and its curves come forward
    tools.editor.selection_changed.connect(lambda name: tabs.setCurrentWidget(tools.curves) if name else None)
    ov.tool_changed.connect(lambda tool: dock.raise_() if tool else None)
    tools.message.connect(lambda text: window.statusBar().showMessage(text, 8000))
    a, e = window.add_action, tools.editor
    a("AOIs", "Draw rectangle", lambda: ov.set_tool("rect"), "R")
    a("AOIs", "Draw ellipse", lambda: ov.set_tool("ellipse"), "E")
    a("AOIs", "Draw polygon", lambda: ov.set_tool("polygon"), "P")
    drawing = [a("AOIs", "Finish polygon", ov.draw_tool.finish_polygon, "Return"),
               a("AOIs", "Stop drawing", lambda: ov.set_tool(None), "Escape")]
    for action in drawing:                 # Return and Escape are the AOI tools' only while drawing
        action.setEnabled(False)
    ov.tool_changed.connect(lambda tool: [action.setEnabled(tool is not None) for action in drawing])
    window.menu("AOIs").addSeparator()
    a("AOIs", "Undo", e.undo, QKeySequence.Undo)
    a("AOIs", "Redo", e.redo, QKeySequence.Redo)
    a("AOIs", "Rename selected...", tools.panel.rename_selected, "F2")
    a("AOIs", "Delete selected", lambda: e.delete(e.selected) if e.selected else None, QKeySequence.Delete)
    a("AOIs", "Hide selected from here", lambda: e.hide_from(e.selected, window.state.frame) if e.selected else None,
      "H")
    a("AOIs", "Previous keyframe", lambda: tools.panel.jump_keyframe(-1), "[")
    a("AOIs", "Next keyframe", lambda: tools.panel.jump_keyframe(+1), "]")
    a("AOIs", "Track selected forward", lambda: tools.track(), "T")
    window.menu("AOIs").addSeparator()
    a("AOIs", "Import AOIs (Tobii Pro Lab export or AOI file)...", tools.import_aois)
    a("AOIs", "Reload AOIs from their file", e.reload)
    a("AOIs", "Save AOIs as...", tools.save_as)
    a("AOIs", "Export AOI tables (CSV)...", lambda: tools._choose_export("csv"))
    a("AOIs", "Export AOI plot...", lambda: tools._choose_export("plot"))
    a("AOIs", "Export overlay video with AOIs...", lambda: tools._choose_export("overlay"))
    return tools
