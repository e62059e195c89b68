"""Annotated videos on disk: the benchmarks' folder layouts and each video's annotation files.

DHF1K:                 <root>/{train,val}/<video>/{images,maps,fixation}/0001.png
Hollywood-2 / UCF:     <root>/{training,testing}/<video>/{images,maps,fixation}/<Name>_001.png

Each annotated video has `maps/` (the continuous ground truth) and `fixation/` (binary maps as
PNG, or `fixation/maps/*.mat` with variable I, preferred as exact).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GazeError
from .files import full_scale, list_images, numbered_files, read_grey, read_numbered_grey


def read_fixation_file(path: Path) -> np.ndarray:
    """One binary fixation map from a `.mat` (variable I) or an image; uint8 0/1."""
    if path.suffix.lower() == ".mat":
        from scipy.io import loadmat

        try:
            content = loadmat(str(path))
        except Exception as exc:  # scipy raises several unrelated types for bad files
            raise GazeError(f"{path}: not a readable MATLAB file ({exc})") from None
        if "I" not in content:
            raise GazeError(f"{path}: no variable I in the MATLAB file")
        return (np.asarray(content["I"]) > 0).astype(np.uint8)
    image = read_grey(path)
    if image is None:
        raise GazeError(f"{path}: not a readable image")
    return (image > full_scale(image) / 2).astype(np.uint8)


@dataclass
class AnnotationFolder:
    """`maps/` (continuous GT) and `fixation/` (binary) of one annotated video."""

    root: Path
    map_files: dict[int, Path]           # 0-based frame -> file
    fixation_files: dict[int, Path]

    @property
    def n_frames(self) -> int:
        return max(list(self.map_files) + list(self.fixation_files), default=-1) + 1

    def gt_map(self, index: int) -> np.ndarray | None:
        """The continuous map as MATLAB's im2double reads it (float64 in 0..1), or None."""
        image = read_numbered_grey(self.map_files, index)
        return None if image is None else image.astype(np.float64) / full_scale(image)

    def fixations(self, index: int) -> np.ndarray | None:
        path = self.fixation_files.get(index)
        return None if path is None else read_fixation_file(path)


def find_annotations(root: str | os.PathLike) -> AnnotationFolder:
    """Index `maps/*.png` and `fixation/maps/*.mat` (preferred, exact) or `fixation/*.png`."""
    root = Path(root)
    fixation = numbered_files(root / "fixation" / "maps", (".mat",)) or numbered_files(root / "fixation")
    maps = numbered_files(root / "maps")
    if not fixation and not maps:
        raise GazeError(f"{root}: no annotations (expected maps/*.png, fixation/*.png or fixation/maps/*.mat)")
    return AnnotationFolder(root, maps, fixation)


SPLITS = {"dhf1k": {"train": "train", "val": "val"},
          "hollywood": {"train": "training", "val": "testing"},
          "ucf": {"train": "training", "val": "testing"}}
LAYOUTS = tuple(SPLITS)


class DatasetError(ValueError):
    pass


@dataclass
class AnnotatedVideo:
    name: str
    frames: list[Path]                  # 0-based
    annotations: AnnotationFolder

    def __len__(self):
        return len(self.frames)


def discover(root: str | Path, layout: str, split: str) -> list[AnnotatedVideo]:
    """Every video of `split` ("train" or "val") with frames and annotations."""
    if layout not in SPLITS:
        raise DatasetError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    folder = Path(root) / SPLITS[layout][split]
    if not folder.is_dir():
        raise DatasetError(f"{folder}: missing ({layout} layout expects {root}/{SPLITS[layout][split]}/<video>/)")
    videos = []
    for video_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        images = video_dir / "images"
        if not images.is_dir():
            continue
        frames = list_images(images)
        ann = find_annotations(video_dir)
        if frames and ann.map_files:
            videos.append(AnnotatedVideo(video_dir.name, frames, ann))
    if not videos:
        raise DatasetError(f"{folder}: no videos with images/ and maps/")
    return videos
