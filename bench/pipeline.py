"""Does `salfom predict`'s pipeline keep up with decoding? One JSON line per resolution.

    python bench/pipeline.py [--device auto] [--sizes 640x360,1920x1080] [--frames 240] [--video FILE]
                             [--model null|salfom_tiny|salfom_l16] [--no-old] [--repeats 3]

For each size, in the same run on the same file: PyAV's plain decode rate (decode and
convert to RGB, as the engine's reader does, nothing else) against the whole prediction
pipeline with a null model (returns zeros at once): decode thread, resize, transfer, frame
pool, window gather, the store (which keeps the model's maps, post-processed when read, for
all but the smallest videos; 8-bit maps post-processed at the video's size otherwise). The
target is `fraction_of_decode` >= 0.8. `old_engine_fps` is the engine before the pipeline
(decode, preprocess, model, post-process and a store commit, one after another) with the
same null model, for comparison. With --model a preset (random weights, the device's
default precision) the figure is `salfom predict`'s end-to-end windows per second, to set
against `bench/infer.py`'s. The videos are synthetic H.264 (moving texture), written to a
temporary folder, unless --video names a real one.
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

from common import device_name  # noqa: E402
from salfom_core.inference.devices import resolve_device


class NullPredictor:
    """A 16-frame, 224-pixel model that answers zeros at once, on the device. It receives the
    windows the engine would give SalFoM ((B, 3, 16, 224, 224) float32, gathered and
    normalised) and checks their shape; the zeros are made once per batch size, so the model
    itself costs nothing."""

    window, input_size, key = 16, 224, "null-model"

    def __init__(self, device: torch.device):
        self.device = device
        self._zeros: dict[int, torch.Tensor] = {}

    def predict_tensor(self, clips: torch.Tensor) -> torch.Tensor:
        b = clips.shape[0]
        if clips.shape[1:] != (3, self.window, self.input_size, self.input_size) or clips.dtype != torch.float32:
            raise ValueError(f"the engine gave windows of {tuple(clips.shape)} {clips.dtype}")
        if b not in self._zeros:
            self._zeros[b] = torch.zeros(b, self.input_size, self.input_size, device=self.device)
        return self._zeros[b]

    def predict(self, clips):
        return self.predict_tensor(clips).cpu().numpy()


def write_video(path: Path, size: tuple[int, int], frames: int, fps: int = 30) -> Path:
    """H.264 of a texture panning under a moving disc: every frame differs, as in real video."""
    import av
    import cv2

    w, h = size
    rng = np.random.default_rng(0)
    texture = cv2.resize((rng.random((h // 8, (w + frames * 4) // 8, 3)) * 255).astype(np.uint8),
                         (w + frames * 4, h), interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for k in range(frames):
            image = np.ascontiguousarray(texture[:, 4 * k:4 * k + w])
            cv2.circle(image, (int(w * (0.5 + 0.3 * np.sin(k / 20))), h // 2), h // 10, (250, 220, 40), -1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_rate(path: Path) -> tuple[int, float]:
    """Frames and frames per second of PyAV decoding to RGB arrays with FFmpeg's frame threads
    (the engine's reader decodes with PyAV's default, slice threads only: H.264 at this size is
    one slice, so one thread; this reference is the faster of the two)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        t = time.perf_counter()
        n = sum(1 for frame in container.decode(stream) if frame.to_ndarray(format="rgb24") is not None)
        return n, n / (time.perf_counter() - t)


def pipeline_rate(path: Path, predictor, device: torch.device, batch: int | None,
                  cache: Path) -> tuple[int, float, int]:
    from salfom_core.inference.engine import EngineSettings, predict_video
    from salfom_core.inference.predict import open_store
    from salfom_core.io.video import open_video

    settings = EngineSettings(batch_size=batch)
    with open_video(path) as source:     # a fresh cache entry per run: every frame is computed
        store = open_store(source, path, predictor, settings, cache, video_key=f"{source.content_key()}:{time.time()}")
        t = time.perf_counter()
        assert predict_video(source, predictor, store, settings)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return len(source), len(source) / (time.perf_counter() - t), settings.batch_for(device)


