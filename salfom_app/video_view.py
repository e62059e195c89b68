"""The frame with its heatmap, ground truth and fixation dots; one pane or two side by side.

Painting only: frames and maps arrive decoded (`FrameBundle`). The heatmap is a second
ImageItem with fixed levels 0..255 and a 256-entry RGBA lookup table whose alpha grows with
saliency (zero below the threshold), so opacity, colormap and threshold change nothing but
the table.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from salfom_core.overlay import colormap_lut

from .interpolated import LABEL, is_blend
from .state import Layer, ViewerState

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

OBSERVER_COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
                    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
                    (170, 255, 195), (128, 128, 0)]


def heat_lut(colormap: str, threshold: float = 0.0) -> np.ndarray:
    """(256, 4) RGBA: the colormap, alpha rising with the value, transparent below `threshold`."""
    lut = np.empty((256, 4), np.uint8)
    lut[:, :3] = colormap_lut(colormap)
    lut[:, 3] = np.arange(256)
    lut[: int(round(threshold * 255)), 3] = 0
    return lut


class Pane:
    """One PlotItem holding the frame, a heatmap, the GT map and the fixation dots."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        for axis in ("left", "bottom"):
            plot.hideAxis(axis)
        plot.invertY(True)
        plot.setAspectLocked(True)
        plot.setMenuEnabled(False)
        self.frame = pg.ImageItem()
        self.gt = pg.ImageItem()
        self.heat = pg.ImageItem()
        self.dots = pg.ScatterPlotItem(size=9, pxMode=True)
        for z, item in enumerate((self.frame, self.gt, self.heat, self.dots)):
            item.setZValue(z)
            plot.addItem(item)
        self.gt.setLookupTable(heat_lut("viridis"))
        self.label = pg.TextItem(anchor=(0, 0), color=(255, 255, 255), fill=(0, 0, 0, 140))
        self.label.setZValue(10)
        plot.addItem(self.label)
        self.layer_name: str | None = None
        self._size = None

    def show(self, bundle, layer: Layer | None, state: ViewerState) -> None:
        self.frame.setImage(bundle.image, autoLevels=False, levels=(0, 255))
        h, w = bundle.image.shape[:2]
        if self._size != (w, h):
            self._size = (w, h)
            self.plot.setRange(xRange=(0, w), yRange=(0, h), padding=0)
        saliency = bundle.maps.get(layer.name) if layer is not None and layer.visible else None
        if saliency is not None:
            self.heat.setImage(saliency, autoLevels=False, levels=(0, 255))
            self.heat.setLookupTable(heat_lut(layer.colormap, layer.threshold))
            self.heat.setOpacity(layer.opacity)      # same blend as the exported overlay
            self.heat.setRect(0, 0, w, h)
        self.heat.setVisible(saliency is not None)
        show_gt = state.show_ground_truth and bundle.gt_map is not None
        if show_gt:
            self.gt.setImage((bundle.gt_map * 255).astype(np.uint8), autoLevels=False, levels=(0, 255))
            self.gt.setRect(0, 0, w, h)
            self.gt.setOpacity(0.7)
        self.gt.setVisible(show_gt)
        self._dots(bundle, state)
        status = "" if layer is None else (" (computing...)" if saliency is None and layer.visible else "")
        if layer is not None and saliency is not None and is_blend(bundle.shown.get(layer.name)):
            status = f" ({LABEL})"
        self.label.setText("" if layer is None else f"{layer.name}{status}")
        self.label.setPos(4, 4)
        self.layer_name = layer.name if layer else None

    def _dots(self, bundle, state: ViewerState) -> None:
        if not state.show_fixations or bundle.fixations is None:
            self.dots.setData([], [])
            return
        xs, ys, obs = bundle.fixations
        # benchmark coordinates: pixel (c, r), 1-based, is centred at (c - 0.5, r - 0.5) on screen
        colours = [OBSERVER_COLOURS[o % len(OBSERVER_COLOURS)] if o >= 0 else (255, 255, 255) for o in obs]
        # rings with a faint fill: the heatmap under a fixation stays visible
        self.dots.setData(np.asarray(xs) - 0.5, np.asarray(ys) - 0.5,
                          pen=[pg.mkPen(*c, 255, width=2) for c in colours],
                          brush=[pg.mkBrush(*c, 50) for c in colours])


class VideoView(QWidget):
    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground((30, 30, 30))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self.panes = [Pane(self.graphics.addPlot(row=0, col=0))]
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=self._colormap("jet"), interactive=False,
                                        width=12, label="saliency")
        self.graphics.addItem(self.colorbar, row=0, col=2)
        self.bundle = None
        self.painted = 0          # how many bundles were painted (tests and the scrub bench read it)

    @staticmethod
    def _colormap(name: str) -> pg.ColorMap:
        return pg.ColorMap(np.linspace(0, 1, 256), colormap_lut(name))

    def set_mode(self, mode: str) -> None:
        want = 2 if mode == "side-by-side" else 1
        if len(self.panes) == want:
            return
        if want == 2:
            pane = Pane(self.graphics.addPlot(row=0, col=1))
            pane.plot.setXLink(self.panes[0].plot)
            pane.plot.setYLink(self.panes[0].plot)
            self.panes.append(pane)
        else:
            self.graphics.removeItem(self.panes.pop().plot)
        if self.bundle is not None:
            self.show_bundle(self.bundle)

    def show_bundle(self, bundle) -> None:
        self.bundle = bundle
        state = self.state
        layers = [state.active, state.compare if state.compare is not None else state.active]
        for pane, layer in zip(self.panes, layers):
            pane.show(bundle, layer, state)
        if state.active is not None:
            self.colorbar.setColorMap(self._colormap(state.active.colormap))
        self.painted += 1

    def reset(self) -> None:
        self.bundle = None
        for pane in self.panes:
            pane._size = None
            for item in (pane.frame, pane.heat, pane.gt):
                item.clear()
            pane.dots.setData([], [])

    def composite(self) -> np.ndarray | None:
        """The first pane as an RGB image (frame + heatmap), for 'export current frame'."""
        from salfom_core.overlay import blend

        if self.bundle is None:
            return None
        layer = self.state.active
        saliency = self.bundle.maps.get(layer.name) if layer is not None else None
        if saliency is None:
            return self.bundle.image
        return blend(self.bundle.image, saliency, layer.colormap, layer.opacity, layer.threshold)
