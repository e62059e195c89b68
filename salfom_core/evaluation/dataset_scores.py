"""Per-video scores of several models on a dataset, computed in any order and cached on disk.

The app's dataset panel scores the videos the user looks at first, in the background, and
reopens a dataset instantly; `salfom evaluate` scores them all in order. Both give the same
numbers: every video has its own random streams (`scoring.video_seed`) and all share the
dataset's shuffled-AUC pool, so the pooled result (`ModelScores.scores`) is the DHF1K
protocol score either way.

A cache entry is one JSON file per (dataset, video, model, settings): its key hashes the
names, sizes and modification times of the ground-truth files of the whole dataset (the
pool depends on all of them) and of the model's map files for that video, so a changed file
means a new entry, never a stale score.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Callable

from ..io.atomic import atomic_write_text
from ..io.files import MAP_READING
from . import metrics
from .scoring import SEEDING, ModelScores, VideoScores, score_video_models, shuffled_auc_pool
from .sources import CenterBiasMaps, PredictionRoot
from .truths import AnnotationTruth, GazeTruth, GroundTruth


def default_score_cache() -> Path:
    from ..inference.store import default_cache_dir

    return default_cache_dir().parent / "scores"


def _files_stamp(paths) -> str:
    h = hashlib.sha256()
    for p in sorted(str(p) for p in paths):
        try:
            st = os.stat(p)
            h.update(f"{p}:{st.st_size}:{st.st_mtime_ns};".encode())
        except OSError:
            h.update(f"{p}:missing;".encode())
    return h.hexdigest()[:20]


def truth_stamp(truth: GroundTruth) -> str:
    if isinstance(truth, AnnotationTruth):
        ann = truth.annotations
        return _files_stamp(list(ann.map_files.values()) + list(ann.fixation_files.values())) + f":{truth.n_frames}"
    if isinstance(truth, GazeTruth):
        g = truth.gaze
        h = hashlib.sha256()
        for a in (g.frame, g.x, g.y):
            h.update(a.tobytes())
        return f"gaze:{h.hexdigest()[:20]}:{truth.n_frames}:{truth.grid}"
    return f"{type(truth).__name__}:{truth.name}:{truth.n_frames}"


def truth_video(truth: GroundTruth) -> str | None:
    """The video (file, or folder of frames) a truth belongs to, when known."""
    root = getattr(getattr(truth, "annotations", None), "root", None)
    return str(root) if root is not None else (getattr(truth, "video_path", "") or None)


class CachedPredictions:
    """A checkpoint's maps as the prediction cache holds them (what `salfom predict` or the app
    computed for each video), read without computing anything: a video or frame the cache
    lacks has no prediction, and `evaluate` reports it so."""

    DTYPES = ("float32", "bfloat16", "float16")

    def __init__(self, checkpoint: str | Path, name: str = "SalFoM", cache_root: str | Path | None = None,
                 padding: str = "repeat", blur: bool = True):
        from ..inference.engine import EngineSettings
        from ..inference.store import default_cache_dir

        self.name = name
        self.checkpoint = Path(checkpoint)
        self.settings = EngineSettings(padding=padding, blur=blur).cache_fields()
        self.root = Path(cache_root) if cache_root else default_cache_dir()
        self._keys: list[str] | None = None

    @property
    def keys(self) -> list[str]:
        """The predictor keys `SalFoMPredictor` files this checkpoint's maps under (one per
        precision); found on first use, in the scoring thread: describing a checkpoint reads it."""
        if self._keys is None:
            from ..io.fingerprint import file_fingerprint
            from ..models.checkpoint import describe_checkpoint

            preset = describe_checkpoint(self.checkpoint).preset
            fingerprint = file_fingerprint(self.checkpoint)
            self._keys = [f"salfom:{preset}:{fingerprint}:{dtype}" for dtype in self.DTYPES]
        return self._keys

    def store_folder(self, truth: GroundTruth) -> Path | None:
        """The cache entry of this video (any precision it was computed at), or None."""
        from ..inference.store import store_key
        from ..io.video import open_video

        video = truth_video(truth)
        if video is None:
            return None
        with open_video(video) as source:
            content = source.content_key()
        for key in self.keys:
            folder = self.root / store_key(content, key, self.settings)
            if (folder / "meta.json").exists() and (folder / "done.npy").exists():
                return folder
        return None

    def reader(self, truth: GroundTruth):
        from ..inference.store import PredictionStore

        folder = self.store_folder(truth)
        if folder is None:
            return lambda _i: None
        meta = json.loads((folder / "meta.json").read_text())
        store = PredictionStore(folder, meta["n_frames"], meta["height"], meta["width"])
        return lambda i: store.read(i) if 0 <= i < store.n_frames else None

    def stamp(self, truth: GroundTruth) -> str:
        folder = self.store_folder(truth)
        return "absent" if folder is None else f"{folder.name}:{_files_stamp([folder / 'done.npy'])}"


def model_stamp(model, truth: GroundTruth) -> str:
    if isinstance(model, CenterBiasMaps):
        return "center-bias"
    if isinstance(model, PredictionRoot):
        folder = model.folder if model.single else model.folder / truth.name
        files = list(folder.iterdir()) if folder.is_dir() else []
        return f"{model.folder.resolve()}:{_files_stamp(files)}:maps{MAP_READING}"
    stamp = getattr(model, "stamp", None)
    return stamp(truth) if callable(stamp) else f"{type(model).__name__}:{model.name}"


class DatasetScoring:
    """Scores of `models` on `truths`, one video at a time, through an on-disk cache."""

    def __init__(self, truths: list[GroundTruth], models: list, metric_names=metrics.METRICS, seed: int = 0,
                 every: int = 1, cache: str | Path | None = None):
        self.truths = list(truths)
        self.models = list(models)
        self.metric_names = tuple(metric_names)
        self.seed, self.every = seed, every
        self.cache = Path(cache) if cache else default_score_cache()
        self.results: dict[tuple[str, str], VideoScores] = {}     # (video, model) -> scores
        self._pool = None
        self._dataset_stamp = None

    def dataset_stamp(self) -> str:
        if self._dataset_stamp is None:
            h = hashlib.sha256(json.dumps([self.metric_names, self.seed, self.every, SEEDING]).encode())
            for t in self.truths:
                h.update(f"{t.name}={truth_stamp(t)};".encode())
            self._dataset_stamp = h.hexdigest()[:24]
        return self._dataset_stamp

    def pool(self):
        """The dataset's shuffled-AUC negatives (reads every fixation map once)."""
        if self._pool is None:
            self._pool = shuffled_auc_pool(self.truths, self.every, self.metric_names)
        return self._pool

    def _entry(self, truth: GroundTruth, model) -> Path:
        key = hashlib.sha256(f"{self.dataset_stamp()}|{truth.name}|{model.name}|{model_stamp(model, truth)}"
                             .encode()).hexdigest()[:32]
        return self.cache / key[:2] / f"{key}.json"

    def load_cached(self) -> int:
        """Fill `results` from the cache; returns how many (video, model) entries were there."""
        found = 0
        for truth in self.truths:
            for model in self.models:
                scores = _read_entry(self._entry(truth, model))
                if scores is not None:
                    self.results[(truth.name, model.name)] = scores
                    found += 1
        return found

    def missing(self, truth: GroundTruth) -> list:
        return [m for m in self.models if (truth.name, m.name) not in self.results]

    def score(self, truth: GroundTruth, cancel: Callable[[], bool] | None = None) -> dict[str, VideoScores] | None:
        """Score the models this video lacks; cache and return them (None when cancelled)."""
        models = self.missing(truth)
        if not models:
            return {m.name: self.results[(truth.name, m.name)] for m in self.models}
        pool, owner = self.pool()
        out = score_video_models(truth, {m.name: m.reader(truth) for m in models}, pool, owner, self.metric_names,
                                 self.seed, self.every, cancel=cancel)
        if out is None:
            return None
        for model in models:
            self.results[(truth.name, model.name)] = out[model.name]
            try:
                atomic_write_text(self._entry(truth, model), json.dumps(_to_json(out[model.name])))
            except OSError:
                pass          # an unwritable cache only costs time next time
        return {m.name: self.results[(truth.name, m.name)] for m in self.models}

    def complete(self) -> bool:
        return all((t.name, m.name) in self.results for t in self.truths for m in self.models)

    def model_scores(self) -> list[ModelScores]:
        """What is scored so far, per model, in dataset order (all videos once `complete()`)."""
        return [ModelScores(m.name, [self.results[(t.name, m.name)] for t in self.truths
                                     if (t.name, m.name) in self.results], self.metric_names)
                for m in self.models]


def _to_json(scores: VideoScores) -> dict:
    return {"name": scores.name, "metrics": list(scores.metric_names), "frames": scores.frames,
            "values": [[None if math.isnan(v[n]) else v[n] for n in scores.metric_names] for v in scores.values],
            "skipped": scores.skipped}


def _read_entry(path: Path) -> VideoScores | None:
    try:
        raw = json.loads(path.read_text())
        names = tuple(raw["metrics"])
        values = [{n: math.nan if v is None else float(v) for n, v in zip(names, row)} for row in raw["values"]]
        return VideoScores(raw["name"], names, [int(f) for f in raw["frames"]], values,
                           {k: [int(i) for i in v] for k, v in raw["skipped"].items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None          # absent or damaged: scored again
