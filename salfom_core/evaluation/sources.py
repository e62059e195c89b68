"""What a model's maps are read from for scoring: a folder of numbered maps, a root of per-video
folders, or the centre-bias baseline computed on the fly. Each gives `reader(truth)`: frame
index -> uint8 map or None (no prediction for that frame)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..io.files import is_hidden, numbered_files, numbering_note, read_numbered_grey
from .truths import GroundTruth

# maps whose width/height differs more than this from the video's are stretched to score:
# rotated or another video's maps, or a model that outputs squares; said, not refused
_ASPECT_TOLERANCE = 0.10


class MapFolder:
    """Predicted maps as images, frame k from the file numbered k+1 (`0001.png`, `x_001.png`),
    or from the file numbered k where the folder starts at `0000.png`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.files = numbered_files(self.folder)
        if not self.files:
            raise ValueError(f"{self.folder}: no numbered map images")

    @property
    def n_frames(self) -> int:
        return max(self.files) + 1

    def read(self, index: int) -> np.ndarray | None:
        return read_numbered_grey(self.files, index)

    def mismatches(self, n_frames: int, size: tuple[int, int] | None) -> list[str]:
        """One line each for what suggests these maps are not the video's (`size`: its
        width, height): maps past its last frame, another aspect; and a note when the folder
        is numbered from 0. The first map is read (an unreadable one is an error now)."""
        lines = []
        note = numbering_note(self.files)
        if note:
            lines.append(f"note: {note}")
        if self.n_frames > n_frames:
            lines.append(f"warning: {self.folder}: maps up to frame {self.n_frames} for a video of {n_frames} frames "
                         f"(another video's maps?); the {self.n_frames - n_frames} maps after frame {n_frames} "
                         "are not used")
        first = self.read(min(self.files))
        if size is not None and first is not None:
            h, w = first.shape[:2]
            if abs((w / h) / (size[0] / size[1]) - 1) > _ASPECT_TOLERANCE:
                lines.append(f"warning: {self.folder}: the maps are {w}x{h} but the video is {size[0]}x{size[1]} "
                             "(a rotated or another video's maps?); they are stretched to the video's size")
        return lines


class CenterBiasMaps:
    """The centre-bias baseline scored without files: the map `salfom predict -c center-bias`
    writes, at the ground truth's size (taken from the first annotated frame)."""

    name = "center-bias"

    def __init__(self):
        self._maps: dict[tuple[int, int], np.ndarray] = {}

    def reader(self, truth: GroundTruth) -> Callable[[int], np.ndarray | None]:
        shape = None

        def read(index: int):
            nonlocal shape
            if shape is None:
                shape = _truth_shape(truth, index)
                if shape is None:
                    return None
            return self.map(shape)
        return read

    def map(self, shape: tuple[int, int]) -> np.ndarray:
        if shape not in self._maps:
            from ..inference.engine import CenterBiasPredictor
            from ..models.preprocess import postprocess_map, to_uint8

            predictor = CenterBiasPredictor()
            raw = predictor.predict(np.empty((1,)))[0]
            self._maps[shape] = to_uint8(postprocess_map(raw, (shape[1], shape[0])))
        return self._maps[shape]


def _truth_shape(truth: GroundTruth, index: int) -> tuple[int, int] | None:
    for i in [index, *range(truth.n_frames)]:
        for m in (truth.fixations(i), truth.gt_map(i)):
            if m is not None:
                return m.shape
    return None


class PredictionRoot:
    """A folder of per-video map folders (`<root>/<video>/0001.png`), or one video's maps."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ValueError(f"{self.folder}: no such predictions folder")
        self.name = self.folder.name or str(self.folder)
        self.single = bool(numbered_files(self.folder))

    def reader(self, truth: GroundTruth) -> Callable[[int], np.ndarray | None]:
        folder = self.folder if self.single else self.folder / truth.name
        if not folder.is_dir() or not numbered_files(folder):
            return lambda _i: None          # every frame is reported as "no prediction"
        return MapFolder(folder).read

    def mismatches(self, truths: list[GroundTruth]) -> list[str]:
        """`MapFolder.mismatches` of each video's maps against its ground truth."""
        lines = []
        for truth in truths:
            folder = self.folder if self.single else self.folder / truth.name
            if folder.is_dir() and numbered_files(folder):
                shape = _truth_shape(truth, 0)
                lines += MapFolder(folder).mismatches(truth.n_frames, shape and (shape[1], shape[0]))
        return lines

    def unmatched(self, truths: list[GroundTruth]) -> list[str]:
        """Per-video folders that match no video of the data (scored nowhere: say so)."""
        if self.single:
            return []
        names = {t.name for t in truths}
        return sorted(p.name for p in self.folder.iterdir()            # not a USB stick's `.Trashes`
                      if p.is_dir() and p.name not in names and not is_hidden(p))
