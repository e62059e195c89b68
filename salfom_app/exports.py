"""File > Export: the overlay video, the current frame, the per-frame metrics and their plot.

Every export runs off the GUI thread and writes atomically; `message` says when and where a
file is done, `error(title, text)` when it failed. Choosing the path is the window's job.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget
from superqt.utils import thread_worker

from salfom_core.evaluation.metrics import METRICS
from salfom_core.io.atomic import atomic_write_bytes, atomic_write_text

from .state import METRIC_LABELS, ViewerState
from .workers import close_on_abort, export_worker


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

    def default_folder(self) -> Path:
        """A new folder beside the video: exports never write over inputs."""
        video = self.state.video_path
        return (video.parent if video else Path.home()) / f"{video.stem if video else 'salfom'}_salfom_export"

    # ----------------------------------------------------------------- overlay video

    def overlay(self, path, decorate=None) -> object | None:
        """Write the active layer over the video to an MP4 in the background, with progress; a
        hidden (or no) layer leaves the frames bare. `decorate(i, image)` draws more on frame i
        (the AOI outlines)."""
        s = self.state
        layer = s.active
        if s.video is None or (layer is None and decorate is None):
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
        shown = layer is not None and layer.visible
        read = layer.read if shown else (lambda _i: None)
        colormap, opacity, threshold = (layer.colormap, layer.opacity, layer.threshold) if shown else ("jet", 0.5, 0.0)
        worker = close_on_abort(export_worker(s.video_path, read, path, colormap, opacity, threshold, gaze=gaze,
                                              marker_style=s.marker_style, marker_size=s.marker_size,
                                              decorate=decorate, _ignore_errors=True))
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

    def frame(self, path):
        """The current frame as painted (frame, heatmap; both panes in split view)."""
        from salfom_core.io.export import write_png

        image = self.view.composite()
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
