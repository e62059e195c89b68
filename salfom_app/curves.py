"""The metric curves of the visible layers over the frames, and the summary table under them."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .interpolated import exact_note
from .state import LAYER_PENS, METRIC_LABELS, ViewerState  # noqa: F401 (LAYER_PENS: its old home)

PARTIAL_TEXT = (110, 110, 110)     # 5:1 on white; a summary of the frames scored so far: lighter until final


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
        for layer in self.state.layers:
            values = layer.metrics.get(metric)
            if values is None:
                values = np.full(self.state.n_frames, np.nan)
            curve = self.curves.get(layer.name)
            if curve is None:
                curve = self.plot.plot(name=layer.name, connect="finite")
                self.curves[layer.name] = curve
            curve.setPen(pg.mkPen(layer.colour, width=1.5))     # the legend's and the exports' colour
            curve.setData(frames[: len(values)], values)
        self.legend.setText("&nbsp;&nbsp;".join(
            f'<span style="color: rgb{tuple(layer.colour)}">&#9632;</span> {layer.name}'
            for layer in self.state.layers))
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
        self.table.setVerticalHeaderLabels([f"{layer.name} ({self._row_note(layer)})" for layer in self.state.layers])
        # as tall as its rows: no empty band, no vertical scrollbar for a few layers
        rows = max(1, len(self.state.layers))
        self.table.setFixedHeight(min(self.table.horizontalHeader().height() + rows * self.table.verticalHeader()
                                      .defaultSectionSize() + 4, 140))
        for row, layer in enumerate(self.state.layers):
            summary = layer.summary()
            for col, key in enumerate(keys):
                self.table.setItem(row, col, self._summary_item(layer, key, summary.get(key, math.nan)))

    def _row_note(self, layer) -> str:
        if self.state.truth is None:
            return exact_note(layer.done)
        return f"all {layer.n_frames} frames scored" if layer.scores_final else layer.scored_note()

    def _summary_item(self, layer, key: str, value: float) -> QTableWidgetItem:
        """A final figure in the normal style; one of the frames scored so far lighter and in
        italics, its tooltip saying how many ('CC 0.722 (610 of 783 frames scored)')."""
        text = "-" if math.isnan(value) else f"{value:.3f}"
        item = QTableWidgetItem(text)
        if self.state.truth is None:
            return item
        if layer.scores_final:
            item.setToolTip(f"{METRIC_LABELS[key]} {text} (all {layer.n_frames} frames scored)")
        else:
            item.setToolTip(f"{METRIC_LABELS[key]} {text} ({layer.scored_note()})")
            item.setForeground(QColor(*PARTIAL_TEXT))
            font = item.font()
            font.setItalic(True)
            item.setFont(font)
        return item
