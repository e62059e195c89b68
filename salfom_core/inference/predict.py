"""One video's maps through the prediction cache: the pipeline `salfom predict` runs, and the
store that the app's inference worker and `bench/pipeline.py` open the same way.

`open_store` opens (or resumes) the cache entry of (video content, predictor, settings);
`predict_to_folder` computes what the entry lacks and writes the maps as a numbered PNG folder
(DHF1K naming), with linear blends between computed frames when `stride` > 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..io.export import stale_maps, write_map_folder
from ..io.video import VideoSource
from .engine import EngineSettings, Predictor, model_map_size, predict_video
from .interpolate import write_blends
from .plan import grid
from .store import MapForm, PredictionStore


def open_store(source: VideoSource, video_path: str | Path, predictor: Predictor, settings: EngineSettings,
               cache: str | Path | None = None, warn: Callable[[str], None] | None = None,
               video_key: str | None = None) -> PredictionStore:
    """The cache entry of this video, predictor and settings (`cache`: the folder, default the
    user cache); `video_key` replaces the video's content key (benchmarks that must not hit).
    The entry keeps the model's own maps, post-processed when read, unless 8-bit maps at the
    video's size take fewer bytes (`MapForm.smaller`)."""
    info = source.info
    form = MapForm.smaller(info.height, info.width, model_map_size(predictor), settings.blur)
    meta = {"video": str(video_path), "preset": getattr(predictor, "preset", None),
            "dtype": getattr(predictor, "dtype", None)}
    return PredictionStore.open(Path(cache) if cache else None, video_key or source.content_key(), predictor.key,
                                settings.cache_fields(), len(source), info.height, info.width, meta, warn=warn,
                                form=form)


@dataclass
class FolderResult:
    """What `predict_to_folder` did: the maps written, and how many came from the cache,
    are blends, or were stale maps of an earlier, longer run removed from the folder."""

    folder: Path
    frames: int
    cached: int
    blends: int
    stale: int
    store: PredictionStore


def predict_to_folder(source: VideoSource, video_path: str | Path, predictor: Predictor, folder: str | Path,
                      settings: EngineSettings = EngineSettings(), cache: str | Path | None = None,
                      stride: int = 1, progress: Callable[[int, int], object] | None = None,
                      warn: Callable[[str], None] | None = None) -> FolderResult:
    """Compute every `stride`-th frame (and the last) of `source` that the cache lacks, then
    write all maps into `folder` (`0001.png` ...). `progress(done, total)` counts the frames
    computed now."""
    store = open_store(source, video_path, predictor, settings, cache, warn)
    frames = grid(len(source), stride)               # every frame when the stride is 1
    cached = len(source) - len(store.missing())
    total = int((~store.done[frames]).sum())
    predict_video(source, predictor, store, settings, frames=frames,
                  progress=(lambda p: progress(p.done, total)) if progress else None)
    folder = Path(folder)
    stale = len(stale_maps(folder, range(len(source))))
    write_map_folder(store, folder)
    blends = write_blends(store, folder, stride)
    return FolderResult(folder, len(source), cached, blends, stale, store)
