"""The frame with its heatmap, ground truth and fixation dots; one pane or two side by side.

Painting only: frames and maps arrive decoded (`FrameBundle`). The heatmap is a second
ImageItem with fixed levels 0..255 and a 256-entry RGBA lookup table whose alpha grows with
saliency (zero below the threshold), so opacity, colormap and threshold change nothing but
the table.
"""
from __future__ import annotations

import html
from functools import lru_cache

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QVBoxLayout, QWidget

from salfom_core.evaluation.truths import GazeTruth
from salfom_core.io.overlay import colormap_lut, observer_colour, one_per_observer

from .curves import metric_reading
from .interpolated import LABEL, DisplayReader, is_blend, stale
from .state import Layer, ViewerState, follow_layers

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

GT_COLORMAP = "viridis"           # the ground truth's colours: unlike any layer's default (jet)
PARTIAL_COLOUR = "#b4b4b4"        # a value not known yet: lighter than the label's white
LABEL_FILL = (0, 0, 0, 200)


def heat_lut(colormap: str, threshold: float = 0.0) -> np.ndarray:
    """(256, 4) RGBA: the colormap, alpha rising with the value, transparent below `threshold`."""
    lut = np.empty((256, 4), np.uint8)
    lut[:, :3] = colormap_lut(colormap)
    lut[:, 3] = np.arange(256)
    lut[: int(round(threshold * 255)), 3] = 0
    return lut


