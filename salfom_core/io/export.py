"""Exports: maps as PNG folders (DHF1K naming) and overlay videos (H.264 MP4 through PyAV).

Every export is written under a temporary name and renamed when complete, so a file that
exists is finished; cancelling leaves nothing half-written behind.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Sequence

import cv2
import numpy as np

from ..errors import ConfigError
from .atomic import atomic_write_bytes, make_folder, prepare_file_target
from .overlay import BAND_RGB, blend, caption_band, draw_fixations, without_observers


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
    make_folder(folder)
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


@dataclass(frozen=True)
class Captions:
    """What an exported frame says of itself, in a band under each pane (`overlay.caption_band`)."""

    name: bool = False          # the layer's name
    frame: bool = False         # "frame 61 / 150": 1-based, as the app and the maps' file names count
    colour_bar: bool = False    # the colormap from 0 to 1

    NAMES = ("name", "frame", "colorbar")

    @property
    def any(self) -> bool:
        return self.name or self.frame or self.colour_bar

    @classmethod
    def parse(cls, text: str, option: str = "--captions") -> "Captions":
        """'name,frame,colorbar' (any of them), 'all' or 'none'; else a ConfigError naming the option."""
        words = {w.strip().lower() for w in text.split(",") if w.strip()}
        if words == {"all"}:
            words = set(cls.NAMES)
        elif words == {"none"}:
            words = set()
        unknown = words - set(cls.NAMES) - {"colourbar"}
        if unknown:
            raise ConfigError(f"{option} {text!r}: unknown caption {', '.join(sorted(unknown))}; "
                              f"give some of {','.join(cls.NAMES)}, or all, or none")
        return cls("name" in words, "frame" in words, bool(words & {"colorbar", "colourbar"}))


NO_CAPTIONS = Captions()
ALL_CAPTIONS = Captions(True, True, True)
PANE_GAP = 8                    # pixels of band colour between split panes


@dataclass(frozen=True)
class ExportPane:
    """One pane of an exported frame: a layer's maps and how they are drawn. `read(i)` gives
    (map or None, whether it is the frame's exact map: False for a blend of computed frames);
    `shows_map` False draws the bare frame (a hidden layer, or none)."""

    read: Callable[[int], tuple[np.ndarray | None, bool]] = lambda _i: (None, False)
    name: str = ""
    colormap: str = "jet"
    opacity: float = 0.5
    threshold: float = 0.0
    shows_map: bool = True


def pane_note(pane: ExportPane, saliency: np.ndarray | None, exact: bool) -> str:
    """What the caption adds to the layer's name: a hidden layer, a blend or a missing map."""
    if not pane.name:
        return ""
    if not pane.shows_map:
        return "(hidden)"
    if saliency is None:
        return "(not computed)"
    return "" if exact else "(interpolated)"


def compose_frame(frame: np.ndarray, index: int, n_frames: int, panes: Sequence[ExportPane],
                  maps: Sequence[tuple[np.ndarray | None, bool]] | None = None,
                  captions: Captions = NO_CAPTIONS, fixations=None, marker_style: str = "ring",
                  marker_size: int = 14, decorate: Callable[[int, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Frame `index` (0-based) as exported: each pane's map over the frame, the fixations and what
    `decorate` draws, then its caption band under it; panes side by side, PANE_GAP apart.
    `maps` are the panes' (map, exact) when already read (the view's), else each pane reads."""
    images = []
    for k, pane in enumerate(panes):
        saliency, exact = (maps[k] if maps is not None else pane.read(index)) if pane.shows_map else (None, False)
        image = overlay_frame(frame, saliency, pane.colormap, pane.opacity, pane.threshold, fixations,
                              marker_style, marker_size)
        if decorate is not None:
            image = decorate(index, image)
        if captions.any:
            band = caption_band(image.shape[1], pane.name if captions.name else "",
                                f"frame {index + 1} / {n_frames}" if captions.frame else "",
                                pane.colormap if captions.colour_bar and pane.shows_map else None, pane.threshold,
                                pane_note(pane, saliency, exact) if captions.name else "")
            image = np.concatenate([image, band], axis=0)
        images.append(image)
    if len(images) == 1:
        return images[0]
    gap = np.empty((images[0].shape[0], PANE_GAP, 3), np.uint8)
    gap[:] = BAND_RGB
    parts = [images[0]]
    for image in images[1:]:
        parts += [gap, image]
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


def iter_overlay_video(source, read_map: Callable[[int], np.ndarray | None] | None, path: Path,
                       fps: float | None = None, colormap: str = "jet", opacity: float = 0.5, threshold: float = 0.0,
                       frames: range | None = None, gaze=None, marker_style: str = "ring", marker_size: int = 14,
                       decorate: Callable[[int, np.ndarray], np.ndarray] | None = None,
                       panes: Sequence[ExportPane] | None = None, captions: Captions = NO_CAPTIONS,
                       hidden_observers: Collection[int] = ()):
    """Render frames with their maps blended to an MP4 (H.264, yuv420p), yielding (done, total).
    One pane from `read_map` and the style arguments, or the `panes` given (split view: side by
    side); `captions` burns the layer name, frame number and colour bar in under each pane.
    With `gaze` (GazeData) each frame's fixations are drawn as the app draws them, without those
    of `hidden_observers`; `decorate(i, image)` draws more on top of frame i (the app's AOI
    outlines), in every pane.

    The file appears under its name only when complete; closing the generator early (cancel)
    removes the partial file.
    """
    import av

    path = prepare_file_target(path)
    frames = frames or range(len(source))
    if panes is None:
        read = read_map if read_map is not None else (lambda _i: None)
        panes = [ExportPane(lambda i: (read(i), True), "", colormap, opacity, threshold)]
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    w, h = export_size(source.info.width, source.info.height, len(panes), captions)
    even_w, even_h = w + w % 2, h + h % 2          # yuv420p needs even sizes: padded, not trimmed
    try:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=_rate(fps or source.info.fps))
            stream.width, stream.height, stream.pix_fmt = even_w, even_h, "yuv420p"
            stream.options = {"crf": "20", "preset": "veryfast"}
            stamp = _timestamps(stream, source, frames, fps)
            for n, (i, frame) in enumerate(source.iter_frames(frames.start, frames.stop)):
                fixations = gaze.for_frame(i) if gaze is not None and i < gaze.n_frames else None
                image = compose_frame(frame, i, len(source), panes, captions=captions,
                                      fixations=without_observers(fixations, hidden_observers),
                                      marker_style=marker_style, marker_size=marker_size, decorate=decorate)
                image = pad_to_even(image)
                for packet in stream.encode(stamp(av.VideoFrame.from_ndarray(image, format="rgb24"), i)):
                    container.mux(packet)
                yield n + 1, len(frames)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def pad_to_even(image: np.ndarray) -> np.ndarray:
    """`image` with its last column and row repeated where its width or height is odd.

    H.264 in yuv420p needs even sizes. Trimming instead would drop a column of the picture, and
    all of it for a video one pixel wide (a 1-pixel-wide frame trimmed to width 0)."""
    h, w = image.shape[:2]
    if not (w % 2 or h % 2):
        return np.ascontiguousarray(image)
    pads = ((0, h % 2), (0, w % 2)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, pads, mode="edge")


def export_size(width: int, height: int, n_panes: int = 1, captions: Captions = NO_CAPTIONS) -> tuple[int, int]:
    """(width, height) of a composed export frame (before an MP4 pads it to even sizes)."""
    from .overlay import caption_band_height

    band = caption_band_height(width) if captions.any else 0
    return n_panes * width + (n_panes - 1) * PANE_GAP, height + band


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


def _timestamps(stream, source, frames: range, fps: float | None) -> Callable:
    """`stamp(video_frame, i)`: frame i's presentation time. A variable-frame-rate source keeps its
    own (a 200 ms stall stays 200 ms, so the overlay runs in step with the original); otherwise
    the encoder counts frames at the constant rate."""
    from fractions import Fraction

    clock = getattr(source, "clock", None)
    if fps is not None or clock is None or not clock.variable:
        return lambda video_frame, _i: video_frame
    tick = Fraction(1, 90000)                   # MPEG's clock: fine enough for any frame rate
    stream.codec_context.time_base = stream.time_base = tick
    first = float(clock.start_of(frames.start))

    def stamp(video_frame, i):
        video_frame.pts, video_frame.time_base = round((float(clock.start_of(i)) - first) * 90000), tick
        return video_frame
    return stamp


def _rate(fps: float):
    from fractions import Fraction

    return Fraction(fps).limit_denominator(1001)
