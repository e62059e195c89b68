"""`salfom make-dataset`: a DHF1K-layout dataset from videos and raw gaze.

    <root>/<split>/<video>/images/0001.png        the frames
                          maps/0001.png          continuous ground truth (DHF1K rule, spec)
                          fixation/0001.png      binary fixation map (0/255)
                          fixation/maps/0001.mat the same, MATLAB v5, variable I (uint8 0/1)
                          gaze.csv               the converted fixations (`gaze-convert` CSV)
                          make_dataset.json      sources, settings, whether the video is complete

Fixation maps are the converted fixations (`GazeData.fixation_map`, DHF1K's record_mapping
rule); continuous maps are `ground_truth.density_map` of them (make_gauss_masks: a Gaussian of
FWHM 30 px at every fixated pixel, divided by the maximum), stored as 8-bit PNG. A frame
without fixations gets its image only: no map, so training and evaluation treat it as not
annotated (and `evaluate` reports it as "no fixation").

Every file is written atomically, and a frame's image is written last, so an image on disk
means the frame is finished: a killed run resumes from the first frame without one. A video
whose sources or settings changed since the last run is refused rather than mixed.
"""
from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..errors import SalfomError
from ..io.annotations import SPLITS
from ..io.atomic import atomic_write_bytes, atomic_write_text
from ..io.fingerprint import file_fingerprint
from ..io.gaze import GazeData, GazeOptions, ScreenGeometry, load_gaze, write_csv
from ..io.ground_truth import density_map
from ..io.outputs import video_name
from ..io.video import open_video

IMAGE_FORMATS = ("png", "jpg")
MANIFEST = "make_dataset.json"


class MakeDatasetError(SalfomError):
    """Inputs that cannot make a dataset (the message names the file)."""


@dataclass(frozen=True)
class DatasetSettings:
    split: str = "train"
    image_format: str = "png"
    grid: bool = False                 # DHF1K's grid quirk for fixation maps
    screen: tuple[int, int] = (1440, 900)
    gaze: GazeOptions | None = None    # how to read the gaze exports (None: the defaults)

    def __post_init__(self):
        if self.split not in SPLITS["dhf1k"]:
            raise MakeDatasetError(f"split must be train or val, not {self.split!r}")
        if self.image_format not in IMAGE_FORMATS:
            raise MakeDatasetError(f"image format must be one of {', '.join(IMAGE_FORMATS)}, not {self.image_format!r}")


@dataclass
class VideoReport:
    name: str
    folder: Path
    frames: int
    written: int              # frames written by this run (the rest were already there)
    annotated: int            # frames with at least one fixation
    gaze_note: str            # what reading the gaze dropped, '' when nothing
    complete: bool


def pair_inputs(videos: list[str | Path], gazes: list[str | Path]) -> list[tuple[Path, Path]]:
    """One gaze input per video, in the order given."""
    videos, gazes = [Path(v) for v in videos], [Path(g) for g in gazes]
    if len(videos) != len(gazes):
        raise MakeDatasetError(f"{len(videos)} videos but {len(gazes)} gaze inputs: give one --gaze per video, "
                               "in the same order")
    names = [video_name(v) for v in videos]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MakeDatasetError(f"two videos would share the folder {duplicates[0]!r}; rename one of them")
    return list(zip(videos, gazes))


