"""The AOI tools in the main window: the overlay, the panel, the curves, the background jobs, the
AOI menu and the AOI file opened with each video (`install_aoi`)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QSplitter,
    QTabWidget,
)
from superqt.utils import thread_worker

from salfom_core.aoi.figures import AoiFigures

from .aoi_curves import GAZE_PEN, AoiCurves
from .aoi_jobs import AoiFigureJobs, AoiTracker, geometry_key
from .aoi_layer import AoiOverlay
from .aoi_panel import AoiPanel
from .aoi_state import AoiEditor


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
        if not self.editor.open_for_video(s.video_path, s.n_frames, s.clock):
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
        pens = {"gaze": GAZE_PEN}
        for layer in self.state.layers:      # the colours the metric curves give them
            pens[layer.name] = layer.colour
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
        """The active layer over the video with every AOI's outline, through File > Export >
        Overlay video's exporter (fixations as the view shows them)."""
        from .aoi_layer import draw_outlines

        aois = self.editor.aois.copy()
        return self.window.exporter.overlay(path, decorate=lambda i, image: draw_outlines(image, aois, i + 1))

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
    layers = getattr(window, "layers_dock", None)
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
