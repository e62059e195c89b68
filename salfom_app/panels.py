"""Timeline, layer panel, metric curves and summary table: each observes and edits the state."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGraphicsItem, QGroupBox,
                               QHBoxLayout,
                               QHeaderView, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton, QSlider,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from salfom_core.overlay import COLORMAPS

from .interpolated import exact_note, strip_colours
from .state import MARKER_STYLES, METRIC_LABELS, Layer, ViewerState, follow_layers

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
LAYER_PENS = [(255, 170, 0), (80, 200, 255), (255, 90, 160), (140, 230, 100), (200, 160, 255)]


def _eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "estimating..."
    m, s = divmod(int(seconds), 60)
    return f"{m} min {s:02d} s left" if m else f"{s} s left"


class ComputedStrip(QWidget):
    """A thin bar under the timeline: which frames of the active layer are computed (green),
    and which show a blend of computed ones (lighter)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFixedHeight(6)
        self.done: np.ndarray | None = None
        self.interpolate = True

    def set_done(self, done: np.ndarray | None, interpolate: bool | None = None) -> None:
        self.done = None if done is None else done.copy()
        if interpolate is not None:
            self.interpolate = interpolate
        self.update()

    def paintEvent(self, _event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(60, 60, 60))
        if self.done is not None and len(self.done):
            row = strip_colours(self.done, self.interpolate)[None, :]
            image = QImage(row.tobytes(), len(self.done), 1, QImage.Format_ARGB32)
            painter.drawImage(self.rect(), image)
        painter.end()


