"""A 20-minute video through the prediction pipeline and its cache. One JSON line per figure.

    python bench/long_video.py [--minutes 20] [--fps 30] [--hd-seconds 10] [--models null,center-bias]
                               [--no-old] [--no-app] [--no-long]

The videos are synthetic H.264 (a moving texture) made in a temporary folder: a whole
`--minutes` clip at 320x180, and a `--hd-seconds` clip at 1920x1080 whose figures are also
given extrapolated to `--minutes` (time and cache bytes grow with the frames; the peak memory
does not: the 320x180 run shows it on the whole length). Models: `null`, a 16-frame, 224-pixel
model that answers zeros at once (SalFoM's windows and map size: the run is about the decode,
the pipeline and the cache), and `center-bias` (no decoding: the cache alone).

Figures, each run in its own process (its peak RSS is its own):
- `predict`: a fresh cache entry filled (`open_store` + `predict_video`, what `salfom predict`
  does before writing PNGs): seconds, peak RSS, the entry's bytes on disk, bytes per frame,
  its map form, and `old_cache_bytes` = frames x W x H (the 8-bit maps the cache kept before).
  `code`: `new` (this tree) or `old` (HEAD's salfom_core, run from a `git archive` copy, on the
  1080p clip; at 320x180 the old size is `old_cache_bytes`, and a 224x224 model keeps the same
  8-bit maps there as before).
- `read_1080p_map_ms`: `PredictionStore.read` of a map of the 1080p entry (post-processed on
  reading): a map not read before, and one read again (the two sides of a blend).
- `app`: the viewer's RSS (offscreen) after opening the long clip and computing its
  centre-bias layer, and after 20 seeks.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_video(path: Path, size: tuple[int, int], frames: int, fps: int) -> Path:
    """H.264, a noise texture drifting one pixel a frame over a slow grey ramp."""
    import av

    w, h = size
    texture = np.random.default_rng(0).integers(0, 60, (h, w + 256), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "60"}
        for k in range(frames):
            grey = texture[:, k % 256:k % 256 + w] + np.uint8(80 + 60 * np.sin(k / 90))
            frame = av.VideoFrame.from_ndarray(np.repeat(grey[:, :, None], 3, axis=2), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)      # KiB on Linux


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def entry_bytes(folder: Path) -> tuple[int, int]:
    """(logical bytes, bytes allocated on disk) of the files in a cache entry."""
    files = [p for p in folder.iterdir() if p.is_file()]
    return sum(p.stat().st_size for p in files), sum(p.stat().st_blocks * 512 for p in files)


# --------------------------------------------------------------------------- children


class NullModel:
    """SalFoM's shape of work for the pipeline (16-frame windows of 224x224, 224x224 maps), none
    of its compute: zeros at once."""

    window, input_size, key = 16, 224, "null-224"

    def predict(self, clips):
        return np.zeros((clips.shape[0], 224, 224), np.float32)


def child_predict(video: Path, model: str, cache: Path) -> dict:
    from salfom_core.inference.engine import CenterBiasPredictor, EngineSettings, predict_video
    from salfom_core.inference.predict import open_store
    from salfom_core.io.video import open_video

    predictor = NullModel() if model == "null" else CenterBiasPredictor()
    settings = EngineSettings()
    t = time.perf_counter()
    with open_video(video) as source:
        store = open_store(source, video, predictor, settings, cache, video_key=f"bench:{time.time_ns()}")
        assert predict_video(source, predictor, store, settings)
        n, w, h = len(source), source.info.width, source.info.height
    seconds = time.perf_counter() - t
    logical, allocated = entry_bytes(store.folder)
    form = getattr(store, "form", None)
    out = {"frames": n, "seconds": round(seconds, 1), "fps": round(n / seconds, 1), "peak_rss_mb": peak_rss_mb(),
           "cache_bytes": logical, "cache_bytes_allocated": allocated,
           "cache_bytes_per_frame": round(logical / n), "form": form.kind if form else "video-u8 (before forms)",
           "old_cache_bytes": n * w * h}
    if model == "null" and (w, h) == (1920, 1080):
        out["read"] = read_times(store)
    return out


def read_times(store) -> dict:
    """ms of `store.read` of maps not read before (post-processing at the video's size), and of
    one read again; medians."""
    fresh, again = [], []
    for i in range(0, min(len(store.done), 400), 7):
        t = time.perf_counter()
        store.read(i)
        fresh.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.read(i)
        again.append(time.perf_counter() - t)
    return {"first_read_ms_median": round(1e3 * float(np.median(fresh)), 2),
            "first_read_ms_p95": round(1e3 * float(np.percentile(fresh, 95)), 2),
            "read_again_ms_median": round(1e3 * float(np.median(again)), 2), "reads": len(fresh)}


def child_app(video: Path, cache: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "tests"))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from qt_helpers import drag_slider
    from salfom_app.main import configure_threads
    from salfom_app.window import MainWindow

    configure_threads()
    app = QApplication.instance() or QApplication([])
    cache.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    window = MainWindow(cache_dir=str(cache), settings=QSettings(str(cache / "s.ini"), QSettings.IniFormat))
    window.resize(1280, 860)
    window.show()
    window.open_video(video)
    deadline = time.monotonic() + 1800
    while window.busy() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)
    opened_s = time.perf_counter() - t
    rss_open = current_rss_mb()
    n = window.state.n_frames
    def painted() -> bool:
        bundle = window.view.bundle
        return bundle is not None and bundle.index == window.state.frame

    for frame in np.random.default_rng(0).integers(0, n, 20):
        drag_slider(window.timeline.slider, int(frame))
        until = time.monotonic() + 10
        while not painted() and time.monotonic() < until:
            app.processEvents()
            time.sleep(0.001)
    out = {"frames": n, "open_and_compute_s": round(opened_s, 1), "rss_mb_after_open": rss_open,
           "rss_mb_after_seeks": current_rss_mb(), "peak_rss_mb": peak_rss_mb(),
           "layers": [layer.name for layer in window.state.layers],
           "computed": [int(layer.done.sum()) for layer in window.state.layers]}
    window.close()
    return out


# --------------------------------------------------------------------------- parent


def run_child(args: list[str], old_root: Path | None = None) -> dict:
    env = dict(os.environ)
    if old_root is not None:       # HEAD's salfom_core ahead of this tree's
        env["PYTHONPATH"] = os.pathsep.join([str(old_root), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env,
                          cwd=old_root or ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def old_code(tmp: Path) -> Path:
    """HEAD's salfom_core in a folder of its own (read-only git: archive, no checkout)."""
    target = tmp / "old"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD", "salfom_core"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def emit(**figure) -> None:
    figure.update(cores=os.cpu_count(), load_average=round(os.getloadavg()[0], 1))
    print(json.dumps(figure), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--hd-seconds", type=float, default=10.0, help="length of the 1920x1080 clip")
    parser.add_argument("--models", default="null,center-bias")
    parser.add_argument("--no-old", action="store_true", help="skip HEAD's code at 1080p")
    parser.add_argument("--no-app", action="store_true")
    parser.add_argument("--no-long", action="store_true", help="only the 1080p clip")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        result = (child_predict(Path(rest[0]), rest[1], Path(rest[2])) if kind == "predict"
                  else child_app(Path(rest[0]), Path(rest[1])))
        print(json.dumps(result))
        return 0

    models = args.models.split(",")
    long_frames = round(args.minutes * 60 * args.fps)
    with tempfile.TemporaryDirectory(prefix="salfom-long-") as tmp:
        tmp = Path(tmp)
        old_root = None if args.no_old else old_code(tmp)
        hd_frames = round(args.hd_seconds * args.fps)
        hd = write_video(tmp / "hd.mp4", (1920, 1080), hd_frames, args.fps)
        scale = long_frames / hd_frames
        for model in models:
            for code, root in [("new", None)] + ([("old", old_root)] if old_root else []):
                r = run_child(["predict", str(hd), model, str(tmp / f"cache-{code}")], root)
                read = r.pop("read", None)
                emit(bench="long_video", figure="predict", resolution="1920x1080", model=model, code=code, **r,
                     extrapolated_to_minutes=args.minutes, seconds_extrapolated=round(r["seconds"] * scale),
                     cache_bytes_extrapolated=round(r["cache_bytes"] * scale),
                     old_cache_bytes_extrapolated=round(r["old_cache_bytes"] * scale))
                if read:
                    emit(bench="long_video", figure="read_1080p_map_ms", code=code, **read)
        if args.no_long:
            return 0
        t = time.perf_counter()
        long = write_video(tmp / "long.mp4", (320, 180), long_frames, args.fps)
        made_s = time.perf_counter() - t
        for model in models:
            r = run_child(["predict", str(long), model, str(tmp / "cache-new")])
            emit(bench="long_video", figure="predict", resolution="320x180", model=model, code="new",
                 minutes=args.minutes, video_made_in_s=round(made_s, 1), **r)
        if not args.no_app:
            r = run_child(["app", str(long), str(tmp / "cache-app")])
            emit(bench="long_video", figure="app", resolution="320x180", minutes=args.minutes, **r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
