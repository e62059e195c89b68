"""Viewer responsiveness, offscreen. Prints one JSON line per figure.

1. scrub: random seeks on a 640x360 video; time from the seek to the frame (with its heatmap
   and fixations) painted by the GUI thread. Target: 30 ms.
2. stall: while SalFoM inference runs in the background, a 5 ms timer on the GUI thread
   records the longest gap between its ticks. Target: under 50 ms.

Uses ../shared/data/dhf1k_0002 when present (real video and gaze), else a synthetic clip.
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

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def test_video(tmp: Path) -> tuple[Path, str]:
    real = ROOT.parent / "shared" / "data" / "dhf1k_0002" / "0002.avi"
    if real.exists():
        return real, "dhf1k_0002 (real, 640x360, 783 frames, with 12 observers' gaze)"
    from helpers import make_video
    return make_video(tmp / "synthetic.mp4", n_frames=300, size=(640, 360), fps=30), "synthetic 640x360, 300 frames"


def wait(app, condition, timeout_s=600):
    deadline = time.monotonic() + timeout_s
    while not condition():
        app.processEvents()
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.0005)


def main():
    import torch

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
    n = window.state.n_frames
    rng = np.random.default_rng(0)
    latencies = []
    for frame in rng.integers(0, n, 100):
        frame = int(frame)
        if frame == window.state.frame:
            continue
        before = window.view.painted
        t0 = time.perf_counter()
        window.seek(frame)
        wait(app, lambda: window.view.painted > before and window.view.bundle.index == frame)
        latencies.append((time.perf_counter() - t0) * 1e3)
    lat = np.array(latencies)
    print(json.dumps({"bench": "app_scrub_latency", "video": label, "seeks": len(lat),
                      "median_ms": round(float(np.median(lat)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
                      "max_ms": round(float(lat.max()), 1), "target_ms": 30, "layers": len(window.state.layers),
                      "cores": os.cpu_count()}), flush=True)

    # a SalFoM layer (salfom_tiny with random weights: the GUI cost does not depend on the weights)
    torch.manual_seed(0)
    checkpoint = tmp / "tiny.pt"
    save_checkpoint(checkpoint, create_model("salfom_tiny"))
    gaps, last = [], QElapsedTimer()
    last.start()

    def tick():
        gaps.append(last.restart())

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    window.load_checkpoint(checkpoint)
    timer.start()
    t0 = time.monotonic()
    seek_every = 0.5
    next_seek = t0 + seek_every
    while time.monotonic() - t0 < 20 and window._inference:
        app.processEvents()
        if time.monotonic() > next_seek:           # the user scrubs while it computes
            window.seek(int(rng.integers(0, n)))
            next_seek += seek_every
        time.sleep(0.001)
    timer.stop()
    layer = next(l for l in window.state.layers if l.kind == "salfom")
    g = np.array(gaps[1:], dtype=float)
    print(json.dumps({"bench": "app_gui_stall_during_inference", "video": label, "seconds": 20,
                      "frames_computed": int(layer.done.sum()), "timer_ms": 5,
                      "max_gap_ms": float(g.max()), "p99_gap_ms": float(np.percentile(g, 99)),
                      "target_ms": 50, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads()}), flush=True)
    window.close()


if __name__ == "__main__":
    main()
