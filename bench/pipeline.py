"""Does `salfom predict`'s pipeline keep up with decoding? One JSON line per resolution.

    python bench/pipeline.py [--device auto] [--sizes 640x360,1920x1080] [--frames 240] [--video FILE]

For each size, in the same run on the same file: PyAV's plain decode rate (decode and
convert to RGB, as the engine's reader does, nothing else) against the whole prediction
pipeline with a null model (returns zeros at once): decode thread, resize, transfer, frame
pool, window gather, post-processing to 8-bit maps at the video's size, the store. The
target is `fraction_of_decode` >= 0.8. The videos are synthetic H.264 (moving texture),
written to a temporary folder, unless --video names a real one.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import device_name  # noqa: E402
from salfom_core.devices import resolve_device  # noqa: E402


class NullPredictor:
    """A 16-frame, 224-pixel model that answers zeros at once, on the device."""

    window, input_size, key = 16, 224, "null-model"

    def __init__(self, device: torch.device):
        self.device = device

    def predict_tensor(self, clips: torch.Tensor) -> torch.Tensor:
        return torch.zeros(clips.shape[0], self.input_size, self.input_size, device=self.device)

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
    """Frames and frames per second of PyAV decoding to RGB arrays, threads as the engine's reader."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        t = time.perf_counter()
        n = sum(1 for frame in container.decode(stream) if frame.to_ndarray(format="rgb24") is not None)
        return n, n / (time.perf_counter() - t)


def pipeline_rate(path: Path, device: torch.device, batch: int | None, cache: Path) -> tuple[int, float, int]:
    from salfom_core.engine import EngineSettings, predict_video
    from salfom_core.store import PredictionStore
    from salfom_core.video import open_video

    predictor = NullPredictor(device)
    settings = EngineSettings(batch_size=batch)
    with open_video(path) as source:
        store = PredictionStore.open(cache, f"{source.content_key()}:{time.time()}", predictor.key,
                                     settings.cache_fields(), len(source), source.info.height, source.info.width)
        t = time.perf_counter()
        assert predict_video(source, predictor, store, settings)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return len(source), len(source) / (time.perf_counter() - t), settings.batch_for(device)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default="640x360,1920x1080")
    parser.add_argument("--frames", type=int, default=240, help="frames of each synthetic video")
    parser.add_argument("--batch", type=int, help="windows per batch (default: the engine's for the device)")
    parser.add_argument("--video", help="measure this file instead of synthetic videos")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.video:
            videos = [Path(args.video)]
        else:
            sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
            videos = [write_video(tmp / f"{w}x{h}.mp4", (w, h), args.frames) for w, h in sizes]
        for video in videos:
            decode_rate(video)                                  # warm the file cache and the codec
            frames, decode_fps = decode_rate(video)
            _, pipeline_fps, batch = pipeline_rate(video, device, args.batch, tmp / "cache")
            import av
            with av.open(str(video)) as c:
                w, h = c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height
            print(json.dumps({"bench": "pipeline", "video": video.name if args.video else "synthetic h264",
                              "resolution": f"{w}x{h}", "frames": frames, "device": device_name(device),
                              "batch": batch, "decode_fps": round(decode_fps, 1),
                              "pipeline_fps": round(pipeline_fps, 1),
                              "fraction_of_decode": round(pipeline_fps / decode_fps, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
