"""The AOI tools of the viewer, offscreen, driven by mouse events on the real view. Prints one
JSON line per figure.

1. aoi_first_figures_s: from opening clip 0002 (its AOI file beside it: the 4 AOIs of
   bench/aoi.py; the 12 observers' gaze; TinyHD's maps and the centre bias as layers) until
   every AOI's figures are in the panel (the centre bias is computed meanwhile, and the
   app's metric curves compete for the CPU).
2. aoi_edit_to_curve_ms: the user drags the "fly" AOI (at frame 200, between two keyframes) by a
   few pixels; from the mouse release to the AOI's share curves painted with the new figures
   (gaze and both models over all 783 frames, computed in the background). Median and max over
   12 drags. Target: 300 ms.

Needs ../shared/data/dhf1k_0002 (skips otherwise). The clip and its gaze are linked into a
temporary folder, so the AOI file is written there, never beside the shared clip.

    python bench/aoi_app.py [--drags 12]
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from common import wait_for

CLIP = ROOT.parent / "shared" / "data" / "dhf1k_0002"
TARGET_MS = 300


def emit(**figure) -> None:
    figure["cores"] = os.cpu_count()
    figure["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(figure), flush=True)


def wait(app, condition, timeout_s=300):
    wait_for(app, condition, timeout_s)


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)


def drag_item(app, window, start: QPoint, end: QPoint, steps: int = 6) -> None:
    """Press, move with the button held (12 ms apart: pyqtgraph drops closer moves), release."""
    viewport = window.view.graphics.viewport()

    def send(kind, point, buttons):
        button = Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton
        QApplication.sendEvent(viewport, QMouseEvent(kind, QPointF(point), QPointF(viewport.mapToGlobal(point)),
                                                     button, buttons, Qt.NoModifier))

    send(QEvent.MouseButtonPress, start, Qt.LeftButton)
    for k in range(1, steps + 1):
        send(QEvent.MouseMove, QPoint(start.x() + (end.x() - start.x()) * k // steps,
                                      start.y() + (end.y() - start.y()) * k // steps), Qt.LeftButton)
        pump(app, 0.012)
    send(QEvent.MouseButtonRelease, end, Qt.NoButton)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drags", type=int, default=12)
    args = parser.parse_args()
    if not (CLIP / "gaze").is_dir() or not (CLIP / "maps_tinyhd").is_dir():
        emit(figure="aoi_edit_to_curve_ms", skipped=f"{CLIP} lacks gaze/ or maps_tinyhd/")
        return
    from aoi import AOIS              # the 4 AOIs that bench/aoi.py times `salfom aoi` with

    from salfom_app.aoi_jobs import geometry_key
    from salfom_app.main import configure_threads
    from salfom_app.window import MainWindow

    configure_threads()
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="salfom_bench_aoi_app_"))
    (tmp / "0002.avi").symlink_to(CLIP / "0002.avi")
    (tmp / "gaze").symlink_to(CLIP / "gaze")                 # found beside the video, as a user keeps it
    (tmp / "0002.aois.json").write_text(json.dumps(AOIS))
    window = MainWindow(cache_dir=str(tmp / "cache"), settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat))
    window.resize(1280, 860)
    window.show()
    tools = window.aoi
    t0 = time.perf_counter()
    window.open_video(tmp / "0002.avi")
    window.add_map_folder(CLIP / "maps_tinyhd")
    wait(app, lambda: not window.session.inference.busy and not tools.jobs.busy)
    first_s = time.perf_counter() - t0
    wait(app, lambda: not window.busy())            # the metric curves too: nothing else computes during the drags
    sources = [key[0] if key[0] == "gaze" else key[2] for key, _what in tools.jobs.sources()]
    emit(figure="aoi_first_figures_s", video="dhf1k_0002 (640x360, 783 frames)", aois=len(tools.editor.names()),
         sources=sources, seconds=round(first_s, 2))

    tools.editor.select("fly")
    window.seek(199)                                        # frame 200: between the keyframes at 101 and 301
    wait(app, lambda: window.view.bundle is not None and window.view.bundle.index == 199)
    pump(app, 0.3)
    vb = window.view.panes[0].plot.vb
    times, computing = [], []
    for k in range(args.drags):
        x, y = np.mean(tools.editor.shape_at("fly", 199)[1], axis=0)
        start = window.view.graphics.mapFromScene(vb.mapViewToScene(QPointF(x - 0.5, y - 0.5)))
        step = (8 + k) * (1 if k % 2 == 0 else -1)          # back and forth, never twice to one shape (that is cached)
        drag_item(app, window, start, QPoint(start.x() + step, start.y() + step // 2))
        released = time.perf_counter()
        wanted = ("fly", geometry_key(tools.editor.get("fly")))
        wait(app, lambda: tools.curves.shown_key == wanted, timeout_s=60)
        app.processEvents()                                 # the repaint the new data asked for
        times.append((time.perf_counter() - released) * 1e3)
        computing.append(tools.jobs.last_compute_s * 1e3)
        pump(app, 0.1)
    keyframes = [k.frame for k in tools.editor.get("fly").keyframes]
    emit(figure="aoi_edit_to_curve_ms", video="dhf1k_0002 (640x360, 783 frames)", drags=len(times),
         median=round(float(np.median(times)), 1), max=round(float(np.max(times)), 1), target=TARGET_MS,
         figures_in_worker_ms_median=round(float(np.median(computing)), 1), sources=sources,
         fly_keyframes=keyframes)
    window.close()


if __name__ == "__main__":
    main()
