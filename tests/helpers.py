"""Small media made on the fly for tests."""
from pathlib import Path

import av
import numpy as np


def level(k: int) -> int:
    """The grey level that identifies frame k (survives lossy coding)."""
    return 8 * (k % 30) + 8


def make_video(path: Path, n_frames: int = 30, size=(64, 48), fps: int = 25, codec: str = "libx264",
               gop: int = 10) -> Path:
    """A video whose frame k is uniformly grey at level(k), with a keyframe every `gop` frames."""
    w, h = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.gop_size = gop
        if codec == "libx264":
            stream.options = {"crf": "1", "bf": "2"}   # B-frames: presentation order != decode order
        for k in range(n_frames):
            image = np.full((h, w, 3), level(k), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def frame_id(frame: np.ndarray) -> int:
    """Inverse of level() for a decoded frame."""
    return int(round((float(frame.mean()) - 8) / 8))
