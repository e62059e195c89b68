"""Training from a lab's own recordings: the DHF1K-layout data is built from videos and their
raw gaze into the run folder, then `salfom train` runs on it, in one child process:

    salfom train --config <run>/run.toml --from-gaze <run>/gaze_sources.json [--resume]

(the app's Train > New run "on this video's / dataset's gaze"). Phase one is `make_dataset`
into `<run>/data` (the config's data_root), its progress appended to `<run>/log.jsonl` as
`dataset` events beside the trainer's own; phase two is the trainer. SIGTERM during phase one
stops after the current frame; a rerun (--resume) continues the data where it stopped (make-
dataset resumes) and then trains, continuing from last.pt if there is one.

The validation split is the training videos themselves (`val/<video>` links to
`train/<video>`): a lab's handful of recordings has no video to spare, and holding out the end
of a video would validate on frames of the same scene anyway. Validation CC then says how well
the model fits these observers, not how it generalises; say so to the user.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from ..io.atomic import atomic_write_text, make_folder
from ..io.outputs import video_name
from .config import TrainConfig
from .loop import JsonLog, StopFlag, train
from .make_dataset import DatasetSettings, make_dataset

SOURCES = "gaze_sources.json"
DATA_FOLDER = "data"


def write_sources(run_folder: str | Path, pairs: list[tuple[str, str]]) -> Path:
    """The (video, gaze) pairs a run trains on, kept in the run folder (Resume reads them)."""
    path = Path(run_folder) / SOURCES
    atomic_write_text(path, json.dumps([{"video": str(v), "gaze": str(g)} for v, g in pairs], indent=1))
    return path


def read_sources(path: str | Path) -> list[tuple[str, str]]:
    try:
        raw = json.loads(Path(path).read_text())
        pairs = [(str(item["video"]), str(item["gaze"])) for item in raw]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a list of video and gaze sources ({exc})") from None
    if not pairs:
        raise ConfigError(f"{path}: no video with gaze to train on")
    return pairs


def build_training_data(pairs: list[tuple[str, str]], data_root: str | Path, log=None,
                        cancel: Callable[[], bool] | None = None) -> bool:
    """make-dataset of every pair into `<data_root>/train`, then the val split (the same videos);
    False when cancelled before the end (a later call resumes)."""
    videos = [v for v, _ in pairs]
    names = [video_name(Path(v)) for v in videos]

    def progress(name, done, total):        # index: which video of how many
        if log is not None:
            log.write("dataset", video=name, index=names.index(name) if name in names else 0, videos=len(videos),
                      done=done, total=total)

    reports = make_dataset(videos, [g for _, g in pairs], data_root, DatasetSettings("train"), progress, cancel)
    if len(reports) < len(pairs) or not all(r.complete for r in reports):
        return False
    link_val_split(Path(data_root), [r.name for r in reports])
    if log is not None:
        log.write("dataset_done", videos=len(reports), frames=sum(r.frames for r in reports),
                  annotated=sum(r.annotated for r in reports), root=str(data_root))
    return True


def link_val_split(data_root: Path, names: list[str]) -> None:
    """`val/<video>` -> `train/<video>` (a copy where links are not allowed)."""
    val = data_root / "val"
    val.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = val / name
        if target.exists() or target.is_symlink():
            continue
        try:
            os.symlink(Path("..") / "train" / name, target, target_is_directory=True)
        except OSError:                    # e.g. Windows without the symlink privilege
            shutil.copytree(data_root / "train" / name, target)


def train_from_gaze(config: str | Path, sources: str | Path, resume: bool = False) -> dict | None:
    """Build the run's data from its (video, gaze) sources, then train; None when stopped while
    building the data (`resume=True` continues it)."""
    cfg = TrainConfig.from_toml(config)
    pairs = read_sources(sources)
    make_folder(cfg.output)         # a file in the way: one line naming it, not "[Errno 17] File exists"
    log = JsonLog(Path(cfg.output) / "log.jsonl")
    stop = StopFlag()
    try:
        complete = build_training_data(pairs, cfg.data_root, log, cancel=lambda: stop.set)
        if not complete:
            log.write("dataset_stopped")
    finally:
        stop.restore()
        log.close()
    return train(cfg, resume=resume) if complete else None
