"""Where `salfom predict`'s CPU pipeline spends its time: one JSON line per resolution.

    OMP_NUM_THREADS=1 python bench/pipeline_stages.py [--sizes 640x360,1920x1080] [--frames 120]

Each stage of the engine's per-frame work is timed alone on one thread (median of the
frames), on the same synthetic H.264 as `bench/pipeline.py`: decoding (PyAV, slice threads
as the engine's reader), conversion to RGB, resizing to 224, normalising, gathering one
16-frame float32 window, post-processing one map to the video's size (resize, blur, 8-bit;
a non-flat map, as a real model gives), writing it to the store. Where the store keeps the
model's own maps (`map_form` "model-u16": all but the smallest videos) the pipeline does not
post-process (0 ms: it happens when a map is read, `read_postprocessed_ms`, not counted) and
writes the 224x224 map. `cpu_ms_per_frame` is their
sum; `bound_fraction_of_decode` = what the pipeline could reach if its work were spread
perfectly over `cores`, against the decode reference of `bench/pipeline.py` (frame threads,
RGB) measured in the same run: the ceiling of `fraction_of_decode` on this machine.
`work_ratio` = the reference's work (decode + RGB) over the pipeline's: the same ceiling,
independent of the load of a shared machine, when both spread over the cores equally well.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import decode_rate, write_video  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def stages(path: Path, repeats: int) -> dict:
    import av
    import cv2

    from salfom_core.inference.engine import _FramePool, postprocess_batch
    from salfom_core.inference.store import MapForm, PredictionStore

    decode, rgb, frames = [], [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        it = container.decode(stream)
        while True:
            t = time.perf_counter()
            frame = next(it, None)
            t1 = time.perf_counter()
            if frame is None:
                break
            frames.append(frame.to_ndarray(format="rgb24"))
            decode.append(t1 - t)
            rgb.append(time.perf_counter() - t1)
    h, w = frames[0].shape[:2]
    small = [cv2.resize(f, (224, 224), interpolation=cv2.INTER_LINEAR) for f in frames[:32]]
    out = {"decode": 1e3 * float(np.median(decode)), "to_rgb": 1e3 * float(np.median(rgb)),
           "resize_to_224": median_ms(lambda: cv2.resize(frames[0], (224, 224), interpolation=cv2.INTER_LINEAR),
                                      repeats)}
    pool = _FramePool(torch.device("cpu"), 224)
    pool.add(list(enumerate(small)))
    out["normalise"] = median_ms(lambda: pool.add([(100 + k, small[k]) for k in range(4)]), repeats) / 4
    windows = [list(range(b, b + 16)) for b in range(4)]
    out["gather_window"] = median_ms(lambda: pool.gather(windows), repeats) / 4
    saliency = torch.from_numpy(cv2.GaussianBlur(np.random.default_rng(0).random((224, 224)).astype(np.float32),
                                                 (0, 0), 8))[None].repeat(4, 1, 1)
    work: dict = {}                                   # the buffers the engine reuses
    out["postprocess"] = median_ms(lambda: postprocess_batch(saliency, (w, h), True, work), repeats) / 4
    form = MapForm.smaller(h, w, (224, 224))
    with tempfile.TemporaryDirectory() as tmp:
        store = PredictionStore(Path(tmp), 64, h, w, form=form)
        maps = saliency.numpy() if store.keeps_model_maps else postprocess_batch(saliency, (w, h))
        k = iter(range(10 ** 9))
        out["store_write"] = median_ms(lambda: store.write(next(k) % 64, maps[0]), repeats)
        if store.keeps_model_maps:                    # post-processed when read, not in the pipeline
            store.mark_ready(range(64))
            out["read_postprocessed"] = median_ms(lambda: store.read(next(k) % 64), repeats)
            out["postprocess"] = 0.0
    costs = {f"{name}_ms": round(v, 3) for name, v in out.items()}
    return costs, (w, h), form.kind


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="640x360,1920x1080")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            w, h = (int(v) for v in size.lower().split("x"))
            video = write_video(Path(tmp) / f"{w}x{h}.mp4", (w, h), args.frames)
            decode_rate(video)
            _, decode_fps = decode_rate(video)
            costs, _, form = stages(video, args.repeats)
            cpu_ms = sum(v for name, v in costs.items() if name != "read_postprocessed_ms")
            cores = os.cpu_count() or 1
            bound_fps = 1e3 * cores / cpu_ms
            print(json.dumps({"bench": "pipeline_stages", "resolution": f"{w}x{h}", "map_form": form,
                              "omp_threads": os.environ.get("OMP_NUM_THREADS"), **costs,
                              "cpu_ms_per_frame": round(cpu_ms, 3), "cores": cores,
                              "decode_fps": round(decode_fps, 1), "bound_fps": round(bound_fps, 1),
                              "bound_fraction_of_decode": round(bound_fps / decode_fps, 3),
                              "work_ratio": round((costs["decode_ms"] + costs["to_rgb_ms"]) / cpu_ms, 3)}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
