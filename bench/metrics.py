"""All six metrics on one 360x640 frame with 50 fixations; prints one JSON line per case.

Cases: the prediction already at the frame size, and a 224x224 model output that the call
resizes first (MATLAB imresize port), as `salfom evaluate` does.
"""
import json
import os
import platform
import time

import numpy as np

from salfom_core.evaluation import metrics as M
from salfom_core.io import ground_truth as G


def frame(rng, shape=(360, 640), n_fix=50):
    fix = np.zeros(shape, np.uint8)
    fix[rng.integers(1, shape[0], n_fix), rng.integers(1, shape[1], n_fix)] = 1
    other = np.zeros(shape, np.uint8)
    other[rng.integers(1, shape[0], 500), rng.integers(1, shape[1], 500)] = 1
    return fix, G.density_map(fix), other


def time_call(fn, repeats=30):
    fn()  # warm caches (resize weights)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3, float(np.min(times)) * 1e3


def main():
    rng = np.random.default_rng(0)
    fix, gt, other = frame(rng)
    for label, pred in (("same_size", rng.random((360, 640))), ("resize_224", rng.random((224, 224)))):
        median_ms, best_ms = time_call(lambda: M.frame_metrics(pred, fix, gt, other, seed=1))
        print(json.dumps({"bench": "metrics_all_six", "case": label, "frame": "360x640", "fixations": 50,
                          "median_ms": round(median_ms, 2), "best_ms": round(best_ms, 2),
                          "target_ms": 20, "cpu": platform.processor() or platform.machine(),
                          "cores": os.cpu_count()}))


if __name__ == "__main__":
    main()
