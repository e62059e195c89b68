"""Exports: maps as PNG folders (DHF1K naming) and overlay videos (H.264 MP4 through PyAV).

Every export is written under a temporary name and renamed when complete, so a file that
exists is finished; cancelling leaves nothing half-written behind.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .atomic import atomic_write_bytes
from .overlay import blend, draw_fixations


def write_png(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    atomic_write_bytes(path, data.tobytes())


def write_map_folder(store, folder: Path, progress: Callable[[int, int], None] | None = None) -> int:
    """`folder/0001.png ...`: every computed frame's map (0..255), 1-based names as DHF1K.

    Maps left in the folder by an earlier run (a longer clip of the same name) are removed,
    so that the folder holds this video's maps and nothing that `evaluate` would score wrongly.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = set()
    for i in range(store.n_frames):
        saliency = store.read(i)
        if saliency is not None:
            write_png(folder / map_file_name(i), saliency)
            written.add(i)
        if progress:
            progress(i + 1, store.n_frames)
    for path in stale_maps(folder, written):
        path.unlink(missing_ok=True)
    return len(written)


def map_file_name(index: int) -> str:
    return f"{index + 1:04d}.png"


_MAP_NAME = re.compile(r"^(\d{4,})\.png$")


def stale_maps(folder: Path, keep) -> list[Path]:
    """Map files named as `write_map_folder` names them whose frame is not in `keep` (0-based)."""
    keep = set(keep)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if (m := _MAP_NAME.match(p.name)) and int(m.group(1)) - 1 not in keep)


def iter_overlay_video(source, read_map: Callable[[int], np.ndarray | None], path: Path, fps: float | None = None,
                       colormap: str = "jet", opacity: float = 0.5, threshold: float = 0.0,
                       frames: range | None = None, gaze=None, marker_style: str = "ring", marker_size: int = 14,
                       decorate: Callable[[int, np.ndarray], np.ndarray] | None = None):
    """Render frames with their maps blended to an MP4 (H.264, yuv420p), yielding (done, total).
    With `gaze` (GazeData) each frame's fixations are drawn as the app draws them; `decorate(i,
    image)` draws more on top of frame i (the app's AOI outlines).

    The file appears under its name only when complete; closing the generator early (cancel)
    removes the partial file.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = frames or range(len(source))
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    w, h = source.info.width, source.info.height
    even_w, even_h = w - w % 2, h - h % 2          # yuv420p needs even sizes
    try:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=_rate(fps or source.info.fps))
            stream.width, stream.height, stream.pix_fmt = even_w, even_h, "yuv420p"
            stream.options = {"crf": "20", "preset": "veryfast"}
            for n, (i, frame) in enumerate(source.iter_frames(frames.start, frames.stop)):
                image = overlay_frame(frame, read_map(i), colormap, opacity, threshold,
                                      gaze.for_frame(i) if gaze is not None and i < gaze.n_frames else None,
                                      marker_style, marker_size)
                if decorate is not None:
                    image = decorate(i, image)
                image = np.ascontiguousarray(image[:even_h, :even_w])
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
                yield n + 1, len(frames)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def overlay_frame(frame: np.ndarray, saliency: np.ndarray | None, colormap: str = "jet", opacity: float = 0.5,
                  threshold: float = 0.0, fixations=None, marker_style: str = "ring", marker_size: int = 14):
    """One overlay frame: the map blended over the frame, then the fixations (x, y, observer) on top."""
    image = frame if saliency is None else blend(frame, saliency, colormap, opacity, threshold)
    if fixations is not None:
        image = draw_fixations(image, *fixations, style=marker_style, size=marker_size)
    return image


def write_overlay_video(source, read_map, path: Path, progress: Callable[[int, int], None] | None = None,
                        **options) -> None:
    """`iter_overlay_video` run to the end."""
    for done, total in iter_overlay_video(source, read_map, path, **options):
        if progress:
            progress(done, total)


def _rate(fps: float):
    from fractions import Fraction

    return Fraction(fps).limit_denominator(1001)
