"""Viewer responsiveness, offscreen, driven through the real timeline slider (mouse events).
Prints one JSON line per figure.

1. slider_seek_ms: from the start of a slider drag to the target frame painted (frame, heatmap
   and fixations), centre-bias layer computed. Median and p95 over 100 drags. Target: 30 ms.
2. gui_stall_ms: while SalFoM (tiny, random weights: the GUI cost does not depend on them)
   computes and the user drags the slider twice a second, a 5 ms timer on the GUI thread
   records the longest gap between its ticks. Target: max under 50 ms.
3. drag_to_map_ms: from dragging the slider to a frame at least 600 frames away that SalFoM
   (tiny) has not computed, until that frame's map is painted. Median over 5 drags. Target:
   under 2 s on a 2-core CPU.

Uses ../shared/data/dhf1k_0002 when present (real 640x360 video, 783 frames, gaze), else a
synthetic clip (then drag_to_map_ms uses the longest distance the clip allows).
"""
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from common import wait_for


def test_video(tmp: Path) -> tuple[Path, str]:
    real = ROOT.parent / "shared" / "data" / "dhf1k_0002" / "0002.avi"
    if real.exists():
        return real, "dhf1k_0002 (real, 640x360, 783 frames, 12 observers' gaze)"
    from helpers import make_video
    return make_video(tmp / "synthetic.mp4", n_frames=700, size=(640, 360), fps=30), "synthetic 640x360, 700 frames"


def wait(app, condition, timeout_s=600):
    wait_for(app, condition, timeout_s)


def painted(window, frame: int, layer_name: str | None = None) -> bool:
    bundle = window.view.bundle
    return bundle is not None and bundle.index == frame and (layer_name is None or
                                                             bundle.maps.get(layer_name) is not None)


def emit(**figure) -> None:
    figure["cores"] = os.cpu_count()
    print(json.dumps(figure), flush=True)


def main():
    import torch

    from qt_helpers import drag_slider
    from salfom_app.main import configure_threads
    from salfom_app.window import MainWindow
    from salfom_core import create_model, save_checkpoint

    configure_threads()          # as salfom-app does
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    video, label = test_video(tmp)
    window = MainWindow(cache_dir=str(tmp / "cache"), settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat))
    window.resize(1280, 860)
    window.show()
    window.open_video(video)
    wait(app, lambda: not window.busy())
    slider = window.timeline.slider
    n = window.state.n_frames
    rng = np.random.default_rng(0)

    latencies = []
    for frame in rng.integers(0, n, 100):
        frame = int(frame)
        if frame == window.state.frame:
            continue
        t0 = time.perf_counter()
        drag_slider(slider, frame)
        landed = window.state.frame            # a pixel may hold several frames of a long clip
        wait(app, lambda: painted(window, landed), timeout_s=30)
        latencies.append((time.perf_counter() - t0) * 1e3)
    lat = np.array(latencies)
    emit(figure="slider_seek_ms", load_average=round(os.getloadavg()[0], 1), video=label, drags=len(lat), median=round(float(np.median(lat)), 1),
         p95=round(float(np.percentile(lat, 95)), 1), max=round(float(lat.max()), 1), target=30,
         layers=len(window.state.layers))

    torch.manual_seed(0)
    checkpoint = tmp / "tiny.pt"
    save_checkpoint(checkpoint, create_model("salfom_tiny"))
    drag_slider(slider, 0)
    wait(app, lambda: painted(window, window.state.frame), timeout_s=30)

    # 3 first (its drags must land on frames not yet computed), then 2 while it goes on computing
    window.load_checkpoint(checkpoint)
    layer = next(l for l in window.state.layers if l.kind == "salfom")
    window.state.set_active(layer)
    wait(app, lambda: layer.done.any())
    far = min(600, n - 100)
    targets = [700, 90, 760, 150, 775] if n >= 783 else [far, 10, far + 50, 40, far + 80]
    times, skipped, blends = [], 0, 0
    for target in targets:
        if layer.done[max(0, target - 3):target + 4].any() or abs(target - window.state.frame) < far:
            skipped += 1
            continue
        t0 = time.perf_counter()
        drag_slider(slider, target)
        landed = window.state.frame
        wait(app, lambda: painted(window, landed, layer.name), timeout_s=120)
        times.append((time.perf_counter() - t0) * 1e3)
        blends += window.view.bundle.shown.get(layer.name) != "exact"
    emit(figure="drag_to_map_ms", video=label, drags=len(times), skipped=skipped, min_distance=far,
         painted_as_blend=blends,      # coarse-to-fine: a blend of the nearest computed frames comes first
         median=round(float(np.median(times)), 1), max=round(float(max(times)), 1), target=2000,
         torch_threads=torch.get_num_threads())

    gaps, last = [], QElapsedTimer()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: gaps.append(last.restart()))
    last.start()
    timer.start()
    t0 = time.monotonic()
    next_drag = t0 + 0.5
    drag_calls, events_calls = [], []          # where GUI time goes: the drags, or the event handlers
    while time.monotonic() - t0 < 20 and window.session.inference.busy:
        t = time.perf_counter()
        app.processEvents()
        events_calls.append(time.perf_counter() - t)
        if time.monotonic() > next_drag:           # the user scrubs while it computes
            t = time.perf_counter()
            drag_slider(slider, int(rng.integers(0, n)))
            drag_calls.append(time.perf_counter() - t)
            next_drag += 0.5
        time.sleep(0.001)
    timer.stop()
    g = np.array(gaps[1:], dtype=float)
    emit(figure="gui_stall_ms", video=label, seconds=20, frames_computed=int(layer.done.sum()), timer_ms=5,
         max=float(g.max()), p99=float(np.percentile(g, 99)), target=50, torch_threads=torch.get_num_threads(),
         longest_drag_call_ms=round(1e3 * max(drag_calls, default=0), 1),
         longest_event_processing_ms=round(1e3 * max(events_calls, default=0), 1),
         load_average=round(os.getloadavg()[0], 1))
    window.close()


if __name__ == "__main__":
    main()