class Pane:
    """One PlotItem holding the frame, a heatmap, the GT map above it and the fixation dots;
    its label names the layer and the playhead's value of the selected metric."""

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
        # fixation markers: a thin dark outline under the observer's colour, so a marker reads on
        # any heatmap colour; rings and crosses leave the map under their centre visible
        self.outline = pg.ScatterPlotItem(pxMode=True)
        self.dots = pg.ScatterPlotItem(pxMode=True)
        # the ground truth above the prediction: with its own opacity it is seen whatever the heatmap
        for z, item in enumerate((self.frame, self.heat, self.gt, self.outline, self.dots)):
            item.setZValue(z)
            plot.addItem(item)
        self.gt.setLookupTable(heat_lut(GT_COLORMAP))
        # labels on a near-opaque black: white text 11:1 and the lighter partial text 5.7:1 even
        # over a white frame
        self.label = pg.TextItem(anchor=(0, 0), color=(255, 255, 255), fill=LABEL_FILL)
        self.gt_label = pg.TextItem(anchor=(0, 1), color=(255, 255, 255), fill=LABEL_FILL)
        for label in (self.label, self.gt_label):
            label.setZValue(10)
            plot.addItem(label)
        self._label_html = None
        self.layer: Layer | None = None
        self.bundle = None
        self._size = None
        # the frame fills the pane (as large as its aspect ratio allows) until the user zooms or
        # pans; a pane resized by the layout (split view, window size) fits again
        self.fitted = True
        plot.vb.sigRangeChangedManually.connect(self._user_moved)
        plot.vb.sigResized.connect(lambda _vb: self.fit() if self.fitted else None)

    def _user_moved(self, *_):
        self.fitted = False

    def fit(self) -> None:
        if self._size is not None:
            w, h = self._size
            self.plot.setRange(xRange=(0, w), yRange=(0, h), padding=0)
            self.fitted = True

    @property
    def layer_name(self) -> str | None:
        return self.layer.name if self.layer is not None else None

    def show(self, bundle, layer: Layer | None, state: ViewerState) -> None:
        self.frame.setImage(bundle.image, autoLevels=False, levels=(0, 255))
        h, w = bundle.image.shape[:2]
        if self._size != (w, h):
            self._size = (w, h)
            self.fit()
        saliency = bundle.maps.get(layer.name) if layer is not None and layer.visible else None
        if saliency is not None:
            self.heat.setImage(saliency, autoLevels=False, levels=(0, 255))
            self.heat.setRect(0, 0, w, h)
        self.heat.setVisible(saliency is not None)
        self.layer = layer
        self.recolour()
        show_gt = state.show_ground_truth and bundle.gt_map is not None
        if show_gt:
            self.gt.setImage(np.rint(bundle.gt_map * 255).astype(np.uint8), autoLevels=False, levels=(0, 255))
            self.gt.setRect(0, 0, w, h)
        self.gt.setOpacity(state.gt_opacity)
        self.gt.setVisible(show_gt)
        self.gt_label.setText(truth_label(state, bundle.gt_map) if state.show_ground_truth else "")
        self.gt_label.setVisible(state.show_ground_truth and state.truth is not None)
        self.gt_label.setPos(4, h - 4)
        self._dots(bundle, state)
        self.bundle = bundle
        self.show_label(state)

    def show_label(self, state: ViewerState) -> None:
        """'SalFoM (interpolated) -- CC - at frame 392 (interpolated)': the layer,
        what its map is, and the playhead's value of the selected metric (lighter until known)."""
        layer, bundle = self.layer, self.bundle
        if layer is None or bundle is None:
            text = ""
        else:
            has_map = bundle.maps.get(layer.name) is not None and layer.visible
            blend = has_map and is_blend(bundle.shown.get(layer.name))
            status = f" ({LABEL})" if blend else layer_status(layer, has_map)
            value, final = pane_value(layer, state, bundle.index, blend)
            text = html.escape(f"{layer.name}{status}")
            if value:
                style = "" if final else f' style="color: {PARTIAL_COLOUR}; font-style: italic"'
                text += f" &mdash; <span{style}>{html.escape(value)}</span>"
        if text != self._label_html:
            self._label_html = text
            self.label.setHtml(text)
        self.label.setPos(4, 4)

    def recolour(self) -> None:
        """Colormap, threshold and opacity: only the lookup table and the item's opacity change."""
        if self.layer is not None:
            self.heat.setLookupTable(heat_lut(self.layer.colormap, self.layer.threshold))
            self.heat.setOpacity(self.layer.opacity)      # same blend as the exported overlay

    def _dots(self, bundle, state: ViewerState) -> None:
        fixations = state.shown_fixations(bundle.fixations)
        if not state.show_fixations or fixations is None:
            self.dots.setData([], [])
            self.outline.setData([], [])
            return
        xs, ys, obs = one_per_observer(*fixations)
        # benchmark coordinates: pixel (c, r), 1-based, is centred at (c - 0.5, r - 0.5) on screen
        xs, ys = np.asarray(xs) - 0.5, np.asarray(ys) - 0.5
        alpha = int(round(255 * state.marker_opacity))
        colours = [observer_colour(int(o)) for o in obs]
        size, style = state.marker_size, state.marker_style
        # thin strokes: a cluster of observers must not hide the map under it
        dark = _pen((0, 0, 0), min(alpha, 200), 3 if style != "dot" else 1.5)
        if style == "dot":
            self.outline.setData([], [])
            self.dots.setData(xs, ys, size=max(3, size // 2), symbol="o", pen=dark,
                              brush=[_brush(c, alpha) for c in colours])
            return
        symbol = "o" if style == "ring" else "crosshair"
        self.outline.setData(xs, ys, size=size, symbol=symbol, pen=dark, brush=_brush(None, 0))
        self.dots.setData(xs, ys, size=size, symbol=symbol, pen=[_pen(c, alpha, 1.5) for c in colours],
                          brush=_brush(None, 0))


@lru_cache(maxsize=512)
def _pen(colour: tuple, alpha: int, width: float):
    """The same pen object for the same style: pyqtgraph's symbol atlas then reuses its
    rendered marker instead of drawing a new one for every point of every frame (60 ms a frame)."""
    return pg.mkPen(*colour, alpha, width=width)


@lru_cache(maxsize=512)
def _brush(colour: tuple | None, alpha: int):
    return pg.mkBrush(None) if colour is None else pg.mkBrush(*colour, alpha)


def pane_value(layer: Layer, state: ViewerState, frame: int, blend: bool = False) -> tuple[str, bool]:
    """('CC 0.612 at frame 392', final) for the selected metric at a frame (1-based in the
    text, as the timeline shows it); ('', True) with nothing to score against. A frame without
    a value says why ('CC - at frame 392 (scoring)'), as the curves' list does."""
    if state.truth is None:
        return "", True
    r = metric_reading(layer, state.curve_metric, frame, blend, True)
    at = f"at frame {frame + 1}"
    if r.value is not None:
        return f"{r.label} {r.value:.3f} {at}", True
    return f"{r.label} - {at} ({r.why})", r.final


def truth_label(state: ViewerState, gt_map) -> str:
    """What the ground-truth map on the image is: 'Ground truth: fixation density (12 observers)'."""
    truth = state.truth
    if truth is None:
        return ""
    if isinstance(truth, GazeTruth):
        observers = len(truth.gaze.observers) if truth.gaze is not None else 0
        what = f"fixation density ({observers} observers)" if observers else "fixation density"
    else:
        what = f"the annotation's maps ({state.truth_source})" if state.truth_source else "the annotation's maps"
    return f"Ground truth: {what}" + ("" if gt_map is not None else " - none at this frame")


def one_means(layer: Layer) -> str:
    """What 1.0 on a layer's colour bar is: the models' maps are min-max scaled per frame
    (`postprocess_batch`), a folder's 8-bit images are shown as they are, its 16-bit or float
    images scaled to their frame's peak (`as_uint8_map`)."""
    if layer.kind == "folder" and layer.read_stored is None:
        return "255 in its images"
    if layer.kind == "folder":
        return "the frame's highest value"
    return "the frame's most salient point"


def layer_status(layer: Layer, has_map: bool) -> str:
    """What the pane's label adds to the layer's name when its map is not on screen."""
    if has_map or not layer.visible:
        return ""
    if layer.error:
        return " (failed: see the status bar)"
    return " (computing...)" if layer.running else " (not computed)"


class ColourBar:
    """The legend of a pane's heatmap as it is drawn: each value's colour blended over a dark
    grey with the alpha the view uses (low values fade out), the "hide below" level as a line,
    and a title naming the layer and what 1.0 is."""

    BACKGROUND = np.array([45, 45, 45], np.float32)
    WIDTH = 40          # narrow: two of them beside two panes leave each pane 45% of a 1000 px view
    LABEL_STYLE = {"font-size": "8pt", "color": "#d2d2d2"}

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        plot.hideAxis("bottom")
        plot.showAxis("right")
        plot.hideAxis("left")
        plot.setMouseEnabled(False, False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setFixedWidth(self.WIDTH)
        plot.layout.setContentsMargins(0, 7, 0, 7)          # room for the end ticks' text
        axis = plot.getAxis("right")
        font = QFont()
        font.setPointSize(8)
        # the title says what 1.0 is: the ends and the middle are enough as ticks
        axis.setStyle(tickFont=font, tickTextOffset=2, tickLength=4)
        axis.setTicks([[(0.0, "0"), (0.5, ""), (1.0, "1")], []])
        axis.setLabel("saliency", **self.LABEL_STYLE)
        self.title = "saliency"
        self.image = pg.ImageItem()
        plot.addItem(self.image)
        self.cutoff = pg.InfiniteLine(angle=0, pen=pg.mkPen((255, 255, 255), width=1, style=Qt.DashLine))
        plot.addItem(self.cutoff)
        plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.ramp: np.ndarray | None = None
        self._shown = None
        self.show(None)

    def show(self, layer: Layer | None) -> None:
        colormap, opacity, threshold = (layer.colormap, layer.opacity, layer.threshold) if layer else ("jet", 0.5, 0)
        title = f"{layer.name}: 1.0 = {one_means(layer)}" if layer else "saliency"
        if self._shown == (colormap, opacity, threshold, title):
            return                     # unchanged: no repaint of the bar (it would cost every frame)
        self._shown = (colormap, opacity, threshold, title)
        if title != self.title:
            self.title = title
            self.plot.getAxis("right").setLabel(title, **self.LABEL_STYLE)
            self.plot.setToolTip(title)
        lut = heat_lut(colormap, threshold).astype(np.float32)
        alpha = lut[:, 3:] / 255 * opacity
        ramp = lut[:, :3] * alpha + self.BACKGROUND * (1 - alpha)
        self.ramp = np.ascontiguousarray(ramp[:, None, :].astype(np.uint8))     # row k: value k/255, drawn at y=k/255
        self.image.setImage(self.ramp, autoLevels=False, levels=(0, 255))
        self.image.setRect(0, 0, 1, 1)
        self.cutoff.setValue(threshold)
        self.cutoff.setVisible(threshold > 0)


class VideoView(QWidget):
    """Observes the state: asks the frame loader for the playhead's frame (with the visible
    layers' maps), paints what comes back, and recolours without re-reading anything when only
    a layer's style changes."""

    hover = Signal(str)          # what is under the cursor, for the status bar

    def __init__(self, state: ViewerState, loader, parent=None):
        super().__init__(parent)
        self.state = state
        self.loader = loader
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground((30, 30, 30))
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)     # the panes take the width, not the margins
        self.graphics.ci.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        # each pane has its colour bar on its right: [pane | bar] or [pane | bar | pane | bar]
        self.panes = [Pane(self.graphics.addPlot(row=0, col=0))]
        self.colorbars = [ColourBar(self.graphics.addPlot(row=0, col=1))]
        self.bundle = None
        self.painted = 0          # how many bundles were painted (tests and the scrub bench read it)
        self.requested = 0        # how many frames were asked of the loader (re-reads show up here)
        self._observed: list[Layer] = []
        self._closed = False
        self._last_recheck = None    # the stale reading last read again (frame, what it showed, maps done)
        self.graphics.scene().sigMouseMoved.connect(self._hovered)
        loader.ready.connect(self._ready)
        state.frame_changed.connect(lambda _f: self.request())
        state.layers_changed.connect(self._layers_changed)
        state.view_changed.connect(self._view_changed)
        state.truth_changed.connect(self._reconfigure)
        state.video_changed.connect(self.reset)

    @property
    def colorbar(self) -> ColourBar:
        """The first pane's colour bar (the only one in single view)."""
        return self.colorbars[0]

    # ----------------------------------------------------------------- observing the state

    def detach(self) -> None:
        """The window closes: results still on their way are not painted into deleted items."""
        self._closed = True

    def request(self) -> None:
        if self.state.video is not None and not self._closed:
            self.requested += 1
            self.loader.request(self.state.frame)

    def _reconfigure(self) -> None:
        """What the loader reads changed (layers shown, their readers, truth, the GT toggle)."""
        s = self.state
        self.loader.configure(layers={l.name: DisplayReader(l.read, l.done, s.interpolate) for l in s.layers
                                      if l.visible}, gaze=s.gaze, truth=s.truth, show_gt=s.show_ground_truth)
        self.request()

    def _layers_changed(self) -> None:
        self._observed = follow_layers(self._observed, self.state.layers, self._layer_changed)
        self._show_bars()                   # a renamed or removed layer: its bar follows at once
        self._reconfigure()

    def _show_bars(self) -> None:
        for bar, layer in zip(self.colorbars, self.state.pane_layers()):
            bar.show(layer)

    def show_values(self) -> None:
        """Scores arrived (or the metric changed): each pane's label gets the playhead's value."""
        if not self._closed:
            for pane in self.panes:
                pane.show_label(self.state)

    def _layer_changed(self, layer: Layer, what) -> None:
        if self._closed:
            return
        if "visible" in what or "read" in what:
            self._reconfigure()
            return
        if set(what) & {"colormap", "opacity", "threshold"}:
            for pane in self.panes:
                if pane.layer is layer:
                    pane.recolour()
            self._show_bars()
        shown = self.bundle
        # re-read only when the frame on screen gains its map (or a nearer blend), not on every batch
        if "progress" in what and shown is not None and shown.index == self.state.frame \
                and stale(shown.shown.get(layer.name), layer.done, shown.index, self.state.interpolate):
            self.request()
        elif set(what) & {"running", "error"} and self.bundle is not None:
            self.show_bundle(self.bundle)          # the label says computing / failed / not computed

    def _view_changed(self, what) -> None:
        if self._closed:
            return
        if "view_mode" in what:
            self.set_mode(self.state.view_mode)
        if "gt_opacity" in what:
            for pane in self.panes:
                pane.gt.setOpacity(self.state.gt_opacity)
        if "curve_metric" in what:
            self.show_values()
        if set(what) & {"active", "compare"}:
            self._show_bars()                      # before any frame is painted too
        if "show_ground_truth" in what or "interpolate" in what:
            self._reconfigure()                    # the loader reads the GT map only when shown
        elif self.bundle is not None and set(what) & {"active", "compare", "show_fixations", "marker_style",
                                                      "marker_size", "marker_opacity", "hidden_observers"}:
            self.show_bundle(self.bundle)          # every visible layer's map is in the bundle already

    def _ready(self, bundle) -> None:
        if bundle.index == self.state.frame or self.state.playing:
            self.show_bundle(bundle)
            self._recheck(bundle)

    def _recheck(self, bundle) -> None:
        """Read the frame again when a layer's map arrived while this bundle was being read: that
        layer's progress signal came before the bundle was shown and will not come again (the
        frame stayed a blend, or empty, for good). Not twice for the same reading of the same frame:
        a map that stays unreadable must not make the loader spin."""
        if self.state.playing:
            return
        visible = [l for l in self.state.layers if l.visible]
        if any(stale(bundle.shown.get(l.name), l.done, bundle.index, self.state.interpolate) for l in visible):
            reading = (bundle.index, tuple(repr(bundle.shown.get(l.name)) for l in visible),
                       tuple(int(l.done.sum()) for l in visible))
            if reading != self._last_recheck:
                self._last_recheck = reading
                self.request()

    def _hovered(self, scene_pos) -> None:
        """The values of the shown maps (both panes' layers) and any fixation under the cursor."""
        text = self.readout(scene_pos)
        if text is not None:
            self.hover.emit(text)

    def readout(self, scene_pos) -> str | None:
        bundle = self.bundle
        if bundle is None:
            return None
        for pane in self.panes:
            if not pane.plot.vb.sceneBoundingRect().contains(scene_pos):
                continue
            point = pane.plot.vb.mapSceneToView(scene_pos)
            h, w = bundle.image.shape[:2]
            x, y = int(point.x()), int(point.y())
            if not (0 <= x < w and 0 <= y < h):
                return ""
            parts = [f"x {x + 1}, y {y + 1}"]
            for layer in dict.fromkeys(l for l in self.state.pane_layers()[: len(self.panes)] if l is not None):
                m = bundle.maps.get(layer.name)
                parts.append(f"{layer.name}: {m[y, x] / 255:.2f}" if m is not None else f"{layer.name}: -")
            if bundle.fixations is not None and self.state.gaze is not None:
                xs, ys, obs = bundle.fixations
                near = np.hypot(np.asarray(xs) - 0.5 - point.x(), np.asarray(ys) - 0.5 - point.y()) <= 6
                names = [self.state.gaze.observer_name(int(o)) for o in np.asarray(obs)[near]]
                if names:
                    parts.append("fixation: " + ", ".join(names))
            return "   ".join(parts)
        return None

    # ----------------------------------------------------------------- painting

    def set_mode(self, mode: str) -> None:
        want = 2 if mode == "split" else 1
        if len(self.panes) == want:
            return
        if want == 2:
            pane = Pane(self.graphics.addPlot(row=0, col=2))
            pane.plot.setXLink(self.panes[0].plot)
            pane.plot.setYLink(self.panes[0].plot)
            self.panes.append(pane)
            self.colorbars.append(ColourBar(self.graphics.addPlot(row=0, col=3)))
        else:
            self.graphics.removeItem(self.panes.pop().plot)
            self.graphics.removeItem(self.colorbars.pop().plot)
        self._show_bars()
        for pane in self.panes:
            pane.fitted = True
        if self.bundle is not None:
            self.show_bundle(self.bundle)
            for pane in self.panes:
                pane.fit()

    def show_bundle(self, bundle) -> None:
        if self._closed:
            return
        self.bundle = bundle
        for pane, layer in zip(self.panes, self.state.pane_layers()):
            pane.show(bundle, layer, self.state)
        self._show_bars()
        self.painted += 1

    def reset(self) -> None:
        self.bundle = None
        for pane in self.panes:
            pane._size = None
            pane.bundle = None
            pane.show_label(self.state)
            pane.gt_label.setVisible(False)
            for item in (pane.frame, pane.heat, pane.gt):
                item.clear()
            pane.dots.setData([], [])
            pane.outline.setData([], [])
