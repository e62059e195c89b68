"""Time and peak memory of `salfom evaluate` on a 100-video split with three models.

The split is synthetic but made of real annotated clips (../shared/data: DHF1K 0601, first 20
frames at 640x360, and UCF-Sports Diving-Side-001, 54 frames at 720x404), alternated and
linked (symlinks, no copies) into `<tmp>/val/0001 ... 0100`. Models: the centre bias
(computed on the fly), and two prediction roots of per-video map folders (the ground-truth
maps themselves, and the same maps blurred, sigma 8 px). All six metrics, every frame, the
DHF1K protocol, exactly as the command line runs it. Prints one JSON line.

    python bench/dataset_eval.py [--videos 100] [--every 1] [--jobs 1]

Peak memory is the peak RSS of this process (ru_maxrss), with --jobs > 1 also of the largest
worker (RUSAGE_CHILDREN).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIPS = ("dhf1k_0601_first20", "ucf_sports_diving_side_001")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # kB on Linux


def build_split(tmp: Path, data: Path, n_videos: int) -> tuple[Path, Path, Path, int]:
    """<tmp>/data/val/NNNN -> a real clip; <tmp>/gt/NNNN and <tmp>/blur/NNNN -> its maps, plain and blurred."""
    blurred = {}
    for clip in CLIPS:
        out = tmp / "blurred_sources" / clip
        out.mkdir(parents=True)
        for png in sorted((data / clip / "maps").glob("*.png")):
            cv2.imwrite(str(out / png.name), cv2.GaussianBlur(cv2.imread(str(png), cv2.IMREAD_GRAYSCALE), (0, 0), 8))
        blurred[clip] = out
    frames = 0
    for k in range(n_videos):
        clip = CLIPS[k % len(CLIPS)]
        name = f"{k + 1:04d}"
        for folder, target in ((tmp / "data" / "val", data / clip), (tmp / "gt_maps", data / clip / "maps"),
                               (tmp / "blurred", blurred[clip])):
            folder.mkdir(parents=True, exist_ok=True)
            os.symlink(target, folder / name)
        frames += len(list((data / clip / "maps").glob("*.png")))
    return tmp / "data", tmp / "gt_maps", tmp / "blurred", frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="evaluate --jobs (processes)")
    args = parser.parse_args()
    data = ROOT.parent / "shared" / "data"
    if not all((data / c).is_dir() for c in CLIPS):
        print(json.dumps({"bench": "dataset_eval", "skipped": f"{data} lacks {', '.join(CLIPS)}"}))
        return
    from salfom_core import cli

    tmp = Path(tempfile.mkdtemp(prefix="salfom_dataset_eval_"))
    try:
        root, gt_root, blur_root, frames = build_split(tmp, data, args.videos)
        rss_before = peak_rss_mb()
        t0 = time.perf_counter()
        code = cli.main(["evaluate", "--pred", str(gt_root), "--pred", str(blur_root), "--pred", "center-bias",
                         "--data", str(root), "--every", str(args.every), "--jobs", str(args.jobs), "--out", str(tmp / "out"), "-q"])
        seconds = time.perf_counter() - t0
        summary = json.loads((tmp / "out" / "metrics_summary.json").read_text())
        scored = {name: m["frames"] for name, m in summary["models"].items()}
        cc = {name: round(m["overall"]["cc"], 4) for name, m in summary["models"].items()}
        print(json.dumps({
            "bench": "dataset_eval", "exit_code": code, "videos": args.videos, "frames_per_model": frames // args.every
            if args.every == 1 else sum(scored.values()) // len(scored), "models": 3, "scored": scored, "cc": cc,
            "seconds": round(seconds, 2), "model_frames_per_s": round(sum(scored.values()) / seconds, 1),
            "jobs": args.jobs, "peak_rss_mb": round(peak_rss_mb(), 1),
            "peak_rss_worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1), "rss_before_scoring_mb": round(rss_before, 1),
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "omp_threads": os.environ.get("OMP_NUM_THREADS")}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