class Timeline(QWidget):
    """Slider, frame and time, play/pause, speed, and the computed-frames strip."""

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.play = QPushButton("Play")
        self.play.setFocusPolicy(Qt.NoFocus)
        self.play.clicked.connect(lambda: state.set_playing(not state.playing))
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setFocusPolicy(Qt.NoFocus)      # arrow keys belong to the window's shortcuts
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderPressed.connect(lambda: state.set_playing(False))   # dragging pauses
        self.position = QLabel("-")
        self.position.setMinimumWidth(190)
        self.speed = QComboBox()
        self.speed.setFocusPolicy(Qt.NoFocus)
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}x", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.currentIndexChanged.connect(lambda i: state.set_speed(SPEEDS[i]))
        self.strip = ComputedStrip()
        self.warning = QLabel()             # a damaged video: only part of it decodes
        self.warning.setStyleSheet("color: #ffb020;")
        self.warning.setWordWrap(True)
        self.warning.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.play)
        column = QVBoxLayout()
        column.setSpacing(1)
        column.addWidget(self.slider)
        column.addWidget(self.strip)
        row.addLayout(column, 1)
        row.addWidget(self.position)
        row.addWidget(self.speed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addLayout(row)
        layout.addWidget(self.warning)
        self._observed: Layer | None = None
        state.video_changed.connect(self._video_changed)
        state.frame_changed.connect(self._frame_changed)
        state.playing_changed.connect(lambda p: self.play.setText("Pause" if p else "Play"))
        state.speed_changed.connect(self._speed_changed)
        state.layers_changed.connect(self._observe_active)
        state.view_changed.connect(lambda what: self._observe_active() if {"active", "interpolate"} & set(what)
                                   else None)

    def set_warning(self, text: str | None) -> None:
        self.warning.setText(f"\u26a0 {text}" if text else "")
        self.warning.setToolTip(text or "")
        self.warning.setVisible(bool(text))

    def _speed_changed(self, speed: float) -> None:
        if speed in SPEEDS and self.speed.currentIndex() != SPEEDS.index(speed):
            self.speed.blockSignals(True)
            self.speed.setCurrentIndex(SPEEDS.index(speed))
            self.speed.blockSignals(False)

    def _observe_active(self) -> None:
        """The computed-frames strip follows the active layer."""
        if self._observed is not None:
            self._observed.changed.disconnect(self._active_progress)
        self._observed = self.state.active
        if self._observed is not None:
            self._observed.changed.connect(self._active_progress)
        self.strip.set_done(self._observed.done if self._observed is not None else None, self.state.interpolate)

    def _active_progress(self, layer: Layer, what) -> None:
        if "progress" in what or "read" in what:
            self.strip.set_done(layer.done)

    def _video_changed(self):
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, self.state.n_frames - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self._frame_changed(0)

    def _slider_moved(self, value: int):
        self.state.set_frame(value)

    def _frame_changed(self, frame: int):
        if self.slider.value() != frame:
            self.slider.blockSignals(True)
            self.slider.setValue(frame)
            self.slider.blockSignals(False)
        n = self.state.n_frames
        self.position.setText(f"frame {frame + 1} / {n}   {self.state.time_s(frame):6.2f} s" if n else "-")


class LayerPanel(QWidget):
    """The layers with visibility; the active layer's colormap, opacity and threshold; progress."""

    cancel_requested = Signal(object)    # Layer

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #5a4a12; color: #fff3c4; padding: 6px; border-radius: 4px;")
        self.list = QListWidget()
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentRowChanged.connect(self._row_changed)
        self.compare = QComboBox()
        self.compare.currentIndexChanged.connect(self._compare_changed)
        self.split = QCheckBox("Side by side")
        self.split.setToolTip("Show the selected layer and the compared one next to each other (View menu too)")
        self.split.toggled.connect(lambda on: state.set_view_mode("split" if on else "single"))
        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAPS))
        self.colormap.currentTextChanged.connect(lambda v: self._edit(colormap=v))
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.valueChanged.connect(lambda v: self._edit(opacity=v / 100))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.valueChanged.connect(lambda v: self._edit(threshold=v))
        self.fixations = QCheckBox("Fixations")
        self.fixations.setChecked(True)
        self.fixations.toggled.connect(lambda v: state.set_view(show_fixations=v))
        self.marker_style = QComboBox()
        self.marker_style.addItems(list(MARKER_STYLES))
        self.marker_style.currentTextChanged.connect(lambda v: state.set_view(marker_style=v))
        self.marker_size = QSpinBox()
        self.marker_size.setRange(4, 60)
        self.marker_size.setSuffix(" px")
        self.marker_size.valueChanged.connect(lambda v: state.set_view(marker_size=v))
        self.marker_opacity = QSlider(Qt.Horizontal)
        self.marker_opacity.setRange(10, 100)
        self.marker_opacity.valueChanged.connect(lambda v: state.set_view(marker_opacity=v / 100))
        self.observers = QListWidget()          # the legend of observers: untick to hide one
        self.observers.setMaximumHeight(110)
        self.observers.itemChanged.connect(self._observer_toggled)
        self.ground_truth = QCheckBox("Ground-truth map")
        self.ground_truth.toggled.connect(lambda v: state.set_view(show_ground_truth=v))
        self.progress = QProgressBar()
        self.eta = QLabel()
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(lambda: self.cancel_requested.emit(self._selected()))
        settings = QGroupBox("Selected layer")
        form = QFormLayout(settings)
        form.addRow("Colormap", self.colormap)
        form.addRow("Opacity", self.opacity)
        form.addRow("Hide below", self.threshold)
        form.addRow("Compare with", self.compare)
        form.addRow("", self.split)
        job = QHBoxLayout()
        job.addWidget(self.progress, 1)
        job.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(QLabel("Layers (tick to show)"))
        layout.addWidget(self.list, 1)
        layout.addWidget(settings)
        layout.addLayout(job)
        layout.addWidget(self.eta)
        markers = QGroupBox("Fixations")
        marker_form = QFormLayout(markers)
        marker_form.addRow(self.fixations)
        marker_form.addRow("Marker", self.marker_style)
        marker_form.addRow("Size", self.marker_size)
        marker_form.addRow("Opacity", self.marker_opacity)
        marker_form.addRow(self.observers)
        layout.addWidget(markers)
        layout.addWidget(self.ground_truth)
        self._show_markers()
        self._observed: list[Layer] = []
        state.layers_changed.connect(self.refresh)
        state.truth_changed.connect(self._truth_changed)
        state.view_changed.connect(self._view_changed)
        self.refresh()
        self._truth_changed()

    def set_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def _selected(self) -> Layer | None:
        row = self.list.currentRow()
        return self.state.layers[row] if 0 <= row < len(self.state.layers) else None

    def refresh(self) -> None:
        self._observed = follow_layers(self._observed, self.state.layers, self._layer_changed)
        self.list.blockSignals(True)
        self.list.clear()
        for layer in self.state.layers:
            item = QListWidgetItem(layer.name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if layer.visible else Qt.Unchecked)
            item.setToolTip(layer.source or layer.kind)
            self.list.addItem(item)
        if self.state.active in self.state.layers:
            self.list.setCurrentRow(self.state.layers.index(self.state.active))
        self.list.blockSignals(False)
        self.compare.blockSignals(True)
        self.compare.clear()
        for layer in self.state.layers:
            self.compare.addItem(layer.name)
        if self.state.compare in self.state.layers:
            self.compare.setCurrentIndex(self.state.layers.index(self.state.compare))
        self.compare.blockSignals(False)
        self._show_settings()

    def _show_settings(self) -> None:
        layer = self._selected()
        for w in (self.colormap, self.opacity, self.threshold):
            w.blockSignals(True)
        if layer is not None:
            self.colormap.setCurrentText(layer.colormap)
            self.opacity.setValue(int(layer.opacity * 100))
            self.threshold.setValue(layer.threshold)
        for w in (self.colormap, self.opacity, self.threshold):
            w.blockSignals(False)
        self._show_progress(layer)

    def _show_progress(self, layer: Layer | None) -> None:
        if layer is None:
            self.progress.setValue(0)
            self.eta.setText("")
            self.cancel.setEnabled(False)
            return
        done = int(layer.done.sum())
        self.progress.setRange(0, max(1, layer.n_frames))
        self.progress.setValue(done)
        self.progress.setFormat(f"{layer.name}: {done}/{layer.n_frames}")
        self.cancel.setEnabled(layer.running)
        self.eta.setText(_eta(layer.progress[2]) if layer.running else ("done" if done == layer.n_frames else
                                                                         "stopped" if done else ""))

    def _layer_changed(self, layer: Layer, what) -> None:
        if layer is self._selected():
            self._show_progress(layer)

    def _item_changed(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        if 0 <= row < len(self.state.layers):
            self.state.layers[row].set(visible=item.checkState() == Qt.Checked)

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.state.layers):
            self.state.set_active(self.state.layers[row])
        self._show_settings()

    def _show_markers(self) -> None:
        s = self.state
        widgets = (self.marker_style, self.marker_size, self.marker_opacity, self.fixations)
        for w in widgets:
            w.blockSignals(True)
        self.marker_style.setCurrentText(s.marker_style)
        self.marker_size.setValue(s.marker_size)
        self.marker_opacity.setValue(int(round(s.marker_opacity * 100)))
        self.fixations.setChecked(s.show_fixations)
        for w in widgets:
            w.blockSignals(False)

    def _compare_changed(self, index: int) -> None:
        if 0 <= index < len(self.state.layers):
            self.state.set_compare(self.state.layers[index])

    def _view_changed(self, what) -> None:
        if set(what) & {"active", "compare"}:
            self.refresh()
        if set(what) & {"marker_style", "marker_size", "marker_opacity", "show_fixations"}:
            self._show_markers()
        if "view_mode" in what:
            self.split.blockSignals(True)
            self.split.setChecked(self.state.view_mode == "split")
            self.split.blockSignals(False)

    def _edit(self, **values) -> None:
        layer = self._selected()
        if layer is not None:
            layer.set(**values)

    def _observer_toggled(self, item: QListWidgetItem) -> None:
        hidden = {self.observers.row(i) for i in (self.observers.item(r) for r in range(self.observers.count()))
                  if i.checkState() != Qt.Checked}
        self.state.set_view(hidden_observers=frozenset(hidden))

    def _fill_observers(self) -> None:
        from PySide6.QtGui import QIcon, QPixmap

        from salfom_core.overlay import observer_colour

        gaze = self.state.gaze
        names = list(gaze.observers) if gaze is not None else []
        self.observers.blockSignals(True)
        self.observers.clear()
        for k, name in enumerate(names):
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(*observer_colour(k)))
            item = QListWidgetItem(QIcon(swatch), name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked if k in self.state.hidden_observers else Qt.Checked)
            self.observers.addItem(item)
        self.observers.blockSignals(False)
        self.observers.setVisible(bool(names))

    def _truth_changed(self) -> None:
        self._fill_observers()
        has = self.state.truth is not None
        self.ground_truth.setEnabled(has)
        self.fixations.setEnabled(self.state.gaze is not None)


