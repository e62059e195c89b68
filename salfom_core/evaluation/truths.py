"""The ground truth a prediction is scored against, per video: fixations and continuous maps,
from annotation folders (DHF1K, Hollywood-2, UCF-Sports) or from raw gaze (DHF1K's Gaussian).
`io.ground_truth` builds the maps; this module says where each video's truth comes from."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.annotations import AnnotationFolder, find_annotations
from ..io.files import is_hidden, list_images, natural_key
from ..io.gaze import GazeData
from ..io.ground_truth import DHF1K_SIGMA, density_map
from ..io.paths import VIDEO_SUFFIXES


class GroundTruth:
    """Per-frame fixations and continuous maps of one video, whatever they came from."""

    name: str
    n_frames: int

    def fixations(self, index: int) -> np.ndarray | None:
        raise NotImplementedError

    def gt_map(self, index: int) -> np.ndarray | None:
        raise NotImplementedError


@dataclass
class AnnotationTruth(GroundTruth):
    name: str
    annotations: AnnotationFolder
    video_frames: int = 0        # frames of the video (images/), when known: trailing frames
    #                              without annotations are then reported, not silently ignored

    @property
    def n_frames(self) -> int:
        return max(self.annotations.n_frames, self.video_frames)

    def fixations(self, index):
        return self.annotations.fixations(index)

    def gt_map(self, index):
        return self.annotations.gt_map(index)


@dataclass
class GazeTruth(GroundTruth):
    """Fixation maps from gaze samples; continuous maps by DHF1K's Gaussian (FWHM 30 px)."""

    name: str
    gaze: GazeData
    sigma: float = DHF1K_SIGMA
    grid: bool = False
    video_path: str = ""          # the video the gaze belongs to, when known (the app opens it)

    @property
    def n_frames(self) -> int:
        return self.gaze.n_frames

    def fixations(self, index):
        return self.gaze.fixation_map(index, grid=self.grid)

    def gt_map(self, index):
        fix = self.fixations(index)
        return density_map(fix, self.sigma) if fix.any() else None


def dataset_truths(data_root: str | Path, layout: str | None = None, split: str = "val") -> list[AnnotationTruth]:
    """Annotated videos under a dataset root, a split folder, or one video folder."""
    from ..io.annotations import SPLITS, discover

    root = Path(data_root)
    if not root.is_dir():
        raise ValueError(f"{root}: no such dataset folder")
    if (root / "maps").is_dir() or (root / "fixation").is_dir():
        return [_folder_truth(root)]
    if layout:
        return [AnnotationTruth(v.name, v.annotations, len(v)) for v in discover(root, layout, split)]
    for layout_name, splits in SPLITS.items():
        if (root / splits[split]).is_dir():
            return [AnnotationTruth(v.name, v.annotations, len(v)) for v in discover(root, layout_name, split)]
    # a folder of annotated video folders, or of videos with their gaze beside them
    truths = [_folder_truth(p) for p in sorted(root.iterdir())
              if p.is_dir() and ((p / "maps").is_dir() or (p / "fixation").is_dir())]
    return truths or gaze_truths(root)


def gaze_beside(video: Path) -> Path | None:
    """`<stem>_gaze.csv` (`.tsv`: Tobii, `.asc`: EyeLink) or a `<stem>_gaze/` folder (exports of any
    tracker) next to a video file."""
    for candidate in [video.with_name(f"{video.stem}_gaze{suffix}") for suffix in (".csv", ".tsv", ".asc", "")]:
        if candidate.exists():
            return candidate
    return None


def gaze_truths(folder: Path) -> list[GazeTruth]:
    """Every video file of `folder` that has its gaze beside it; ground truth from the gaze."""
    from ..io.gaze import GazeOptions, load_gaze
    from ..io.video import open_video

    truths = []
    for video in sorted((p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and not is_hidden(p)),
                        key=natural_key):   # macOS `._clip.mp4` beside `._clip_gaze.csv` is no video
        gaze_path = gaze_beside(video)
        if gaze_path is None:
            continue
        with open_video(video) as source:
            info, n_frames, clock = source.info, len(source), source.clock
        # the video's name picks its stimulus in a multi-stimulus export (Tobii, Gazepoint)
        gaze = load_gaze(gaze_path, (info.width, info.height), n_frames, clock,
                         options=GazeOptions(video_name=video.name))
        truths.append(GazeTruth(video.stem, gaze, video_path=str(video)))
    return truths


def _folder_truth(folder: Path) -> AnnotationTruth:
    images = folder / "images"
    return AnnotationTruth(folder.name, find_annotations(folder), len(list_images(images)) if images.is_dir() else 0)
