"""Sliding-window inference over whole videos, streaming into a `PredictionStore`.

The map of frame i comes from the window of frames i-15..i (stride 1). Before frame 15 the
window is padded: `repeat` repeats the first frame (the reference code, default), `reverse`
takes frames i+15..i in reverse order so that frame i is still last (what the paper
describes, as ViNet and TMFI-Net do). Windows are batched. Decoding is sequential with a
buffer of at most 2*15+1 preprocessed frames, so memory does not grow with video length.
Progress is reported after every batch, and a cancel request stops within one batch; the
frames finished so far stay in the store and a later run computes only the rest. The order
of the frames comes from `plan.target_batches`: sequential from the playhead (the command
line), or coarse to fine (the app: the whole timeline soon has maps to interpolate between).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Protocol

import numpy as np
import torch

from .plan import target_batches
from .preprocess import clip_tensor, postprocess_map, preprocess_frame, to_uint8
from .store import PredictionStore
from .video import VideoSource, file_fingerprint

PADDINGS = ("repeat", "reverse")


class Predictor(Protocol):
    key: str              # identity for the prediction cache
    window: int           # frames per window
    input_size: int       # model input side (frames are resized to it)

    def predict(self, clips: torch.Tensor) -> np.ndarray:
        """(B, 3, window, S, S) normalized clips -> (B, h, w) float saliency of each last frame."""


@dataclass(frozen=True)
class EngineSettings:
    padding: str = "repeat"
    batch_size: int = 4
    blur: bool = True

    def __post_init__(self):
        if self.padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, not {self.padding!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")

    def cache_fields(self) -> dict:
        """Settings that change the result (the batch size does not)."""
        out = asdict(self)
        out.pop("batch_size")
        return out


def window_indices(i: int, n_frames: int, window: int, padding: str = "repeat") -> list[int]:
    """The frame indices of frame i's window, oldest first; frame i is always last."""
    if i >= window - 1 or padding == "repeat":
        return [max(0, k) for k in range(i - window + 1, i + 1)]
    return [min(n_frames - 1, i + window - 1 - k) for k in range(window)]


def _runs(targets: np.ndarray, gap: int) -> list[np.ndarray]:
    """Split sorted targets where they are more than `gap` apart (decode from a seek there)."""
    if len(targets) == 0:
        return []
    cuts = np.flatnonzero(np.diff(targets) > gap) + 1
    return np.split(targets, cuts)


@dataclass
class Progress:
    done: int
    total: int
    elapsed_s: float
    frames: list[int]          # the frames this step finished

    @property
    def eta_s(self) -> float:
        return math.inf if self.done == 0 else self.elapsed_s * (self.total - self.done) / self.done


def iter_predict(source: VideoSource, predictor: Predictor, store: PredictionStore,
                 settings: EngineSettings = EngineSettings(), start_at: int | Callable[[], int] = 0,
                 order: str = "sequential", frames=None):
    """Fill `store` with the maps of every frame it lacks, yielding a `Progress` per batch.

    `order` (see `plan.target_batches`): `sequential` computes the frames from `start_at` to
    the end, then the beginning; `coarse-to-fine` every 16th frame first, then 8th, ..., each
    level outward from `start_at`. `frames` limits the work to those frames (default: all).
    `start_at` may be a callable (the app's playhead): when its value moves to a frame not yet
    computed, the remaining work is re-planned from there after the current batch. Stop
    iterating to cancel; what was yielded is in the store.
    """
    playhead = start_at if callable(start_at) else (lambda: start_at)
    todo = np.ones(len(store.done), bool) if frames is None else np.isin(np.arange(len(store.done)), frames)
    total, done, t0 = int((todo & ~store.done).sum()), 0, time.perf_counter()
    size = (source.info.width, source.info.height)
    while (todo & ~store.done).any():
        plan_from = playhead()
        missing = np.flatnonzero(todo & ~store.done)
        order_groups = target_batches(missing, len(store.done), plan_from, settings.batch_size, order)
        replan = False
        for run in (run for part in order_groups for run in _runs(part, gap=2 * predictor.window)):
            for batch in _windows(source, predictor, settings, run, len(source)):
                indices = [i for i, _ in batch]
                maps = predictor.predict(torch.stack([clip for _, clip in batch]))
                for i, m in zip(indices, maps):
                    store.write(i, to_uint8(postprocess_map(m, size, settings.blur)))
                store.commit(indices)
                done += len(indices)
                yield Progress(done, total, time.perf_counter() - t0, indices)
                wanted = playhead()
                replan = wanted != plan_from and 0 <= wanted < len(store.done) and not store.done[wanted]
                if replan:
                    break
            if replan:
                break


