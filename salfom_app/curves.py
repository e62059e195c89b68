"""The metric curves of the visible layers over the frames, and the summary table under them."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .interpolated import covered, exact_note
from .state import (
    METRIC_LABELS,
    METRIC_TIPS,
    Layer,
    ViewerState,
    follow_layers,
)

PARTIAL_TEXT = (110, 110, 110)     # 5:1 on white; a summary of the frames scored so far: lighter until final
PLOT_BACKGROUND = (25, 25, 25)     # the curves' plot, and the playhead values beside it
VALUE_TEXT = (235, 235, 235)       # 14:1 on the plot's background: a final value at the playhead
PARTIAL_VALUE_TEXT = (160, 160, 160)   # 6.6:1 on it: no final value there yet (lighter, in italics)


@dataclass(frozen=True)
class Reading:
    """A layer's metric at one frame, as the curves' list and the panes show it."""

    label: str                 # "CC"
    value: float | None        # None: no value (`why` says why)
    final: bool                # False: a value may still come (lighter, in italics)
    why: str = ""              # "no fixations", "scoring", "interpolated", "not computed", "no ground truth"
    tip: str = ""              # the longer explanation, for a tooltip


def metric_reading(layer: Layer, metric: str, frame: int, blend: bool, has_truth: bool) -> Reading:
    """`layer`'s `metric` at `frame` once scored; else why not (`blend`: the frame shows a blend of
    computed frames, which are never scored; a computed frame waits its turn)."""
    label, shown = METRIC_LABELS[metric], frame + 1
    if frame >= layer.n_frames:
        return Reading(label, None, True, "no frame", f"{layer.name} has no frame {shown}")
    values = layer.metrics.get(metric)
    if layer.scored[frame]:
        value = math.nan if values is None else float(values[frame])
        if math.isnan(value):
            return Reading(label, None, True, "no fixations",
                           f"frame {shown} has no fixations: no {label} (the CLI skips it too)")
        return Reading(label, value, True, "", f"{layer.name}: {label} {value:.3f} at frame {shown}")
    if not has_truth:
        return Reading(label, None, False, "no ground truth", "open gaze or ground truth (File menu) to score the maps")
    if blend:
        return Reading(label, None, False, "interpolated",
                       f"frame {shown} shows a blend of computed frames: blends are never scored")
    if layer.done[frame]:
        return Reading(label, None, False, "scoring", f"frame {shown} is computed and waits to be scored")
    return Reading(label, None, False, "not computed", f"frame {shown} is not computed yet")


def playhead_value(layer: Layer, metric: str, frame: int, interpolate: bool, has_truth: bool) -> tuple[str, str, bool]:
    """(text, tooltip, final) beside the curves: 'CC 0.612', or 'CC -' and why not."""
    blend = interpolate and frame < layer.n_frames and not layer.done[frame] and bool(covered(layer.done)[frame])
    r = metric_reading(layer, metric, frame, blend, has_truth)
    if r.value is not None:
        return f"{r.label} {r.value:.3f}", r.tip, True
    shown_why = r.why if not r.final and r.why != "no ground truth" else ""
    return f"{r.label} -" + (f" ({shown_why})" if shown_why else ""), r.tip, r.final


def worst_message(state: ViewerState, layer: Layer | None, metric: str, direction: int, start: int,
                  found: int | None) -> str:
    """'Next worst CC of SalFoM after frame 120: frame 391, CC 0.213 (worst tenth: CC <= 0.350)'."""
    label = METRIC_LABELS[metric]
    what, where = ("Next", "after") if direction > 0 else ("Previous", "before")
    if layer is None:
        return f"{what} worst {label}: no layer"
    bound = state.worst_threshold(layer, metric)
    if bound is None:
        return f"{what} worst {label} of {layer.name}: no {label} values yet"
    sign = ">=" if metric == "kld" else "<="           # lower KLD is better
    scope = "" if layer.scores_final else f" of {int(layer.scored.sum())} scored frames"
    rule = f"(worst tenth{scope}: {label} {sign} {bound:.3f})"
    head = f"{what} worst {label} of {layer.name} {where} frame {start + 1}"
    if found is None:
        return f"{head}: none {rule}"
    return f"{head}: frame {found + 1}, {label} {layer.metrics[metric][found]:.3f} {rule}"


class PlayheadValues(QFrame):
    """Beside the curves, one row per visible layer: its colour (the curve's), its name and its
    value of the metric at the playhead, lighter and in italics where none is final yet."""

    NAME_WIDTH = 130

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("playhead_values")
        self.setStyleSheet(f"#playhead_values {{ background: rgb{PLOT_BACKGROUND}; }}")
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(6, 4, 6, 4)
        self.grid.setVerticalSpacing(2)
        self.grid.setRowStretch(99, 1)          # rows at the top
        self.rows: dict[str, tuple[QFrame, QLabel, QLabel]] = {}   # layer name -> swatch, name, value
        self._shown: tuple = ()

    def show_layers(self, layers: list[Layer]) -> None:
        """The rows, rebuilt only when the layers shown, their names or colours change."""
        key = tuple((layer.name, tuple(layer.colour or ())) for layer in layers)
        if key == self._shown:
            return
        self._shown = key
        for widgets in self.rows.values():
            for widget in widgets:
                self.grid.removeWidget(widget)
                widget.hide()               # at once, not when the deletion comes round
                widget.deleteLater()
        self.rows = {}
        for row, layer in enumerate(layers):
            swatch = QFrame()
            swatch.setFixedSize(10, 10)
            swatch.setStyleSheet(f"background: rgb{tuple(layer.colour)};")
            name = QLabel(self.fontMetrics().elidedText(layer.name, Qt.ElideMiddle, self.NAME_WIDTH))
            name.setToolTip(layer.name)
            name.setStyleSheet(f"color: rgb{VALUE_TEXT};")
            value = QLabel()
            self.grid.addWidget(swatch, row, 0)
            self.grid.addWidget(name, row, 1)
            self.grid.addWidget(value, row, 2)
            self.rows[layer.name] = (swatch, name, value)
            for widget in self.rows[layer.name]:
                widget.show()               # now, not when the layout's queued show comes round

    def show_values(self, layers: list[Layer], metric: str, frame: int, interpolate: bool, has_truth: bool) -> None:
        for layer in layers:
            widgets = self.rows.get(layer.name)
            if widgets is None:
                continue
            text, tip, final = playhead_value(layer, metric, frame, interpolate, has_truth)
            value = widgets[2]
            value.setText(text)
            value.setToolTip(tip)
            style = f"color: rgb{VALUE_TEXT};" if final else f"color: rgb{PARTIAL_VALUE_TEXT}; font-style: italic;"
            if value.styleSheet() != style:           # restyling repolishes: only when it changes
                value.setStyleSheet(style)

    def text(self) -> str:
        """The rows as plain text, one a line: 'name CC 0.612'."""
        return "\n".join(f"{name.toolTip()} {value.text()}" for _swatch, name, value in self.rows.values())


class MetricCurves(QWidget):
    """Per-frame curves of one metric for every visible layer, a cursor on the playhead, each
    layer's value there beside the plot, and the summary."""

    message = Signal(str)           # for the status bar: what "Next worst" found

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.metric = QComboBox()
        for key, label in METRIC_LABELS.items():
            self.metric.addItem(label, key)
            self.metric.setItemData(self.metric.count() - 1, METRIC_TIPS[key], Qt.ToolTipRole)
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
        # the legend is beside the plot, never drawn over the curves: each layer's colour, name
        # and value at the playhead
        self.values = PlayheadValues()
        self.legend = self.values
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
        beside = QHBoxLayout()
        beside.setSpacing(0)
        beside.addWidget(self.plot, 1)
        beside.addWidget(self.values)
        layout.addLayout(beside, 1)
        layout.addWidget(self.table)
        state.frame_changed.connect(self._frame_changed)
        self._observed: list[Layer] = []
        state.layers_changed.connect(self._follow_layers)
        state.layers_changed.connect(self.redraw)
        state.truth_changed.connect(self.redraw)
        state.view_changed.connect(self._view_changed)
        self.redraw()

    def _frame_changed(self, frame: int) -> None:
        self.cursor.setValue(frame + 1)
        self._show_values()

    def _view_changed(self, what) -> None:
        if "curve_metric" in what:
            self._show_metric()
        elif "interpolate" in what:
            self._show_values()

    def _follow_layers(self) -> None:
        self._observed = follow_layers(self._observed, self.state.layers, self._layer_changed)

    def _layer_changed(self, _layer, what) -> None:
        if "visible" in what or "colour" in what:
            self.redraw()
        elif "progress" in what or "read" in what:     # more computed: "not computed" becomes "scoring"
            self._show_values()

    def _show_values(self) -> None:
        s = self.state
        shown = [layer for layer in s.layers if layer.visible]
        self.values.show_layers(shown)
        self.values.show_values(shown, s.curve_metric, s.frame, s.interpolate, s.truth is not None)

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
        """To the next (previous) frame among the active layer's worst tenth, saying in the status
        bar which layer, which bound and what it found."""
        layer, metric = self.state.active, self.state.curve_metric
        start = self.state.frame
        frame = self.state.worst_frame(layer, metric, direction) if layer else None
        if frame is not None:
            self.state.set_frame(frame)
        self.message.emit(worst_message(self.state, layer, metric, direction, start, frame))

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
            curve.setVisible(layer.visible)
        self._show_values()
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
        for col, key in enumerate(keys):
            self.table.horizontalHeaderItem(col).setToolTip(METRIC_TIPS[key])
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
