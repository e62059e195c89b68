"""The layer panel: the layers, the selected layer's style and job, the fixation markers."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from salfom_core.io.overlay import COLORMAPS

from .gaze_import import fixation_origin
from .state import MARKER_STYLES, Layer, ViewerState, follow_layers


def gaze_tooltip(state: ViewerState) -> str:
    """The gaze's source and where its fixations came from (the file's events, or the detector
    and its parameters), for the observers legend and the Fixations line."""
    if state.gaze is None:
        return ""
    return f"{state.truth_source or state.gaze.source}\n{fixation_origin(state.gaze)}"


def _eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "estimating..."
    m, s = divmod(int(seconds), 60)
    return f"{m} min {s:02d} s left" if m else f"{s} s left"


class LayerPanel(QWidget):
    """The layers with visibility; the active layer's colormap, opacity and threshold; progress."""

    cancel_requested = Signal(object)    # Layer
    rename_requested = Signal(object, str)    # Layer, new name (the window's session applies or refuses it)

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #5a4a12; color: #fff3c4; padding: 6px; border-radius: 4px;")
        self.list = QListWidget()
        # double-click (or F2) a layer to rename it; its context menu has "Rename..." too
        self.list.setEditTriggers(QListWidget.DoubleClicked | QListWidget.EditKeyPressed)
        self.list.setToolTip("Tick to show; double-click to rename")
        self.rename_action = QAction("Rename layer...", self)
        self.rename_action.triggered.connect(self.rename_selected)
        self.list.addAction(self.rename_action)
        self.list.setContextMenuPolicy(Qt.ActionsContextMenu)
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentRowChanged.connect(self._row_changed)
        self.ground_truth = QCheckBox("Ground-truth map")
        self.ground_truth.setToolTip("The ground truth's density map, drawn above the layer's map")
        self.ground_truth.toggled.connect(lambda v: state.set_view(show_ground_truth=v))
        self.gt_opacity = QSlider(Qt.Horizontal)
        self.gt_opacity.setRange(0, 100)
        self.gt_opacity.setToolTip("Opacity of the ground-truth map (0: the layer's map shows through)")
        self.gt_opacity.valueChanged.connect(lambda v: state.set_view(gt_opacity=v / 100))
        ground_truth = QHBoxLayout()
        ground_truth.addWidget(self.ground_truth)
        ground_truth.addWidget(self.gt_opacity, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(QLabel("Layers (tick to show)"))
        layout.addWidget(self.list, 1)
        layout.addLayout(ground_truth)               # near the top: visible when the dock is short
        layout.addWidget(self._layer_settings())
        layout.addLayout(self._job_controls())
        layout.addWidget(self.eta)
        layout.addWidget(self._marker_settings())
        self._show_markers()
        self._observed: list[Layer] = []
        state.layers_changed.connect(self.refresh)
        state.truth_changed.connect(self._truth_changed)
        state.view_changed.connect(self._view_changed)
        self.refresh()
        self._truth_changed()

    def _layer_settings(self) -> QGroupBox:
        """The selected layer's colormap, opacity, threshold, and the layer it is compared with."""
        self.compare = QComboBox()
        self.compare.currentIndexChanged.connect(self._compare_changed)
        self.split = QCheckBox("Side by side")
        self.split.setToolTip("Show the selected layer and the compared one next to each other (View menu too)")
        self.split.toggled.connect(lambda on: self.state.set_view_mode("split" if on else "single"))
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
        settings = QGroupBox("Selected layer")
        form = QFormLayout(settings)
        form.addRow("Colormap", self.colormap)
        form.addRow("Opacity", self.opacity)
        form.addRow("Hide below", self.threshold)
        form.addRow("Compare with", self.compare)
        form.addRow("", self.split)
        return settings

    def _job_controls(self) -> QHBoxLayout:
        """The selected layer's progress, its cancel button and (below them) its time left."""
        self.progress = QProgressBar()
        self.eta = QLabel()
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(lambda: self.cancel_requested.emit(self._selected()))
        job = QHBoxLayout()
        job.addWidget(self.progress, 1)
        job.addWidget(self.cancel)
        return job

    def _marker_settings(self) -> QGroupBox:
        """How fixations are drawn, and the legend of observers (untick one to hide it)."""
        state = self.state
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
        self.observers = QListWidget()
        self.observers.setVerticalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.observers.itemChanged.connect(self._observer_toggled)
        markers = QGroupBox("Fixations")
        form = QFormLayout(markers)
        form.addRow(self.fixations)
        form.addRow("Marker", self.marker_style)
        form.addRow("Size", self.marker_size)
        form.addRow("Opacity", self.marker_opacity)
        form.addRow(self.observers)
        return markers

    def set_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def _selected(self) -> Layer | None:
        row = self.list.currentRow()
        return self.state.layers[row] if 0 <= row < len(self.state.layers) else None

    def refresh(self) -> None:
        self._observed = follow_layers(self._observed, self.state.layers, self._layer_changed)
        self.list.blockSignals(True)
        rows = [(l.name, Qt.Checked if l.visible else Qt.Unchecked, f"{l.source or l.kind}\n(double-click to rename)")
                for l in self.state.layers]
        shown = [(i.text(), i.checkState(), i.toolTip()) for i in map(self.list.item, range(self.list.count()))]
        if rows != shown:         # rebuilt only when they changed: a rebuild under a click kills its double-click
            self.list.clear()
            for name, checked, tip in rows:
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsEditable)
                item.setCheckState(checked)
                item.setToolTip(tip)
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
        if not 0 <= row < len(self.state.layers):
            return
        layer = self.state.layers[row]
        if item.text() != layer.name:                 # edited in place
            self.rename_requested.emit(layer, item.text())
            QTimer.singleShot(0, self.refresh)        # a refused name goes back (after the editor closed)
            return
        layer.set(visible=item.checkState() == Qt.Checked)

    def rename_selected(self) -> None:
        """Layer > Rename...: asks for the selected layer's new name."""
        layer = self._selected()
        if layer is None:
            return
        name, ok = QInputDialog.getText(self, "Rename layer", "Name (used in the table, curves and exports):",
                                        text=layer.name)
        if ok:
            self.rename_requested.emit(layer, name)

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.state.layers):
            self.state.set_active(self.state.layers[row])
        self._show_settings()

    def _show_markers(self) -> None:
        s = self.state
        widgets = (self.marker_style, self.marker_size, self.marker_opacity, self.fixations, self.gt_opacity)
        for w in widgets:
            w.blockSignals(True)
        self.marker_style.setCurrentText(s.marker_style)
        self.marker_size.setValue(s.marker_size)
        self.marker_opacity.setValue(int(round(s.marker_opacity * 100)))
        self.fixations.setChecked(s.show_fixations)
        self.gt_opacity.setValue(int(round(s.gt_opacity * 100)))
        self.ground_truth.blockSignals(True)
        self.ground_truth.setChecked(s.show_ground_truth)       # set elsewhere too (tests, --screenshot)
        self.ground_truth.blockSignals(False)
        for w in widgets:
            w.blockSignals(False)

    def _compare_changed(self, index: int) -> None:
        if 0 <= index < len(self.state.layers):
            self.state.set_compare(self.state.layers[index])

    def _view_changed(self, what) -> None:
        if set(what) & {"active", "compare"}:
            self.refresh()
        if set(what) & {"marker_style", "marker_size", "marker_opacity", "show_fixations", "gt_opacity",
                         "show_ground_truth"}:
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

        from salfom_core.io.overlay import observer_colour

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
        self._fit_observers()

    def _fit_observers(self) -> None:
        """The legend as tall as its rows (12 observers: 12 rows, no scrolling; the panel scrolls
        when the dock is short), never an empty band."""
        rows = max(1, self.observers.count())
        row = self.observers.sizeHintForRow(0) if self.observers.count() else 18
        self.observers.setFixedHeight(rows * max(row, 1) + 2 * self.observers.frameWidth())

    def _truth_changed(self) -> None:
        self._fill_observers()
        tip = gaze_tooltip(self.state)        # where the fixations came from: file events or a detector
        self.observers.setToolTip(tip)
        self.fixations.setToolTip(tip)
        has = self.state.truth is not None
        self.ground_truth.setEnabled(has)
        self.gt_opacity.setEnabled(has)
        self.fixations.setEnabled(self.state.gaze is not None)
