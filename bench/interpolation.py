"""What coarse-to-fine inference costs and buys; one JSON line per figure.

    python bench/interpolation.py [--accuracy] [--timing] [--every 1] [--prefix N] [--batch 4]

Accuracy (`interpolation_accuracy`, one line per data set and stride K): keep every K-th map
of a model (and the last), replace the others with the linear blend of the nearest kept ones
(`salfom_core.inference.interpolate`), score CC / NSS / AUC-J / SIM against the fixations, as
`salfom evaluate` does (DHF1K protocol: mean over frames). K = 1 is the model itself.
- `dhf1k_0002`: TinyHD's maps (`maps_tinyhd/`) against the raw gaze of the 12 observers in
  `gaze/` (fixation maps from the SMI exports, continuous maps by DHF1K's Gaussian).
- `ucf_sports_diving_side_001`: the ground-truth maps themselves against the fixations (a
  perfect model's loss from interpolation alone, on fast motion).
`*_interpolated_only` are the same means over the interpolated frames alone.

Timing (`time_to_full_timeline`): salfom_tiny (random weights: the speed is the same) on
0002 through the engine: seconds until every frame has a map, exact or interpolated
(coarse-to-fine: once the first and the last frame are computed, every frame lies between
two computed ones), against seconds until every frame is exact (the sequential order, and the
coarse-to-fine order run to the end). The data comes from ../shared/data (not in the repo).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from common import device_name  # noqa: E402
from salfom_core.evaluation.scoring import score_frames
from salfom_core.evaluation.sources import MapFolder
from salfom_core.evaluation.truths import AnnotationTruth, GazeTruth
from salfom_core.inference.interpolate import map_or_blend
from salfom_core.inference.plan import grid

DATA = ROOT.parent / "shared" / "data"
STRIDES = (1, 2, 4, 8, 16)
NAMES = ("cc", "nss", "auc_judd", "sim")


def cases():
    """(data name, model name, truth, read the model's map of frame i)."""
    from salfom_core.io.annotations import find_annotations
    from salfom_core.io.gaze import load_gaze

    clip = DATA / "dhf1k_0002"
    gaze = load_gaze(clip / "gaze", (640, 360), 783)
    yield "dhf1k_0002", "tinyhd (12 observers' raw gaze)", GazeTruth("0002", gaze), MapFolder(clip / "maps_tinyhd").read
    diving = DATA / "ucf_sports_diving_side_001"
    truth = AnnotationTruth("diving", find_annotations(diving))
    yield "ucf_sports_diving_side_001", "ground-truth maps", truth, MapFolder(diving / "maps").read


def accuracy(every: int) -> None:
    for data, model, truth, read in cases():
        read = functools.lru_cache(maxsize=40)(read)      # each kept map feeds up to 2K blends
        n = truth.n_frames
        for stride in STRIDES:
            exact = np.zeros(n, bool)
            exact[grid(n, stride)] = True
            t0 = time.perf_counter()
            rows = [(i, values) for i, values in
                    score_frames(truth, lambda i: map_or_blend(read, exact, i)[0], range(0, n, every),
                                 [], {}, NAMES, 0) if values is not None]
            line = {"figure": "interpolation_accuracy", "data": data, "model": model, "stride": stride,
                    "frames_scored": len(rows), "interpolated_scored": int(sum(not exact[i] for i, _ in rows))}
            for name in NAMES:
                line[name] = _mean([v[name] for _, v in rows])
            for name in NAMES:
                line[f"{name}_interpolated_only"] = _mean([v[name] for i, v in rows if not exact[i]])
            line["seconds"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(line), flush=True)


def _mean(values) -> float | None:
    values = [v for v in values if np.isfinite(v)]
    return round(float(np.mean(values)), 4) if values else None


def timing(prefix: int | None, batch: int) -> None:
    from salfom_core import create_model
    from salfom_core.inference.engine import EngineSettings, SalFoMPredictor, iter_predict
    from salfom_core.inference.store import PredictionStore
    from salfom_core.io.video import open_video

    torch.manual_seed(0)
    predictor = SalFoMPredictor(create_model("salfom_tiny"), "bench-tiny", device="cpu")
    settings = EngineSettings(batch_size=batch)
    with open_video(DATA / "dhf1k_0002" / "0002.avi") as source, tempfile.TemporaryDirectory() as tmp:
        n = min(prefix or len(source), len(source))
        predictor.predict(torch.zeros(1, 3, 16, 224, 224))        # warm up
        results = {}
        for order in ("coarse-to-fine", "sequential"):
            # a store of the first n frames: the engine plans over those (their last is on the coarse grid)
            store = PredictionStore(Path(tmp) / order, n, source.info.height, source.info.width)
            t0, covered = time.perf_counter(), None
            for _ in iter_predict(source, predictor, store, settings, start_at=0, order=order):
                if covered is None and store.done[0] and store.done[n - 1]:
                    covered = time.perf_counter() - t0
            results[order] = (covered, time.perf_counter() - t0, int(store.done.sum()))
        for order, (covered, all_exact, computed) in results.items():
            print(json.dumps({"figure": "time_to_full_timeline", "order": order, "model": "salfom_tiny",
                              "clip": "dhf1k_0002", "frames": n, "full_clip": n == len(source),
                              "computed": computed, "batch": batch,
                              "seconds_until_every_frame_has_a_map": round(covered, 2),
                              "seconds_until_every_frame_exact": round(all_exact, 2),
                              "device": device_name(torch.device("cpu")),
                              "load_average_1min": round(os.getloadavg()[0], 1)}), flush=True)
        cover = results["coarse-to-fine"][0]
        print(json.dumps({"figure": "full_timeline_speedup", "frames": n,
                          "sequential_all_exact_over_coarse_to_fine_first_map": round(results["sequential"][1] / cover, 2),
                          "coarse_to_fine_all_exact_over_first_map": round(results["coarse-to-fine"][1] / cover, 2),
                          "target": 6.0}), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accuracy", action="store_true", help="only the accuracy figures")
    parser.add_argument("--timing", action="store_true", help="only the timing figures")
    parser.add_argument("--every", type=int, default=1, help="score every N-th frame (accuracy)")
    parser.add_argument("--prefix", type=int, help="time only the first N frames of 0002")
    parser.add_argument("--batch", type=int, default=4, help="windows per forward pass (timing)")
    args = parser.parse_args(argv)
    both = not (args.accuracy or args.timing)
    if args.accuracy or both:
        accuracy(args.every)
    if args.timing or both:
        timing(args.prefix, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
