"""One reader for video files (anything FFmpeg decodes, through PyAV) and frame folders.

Frames come out as RGB uint8 arrays (H, W, 3), addressed by 0-based index. Random access is
exact: a file's packets are indexed once (demuxing only, no decoding), and a read seeks to
the keyframe before the wanted presentation time and decodes forward to it. Reading the next
frame after the last one read continues decoding without a seek, so playback and forward
scrubbing cost one decode per frame. Nothing is buffered beyond the decoder's own state.
"""
from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .files import IMAGE_SUFFIXES, list_images
from .fingerprint import file_fingerprint, frame_files_fingerprint
from .frame_clock import FrameClock


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
    width: int                    # as displayed: after rotation and the pixel aspect ratio
    height: int
    codec: str
    rotation: int = 0             # degrees counterclockwise the stored frames are turned to stand upright
    coded_size: tuple[int, int] | None = None     # (width, height) as stored, when it differs
    stream: int = 0               # which video stream of the file (FFmpeg's choice of the best one)

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0


class VideoSource:
    """Common interface of video files and frame folders."""

    info: VideoInfo
    declared_frames: int | None = None   # what the container states, when it states it

    def __len__(self) -> int:
        return self.info.frame_count

    def read(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    @property
    def clock(self) -> FrameClock:
        """When each frame is on screen, for gaze given by time (frames of a folder: constant)."""
        return FrameClock(self.info.fps)

    def content_key(self) -> str:
        raise NotImplementedError

    @property
    def integrity_warning(self) -> str | None:
        """One line naming the file and what is wrong with it, or None when nothing is known to be.

        E.g. `clip.avi: only 120 of 300 frames; the file ends in the middle of a frame (truncated)`
        or `clip.avi: frame rate unknown (no AVI header: read as a bare h264 stream), assuming
        25 fps`. What opening finds is there at once; frames that turn out undecodable are added
        as they are read, so ask again after a pass over the frames (prediction, export). Cheap to
        read, and safe to read from another thread than the one decoding. For the CLI's warnings
        and the app's status bar and timeline.
        """
        return None

    def scan(self) -> None:
        """Decode every frame once, so that `integrity_warning` knows about all of them."""
        for _ in self.iter_frames():
            pass

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


# --------------------------------------------------------------------------- files (PyAV)

# Demuxers of bare codec streams: FFmpeg falls back to them when a container header is
# missing (a zeroed header), and they know no timestamps and no frame rate (raw H.264 says 25).
RAW_STREAM_FORMATS = {"h264", "hevc", "m4v", "mpegvideo", "mjpeg", "vc1", "rawvideo", "obu", "cavsvideo"}
TS_PACKET_SIZES = (188, 192, 204)
MP4_SUFFIXES = (".mp4", ".mov", ".m4v", ".3gp")


class VideoFile(VideoSource):
    """A video file. Every packet with a frame counts as a frame, so dropped frames (gaps in the
    timestamps of phone and webcam recordings) keep every frame after them.

    A damaged file yields the frames that decode: a packet the decoder rejects is skipped, and
    its frame reads as the frame before it (as a player freezes; the one after when none came
    before). The last frame of a cut file, only partly there, is left out. What is known to be
    wrong is in `integrity_warning`.
    """

    def __init__(self, path: Path):
        import av  # imported here: the model and benchmarks must work where PyAV is absent

        self._av = av
        self.path = path
        if path.exists() and not path.is_file():
            # a named pipe or a device: opening it would wait for a writer for ever
            raise VideoOpenError(f"{path}: not a regular file (a named pipe, socket or device)")
        if not path.is_file():
            raise VideoOpenError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise VideoOpenError(f"{path}: the file is empty")
        self._container = self._open_container()
        if not self._container.streams.video:
            self._container.close()
            raise VideoOpenError(f"{path}: the file holds no video stream")
        # the stream FFmpeg itself would play (not the first: an MKV's cover image may come first)
        self._stream = self._container.streams.best("video") or self._container.streams.video[0]
        self._format = self._container.format.name
        self._problems: list[str] = []           # found while indexing
        self.lost_frames: set[int] = set()       # found while decoding: no picture, shows the frame before
        self.damaged_frames: set[int] = set()    # found while decoding: decoded with errors
        self._pts, self._keyframes = self._index()
        if not self._pts:
            self._container.close()
            raise VideoOpenError(f"{path}: no decodable video frames (empty or corrupt stream)")
        rate = self._stream.average_rate or self._stream.guessed_rate
        self._gaps = _timeline_gaps(self._pts) if self.timestamps else {}
        if self._gaps:
            # the average over a timeline with dropped frames is too low: use the frame step
            rate = 1 / (float(np.median(np.diff(self._pts))) * self._stream.time_base)
        self.rate_known = bool(rate) and self._format not in RAW_STREAM_FORMATS
        ctx = self._stream.codec_context
        self._upright = _Upright(self._probe_rotation(), self._stream.sample_aspect_ratio, ctx.width, ctx.height)
        self.info = VideoInfo(str(path), len(self._pts), float(rate) if rate else 30.0, *self._upright.size,
                              ctx.name, self._upright.rotation, self._upright.coded_size, self._stream.index)
        self.declared_frames = self._declared_frames()
        self._clock = self._frame_clock()
        self._frames: Iterator | None = None    # decoded frames, presentation order
        self._next: int | None = None           # index `_advance` returns next
        self._pending = None                    # a decoded frame not yet returned
        self._previous = None                   # decoded frame of index _next - 1, stands in for lost ones

    @property
    def clock(self) -> FrameClock:
        return self._clock

    def _frame_clock(self) -> FrameClock:
        """The frames' presentation timestamps when they are uneven (variable frame rate, dropped
        frames); the nominal rate when they are even or not to be trusted (AVI, bare streams)."""
        if not self._frame_pts_reliable:
            return FrameClock(self.info.fps)
        seconds = (np.asarray(self._pts, dtype=np.float64) - self._pts[0]) * float(self._stream.time_base)
        return FrameClock.from_timestamps(seconds, self.info.fps)

    def _probe_rotation(self) -> int:
        """The display matrix's rotation (phones store portrait video landscape), read from the
        first frame that decodes; 0 when none does."""
        try:
            frame = next(self._container.decode(self._stream), None)
        except self._av.error.FFmpegError:
            frame = None
        self._rewind()
        return int(round((getattr(frame, "rotation", 0) or 0) / 90)) % 4 * 90 if frame is not None else 0

    def _open_container(self):
        try:
            return self._av.open(str(self.path))
        except (self._av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            hint = ""
            if self.path.suffix.lower() in MP4_SUFFIXES:
                # an MP4's index usually comes last: a cut file has none, and nothing can be read
                hint = "; an MP4 cut short (an unfinished download or recording) or with a damaged header"
            raise VideoOpenError(f"{self.path}: not a readable video ({_reason(exc)}{hint})") from None

    def _index(self) -> tuple[list[int], list[int]]:
        """Presentation timestamps of every frame's packet (sorted) and of the keyframes.

        A stream without timestamps (a bare codec stream) gets positions 0, 1, ... instead.
        """
        stamps, keys, corrupt = [], [], []
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except self._av.error.FFmpegError as exc:
                self._problems.append(f"unreadable data after frame {len(stamps)} ({_reason(exc)})")
                break
            if packet.size == 0 or packet.is_discard:
                continue   # no frame; or one an MP4 edit list trims (decoded as a reference only)
            stamp = packet.pts if packet.pts is not None else packet.dts
            stamps.append(stamp)
            corrupt.append(packet.is_corrupt)
            if packet.is_keyframe:
                keys.append(stamp)
        # the last packet of a cut file is incomplete: its picture would be garbage
        if stamps and (corrupt[-1] or self._cut_mid_packet()):
            partial = stamps.pop()
            if keys and keys[-1] == partial:
                keys.pop()
            self._problems.append("the file ends in the middle of a frame (truncated)")
        self.timestamps = bool(stamps) and all(s is not None for s in stamps)
        # AVI knows no presentation times (its packets' are decode positions), so decoded
        # frames carry wrong ones when B-frames reorder: count those frames by position
        self._frame_pts_reliable = self.timestamps and self._format != "avi"
        self._rewind()
        if not self.timestamps:
            return list(range(len(stamps))), []
        return sorted(stamps), sorted(keys)

    def _cut_mid_packet(self) -> bool:
        """An MPEG transport stream is a whole number of fixed-size packets unless it was cut."""
        size = self.path.stat().st_size
        return self._format == "mpegts" and all(size % n for n in TS_PACKET_SIZES)

    def _declared_frames(self) -> int | None:
        """The frame count the container states, else one from its stated duration; None if neither."""
        if self._stream.frames:
            return int(self._stream.frames)
        if self._format != "mpegts" and self._container.duration and self.rate_known:
            return round(self._container.duration / 1e6 * self.info.fps)
        return None

    @property
    def integrity_warning(self) -> str | None:
        """One line naming the file and what is wrong with it, or None for a sound file.

        Covers a container declaring more frames than it holds ("only N of M frames"), a cut or
        unreadable tail, an unknown frame rate (a zeroed header: the file reads as a bare
        codec stream), and frames that turned out undecodable or damaged while decoding: it
        grows as frames are read, so ask again after reading them all.
        """
        problems = []
        n, declared = len(self), self.declared_frames
        gaps = self._gaps
        skipped = sum(gaps.values())
        # a count from the duration is approximate; one from the frame count is exact. Some
        # containers count the frames dropped while recording (AVI), some do not (MP4).
        slack = 0 if self._stream.frames else max(1, round(0.02 * (declared or 0)))
        if declared is not None and n + skipped < declared - slack:
            problems.append(f"only {n} of {declared} frames")
        if gaps:
            where = ", ".join(f"{count} after frame {k - 1}" for k, count in list(gaps.items())[:5])
            where += ", ..." if len(gaps) > 5 else ""
            problems.append(f"{_plural(skipped, 'frame')} missing from the timeline ({where}: dropped while "
                            "recording, or damaged; frame numbers after a gap lag its time)")
        problems += self._problems
        if not self.rate_known:
            why = ""
            if self._format in RAW_STREAM_FORMATS:
                container = self.path.suffix.lstrip(".").upper() or "container"
                why = f" (no {container} header: read as a bare {self._format} stream)"
            problems.append(f"frame rate unknown{why}, assuming {self.info.fps:g} fps")
        # snapshots: a decoding thread may be adding to them
        lost, damaged = frozenset(self.lost_frames), frozenset(self.damaged_frames)
        if lost:
            problems.append(f"{len(lost)} of {n} frames could not be decoded "
                            f"({_ranges(lost)}: shown as the nearest frame that decodes)")
        if damaged:
            problems.append(f"{_plural(len(damaged), 'frame')} decoded with errors ({_ranges(damaged)})")
        if not problems:
            return None
        return f"{self.path}: " + "; ".join(problems)

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

    def scan(self) -> None:
        self._seek_to(0)
        for _ in range(len(self)):
            self._advance(convert=False)   # decoding is the check; no RGB conversion

    def _rewind(self) -> None:
        """Back to the first packet; a bare stream cannot seek, so it is opened again."""
        try:
            self._container.seek(0, stream=self._stream)
        except self._av.error.FFmpegError:
            self._container.close()
            self._container = self._open_container()
            # the stream FFmpeg itself would play (not the first: an MKV's cover image may come first)
        self._stream = self._container.streams.best("video") or self._container.streams.video[0]

    def _seek_to(self, index: int) -> None:
        """Position the decoder so that the next frame out is frame `index`."""
        self._previous = None
        if self._frame_pts_reliable:
            self._seek_by_timestamp(index)
            return
        # count frames from the keyframe before (or the start): decoded timestamps are not trusted
        keys = [k for k in self._keyframes if k <= self._pts[index]]
        self._pending = None
        if keys and keys[-1] != self._pts[0]:
            self._container.seek(keys[-1], stream=self._stream, backward=True, any_frame=False)
            self._frames = self._decode_all()
            self._pending = next(self._frames, None)
            self._next = bisect.bisect_left(self._pts, keys[-1])
        if self._pending is None or self._first_stamp != keys[-1]:
            # no seek, or it did not land on that keyframe (a cut AVI has no index): count from the start
            self._rewind()
            self._frames, self._pending, self._next = self._decode_all(), None, 0
        while self._next != index:
            self._advance(convert=False)

    def _seek_by_timestamp(self, index: int) -> None:
        """Some containers (MPEG-TS) seek by estimate and may land past the wanted keyframe;
        when the first frame out is already late, try the keyframe before, then the start."""
        target = self._pts[index]
        earlier_keys = [k for k in reversed(self._keyframes) if k <= target]
        for key in earlier_keys[:3] + [min(self._pts[0], 0) - 1]:
            self._container.seek(key, stream=self._stream, backward=True, any_frame=False)
            self._frames = self._decode_all()
            frame = next(self._frames, None)
            if frame is not None and (frame.pts is None or frame.pts <= target):
                break
        self._pending, self._next = frame, index

    def _decode_all(self) -> Iterator:
        """Decoded frames from the current position; packets the decoder rejects are skipped."""
        packets = self._container.demux(self._stream)
        codec = self._stream.codec_context
        self._first_stamp = None
        while True:
            try:
                packet = next(packets)
            except (StopIteration, self._av.error.FFmpegError):
                break   # the index already recorded an unreadable tail
            if packet.size == 0:
                continue
            if self._first_stamp is None:
                self._first_stamp = packet.pts if packet.pts is not None else packet.dts
            try:
                yield from codec.decode(packet)
            except self._av.error.FFmpegError:
                continue   # its frame is counted lost by `_advance`
        try:
            yield from codec.decode(None)
        except self._av.error.FFmpegError:
            pass

    def _advance(self, convert: bool = True) -> np.ndarray | None:
        """The frame of index `_next` (matched by timestamp where they are reliable, else by
        position); a frame that never comes out of the decoder repeats the one before."""
        index = self._next
        target = self._pts[index] if self._frame_pts_reliable else None
        while True:
            frame = self._pending if self._pending is not None else next(self._frames, None)
            self._pending = None
            if frame is None or target is None or frame.pts is None or frame.pts == target:
                break
            if frame.pts > target:   # the picture of `index` never came out of the decoder
                self._pending, frame = frame, None
                break
        if frame is None:
            self.lost_frames.add(index)
            frame = self._previous if self._previous is not None else self._pending
            if frame is None:
                raise VideoDecodeError(f"{self.path}: frame {index} cannot be decoded, nor any after it", index)
        elif frame.is_corrupt:
            self.damaged_frames.add(index)
        self._previous = frame
        self._next = index + 1 if index + 1 < len(self) else None
        return self._upright(frame.to_ndarray(format="rgb24")) if convert else None

    def close(self) -> None:
        self._frames = None
        self._container.close()


class _Upright:
    """Stored frames to the picture a player shows: turned by the display matrix's rotation,
    then stretched to the pixel aspect ratio (an anamorphic 720x576 at 64:45 shows 1024x576)."""

    def __init__(self, rotation: int, aspect, width: int, height: int):
        self.rotation = rotation
        self.turns = rotation // 90
        aspect = float(aspect) if aspect and float(aspect) > 0 else 1.0
        w, h = (height, width) if self.turns % 2 else (width, height)
        # the aspect ratio stretches the stored width, which is the shown height when turned
        if abs(aspect - 1.0) > 1e-3:
            w, h = (w, round(h / aspect)) if self.turns % 2 else (round(w * aspect), h)
        self.size = (w, h)
        self.coded_size = None if self.size == (width, height) else (width, height)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self.turns:
            image = np.ascontiguousarray(np.rot90(image, self.turns))
        if image.shape[1::-1] != self.size:
            import cv2

            image = cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR)
        return image


def _timeline_gaps(pts: list[int]) -> dict[int, int]:
    """{index of the first frame after a gap: frames missing there} of a constant-rate stream."""
    if len(pts) < 3:
        return {}
    steps = np.diff(np.asarray(pts))
    step = np.median(steps)
    if step <= 0 or np.mean(steps == step) < 0.9:
        return {}   # variable frame rate: uneven steps are normal
    gaps = np.flatnonzero(steps > 1.5 * step)
    return {int(k) + 1: int(round(steps[k] / step)) - 1 for k in gaps}


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _ranges(indices) -> str:
    """`frames 3, 7-9, 12` for a set of frame indices (five runs at most, then '...')."""
    runs = []
    for k in sorted(indices):
        if runs and k == runs[-1][1] + 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:5])
    return ("frame " if len(indices) == 1 else "frames ") + text + (", ..." if len(runs) > 5 else "")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- frame folders


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
        file = self.files[self._check_index(index)]
        frame = self._load(file, index)
        if frame.shape[:2] != (self.info.height, self.info.width):
            # resizing would squash a portrait frame into a landscape one without a word
            h, w = frame.shape[:2]
            raise VideoDecodeError(f"{file}: frame {index + 1} is {w}x{h} but the folder's first frame is "
                                   f"{self.info.width}x{self.info.height}; a frame folder's images must all "
                                   "have one size", index)
        return frame

    def iter_frames(self, start: int = 0, stop: int | None = None):
        stop = len(self) if stop is None else min(stop, len(self))
        for index in range(start, stop):
            yield index, self.read(index)

    def content_key(self) -> str:
        return frame_files_fingerprint(self.files)
