"""File > Export: the overlay video, the current frame, the per-frame metrics and their plot.

Every export runs off the GUI thread and writes atomically; `message` says when and where a
file is done, `error(title, text)` when it failed. Choosing the path is the window's job.

The frame and the overlay video describe themselves: the layer's name, the frame number and the
colour bar are burned into a band under each pane (`salfom_core.io.overlay.caption_band`; File >
Export's checkable entries choose them, remembered in the settings). They show what the view
shows: both panes side by side in split view, and the observers the legend hides stay hidden.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget
from superqt.utils import thread_worker

from salfom_core.evaluation.metrics import METRICS
from salfom_core.io.atomic import atomic_write_bytes, atomic_write_text
from salfom_core.io.export import ALL_CAPTIONS, Captions, ExportPane

from .interpolated import EXACT, DisplayReader, is_blend
from .state import METRIC_LABELS, Layer, ViewerState
from .workers import close_on_abort, export_worker

CAPTIONS_KEY = "export/captions"      # settings: "name,frame,colorbar" (the default), or fewer, or "none"


class Exporter(QObject):
    message = Signal(str)
    error = Signal(str, str)

    def __init__(self, state: ViewerState, view, parent: QWidget):
        super().__init__(parent)
        self.state = state
        self.view = view
        self.parent_widget = parent
        self.overlay_job = None
        self._background: list = []
        self.settings = getattr(parent, "settings", None)

    # ----------------------------------------------------------------- what the exports show

    @property
    def captions(self) -> Captions:
        """The captions burned into PNG and MP4 exports: all of them until the user unticks some."""
        stored = self.settings.value(CAPTIONS_KEY) if self.settings is not None else None
        try:
            return Captions.parse(str(stored)) if stored is not None else ALL_CAPTIONS
        except ValueError:                 # a settings file edited by hand: the default, not a crash
            return ALL_CAPTIONS

    def set_captions(self, **which: bool) -> Captions:
        """Turn captions on or off (name=, frame=, colour_bar=); remembered in the settings."""
        captions = dataclasses.replace(self.captions, **which)
        words = [w for w, on in zip(Captions.NAMES, (captions.name, captions.frame, captions.colour_bar)) if on]
        if self.settings is not None:
            self.settings.setValue(CAPTIONS_KEY, ",".join(words) or "none")
        return captions

    def panes(self) -> list[ExportPane]:
        """The shown panes as the exports draw them (maps as the view reads them: blends included)."""
        return [export_pane(layer, self.state.interpolate) for layer in self.state.pane_layers()]

    def default_folder(self) -> Path:
        """A new folder beside the video: exports never write over inputs."""
        video = self.state.video_path
        return (video.parent if video else Path.home()) / f"{video.stem if video else 'salfom'}_salfom_export"

    # ----------------------------------------------------------------- overlay video

    def overlay(self, path, decorate=None) -> object | None:
        """Write the shown panes over the video to an MP4 in the background, with progress: the
        active layer (both layers side by side in split view) with its captions; a hidden (or no)
        layer leaves the frames bare. `decorate(i, image)` draws more on frame i in each pane (the
        AOI outlines)."""
        s = self.state
        if s.video is None or (s.active is None and decorate is None):
            self.error.emit("Nothing to export", "No prediction layer.")
            return None
        if self.overlay_job is not None:
            self.error.emit("Export running", "Wait for the running export, or cancel it.")
            return None
        path = Path(path)
        if s.video_path is not None and path.resolve() == s.video_path.resolve():
            self.error.emit("Export refused", f"{path} is the open video; choose a new file.")
            return None
        dialog = QProgressDialog(f"Writing {path.name}...", "Cancel", 0, s.n_frames, self.parent_widget)
        dialog.setWindowModality(Qt.NonModal)
        dialog.setMinimumDuration(0)
        gaze = s.gaze if s.show_fixations else None          # the fixations as the view shows them
        worker = close_on_abort(export_worker(s.video_path, self.panes(), path, self.captions, gaze=gaze,
                                              hidden_observers=s.hidden_observers, marker_style=s.marker_style,
                                              marker_size=s.marker_size, decorate=decorate, _ignore_errors=True))
        worker.yielded.connect(lambda p: dialog.setValue(p[0]))
        dialog.canceled.connect(worker.quit)
        worker.errored.connect(lambda exc: self.error.emit("Export failed", f"{path}: {exc}"))

        def done():
            dialog.reset()
            self.overlay_job = None
            if path.exists():
                self.message.emit(f"Export done: {path}")

        worker.finished.connect(done)
        self.overlay_job = worker
        worker.start()
        return worker

    # ----------------------------------------------------------------- frame, table, plot

    def frame_image(self) -> np.ndarray | None:
        """The current frame as painted (frame, heatmap, the shown observers' fixations; both panes
        side by side in split view), with its captions; None before a frame is shown."""
        from salfom_core.io.export import compose_frame

        bundle = getattr(self.view, "bundle", None)
        if bundle is None:
            return None
        s = self.state
        layers = self.state.pane_layers()
        maps = [(bundle.maps.get(l.name), not is_blend(bundle.shown.get(l.name))) if l is not None else (None, False)
                for l in layers]
        fixations = s.shown_fixations(bundle.fixations) if s.show_fixations else None
        return compose_frame(bundle.image, bundle.index, s.n_frames, self.panes(), maps, self.captions, fixations,
                             s.marker_style, s.marker_size)

    def frame(self, path):
        """The current frame as painted (`frame_image`), to a PNG."""
        from salfom_core.io.export import write_png

        image = self.frame_image()
        if image is None:
            self.error.emit("Nothing to export", "No frame is shown yet.")
            return None
        return self._in_background(lambda: write_png(Path(path), image), f"Frame saved: {path}")

    def metrics_table(self) -> str:
        """Per-frame metrics of every layer as CSV text (the values the curves and table show)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["layer", "frame", *METRICS])
        for layer in self.state.layers:
            if not layer.metrics:
                continue
            for i in range(layer.n_frames):
                values = [layer.metrics.get(m, np.full(layer.n_frames, np.nan))[i] for m in METRICS]
                if not all(math.isnan(v) for v in values):
                    writer.writerow([layer.name, i + 1, *("" if math.isnan(v) else f"{v:.6f}" for v in values)])
        return out.getvalue()

    def metrics_csv(self, path):
        text = self.metrics_table()
        return self._in_background(lambda: atomic_write_text(path, text), f"Metrics saved: {path}")

    def plot(self, path):
        metric = self.state.curve_metric
        shown = [l for l in self.state.layers if metric in l.metrics]
        series = {l.name: l.metrics[metric].copy() for l in shown}
        colours = {l.name: l.colour for l in shown}           # the app's curve colours
        video = self.state.video_path.name if self.state.video_path else ""
        title = f"{METRIC_LABELS[metric]} per frame - {video}"
        return self._in_background(lambda: atomic_write_bytes(path, render_plot(series, metric, title, colours)),
                                   f"Plot saved: {path}")

    def _in_background(self, fn, message: str):
        worker = thread_worker(fn, start_thread=False, ignore_errors=True)()
        worker.returned.connect(lambda _r: self.message.emit(message))
        worker.errored.connect(lambda exc: self.error.emit("Export failed", str(exc)))
        worker.finished.connect(lambda w=worker: self._background.remove(w) if w in self._background else None)
        self._background.append(worker)
        worker.start()
        return worker

    def workers(self) -> list:
        return [w for w in [self.overlay_job, *self._background] if w is not None]


