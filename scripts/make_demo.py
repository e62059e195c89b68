"""Generate the bundled demo: resources/demo/demo.mp4 and demo_gaze.csv (synthetic, seeded).

Two bright discs move over a calm, dark, slowly panning background (so the heatmap stands out); eight simulated observers each follow one
of them with a short lag and some scatter. The app labels it as synthetic.

    python scripts/make_demo.py [--if-missing]
"""
import argparse
import io
import sys
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from salfom_core.io.atomic import atomic_write_bytes, atomic_write_text
from salfom_core.io.synthetic import object_track, render_frames, simulated_gaze

OUT = ROOT / "resources" / "demo"
SIZE, FPS, FRAMES, SEED = (480, 272), 30, 150, 7


def encode(frames) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.options = {"crf": "23", "preset": "slow"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--if-missing", action="store_true", help="do nothing when the demo exists")
    args = parser.parse_args()
    video, gaze = OUT / "demo.mp4", OUT / "demo_gaze.csv"
    if args.if_missing and video.exists() and gaze.exists():
        return 0
    track = object_track(FRAMES, SIZE, SEED, n_objects=2)
    atomic_write_bytes(video, encode(render_frames(track, SIZE, SEED, radius=14, muted=True)))
    frames, xs, ys, obs = simulated_gaze(track, n_observers=8, seed=SEED, spread=8.0)
    lines = ["frame,time_s,x,y,observer"]
    lines += [f"{f},{f / FPS:.4f},{x:.2f},{y:.2f},S{o + 1}" for f, x, y, o in zip(frames, xs, ys, obs)]
    atomic_write_text(gaze, "\n".join(lines) + "\n")
    print(f"{video} ({video.stat().st_size / 1e6:.2f} MB, {FRAMES} frames) and {gaze}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