def old_engine_rate(path: Path, batch: int, cache: Path) -> float:
    """Frames per second of the engine as it was: everything in turn on one thread, on the CPU."""
    from salfom_core.inference.engine import window_indices
    from salfom_core.inference.store import PredictionStore
    from salfom_core.io.video import open_video
    from salfom_core.models.preprocess import clip_tensor, postprocess_map, preprocess_frame, to_uint8

    predictor = NullPredictor(torch.device("cpu"))
    with open_video(path) as source:
        n, size = len(source), (source.info.width, source.info.height)
        store = PredictionStore.open(cache, f"old:{time.time()}", "null", {}, n, size[1], size[0])
        t = time.perf_counter()
        frames, pending = {}, []
        for j, frame in source.iter_frames(0, n):
            frames[j] = preprocess_frame(frame, predictor.input_size)
            pending.append(j)
            if len(pending) == batch or j == n - 1:
                clips = torch.stack([clip_tensor([frames[k] for k in window_indices(i, n, 16)]) for i in pending])
                for i, m in zip(pending, predictor.predict(clips)):
                    store.write(i, to_uint8(postprocess_map(m, size)))
                store.commit(pending)
                for k in [k for k in frames if k < pending[-1] - 15]:
                    del frames[k]
                pending = []
        return n / (time.perf_counter() - t)


def make_predictor(model: str, device: torch.device):
    if model == "null":
        return NullPredictor(device)
    from salfom_core import create_model
    from salfom_core.inference.engine import SalFoMPredictor

    return SalFoMPredictor(create_model(model), f"bench:{model}", str(device))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default="640x360,1920x1080")
    parser.add_argument("--frames", type=int, default=240, help="frames of each synthetic video")
    parser.add_argument("--batch", type=int, help="windows per batch (default: the engine's for the device)")
    parser.add_argument("--video", help="measure this file instead of synthetic videos")
    parser.add_argument("--model", default="null", help="null (zeros at once) or a preset with random weights")
    parser.add_argument("--no-old", action="store_true", help="skip the old engine's figure")
    parser.add_argument("--repeats", type=int, default=3,
                        help="decode and pipeline runs, alternated; the best of each is reported")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    predictor = make_predictor(args.model, device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.video:
            videos = [Path(args.video)]
        else:
            sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
            videos = [write_video(tmp / f"{w}x{h}.mp4", (w, h), args.frames) for w, h in sizes]
        for video in videos:
            decode_rate(video)                                  # warm the file cache and the codec
            # alternated, best of each: on a shared machine a run disturbed by others' load is slower,
            # never faster, and alternating exposes both figures to the same conditions
            decode_fps = pipeline_fps = 0.0
            for _ in range(args.repeats):
                frames, fps = decode_rate(video)
                decode_fps = max(decode_fps, fps)
                _, fps, batch = pipeline_rate(video, predictor, device, args.batch, tmp / "cache")
                pipeline_fps = max(pipeline_fps, fps)
            import av
            with av.open(str(video)) as c:
                w, h = c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height
            result = {"bench": "pipeline", "video": video.name if args.video else "synthetic h264",
                      "resolution": f"{w}x{h}", "frames": frames, "device": device_name(device),
                      "omp_threads": os.environ.get("OMP_NUM_THREADS"), "torch_threads": torch.get_num_threads(),
                      "model": args.model, "dtype": getattr(predictor, "dtype", "float32"), "batch": batch,
                      "decode_fps": round(decode_fps, 1), "pipeline_fps": round(pipeline_fps, 2),
                      "fraction_of_decode": round(pipeline_fps / decode_fps, 3), "repeats": args.repeats}
            if args.model == "null" and not args.no_old:
                result["old_engine_fps"] = round(old_engine_rate(video, batch, tmp / "cache"), 1)
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
