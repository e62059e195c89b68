"""One reader for video files (anything FFmpeg decodes, through PyAV) and frame folders.

Frames come out as RGB uint8 arrays (H, W, 3), addressed by 0-based index. Random access is
exact: a file's packets are indexed once (demuxing only, no decoding), and a read seeks to
the keyframe before the wanted presentation time and decodes forward to it. Reading the next
frame after the last one read continues decoding without a seek, so playback and forward
scrubbing cost one decode per frame. Nothing is buffered beyond the decoder's own state.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class VideoError(ValueError):
    """A video that cannot be opened or read; the message names the file."""


class VideoOpenError(VideoError):
    """Not a video, empty, no video stream, or unreadable header."""


class VideoDecodeError(VideoError):
    """Decoding broke; `frames_read` frames before the break were good."""

    def __init__(self, message: str, frames_read: int):
        super().__init__(message)
        self.frames_read = frames_read


@dataclass(frozen=True)
class VideoInfo:
    path: str
    frame_count: int
    fps: float
    width: int
    height: int
    codec: str

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0


class VideoSource:
    """Common interface of video files and frame folders."""

    info: VideoInfo

    def __len__(self) -> int:
        return self.info.frame_count

    def read(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def content_key(self) -> str:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_index(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(f"{self.info.path}: frame {index} out of range 0..{len(self) - 1}")
        return index


def open_video(path: str | os.PathLike, fps: float = 30.0) -> VideoSource:
    """A video file or a folder of frames (`images/` inside it is used when present).

    `fps` is used for frame folders only (DHF1K's videos are 30 fps).
    """
    path = Path(path)
    if path.is_dir():
        return FrameFolder(path / "images" if (path / "images").is_dir() else path, fps)
    return VideoFile(path)


def file_fingerprint(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """A content hash of a file without reading all of it: size plus first, middle and last MiB."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        for offset in sorted({0, max(0, size // 2 - chunk // 2), max(0, size - chunk)}):
            fh.seek(offset)
            h.update(fh.read(chunk))
    return h.hexdigest()[:32]


# --------------------------------------------------------------------------- files (PyAV)


class VideoFile(VideoSource):
    def __init__(self, path: Path):
        import av  # imported here: the model and benchmarks must work where PyAV is absent

        self._av = av
        self.path = path
        if not path.is_file():
            raise VideoOpenError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise VideoOpenError(f"{path}: the file is empty")
        try:
            self._container = av.open(str(path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise VideoOpenError(f"{path}: not a readable video ({_reason(exc)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoOpenError(f"{path}: the file holds no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._pts, self._keyframes, declared = self._index()
        if not self._pts:
            self._container.close()
            raise VideoOpenError(f"{path}: no decodable video frames (empty or corrupt stream)")
        rate = self._stream.average_rate or self._stream.guessed_rate
        ctx = self._stream.codec_context
        self.info = VideoInfo(str(path), len(self._pts), float(rate) if rate else 30.0,
                              ctx.width, ctx.height, ctx.name)
        # The container may declare more frames than its packets hold (a truncated download).
        self.declared_frames = declared
        self._decoder: Iterator | None = None
        self._next: int | None = None   # index the running decoder yields next
        self._pending = None            # a frame decoded by the seek, not yet returned

    def _index(self) -> tuple[list[int], list[int], int]:
        pts, keys = [], []
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0:
                    continue
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None:
                    continue
                pts.append(stamp)
                if packet.is_keyframe:
                    keys.append(stamp)
        except self._av.error.FFmpegError:
            pass  # a broken tail: keep the packets before it
        pts.sort()
        if pts:
            self._container.seek(0, stream=self._stream)
        self.broken_after = _first_gap(pts)
        if self.broken_after is not None:
            pts = pts[:self.broken_after]
        return pts, sorted(keys), int(self._stream.frames or 0)

    def content_key(self) -> str:
        return file_fingerprint(self.path)

    def read(self, index: int) -> np.ndarray:
        self._check_index(index)
        if self._next != index:
            self._seek_to(index)
        return self._advance()

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        stop = len(self) if stop is None else min(stop, len(self))
        if start >= stop:
            return
        if self._next != start:
            self._seek_to(self._check_index(start))
        for index in range(start, stop):
            yield index, self._advance()
        if stop == len(self) and self.broken_after is not None:
            raise VideoDecodeError(f"{self.path}: frames are missing after frame {len(self) - 1} "
                                   f"(the file is damaged or truncated there)", len(self))
        if stop == len(self) and self.declared_frames > len(self):
            raise VideoDecodeError(f"{self.path}: the file ends after frame {len(self) - 1} "
                                   f"but declares {self.declared_frames} frames (truncated?)", len(self))

    def _seek_to(self, index: int) -> None:
        """Position the decoder so that the next frame out is frame `index`.

        Some containers (MPEG-TS) seek by estimate and may land past the wanted keyframe;
        when the first frame out is already late, try the keyframe before, then the start.
        """
        target = self._pts[index]
        earlier_keys = [k for k in reversed(self._keyframes) if k <= target]
        for key in earlier_keys[:3] + [min(self._pts[0], 0) - 1]:
            self._container.seek(key, stream=self._stream, backward=True, any_frame=False)
            self._decoder = self._container.decode(self._stream)
            frame = self._decode_one(index)
            if frame.pts is None or frame.pts <= target:
                break
        # decode forward, dropping frames before the target
        while frame.pts is not None and frame.pts < target:
            frame = self._decode_one(index)
        self._pending = frame
        self._next = index

    def _decode_one(self, index: int):
        try:
            return next(self._decoder)
        except StopIteration:
            raise VideoDecodeError(f"{self.path}: decoding stopped before frame {index}", index) from None
        except self._av.error.FFmpegError as exc:
            raise VideoDecodeError(f"{self.path}: decoding broke at frame {index}: {_reason(exc)}",
                                   index) from None

    def _advance(self) -> np.ndarray:
        index = self._next
        frame = self._pending if self._pending is not None else self._decode_one(index)
        self._pending = None
        self._next = index + 1 if index + 1 < len(self) else None
        return frame.to_ndarray(format="rgb24")

    def close(self) -> None:
        self._decoder = None
        self._container.close()


def _first_gap(pts: list[int]) -> int | None:
    """Where a constant-frame-rate stream skips frames (a damaged or cut file), else None."""
    if len(pts) < 3:
        return None
    steps = np.diff(np.asarray(pts))
    step = np.median(steps)
    if step <= 0 or np.mean(steps == step) < 0.9:
        return None   # variable frame rate: gaps are normal
    gaps = np.flatnonzero(steps > 1.5 * step)
    return int(gaps[0]) + 1 if len(gaps) else None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- frame folders


_NUMBER = re.compile(r"(\d+)")


def natural_key(path: Path):
    return [int(part) if part.isdigit() else part.lower() for part in _NUMBER.split(path.stem)]


def list_images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                  key=natural_key)


def numbered_files(folder: Path, suffixes=IMAGE_SUFFIXES) -> dict[int, Path]:
    """0-based frame -> file, from the last number in each name (`0001.png`, `Name_001.png`
    are frame 0: files are numbered from 1)."""
    out = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir(), key=natural_key):
            numbers = _NUMBER.findall(path.stem)
            if path.suffix.lower() in suffixes and numbers:
                out[int(numbers[-1]) - 1] = path
    return out


def read_grey(path: Path) -> np.ndarray | None:
    """An 8-bit greyscale image, or None when it cannot be read (callers name the problem)."""
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


def read_rgb(path: Path) -> np.ndarray:
    """One image file as RGB uint8."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise VideoDecodeError(f"{path}: not a readable image", 0)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class FrameFolder(VideoSource):
    """`images/0001.png ...` as DHF1K ships them; extensions may be mixed (UCF-Sports is)."""

    def __init__(self, folder: Path, fps: float = 30.0):
        self.path = folder
        self.files = list_images(folder)
        if not self.files:
            raise VideoOpenError(f"{folder}: the folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        first = self._load(self.files[0], 0)
        h, w = first.shape[:2]
        self.info = VideoInfo(str(folder), len(self.files), float(fps), w, h, "images")

    def _load(self, file: Path, index: int) -> np.ndarray:
        try:
            return read_rgb(file)
        except VideoDecodeError:
            raise VideoDecodeError(f"{file}: not a readable image (frame {index})", index) from None

    def read(self, index: int) -> np.ndarray:
        frame = self._load(self.files[self._check_index(index)], index)
        if frame.shape[:2] != (self.info.height, self.info.width):
            import cv2
            frame = cv2.resize(frame, (self.info.width, self.info.height), interpolation=cv2.INTER_AREA)
        return frame

    def iter_frames(self, start: int = 0, stop: int | None = None):
        stop = len(self) if stop is None else min(stop, len(self))
        for index in range(start, stop):
            yield index, self.read(index)

    def content_key(self) -> str:
        h = hashlib.sha256()
        for f in self.files:
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
        h.update(file_fingerprint(self.files[0]).encode())
        return h.hexdigest()[:32]