def export_pane(layer: Layer | None, interpolate: bool = True) -> ExportPane:
    """A layer as an export draws it: its maps as the view reads them (the exact map, else a
    blend when interpolation is on, marked so in the caption), its style and name; a hidden
    layer (or none) draws the bare frame."""
    if layer is None:
        return ExportPane(shows_map=False)
    if not layer.visible:
        return ExportPane(name=layer.name, shows_map=False)
    reader = DisplayReader(layer.read, layer.done, interpolate)

    def read(i: int) -> tuple[np.ndarray | None, bool]:
        saliency, shown = reader(i)
        return saliency, shown == EXACT

    return ExportPane(read, layer.name, layer.colormap, layer.opacity, layer.threshold)


def render_plot(series: dict[str, np.ndarray], metric: str, title: str,
                colours: dict[str, tuple[int, int, int]] | None = None) -> bytes:
    """PNG bytes of the per-frame curves (matplotlib, Agg: safe off the GUI thread), each curve in
    its layer's colour from `colours` (RGB 0-255) when given: the app's colours."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.5), dpi=120)
    ax = fig.add_subplot()
    for name, values in series.items():
        mean = np.nanmean(values) if np.isfinite(values).any() else math.nan
        rgb = (colours or {}).get(name)
        ax.plot(np.arange(1, len(values) + 1), values, label=f"{name} (mean {mean:.3f})",
                color=None if rgb is None else tuple(c / 255 for c in rgb))
    ax.set_xlabel("frame")
    ax.set_ylabel(METRIC_LABELS[metric])
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")   # beside the data, never on it
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
