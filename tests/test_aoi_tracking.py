"""Track forward: a textured square moving over a textured background is followed to within
3 px of its true position over 60 frames; tracking stops where the content is gone, and when
cancelled."""
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from salfom_core.aoi import AOI, AoiError, Keyframe
from salfom_core.aoi.tracking import track_forward
from salfom_core.io.video import open_video

SIZE = (200, 150)
SIDE = 28


def square_path(k: int) -> tuple[float, float]:
    """Top-left corner (x, y) of the square in 0-based frame k, fractions of a pixel included:
    a drift of (1.6, 0.7) px a frame with a wobble."""
    return 30 + 1.6 * k + 3 * np.sin(k / 6), 40 + 0.7 * k + 4 * np.sin(k / 9)


def make_clip(path, n_frames: int, hide_from: int | None = None):
    w, h = SIZE
    rng = np.random.default_rng(3)
    background = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 3) * 120 + 40
    patch = cv2.GaussianBlur(rng.random((SIDE, SIDE)).astype(np.float32), (0, 0), 1.2)
    patch = (patch - patch.min()) / (patch.max() - patch.min()) * 200 + 30
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "8"}
        for k in range(n_frames):
            frame = background.copy()
            if hide_from is None or k < hide_from:
                x, y = square_path(k)
                move = np.float32([[1, 0, x], [0, 1, y]])           # sub-pixel placement
                layer = cv2.warpAffine(patch, move, (w, h), flags=cv2.INTER_LINEAR)
                cover = cv2.warpAffine(np.ones_like(patch), move, (w, h), flags=cv2.INTER_LINEAR)
                frame = frame * (1 - cover) + layer
            grey = np.clip(frame, 0, 255).astype(np.uint8)
            image = av.VideoFrame.from_ndarray(np.repeat(grey[:, :, None], 3, axis=2), format="rgb24")
            image.pts, image.time_base = k, Fraction(1, 25)
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def square_aoi() -> AOI:
    # the square's pixels at frame 1 are columns x0 .. x0 + SIDE - 1, at points x0 + 1 .. x0 + SIDE
    x, y = square_path(0)
    return AOI("square", "rect", [Keyframe(1, True, ((x + 1, y + 1), (x + SIDE, y + SIDE)))])


def test_tracking_follows_a_moving_square_within_3_px_over_60_frames(tmp_path):
    aoi = square_aoi()
    progress = []
    with open_video(make_clip(tmp_path / "square.mp4", 80)) as source:
        result = track_forward(source, aoi, 1, every=5, max_frames=60, progress=lambda d, t: progress.append((d, t)))
    assert (result.last, result.stopped) == (61, "end") and progress[-1] == (60, 60)
    assert [k.frame for k in result.keyframes] == list(range(6, 62, 5))      # every 5th, 61 the last
    result.apply(aoi)
    for frame in (61, 33, 12):                     # keyframes and the frames interpolated between them
        x, y = square_path(frame - 1)
        (x0, y0), _ = aoi.vertices_at(frame)
        assert np.hypot(x0 - (x + 1), y0 - (y + 1)) < 3, (frame, (x0, y0), (x + 1, y + 1))
    x, y = square_path(60)
    assert np.hypot(*np.subtract(result.keyframes[-1].vertices[0], (x + 1, y + 1))) < 3
    assert min(result.scores) > 0.8


def test_tracking_stops_where_the_content_is_gone_and_when_cancelled(tmp_path):
    with open_video(make_clip(tmp_path / "gone.mp4", 40, hide_from=25)) as source:
        result = track_forward(source, square_aoi(), 1, every=10)
        assert (result.stopped, result.last) == ("low score", 25)        # frame 26 (0-based 25) lacks it
        assert [k.frame for k in result.keyframes] == [11, 21, 25]
        calls = []
        cancelled = track_forward(source, square_aoi(), 1, cancel=lambda: calls.append(1) or len(calls) >= 7)
        assert (cancelled.stopped, cancelled.last) == ("cancelled", 8)
        with pytest.raises(AoiError, match="not shown at frame 1"):
            track_forward(source, AOI("late", "rect", [Keyframe(5, True, ((10, 10), (40, 40)))]), 1)
        with pytest.raises(AoiError, match="too little to track"):
            track_forward(source, AOI("dot", "rect", [Keyframe(1, True, ((10, 10), (12, 12)))]), 1)