def make_dataset(videos: list[str | Path], gazes: list[str | Path], root: str | Path,
                 settings: DatasetSettings = DatasetSettings(),
                 progress: Callable[[str, int, int], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> list[VideoReport]:
    """Write every (video, gaze) pair under `root`; returns one report per video handled
    (stops early, reporting incomplete videos, when `cancel()` turns true)."""
    reports = []
    for video, gaze in pair_inputs(videos, gazes):
        report = make_video(video, gaze, Path(root), settings, progress, cancel)
        reports.append(report)
        if not report.complete:
            break
    return reports


def make_video(video: Path, gaze_path: Path, root: Path, settings: DatasetSettings,
               progress: Callable[[str, int, int], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> VideoReport:
    name = video_name(video)
    folder = root / SPLITS["dhf1k"][settings.split] / name
    with open_video(video) as source:
        info, n_frames = source.info, len(source)
        options = dataclasses.replace(settings.gaze or GazeOptions(), video_name=video.name)
        gaze = load_gaze(gaze_path, (info.width, info.height), n_frames, source.clock, ScreenGeometry(*settings.screen),
                         options)
        manifest = _manifest(video, gaze_path, settings, n_frames, (info.width, info.height))
        previous = _read_manifest(folder)
        if previous is not None and previous["sources"] != manifest["sources"]:
            raise MakeDatasetError(f"{folder}: made from other sources or settings ({MANIFEST}); "
                                   "remove the folder or choose another output root")
        annotated = sum(1 for k in range(n_frames) if len(gaze.for_frame(k)[0]))
        if previous is not None and previous.get("complete"):
            return VideoReport(name, folder, n_frames, 0, annotated, _gaze_note(gaze), True)
        atomic_write_text(folder / MANIFEST, json.dumps({**manifest, "complete": False}, indent=1))
        write_csv(gaze, folder / "gaze.csv")
        start = first_missing_frame(folder, n_frames, settings.image_format)
        written = 0
        for k, frame in source.iter_frames(start):
            if cancel and cancel():
                return VideoReport(name, folder, n_frames, written, annotated, _gaze_note(gaze), False)
            write_frame(folder, k, frame, gaze, settings)
            written += 1
            if progress:
                progress(name, k + 1, n_frames)
    atomic_write_text(folder / MANIFEST, json.dumps({**manifest, "complete": True}, indent=1))
    return VideoReport(name, folder, n_frames, written, annotated, _gaze_note(gaze), True)


def _gaze_note(gaze: GazeData) -> str:
    """What reading the gaze dropped or noticed."""
    return "; ".join(filter(None, [gaze.dropped_note(), *gaze.warnings]))


def first_missing_frame(folder: Path, n_frames: int, image_format: str) -> int:
    """The first frame without its image (images are written last: earlier frames are whole).

    Frame files are renamed into place without an fsync each (thousands of them): after a power
    cut an image may be empty, so an empty image counts as missing too."""
    images = folder / "images"
    for k in range(n_frames):
        path = images / f"{k + 1:04d}.{image_format}"
        if not path.exists() or path.stat().st_size == 0:
            return k
    return n_frames


def write_frame(folder: Path, k: int, frame: np.ndarray, gaze: GazeData, settings: DatasetSettings) -> None:
    """Ground truth first, the image last: an image on disk means the frame is complete."""
    stem = f"{k + 1:04d}"
    fixations = gaze.fixation_map(k, grid=settings.grid)
    if fixations.any():
        gt = np.round(density_map(fixations) * 255).astype(np.uint8)
        _write_image(folder / "maps" / f"{stem}.png", gt)
        _write_image(folder / "fixation" / f"{stem}.png", fixations * 255)
        _write_mat(folder / "fixation" / "maps" / f"{stem}.mat", fixations)
    _write_image(folder / "images" / f"{stem}.{settings.image_format}", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def _write_image(path: Path, image: np.ndarray) -> None:
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.suffix == ".jpg" else []
    ok, data = cv2.imencode(path.suffix, image, params)
    if not ok:
        raise OSError(f"{path}: image encoding failed")
    atomic_write_bytes(path, data.tobytes(), sync=False)   # thousands of files: see first_missing_frame


def _write_mat(path: Path, fixations: np.ndarray) -> None:
    from scipy.io import savemat

    buf = io.BytesIO()
    savemat(buf, {"I": fixations.astype(np.uint8)}, do_compression=True)
    atomic_write_bytes(path, buf.getvalue(), sync=False)


def _manifest(video: Path, gaze: Path, settings: DatasetSettings, n_frames: int, size: tuple[int, int]) -> dict:
    gaze_files = sorted(gaze.glob("*")) if gaze.is_dir() else [gaze]
    return {"sources": {"video": str(video.resolve()),
                        "video_fingerprint": file_fingerprint(video) if video.is_file() else None,
                        "gaze": str(gaze.resolve()),
                        "gaze_fingerprint": [file_fingerprint(f) for f in gaze_files if f.is_file()],
                        "settings": _settings(settings),
                        "ground_truth": "DHF1K: fixation maps by record_mapping.m, Gaussian FWHM 30 px"},
            "frames": n_frames, "size": list(size)}


def _settings(settings: DatasetSettings) -> dict:
    """The settings as the manifest keeps them; default gaze options are left out, so a dataset made
    before they existed still matches its manifest."""
    values = asdict(settings) | {"screen": list(settings.screen)}
    if settings.gaze is None:
        values.pop("gaze")
    else:
        values["gaze"] = json.loads(json.dumps(asdict(settings.gaze)))
    return values


def _read_manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise MakeDatasetError(f"{path}: unreadable; remove it to rebuild this video") from None