def predict_video(source: VideoSource, predictor: Predictor, store: PredictionStore,
                  settings: EngineSettings = EngineSettings(), progress: Callable[[Progress], None] | None = None,
                  cancel: Callable[[], bool] | None = None, start_at: int = 0,
                  order: str = "sequential", frames=None) -> bool:
    """Run `iter_predict` to the end; True when every wanted frame is computed, False when cancelled."""
    for step in iter_predict(source, predictor, store, settings, start_at, order, frames):
        if progress:
            progress(step)
        if cancel and cancel():
            return False
    return bool(store.done.all() if frames is None else store.done[np.asarray(frames, dtype=np.int64)].all())


def _windows(source: VideoSource, predictor: Predictor, settings: EngineSettings, targets: np.ndarray, n: int):
    """Yield batches [(frame, clip)] for `targets` (sorted, close together), decoding once."""
    need = {int(t): window_indices(int(t), n, predictor.window, settings.padding) for t in targets}
    start = min(min(ix) for ix in need.values())
    stop = max(max(ix) for ix in need.values()) + 1
    pending = [int(t) for t in targets]
    batch = []
    if not getattr(predictor, "needs_frames", True):
        for start_i in range(0, len(pending), settings.batch_size):
            yield [(t, torch.empty(3, 1, 1, 1)) for t in pending[start_i:start_i + settings.batch_size]]
        return
    # oldest frame any remaining target needs (reverse padding makes this non-monotone)
    keep_from = np.minimum.accumulate([min(need[t]) for t in pending][::-1])[::-1].tolist()
    buffer: dict[int, np.ndarray] = {}
    next_target = 0
    for j, frame in source.iter_frames(start, stop):
        buffer[j] = preprocess_frame(frame, predictor.input_size)
        while next_target < len(pending) and max(need[pending[next_target]]) <= j:
            t = pending[next_target]
            next_target += 1
            batch.append((t, clip_tensor([buffer[k] for k in need[t]])))
            if len(batch) == settings.batch_size:
                yield batch
                batch = []
        if next_target == len(pending):
            break
        for k in [k for k in buffer if k < keep_from[next_target]]:
            del buffer[k]
    if batch:
        yield batch


# --------------------------------------------------------------------------- predictors


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class SalFoMPredictor:
    """A SalFoM model on a device; bf16 autocast on CUDA by default, float32 on the CPU."""

    def __init__(self, model: torch.nn.Module, key: str, device: str = "auto", dtype: str = "auto"):
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.window = model.cfg.num_frames
        self.input_size = model.cfg.img_size
        if dtype == "auto":
            dtype = "bfloat16" if self.device.type == "cuda" else "float32"
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, not {dtype!r}")
        self.dtype = dtype
        self.preset = model.cfg.name
        self.key = f"{key}:{dtype}"

    @classmethod
    def from_checkpoint(cls, path, device: str = "auto", dtype: str = "auto",
                        allow_partial: bool = False) -> "SalFoMPredictor":
        from .checkpoint import load_model

        model, report = load_model(path, allow_partial=allow_partial)
        key = f"salfom:{model.cfg.name}:{file_fingerprint(path)}"
        if report.untrained:      # randomly initialised parts: these maps must never be reused from the cache
            key += f":partial-{time.time_ns()}"
        predictor = cls(model, key, device, dtype)
        predictor.load_report = report
        return predictor

    @torch.inference_mode()
    def predict(self, clips: torch.Tensor) -> np.ndarray:
        clips = clips.to(self.device, non_blocking=True)
        if self.dtype == "float32":
            out = self.model(clips)
        else:
            with torch.autocast(self.device.type, dtype=getattr(torch, self.dtype)):
                out = self.model(clips)
        return out.float().cpu().numpy()


class CenterBiasPredictor:
    """The centre-bias baseline: one Gaussian in the middle of every frame; needs no weights."""

    window = 1
    input_size = 64
    needs_frames = False      # the map is the same for every frame: no decoding

    def __init__(self, sigma_fraction: float = 0.2):
        self.sigma_fraction = sigma_fraction
        self.key = f"center-bias:{sigma_fraction}"
        axis = (np.arange(self.input_size) + 0.5) / self.input_size - 0.5
        g = np.exp(-(axis ** 2) / (2 * sigma_fraction ** 2))
        self._map = np.outer(g, g).astype(np.float32)

    def predict(self, clips: torch.Tensor) -> np.ndarray:
        return np.repeat(self._map[None], clips.shape[0], axis=0)