class MetricCurves(QWidget):
    """Per-frame curves of one metric for every layer, a cursor on the playhead, and the summary."""

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.metric = QComboBox()
        for key, label in METRIC_LABELS.items():
            self.metric.addItem(label, key)
        self.metric.currentIndexChanged.connect(self._metric_changed)
        self.worse = QPushButton("Previous worst")
        self.better = QPushButton("Next worst")
        self.worse.clicked.connect(lambda: self._jump_worst(-1))
        self.better.clicked.connect(lambda: self._jump_worst(+1))
        self.hint = QLabel()
        self.plot = pg.PlotWidget()
        self.plot.setBackground((25, 25, 25))
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "frame")
        self.plot.getAxis("left").enableAutoSIPrefix(False)     # CC 0.2, not "200 x0.001"
        # the grid is drawn by the axes across the whole plot, so each cursor move repainted them
        # (10 ms a frame): cached as pixmaps they repaint only when the range changes
        for name in ("left", "bottom"):
            self.plot.getAxis(name).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        # the legend is a row above the plot, never drawn over the curves
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.RichText)
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((255, 255, 255), width=1))
        self.cursor.sigDragged.connect(lambda line: state.set_frame(int(round(line.value())) - 1))
        self.plot.addItem(self.cursor)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        # six metric columns share the width: all visible without a horizontal scrollbar
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.horizontalHeader().setMinimumSectionSize(40)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        top = QHBoxLayout()
        top.addWidget(QLabel("Metric"))
        top.addWidget(self.metric)
        top.addWidget(self.worse)
        top.addWidget(self.better)
        top.addWidget(self.hint, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.table)
        state.frame_changed.connect(lambda f: self.cursor.setValue(f + 1))
        state.layers_changed.connect(self.redraw)
        state.truth_changed.connect(self.redraw)
        state.view_changed.connect(lambda what: self._show_metric() if "curve_metric" in what else None)
        self.redraw()

    def _show_metric(self) -> None:
        index = self.metric.findData(self.state.curve_metric)
        if index != self.metric.currentIndex():
            self.metric.blockSignals(True)
            self.metric.setCurrentIndex(index)
            self.metric.blockSignals(False)
        self.redraw()

    def _metric_changed(self, _index) -> None:
        self.state.set_curve_metric(self.metric.currentData())

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        vb = self.plot.getPlotItem().vb
        if vb.sceneBoundingRect().contains(event.scenePos()):
            x = vb.mapSceneToView(event.scenePos()).x()
            self.state.set_frame(int(round(x)) - 1)

    def _jump_worst(self, direction: int) -> None:
        layer = self.state.active
        frame = self.state.worst_frame(layer, self.state.curve_metric, direction) if layer else None
        if frame is not None:
            self.state.set_frame(frame)

    def redraw(self) -> None:
        metric = self.state.curve_metric
        names = {layer.name for layer in self.state.layers}
        for name in [n for n in self.curves if n not in names]:
            self.plot.removeItem(self.curves.pop(name))
        frames = np.arange(1, self.state.n_frames + 1)
        for k, layer in enumerate(self.state.layers):
            values = layer.metrics.get(metric)
            if values is None:
                values = np.full(self.state.n_frames, np.nan)
            curve = self.curves.get(layer.name)
            if curve is None:
                curve = self.plot.plot(name=layer.name, connect="finite")
                self.curves[layer.name] = curve
            curve.setPen(pg.mkPen(LAYER_PENS[k % len(LAYER_PENS)], width=1.5))     # the legend's colour
            curve.setData(frames[: len(values)], values)
        self.legend.setText("&nbsp;&nbsp;".join(
            f'<span style="color: rgb{LAYER_PENS[k % len(LAYER_PENS)]}">&#9632;</span> {layer.name}'
            for k, layer in enumerate(self.state.layers)))
        self.plot.setLabel("left", METRIC_LABELS[metric])
        if self.state.truth is None:
            self.hint.setText("Open gaze or ground truth (File menu) to see metrics.")
        else:
            self.hint.setText(f"against {self.state.truth_source}")
        self._table()

    def _table(self) -> None:
        keys = list(METRIC_LABELS)
        self.table.setColumnCount(len(keys))
        self.table.setHorizontalHeaderLabels([METRIC_LABELS[k] for k in keys])
        self.table.setRowCount(len(self.state.layers))
        # the values use exact frames only (blends are never scored): say how many
        self.table.setVerticalHeaderLabels([f"{layer.name} ({exact_note(layer.done)})" for layer in self.state.layers])
        # as tall as its rows: no empty band, no vertical scrollbar for a few layers
        rows = max(1, len(self.state.layers))
        self.table.setFixedHeight(min(self.table.horizontalHeader().height() + rows * self.table.verticalHeader()
                                      .defaultSectionSize() + 4, 140))
        for row, layer in enumerate(self.state.layers):
            summary = layer.summary()
            for col, key in enumerate(keys):
                value = summary.get(key, math.nan)
                self.table.setItem(row, col, QTableWidgetItem("-" if math.isnan(value) else f"{value:.3f}"))
