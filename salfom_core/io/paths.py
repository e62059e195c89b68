"""What a path given by the user is: one answer for the app's Open, its drag and drop, and the CLI.

`classify_path` looks at names and folder structure only (plus, for a folder of plain images,
the first image's channels: saliency maps are greyscale, video frames are colour), so it is
cheap enough to call on every drop.
"""
from __future__ import annotations

import enum
import os
from pathlib import Path

from .files import IMAGE_SUFFIXES, is_hidden, list_images

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv")
GAZE_SUFFIXES = (".csv", ".txt", ".tsv", ".asc", ".edf")      # .edf: the gaze reader says how to convert it
GAZE_FOLDER_SUFFIXES = (".txt", ".asc", ".tsv")               # SMI, EyeLink: one export per observer
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".safetensors")
DATASET_SPLITS = ("train", "val", "training", "testing")


class PathKind(str, enum.Enum):
    VIDEO = "video"                          # a video file
    FRAME_FOLDER = "frame folder"            # numbered colour images, or an annotated video (images/ inside)
    GAZE = "gaze"                            # gaze CSV, an SMI export, or a folder of SMI exports
    ANNOTATIONS = "annotation folder"        # maps/ and/or fixation/ of one video, without images/
    MAPS = "maps folder"                     # numbered greyscale saliency maps (another model's output)
    DATASET = "dataset root"                 # train/ val/ (DHF1K) or training/ testing/ (Hollywood-2, UCF)
    CHECKPOINT = "checkpoint"


class PathKindError(ValueError):
    """The path does not exist, or is none of the kinds above."""


def classify_path(path: str | os.PathLike) -> PathKind:
    """The kind of `path`; raises PathKindError naming the path when it is none of them."""
    path = Path(path)
    if not path.exists():
        raise PathKindError(f"{path}: no such file or folder")
    if path.is_file():
        return _classify_file(path)
    return _classify_folder(path)


def _classify_file(path: Path) -> PathKind:
    suffix = path.suffix.lower()
    if suffix in CHECKPOINT_SUFFIXES:
        return PathKind.CHECKPOINT
    if suffix in GAZE_SUFFIXES:
        return PathKind.GAZE
    if suffix in IMAGE_SUFFIXES:
        raise PathKindError(f"{path}: a single image; open the folder of frames or maps it belongs to")
    # any other file is left to FFmpeg, which reads far more containers than we could list
    return PathKind.VIDEO


def _classify_folder(path: Path) -> PathKind:
    subfolders = {p.name.lower() for p in path.iterdir() if p.is_dir()}
    if "images" in subfolders:
        return PathKind.FRAME_FOLDER
    if any(s in subfolders for s in DATASET_SPLITS) and _has_annotated_videos(path):
        return PathKind.DATASET
    if "fixation" in subfolders or "maps" in subfolders:
        return PathKind.ANNOTATIONS
    if _is_gaze_folder(path):
        return PathKind.GAZE
    images = list_images(path)
    if images:
        return PathKind.MAPS if _is_greyscale(images[0]) else PathKind.FRAME_FOLDER
    raise PathKindError(f"{path}: holds no video frames, maps, gaze or annotations")


def _is_gaze_folder(path: Path) -> bool:
    """Exports one per observer (SMI, EyeLink), a Pupil Labs recording, or a folder of recordings."""
    from .gaze.pupil import core_export, is_neon     # here: the gaze readers load only when a folder is asked about

    def recording(folder: Path) -> bool:
        return is_neon(folder) or core_export(folder) is not None

    children = [p for p in path.iterdir() if not is_hidden(p)]       # macOS `._P1.txt` is no export
    return (any(p.is_file() and p.suffix.lower() in GAZE_FOLDER_SUFFIXES for p in children) or recording(path)
            or any(p.is_dir() and recording(p) for p in children))


def _has_annotated_videos(root: Path) -> bool:
    for split in DATASET_SPLITS:
        folder = root / split
        if folder.is_dir() and any((video / "images").is_dir() or (video / "maps").is_dir()
                                   for video in folder.iterdir() if video.is_dir()):
            return True
    return False


def _is_greyscale(image_path: Path) -> bool:
    """One channel, or three equal ones (maps saved as RGB by some tools)."""
    import cv2
    import numpy as np

    image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
    if image is None:
        return False            # unreadable: the reader of either kind will name the file
    if image.ndim == 2:
        return True
    colour = image[..., :3]
    return bool(np.array_equal(colour[..., 0], colour[..., 1]) and np.array_equal(colour[..., 1], colour[..., 2]))


def require_videos(paths) -> None:
    """Every path is a video or a frame folder (checked before any work starts). A folder of
    grey images is taken as frames here: `classify_path` guesses maps for it (what a drop on an
    open video means), but greyscale stimuli are frames too and only the user knows which."""
    for path in paths:
        kind = classify_path(path)
        if kind not in (PathKind.VIDEO, PathKind.FRAME_FOLDER, PathKind.MAPS):
            raise PathKindError(f"{path}: a {kind.value}, not a video or a folder of frames")
