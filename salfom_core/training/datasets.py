"""Training and validation clips from annotated videos (`io.annotations` finds them).

Training (paper): one item per video per epoch, a 16-frame clip at a random start, the
target the ground-truth map of its last frame at 224x224. Validation (TMFI-Net's trainer,
which the authors used): clips starting every 64 frames (4 clip lengths) of each video,
scored at the ground truth's own size.
"""
from __future__ import annotations

import random

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..io.annotations import AnnotatedVideo, discover
from ..io.video import read_rgb
from ..models.preprocess import clip_tensor, preprocess_frame


def load_clip(video: AnnotatedVideo, last: int, clip_len: int, size: int) -> torch.Tensor:
    """Frames last-clip_len+1 .. last; before the first frame, the first frame repeats (reference)."""
    indices = [max(0, i) for i in range(last - clip_len + 1, last + 1)]
    return clip_tensor([preprocess_frame(read_rgb(video.frames[i]), size) for i in indices])


class TrainClips(Dataset):
    """One random 16-frame clip per video per epoch; target: the last frame's map at 224x224."""

    def __init__(self, root, layout: str = "dhf1k", clip_len: int = 16, size: int = 224, seed: int = 0):
        self.videos = discover(root, layout, "train")
        self.clip_len, self.size = clip_len, size
        self.seed, self.epoch = seed, 0
        self._annotated = [sorted(i for i in v.annotations.map_files if i < len(v)) for v in self.videos]

    def __len__(self):
        return len(self.videos)

    def set_epoch(self, epoch: int) -> None:
        """Starts depend on (seed, epoch, video) only: the same for any worker, rank or resume."""
        self.epoch = epoch

    def __getitem__(self, i):
        video = self.videos[i]
        rng = random.Random(f"{self.seed}:{self.epoch}:{i}")
        # the last frame must be annotated; earlier frames may precede the video start (padding)
        last = rng.choice([k for k in self._annotated[i] if k >= min(self.clip_len - 1, self._annotated[i][-1])])
        clip = load_clip(video, last, self.clip_len, self.size)
        gt = cv2.resize(video.annotations.gt_map(last).astype(np.float32), (self.size, self.size),
                        interpolation=cv2.INTER_AREA)
        return clip, torch.from_numpy(gt)


class ValClips(Dataset):
    """Clips ending at frames 15, 79, 143, ... of every video; GT and fixations at their own size."""

    def __init__(self, root, layout: str = "dhf1k", clip_len: int = 16, size: int = 224, stride: int = 64):
        self.videos = discover(root, layout, "val")
        self.clip_len, self.size = clip_len, size
        self.items = []
        for vi, video in enumerate(self.videos):
            last_frames = range(min(clip_len - 1, len(video) - 1), len(video), stride)
            self.items += [(vi, k) for k in last_frames if k in video.annotations.map_files]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        vi, last = self.items[i]
        video = self.videos[vi]
        fix = video.annotations.fixations(last)
        gt = video.annotations.gt_map(last)
        return {"clip": load_clip(video, last, self.clip_len, self.size),
                "gt": torch.from_numpy(gt.astype(np.float32)),
                "fixations": torch.from_numpy(fix if fix is not None else np.zeros(gt.shape, np.uint8)),
                "video": video.name, "frame": last}
