"""Small media made on the fly for tests."""
from pathlib import Path

import av
import numpy as np


def level(k: int) -> int:
    """The grey level that identifies frame k (survives lossy coding)."""
    return 8 * (k % 30) + 8


def make_video(path: Path, n_frames: int = 30, size=(64, 48), fps: int = 25, codec: str = "libx264",
               gop: int = 10, drop_after: tuple[int, ...] = (), texture: bool = False) -> Path:
    """A video whose frame k is uniformly grey at level(k), with a keyframe every `gop` frames.

    `drop_after`: one timestamp is skipped after each of these frames (dropped frames, as
    phone and webcam recordings have). `texture`: a noise pattern moving one pixel a frame
    over the grey, so frames cost realistic numbers of bytes (damage then hits a few frames).
    """
    from fractions import Fraction

    w, h = size
    pattern = np.random.default_rng(1).integers(-6, 7, (h, w, 1)) if texture else np.zeros((h, w, 1), int)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.gop_size = gop
        if codec == "libx264":
            stream.options = {"crf": "1", "bf": "2"}   # B-frames: presentation order != decode order
        pts = 0
        for k in range(n_frames):
            image = np.clip(level(k) + np.roll(pattern, k, axis=1), 0, 255).astype(np.uint8).repeat(3, axis=2)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, fps)
            pts += 2 if k in drop_after else 1
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def frame_id(frame: np.ndarray) -> int:
    """Inverse of level() for a decoded frame."""
    return int(round((float(frame.mean()) - 8) / 8))


def open_store(tmp_path: Path, video, predictor, settings=None):
    """The prediction store `predict_video` writes for this video, predictor and settings."""
    from salfom_core.inference.engine import EngineSettings
    from salfom_core.inference.store import PredictionStore

    settings = EngineSettings() if settings is None else settings
    return PredictionStore.open(tmp_path / "cache", video.content_key(), predictor.key, settings.cache_fields(),
                                len(video), video.info.height, video.info.width)


def predict_pausing_before_batch(batch: int) -> None:
    """`salfom predict` with the arguments of this process, as a torchrun worker runs it, except
    that every batch is committed at once and that, before its batch number `batch` (0-based),
    each process writes `rank<RANK>` into $SALFOM_TEST_PAUSE_DIR and waits there until it is
    killed. A test can then stop a run at a known point, on an event instead of a race."""
    import os
    import sys
    import time

    from salfom_core import cli
    from salfom_core.inference import engine

    pause_dir = Path(os.environ["SALFOM_TEST_PAUSE_DIR"])
    engine.COMMIT_INTERVAL_S = 0.0
    maps, started = engine._Pipeline._maps, [0]

    def pausing(pipeline, clips):
        if started[0] == batch:
            (pause_dir / f"rank{os.environ.get('RANK', '0')}").touch()
            while True:                   # until the test's SIGTERM, passed on by torchrun
                time.sleep(1)
        started[0] += 1
        return maps(pipeline, clips)

    engine._Pipeline._maps = pausing
    sys.exit(cli.main(sys.argv[1:]))
