"""Time of `salfom aoi` on real clip 0002: 4 AOIs, the 12 observers' gaze, two models.

The AOIs (a rectangle around the fly with six keyframes and an inactive one, an ellipse on the
blurred daisy, a polygon on the stem that moves between two keyframes, a band at the top) are
written to a temporary AOI file; the models are TinyHD's maps (783 PNGs, ../shared/data) and
the centre bias. The command runs in this process as the command line runs it (the three CSVs
and the plot written), after one warm-up run that pays for the imports. Prints one JSON line.

    python bench/aoi.py [--repeats 3] [--no-plot]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIP = ROOT.parent / "shared" / "data" / "dhf1k_0002"
TARGET_S = 20.0
AOIS = {"version": 1, "video": "0002.avi", "aois": [
    {"name": "fly", "color": "#e41a1c", "shape": "rect", "keyframes": [
        {"frame": 1, "active": True, "vertices": [[270, 160], [350, 230]]},
        {"frame": 101, "active": True, "vertices": [[285, 135], [360, 205]]},
        {"frame": 301, "active": True, "vertices": [[280, 120], [335, 205]]},
        {"frame": 501, "active": True, "vertices": [[255, 125], [355, 200]]},
        {"frame": 651, "active": True, "vertices": [[295, 125], [380, 205]]},
        {"frame": 741, "active": True, "vertices": [[275, 125], [365, 205]]},
        {"frame": 770, "active": False, "vertices": [[275, 125], [365, 205]]}]},
    {"name": "blurred daisy", "color": "#377eb8", "shape": "ellipse", "keyframes": [
        {"frame": 1, "active": True, "vertices": [[20, 200], [290, 300]]}]},
    {"name": "stem", "color": "#4daf4a", "shape": "polygon", "keyframes": [
        {"frame": 1, "active": True, "vertices": [[355, 250], [380, 250], [375, 360], [360, 360]]},
        {"frame": 783, "active": True, "vertices": [[200, 230], [230, 230], [225, 360], [205, 360]]}]},
    {"name": "top", "color": "#984ea3", "shape": "rect", "keyframes": [
        {"frame": 1, "active": True, "vertices": [[0, 0], [640, 90]]}]}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()
    if not (CLIP / "gaze").is_dir() or not (CLIP / "maps_tinyhd").is_dir():
        print(json.dumps({"bench": "aoi", "skipped": f"{CLIP} lacks gaze/ or maps_tinyhd/"}))
        return
    from salfom_core import cli

    tmp = Path(tempfile.mkdtemp(prefix="salfom_bench_aoi_"))
    try:
        (tmp / "0002.aois.json").write_text(json.dumps(AOIS))
        argv = ["aoi", str(CLIP / "0002.avi"), "--aois", str(tmp / "0002.aois.json"), "--gaze", str(CLIP / "gaze"),
                "--pred", str(CLIP / "maps_tinyhd"), "--pred", "center-bias", "-o", str(tmp / "out"), "-q"]
        if not args.no_plot:
            argv += ["--plot", str(tmp / "aoi.png")]
        seconds = []
        for _ in range(args.repeats + 1):          # the first run pays for the imports: not counted
            t0 = time.perf_counter()
            with open(os.devnull, "w") as quiet:
                stdout, sys.stdout = sys.stdout, quiet
                try:
                    code = cli.main(argv)
                finally:
                    sys.stdout = stdout
            seconds.append(time.perf_counter() - t0)
            if code != 0:
                raise SystemExit(f"salfom aoi failed with exit code {code}")
        rows = sum(1 for _ in open(tmp / "out" / "aoi_frames.csv")) - 1
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        print(json.dumps({"bench": "aoi", "figure": "salfom aoi on 0002: 4 AOIs, 12 observers, TinyHD + centre bias",
                          "seconds_median": round(statistics.median(seconds[1:]), 2),
                          "seconds_runs": [round(s, 2) for s in seconds[1:]],
                          "seconds_first_run_with_imports": round(seconds[0], 2),
                          "target_s": TARGET_S, "pass": statistics.median(seconds[1:]) < TARGET_S,
                          "frames": 783, "frame_rows": rows, "plot": not args.no_plot,
                          "device": f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores",
                          "load_1min": load}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
