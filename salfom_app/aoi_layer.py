"""The areas of interest over the video view: drawn with the mouse, selected, moved, resized.

Painting and the user's hands only: what an AOI is at a frame comes from the editing state
(`aoi_state.AoiEditor`, which asks the core's keyframe interpolation), and every edit made
here goes back to it as a shape at the playhead's frame (a keyframe there).

Coordinates: AOI vertices are in the spec's convention, where the 1-based pixel (r, c) stands
at the point (c, r); the view paints 0-based pixel j over [j, j + 1], so that point is drawn
at (c - 0.5, r - 0.5), as the fixation markers are. `to_view` / `from_view` convert.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsRectItem

from .state import ViewerState

VIEW_OFFSET = 0.5          # a spec point (x, y) is drawn at (x - 0.5, y - 0.5)
MIN_DRAG_PX = 2.0          # a shorter drag is a click, not a shape
CLOSE_PX = 10.0            # a polygon click this near (screen pixels) to its first vertex closes it
TOOLS = ("rect", "ellipse", "polygon")
BOX_HANDLES = [((0, 0), (1, 1)), ((1, 0), (0, 1)), ((0, 1), (1, 0)), ((1, 1), (0, 0)),   # corners
               ((0.5, 0), (0.5, 1)), ((0.5, 1), (0.5, 0)), ((0, 0.5), (1, 0.5)), ((1, 0.5), (0, 0.5))]   # edges


def to_view(vertices) -> np.ndarray:
    return np.asarray(vertices, dtype=np.float64) - VIEW_OFFSET


def from_view(points) -> list[list[float]]:
    """View points to spec vertices, rounded to 1/100 pixel (the file stays readable)."""
    return [[round(float(x) + VIEW_OFFSET, 2), round(float(y) + VIEW_OFFSET, 2)] for x, y in points]


def box_vertices(points) -> list[list[float]]:
    """Two corners in either order -> [top-left, bottom-right] (a handle dragged past the
    opposite corner flips the box; the file always has the spec's order)."""
    (xa, ya), (xb, yb) = points
    return from_view([(min(xa, xb), min(ya, yb)), (max(xa, xb), max(ya, yb))])


# ----------------------------------------------------------------------------- the AOI items


def _add_box_handles(roi: pg.ROI) -> None:
    for pos, centre in BOX_HANDLES:
        roi.addScaleHandle(pos, centre)


class BoxROI(pg.ROI):
    """A rectangle AOI: move by its body, resize by eight handles (no rotation: the spec has none)."""

    def __init__(self, pos, size, **kwargs):
        super().__init__(pos, size, rotatable=False, **kwargs)
        _add_box_handles(self)


class EllipseBoxROI(pg.EllipseROI):
    """An ellipse AOI by its bounding box, handled as the rectangle is."""

    def __init__(self, pos, size, **kwargs):
        super().__init__(pos, size, rotatable=False, **kwargs)

    def _addHandles(self):
        _add_box_handles(self)


class PolygonROI(pg.PolyLineROI):
    """A polygon AOI: vertices move, the body moves; the vertex count never changes here,
    because interpolation between keyframes needs the same count (the spec)."""

    def __init__(self, points, **kwargs):
        super().__init__(points, closed=True, **kwargs)

    def segmentClicked(self, segment, ev=None, pos=None):
        if ev is not None:       # a click on an edge selects the AOI instead of adding a vertex
            self.sigClicked.emit(self, ev)

    def checkRemoveHandle(self, handle):
        return False


def make_roi(shape: str, vertices, colour: str) -> pg.ROI:
    pen = pg.mkPen(colour, width=2)
    points = to_view(vertices)
    if shape == "polygon":
        roi = PolygonROI([tuple(p) for p in points], pen=pen, movable=True)
    else:
        (x0, y0), (x1, y1) = points
        cls = EllipseBoxROI if shape == "ellipse" else BoxROI
        roi = cls((x0, y0), (x1 - x0, y1 - y0), pen=pen, movable=True)
    roi.setAcceptedMouseButtons(Qt.LeftButton)        # clicks select it (sigClicked)
    return roi


def roi_points(roi: pg.ROI) -> list[tuple[float, float]]:
    """The ROI's shape in view coordinates: its two box corners, or its polygon's vertices."""
    if isinstance(roi, PolygonROI):
        return [(p.x(), p.y()) for p in (roi.mapToParent(h.pos()) for h in roi.getHandles())]
    pos, size = roi.pos(), roi.size()
    return [(pos.x(), pos.y()), (pos.x() + size.x(), pos.y() + size.y())]


def roi_vertices(roi: pg.ROI) -> list[list[float]]:
    points = roi_points(roi)
    return from_view(points) if isinstance(roi, PolygonROI) else box_vertices(points)


def set_roi_vertices(roi: pg.ROI, vertices) -> None:
    """Show a shape without any signal (the caller blocks them): the playhead moved."""
    points = to_view(vertices)
    if isinstance(roi, PolygonROI):
        roi.setPos((0, 0), update=False)
        roi.setPoints([tuple(p) for p in points])
        return
    (x0, y0), (x1, y1) = points
    roi.setPos((x0, y0), update=False)
    roi.setSize((x1 - x0, y1 - y0), update=False)
    roi.stateChanged(finish=False)


def outline_path(shape: str, vertices) -> QPainterPath:
    """The AOI's outline in view coordinates (the split view's second pane draws it)."""
    points = to_view(vertices)
    path = QPainterPath()
    if shape == "polygon":
        path.moveTo(*points[0])
        for p in points[1:]:
            path.lineTo(*p)
        path.closeSubpath()
    else:
        rect = QRectF(QPointF(*points[0]), QPointF(*points[1])).normalized()
        if shape == "rect":
            path.addRect(rect)
        else:
            path.addEllipse(rect)
    return path


# ----------------------------------------------------------------------------- drawing a new AOI


class DrawTool(pg.GraphicsObject):
    """Over the whole image while a drawing tool is on: drag a rectangle or ellipse, click a
    polygon's vertices (double-click, a click on the first vertex or Enter closes it; Escape
    cancels). Off, it takes no mouse button, so dragging pans the view."""

    def __init__(self, on_drawn):
        super().__init__()
        self.on_drawn = on_drawn            # (shape, vertices in spec coordinates)
        self.tool: str | None = None
        self.size = (1.0, 1.0)
        self.points: list[tuple[float, float]] = []
        pen = QPen(QColor(255, 255, 255))
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        pen.setStyle(Qt.DashLine)
        self.preview_box = QGraphicsRectItem(self)
        self.preview_ellipse = QGraphicsEllipseItem(self)
        self.preview_path = QGraphicsPathItem(self)
        for item in (self.preview_box, self.preview_ellipse, self.preview_path):
            item.setPen(pen)
            item.setVisible(False)
        self.setZValue(100)
        self.set_tool(None)

    def set_image_size(self, width: int, height: int) -> None:
        self.prepareGeometryChange()
        self.size = (float(width), float(height))

    def set_tool(self, tool: str | None) -> None:
        if tool is not None and tool not in TOOLS:
            raise ValueError(f"a drawing tool is one of {TOOLS}, not {tool!r}")
        self.tool = tool
        self.points = []
        self._hide_previews()
        self.setAcceptedMouseButtons(Qt.LeftButton if tool else Qt.NoButton)
        self.setAcceptHoverEvents(tool == "polygon")
        self.setCursor(Qt.CrossCursor if tool else Qt.ArrowCursor)
        self.setVisible(tool is not None)

    def boundingRect(self) -> QRectF:
        return QRectF(-VIEW_OFFSET, -VIEW_OFFSET, self.size[0], self.size[1])

    def paint(self, painter, *args):
        pass

    def _clamp(self, pos: QPointF) -> tuple[float, float]:
        r = self.boundingRect()
        return min(max(pos.x(), r.left()), r.right()), min(max(pos.y(), r.top()), r.bottom())

    def _hide_previews(self) -> None:
        for item in (self.preview_box, self.preview_ellipse, self.preview_path):
            item.setVisible(False)

    # rectangles and ellipses: one drag
    def mouseDragEvent(self, ev):
        if self.tool not in ("rect", "ellipse") or ev.button() != Qt.LeftButton:
            ev.ignore()
            return
        ev.accept()
        a, b = self._clamp(ev.buttonDownPos()), self._clamp(ev.pos())
        rect = QRectF(QPointF(*a), QPointF(*b)).normalized()
        preview = self.preview_box if self.tool == "rect" else self.preview_ellipse
        preview.setRect(rect)
        preview.setVisible(not ev.isFinish())
        if ev.isFinish():
            tool = self.tool
            self.set_tool(None)
            if rect.width() >= MIN_DRAG_PX and rect.height() >= MIN_DRAG_PX:
                self.on_drawn(tool, box_vertices([a, b]))

    # polygons: one click per vertex
    def mouseClickEvent(self, ev):
        if self.tool != "polygon" or ev.button() != Qt.LeftButton:
            ev.ignore()
            return
        ev.accept()
        point = self._clamp(ev.pos())
        if ev.double() or (len(self.points) >= 3 and self._near_first(ev)):
            self.finish_polygon()
            return
        self.points.append(point)
        self._preview_polygon(point)

    def _near_first(self, ev) -> bool:
        first = self.mapToScene(QPointF(*self.points[0]))
        here = ev.scenePos()
        return float(np.hypot(first.x() - here.x(), first.y() - here.y())) <= CLOSE_PX

    def hoverEvent(self, ev):
        if self.tool == "polygon" and self.points and not ev.isExit():
            self._preview_polygon(self._clamp(ev.pos()))

    def _preview_polygon(self, cursor) -> None:
        path = QPainterPath(QPointF(*self.points[0]))
        for p in self.points[1:] + [cursor]:
            path.lineTo(QPointF(*p))
        self.preview_path.setPath(path)
        self.preview_path.setVisible(True)

    def finish_polygon(self) -> None:
        """Close the polygon being drawn (three vertices at least, else it is dropped)."""
        points = [p for k, p in enumerate(self.points) if k == 0 or p != self.points[k - 1]]
        self.set_tool(None)
        if len(points) >= 3:
            self.on_drawn("polygon", from_view(points))

    def cancel(self) -> None:
        self.set_tool(None)


# ----------------------------------------------------------------------------- the layer


class AoiOverlay(QObject):
    """The AOIs of the open video as items over the view's first pane, kept at the playhead's
    frame; edits made with the mouse become keyframes through the editor."""

    tool_changed = Signal(object)        # the drawing tool now on, or None

    SELECTED_WIDTH = 3.0
    WIDTH = 2.0

    def __init__(self, view, state: ViewerState, editor):
        super().__init__(view)
        self.view = view
        self.state = state
        self.editor = editor
        self.rois: dict[str, pg.ROI] = {}
        self._shown: dict[str, tuple] = {}      # name -> (active, vertices) last put on screen
        self.mirrors: dict[str, QGraphicsPathItem] = {}     # outlines in the split view's right pane
        self._syncing = False
        self.draw_tool = DrawTool(self._drawn)
        self.plot.addItem(self.draw_tool)
        state.frame_changed.connect(lambda _f: self.sync())
        state.video_changed.connect(self._video_changed)
        state.view_changed.connect(lambda what: self._mirror_pane() if "view_mode" in what else None)
        editor.changed.connect(self._aois_changed)
        editor.selection_changed.connect(lambda _name: self._restyle())
        self._video_changed()

    @property
    def plot(self) -> pg.PlotItem:
        return self.view.panes[0].plot

    # ----------------------------------------------------------------- tools

    def set_tool(self, tool: str | None) -> None:
        if self.state.video is None:
            tool = None
        self.draw_tool.set_tool(tool)
        self.tool_changed.emit(tool)

    def _drawn(self, shape: str, vertices) -> None:
        self.tool_changed.emit(None)
        self.editor.add(shape, self.state.frame, vertices)

    # ----------------------------------------------------------------- following the editor and the playhead

    def _video_changed(self) -> None:
        info = self.state.video.info if self.state.video is not None else None
        self.draw_tool.set_image_size(info.width if info else 1, info.height if info else 1)
        self.set_tool(None)
        self._aois_changed(None)

    def _aois_changed(self, names) -> None:
        """Rebuild the items of these AOIs (None: all), drop those deleted, then show the frame."""
        present = set(self.editor.names())
        for name in [n for n in self.rois if n not in present or names is None or n in names]:
            self._remove(name)
        self.sync()

    def _remove(self, name: str) -> None:
        roi = self.rois.pop(name)
        self._shown.pop(name, None)
        self.plot.removeItem(roi)
        mirror = self.mirrors.pop(name, None)
        if mirror is not None and mirror.scene() is not None:
            mirror.scene().removeItem(mirror)

    def _mirror_pane(self) -> None:
        """Split view: the right pane shows every AOI's outline too (editing stays on the left)."""
        for mirror in self.mirrors.values():
            if mirror.scene() is not None:
                mirror.scene().removeItem(mirror)
        self.mirrors = {}
        self._shown = {}                       # everything is drawn again, on both panes
        self.sync()

    def sync(self) -> None:
        """Every AOI as it stands at the playhead: shown where active (the selected one also
        where inactive, dashed, so that it can be brought back by an edit)."""
        frame = self.state.frame
        self._syncing = True
        try:
            for name in self.editor.names():
                active, vertices = self.editor.shape_at(name, frame)
                selected = name == self.editor.selected
                visible = vertices is not None and (active or selected)
                roi = self.rois.get(name)
                if roi is None:
                    if not visible:
                        continue
                    roi = self._create(name, vertices)
                shown = (active, None if vertices is None else tuple(map(tuple, vertices)))
                if visible and self._shown.get(name) != shown:
                    set_roi_vertices(roi, vertices)
                    self._shown[name] = shown
                    self._style(name, roi)
                roi.setVisible(visible)
                self._mirror(name, vertices if visible else None, active)
        finally:
            self._syncing = False

    def _create(self, name: str, vertices) -> pg.ROI:
        roi = make_roi(self.editor.shape_kind(name), vertices, self.editor.colour(name))
        roi.setZValue(20)
        roi.sigRegionChangeFinished.connect(lambda r, name=name: self._edited(name, r))
        roi.sigClicked.connect(lambda _r, _ev, name=name: self.editor.select(name))
        roi.sigRegionChangeStarted.connect(lambda _r, name=name: self.editor.select(name))
        self.plot.addItem(roi)
        self.rois[name] = roi
        self._style(name, roi)
        return roi

    def _mirror(self, name: str, vertices, active: bool) -> None:
        if len(self.view.panes) < 2:
            return
        mirror = self.mirrors.get(name)
        if mirror is None:
            mirror = self.mirrors[name] = QGraphicsPathItem()
            mirror.setZValue(20)
            self.view.panes[1].plot.addItem(mirror)
        mirror.setVisible(vertices is not None)
        if vertices is not None:
            mirror.setPath(outline_path(self.editor.shape_kind(name), vertices))
            pen = QPen(QColor(self.editor.colour(name)))
            pen.setCosmetic(True)
            pen.setWidthF(self.WIDTH)
            pen.setStyle(Qt.SolidLine if active else Qt.DashLine)
            mirror.setPen(pen)

    def _restyle(self) -> None:
        self.sync()                 # the selected AOI shows even where it is inactive
        for name, roi in self.rois.items():
            self._style(name, roi)

    def _style(self, name: str, roi: pg.ROI) -> None:
        selected = name == self.editor.selected
        active = self._shown.get(name, (True,))[0]
        pen = pg.mkPen(self.editor.colour(name), width=self.SELECTED_WIDTH if selected else self.WIDTH,
                       style=Qt.SolidLine if active else Qt.DashLine)
        roi.setPen(pen)
        if isinstance(roi, PolygonROI):
            for segment in roi.segments:
                segment.setPen(pen)
        for handle in roi.getHandles():
            handle.setVisible(selected)      # handles of the selected AOI only: no clutter, no stray grabs

    def _edited(self, name: str, roi: pg.ROI) -> None:
        if self._syncing or name not in self.editor.names():
            return
        vertices = roi_vertices(roi)
        self._shown[name] = (True, tuple(map(tuple, vertices)))
        self.editor.set_shape(name, self.state.frame, vertices)

    # ----------------------------------------------------------------- for tests and the bench

    def item_vertices(self, name: str) -> list[list[float]] | None:
        """The shape on screen (spec coordinates), as the item stands: None when hidden."""
        roi = self.rois.get(name)
        return roi_vertices(roi) if roi is not None and roi.isVisible() else None


# ----------------------------------------------------------------------------- outlines in exported frames


def draw_outlines(image: np.ndarray, aois, frame: int, thickness: int = 2) -> np.ndarray:
    """`image` (RGB uint8, the video's size) with the outline of every AOI active at `frame`
    (1-based) drawn in its colour: what the overlay video export adds. The spec's point (x, y)
    is the 0-based array position (x - 1, y - 1)."""
    import cv2

    out = np.ascontiguousarray(image).copy()
    shift = 4                                   # cv2's fixed point: sub-pixel vertices
    scale = 1 << shift
    for aoi in aois:
        vertices = aoi.vertices_at(frame)
        if vertices is None:
            continue
        colour = tuple(int(aoi.color[k:k + 2], 16) for k in (1, 3, 5))
        v = (np.asarray(vertices, dtype=np.float64) - 1.0) * scale
        if aoi.shape == "polygon":
            cv2.polylines(out, [np.round(v).astype(np.int32)], True, colour, thickness, cv2.LINE_AA, shift)
        elif aoi.shape == "rect":
            (x0, y0), (x1, y1) = np.round(v).astype(np.int32)
            cv2.rectangle(out, (int(x0), int(y0)), (int(x1), int(y1)), colour, thickness, cv2.LINE_AA, shift)
        else:
            centre = np.round(v.mean(axis=0)).astype(np.int32)
            axes = np.round(np.abs(v[1] - v[0]) / 2).astype(np.int32)
            cv2.ellipse(out, (int(centre[0]), int(centre[1])), (int(axes[0]), int(axes[1])), 0, 0, 360, colour,
                        thickness, cv2.LINE_AA, shift)
    return out
