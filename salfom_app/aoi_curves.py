"""The selected AOI's share per frame, for gaze and every visible model, in the curves area
("AOI share" tab beside Metrics), with the playhead."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from .aoi_state import AoiEditor
from .state import ViewerState

GAZE_PEN = (255, 255, 255)


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
