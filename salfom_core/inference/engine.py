"""Sliding-window inference over whole videos, streaming into a `PredictionStore`.

The map of frame i comes from the window of frames i-15..i (stride 1). Before frame 15 the
window is padded: `repeat` repeats the first frame (the reference code, default), `reverse`
takes frames i+15..i in reverse order so that frame i is still last (what the paper
describes, as ViNet and TMFI-Net do). Windows are batched.

The pipeline keeps the model busy: a producer thread decodes and resizes frames ahead of
the model (uint8, at the model's input size); each batch sends only its new frames to the
device (pinned memory on CUDA) into a pool of the frames the pending windows still need,
where they are normalised once; the windows are gathered from that pool. A store that keeps
the model's own maps (all but the smallest videos: `store.MapForm`) gets them as they are and
post-processes when read; otherwise the maps are resized, blurred and scaled to 8 bits on the
device. Memory does not grow with the video's length. On the CPU the same pipeline runs with
the CPU as the device. Progress is reported after every batch, and a cancel request stops
within one batch; the store commits about once a second and when the run ends or is
cancelled, so the frames finished stay in the store and a later run computes only the rest.
The order of the frames (`target_order`): sequential from the playhead (the command line), or
coarse to fine (the app: the whole timeline soon has maps to interpolate between).
"""
from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable, Protocol

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..io.fingerprint import file_fingerprint
from ..io.video import VideoSource
from ..models.preprocess import BLUR_KERNEL, IMAGENET_MEAN, IMAGENET_STD, postprocess_to_uint8
from .devices import (
    DeviceOutOfMemory,
    default_batch_size,
    release_cached_memory,
    resolve_device,
    resolve_precision,
    set_fast_math,
)
from .plan import target_batches
from .store import PredictionStore

PADDINGS = ("repeat", "reverse")
COMMIT_INTERVAL_S = 1.0       # how often finished maps are made durable on disk
_clock = time.monotonic


class Predictor(Protocol):
    key: str              # identity for the prediction cache
    window: int           # frames per window
    input_size: int       # model input side (frames are resized to it)
    # optional: output_size, the (h, w) of the maps `predict` returns (default input_size square):
    # the prediction cache keeps maps of that size (`model_map_size`)

    def predict(self, clips: torch.Tensor) -> np.ndarray:
        """(B, 3, window, S, S) normalized clips -> (B, h, w) float saliency of each last frame."""


def model_map_size(predictor: Predictor) -> tuple[int, int]:
    """(h, w) of the maps the predictor returns: its `output_size`, else its input side."""
    size = getattr(predictor, "output_size", None)
    return tuple(size) if size is not None else (predictor.input_size, predictor.input_size)


@dataclass(frozen=True)
class EngineSettings:
    padding: str = "repeat"
    batch_size: int | None = None      # None: the device's default (devices.DEFAULT_BATCH_SIZE)
    blur: bool = True

    def __post_init__(self):
        if self.padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, not {self.padding!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")

    def batch_for(self, device: torch.device) -> int:
        return self.batch_size or default_batch_size(device)

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


def target_order(missing: np.ndarray, playhead: int, n_frames: int | None = None, batch_size: int = 1,
                 order: str = "sequential") -> list[np.ndarray]:
    """The order in which the frames still missing are computed, as parts of sorted frames:
    `sequential`, from the playhead to the end first, then the beginning; `coarse-to-fine`,
    every 16th frame first, then 8th, 4th, 2nd, the rest, each level outward from the playhead
    in parts of `batch_size` frames of a video of `n_frames` (`plan.target_batches`)."""
    return target_batches(missing, n_frames, playhead, batch_size, order)


def iter_predict(source: VideoSource, predictor: Predictor, store: PredictionStore,
                 settings: EngineSettings = EngineSettings(), start_at: int | Callable[[], int] = 0,
                 order: str = "sequential", frames=None):
    """Fill `store` with the maps of every frame it lacks, yielding a `Progress` per batch.

    `order` (`target_order`): `sequential` computes the frames from `start_at` to the end,
    then the beginning; `coarse-to-fine` every 16th frame first, then 8th, ..., each level
    outward from `start_at`. `frames` limits the work to those frames (default: all).
    `start_at` may be a callable (the app's playhead): when its value moves to a frame not yet
    computed, the remaining work is re-planned from there after the current batch. Stop
    iterating (or close the generator) to cancel; what was yielded is in the store. Running
    out of device memory raises `DeviceOutOfMemory`.
    """
    playhead = start_at if callable(start_at) else (lambda: start_at)
    todo = np.ones(len(store.done), bool) if frames is None else np.isin(np.arange(len(store.done)), frames)
    total, done, t0 = int((todo & ~store.done).sum()), 0, time.perf_counter()
    pipeline = _Pipeline(source, predictor, settings, post_process=not store.keeps_model_maps)
    uncommitted, last_commit = [], _clock()
    try:
        while (todo & ~store.done).any():
            plan_from = playhead()
            replan = False
            missing = np.flatnonzero(todo & ~store.done)
            for part in target_order(missing, plan_from, len(store.done), pipeline.batch_size, order):
                for run in _runs(part, gap=2 * predictor.window):
                    with contextlib.closing(pipeline.batches(run)) as batches:
                        for indices, maps in batches:
                            for i, m in zip(indices, maps):
                                store.write(i, m)
                            store.mark_ready(indices)
                            uncommitted += indices
                            if _clock() - last_commit >= COMMIT_INTERVAL_S:
                                store.commit(uncommitted)
                                uncommitted, last_commit = [], _clock()
                            done += len(indices)
                            yield Progress(done, total, time.perf_counter() - t0, indices)
                            wanted = playhead()
                            replan = (wanted != plan_from and 0 <= wanted < len(store.done)
                                      and not store.done[wanted])
                            if replan:
                                break
                    if replan:
                        break
                if replan:
                    break
    finally:
        if uncommitted:
            store.commit(uncommitted)


def predict_video(source: VideoSource, predictor: Predictor, store: PredictionStore,
                  settings: EngineSettings = EngineSettings(), progress: Callable[[Progress], None] | None = None,
                  cancel: Callable[[], bool] | None = None, start_at: int = 0,
                  order: str = "sequential", frames=None) -> bool:
    """Run `iter_predict` to the end; True when every wanted frame is computed, False when cancelled."""
    with contextlib.closing(iter_predict(source, predictor, store, settings, start_at, order, frames)) as steps:
        for step in steps:
            if progress:
                progress(step)
            if cancel and cancel():
                return False
    return bool(store.done.all() if frames is None else store.done[np.asarray(frames, dtype=np.int64)].all())


# --------------------------------------------------------------------------- the pipeline


class _Pipeline:
    """Frames in, maps out, for one video and one predictor (see the module docstring): 8-bit
    maps at the video's size, or with `post_process` False the model's own float maps (for a
    store that keeps those and post-processes when read)."""

    def __init__(self, source: VideoSource, predictor: Predictor, settings: EngineSettings,
                 post_process: bool = True):
        self.source, self.predictor, self.settings = source, predictor, settings
        self.post_process = post_process
        # Predictors that work on tensors of their own device get the device pipeline; others
        # (a plain `predict` returning numpy) get the same pipeline on the CPU.
        on_device = hasattr(predictor, "predict_tensor") and isinstance(getattr(predictor, "device", None),
                                                                        torch.device)
        self.device = predictor.device if on_device else torch.device("cpu")
        self.on_device = on_device
        self.batch_size = settings.batch_for(self.device)
        self.size = (source.info.width, source.info.height)
        self.needs_frames = getattr(predictor, "needs_frames", True)
        self._post_work: dict = {}        # post-processing buffers, reused

    def batches(self, targets: np.ndarray):
        """Yield ([frames], maps) for sorted, close-together `targets`: (B, H, W) uint8 maps, or
        the model's (B, h, w) float32 maps without post-processing."""
        targets = [int(t) for t in targets]
        if not self.needs_frames:
            for k in range(0, len(targets), self.batch_size):
                chunk = targets[k:k + self.batch_size]
                yield chunk, self._maps(torch.empty(len(chunk), 3, 1, 1, 1))
            return
        n, window = len(self.source), self.predictor.window
        need = {t: window_indices(t, n, window, self.settings.padding) for t in targets}
        wanted = sorted({k for ix in need.values() for k in ix})
        # oldest frame any remaining target needs (reverse padding makes this non-monotone)
        keep_from = np.minimum.accumulate([min(need[t]) for t in targets][::-1])[::-1].tolist() + [n]
        pool = _FramePool(self.device, self.predictor.input_size)
        producer = _FrameProducer(self.source, wanted, self.predictor.input_size, depth=2 * (self.batch_size + window))
        try:
            arrived, next_target, batch = [], 0, []
            for j, frame in producer:
                arrived.append((j, frame))
                while next_target < len(targets) and max(need[targets[next_target]]) <= j:
                    batch.append(targets[next_target])
                    next_target += 1
                    if len(batch) == self.batch_size or next_target == len(targets):
                        with self._copy_threads():
                            pool.add(arrived)
                            clips = pool.gather([need[t] for t in batch])
                        arrived = []
                        yield batch, self._maps(clips)
                        batch = []
                        pool.drop_before(keep_from[next_target])
                if next_target == len(targets):
                    break
        finally:
            producer.close()

    @contextlib.contextmanager
    def _copy_threads(self):
        """One intra-op thread for the pipeline's own tensor work on the CPU (normalising,
        gathering, post-processing: memory-bound copies). With the decoding thread busy on
        one of few cores, every multi-threaded operation waits at its OpenMP barrier for a
        thread that is not scheduled: measured on 2 cores, each such operation took ~8 ms
        whatever its size, 3-4x slower in all. The model keeps its threads."""
        if self.device.type != "cpu":
            yield
            return
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def _maps(self, clips: torch.Tensor) -> np.ndarray:
        """Model, then post-processing, on the pipeline's device; out-of-memory is reported typed."""
        try:
            if self.on_device:
                saliency = self.predictor.predict_tensor(clips)
            else:
                saliency = torch.from_numpy(np.asarray(self.predictor.predict(clips), dtype=np.float32))
            if not self.post_process:
                return saliency.float().cpu().numpy()
            with self._copy_threads():
                return postprocess_batch(saliency, self.size, self.settings.blur, self._post_work)
        except torch.OutOfMemoryError as exc:
            release_cached_memory(self.device)
            raise DeviceOutOfMemory(self.device, clips.shape[0], str(exc).splitlines()[0]) from None


class _FrameProducer:
    """Decodes the wanted frames in a thread, resized to the model's input (uint8 RGB, S x S).

    Iterating yields (index, frame) in order; an error of the decoder is raised in the
    consumer. `close()` stops the thread and waits for it, so the source is free again.
    """

    _END = object()

    def __init__(self, source: VideoSource, wanted: list[int], size: int, depth: int):
        self.queue: queue.Queue = queue.Queue(maxsize=max(2, depth))
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(source, wanted, size), daemon=True,
                                       name="salfom-decode")
        self.thread.start()

    def _run(self, source, wanted, size):
        try:
            wanted_set, last = set(wanted), wanted[-1]
            for j, frame in source.iter_frames(wanted[0], last + 1):
                if j in wanted_set and not self._put((j, cv2.resize(frame, (size, size),
                                                                    interpolation=cv2.INTER_LINEAR))):
                    return
                if j == last:        # do not step the decoder past the last frame needed
                    break
            self._put(self._END)
        except BaseException as exc:          # handed to the consumer, raised there
            self._put(exc)

    def _put(self, item) -> bool:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()


class _FramePool:
    """The normalised frames the pending windows still need, on the device, one slot each.

    Frames arrive as uint8 and are normalised once here; windows are gathered from the
    slots, so a frame shared by 16 windows crosses to the device and is normalised once.
    The slots are channel-first, (3, slots, S, S), so that one copy per window lands it in
    its place of a contiguous (B, 3, T, S, S) batch, the model's layout (a frame-first pool
    would need a second copy to reorder). The batch is one buffer reused from batch to batch:
    fresh 10 MB-per-window allocations cost more than the copy itself on a CPU (page faults).
    """

    def __init__(self, device: torch.device, size: int):
        self.device, self.size = device, size
        self.frames = torch.empty(3, 0, size, size, device=device)
        self.slot: dict[int, int] = {}
        self.free: list[int] = []
        self.mean = torch.from_numpy(IMAGENET_MEAN).to(device).view(3, 1, 1, 1)
        self.std = torch.from_numpy(IMAGENET_STD).to(device).view(3, 1, 1, 1)
        self.batch = torch.empty(0, device=device)

    def add(self, arrived: list[tuple[int, np.ndarray]]) -> None:
        if not arrived:
            return
        host = torch.from_numpy(np.stack([frame for _, frame in arrived]))      # (n, S, S, 3) uint8
        if self.device.type == "cuda":
            host = host.pin_memory()
        x = host.to(self.device, non_blocking=True).permute(3, 0, 1, 2).float()   # (3, n, S, S)
        x.div_(255.0).sub_(self.mean).div_(self.std)          # as preprocess_frame, in float32
        if len(self.free) < len(arrived):
            self._grow(len(arrived) - len(self.free))
        slots = [self.free.pop() for _ in arrived]
        self.frames.index_copy_(1, torch.tensor(slots, device=self.device), x)
        self.slot.update({j: s for (j, _), s in zip(arrived, slots)})

    def _grow(self, extra: int) -> None:
        old = self.frames.shape[1]
        new = max(old * 2, old + extra, 32)
        grown = torch.empty(3, new, self.size, self.size, device=self.device)
        grown[:, :old] = self.frames
        self.frames = grown
        self.free += list(range(new - 1, old - 1, -1))

    def drop_before(self, frame: int) -> None:
        for j in [j for j in self.slot if j < frame]:
            self.free.append(self.slot.pop(j))

    def gather(self, windows: list[list[int]]) -> torch.Tensor:
        """(B, 3, T, S, S) contiguous clips of the windows' frames, oldest first. The tensor is
        overwritten by the next gather: a predictor must not keep it after returning."""
        shape = (len(windows), 3, len(windows[0]), self.size, self.size)
        if self.batch.shape != shape:
            self.batch = torch.empty(shape, device=self.device)
        index = torch.tensor([[self.slot[k] for k in w] for w in windows], device=self.device)
        for b in range(len(windows)):
            torch.index_select(self.frames, 1, index[b], out=self.batch[b])
        return self.batch


def postprocess_batch(saliency: torch.Tensor, size: tuple[int, int], blur: bool = True,
                      work: dict | None = None) -> np.ndarray:
    """(B, h, w) maps -> (B, H, W) uint8 at the frame's size: resize, blur, min-max to 0..255.

    On the CPU OpenCV does it (`postprocess_to_uint8`: fastest there), into float buffers
    kept in `work` from batch to batch; on a GPU the same operations run as tensors there
    (`postprocess_tensor`) and only 8-bit maps return.
    """
    if saliency.device.type != "cpu":
        return postprocess_tensor(saliency, size, blur).cpu().numpy()
    w, h = size
    work = {} if work is None else work
    out = np.empty((saliency.shape[0], h, w), np.uint8)
    for m, row in zip(saliency.float().numpy(), out):
        postprocess_to_uint8(m, size, blur, work, out=row)
    return out


def postprocess_tensor(saliency: torch.Tensor, size: tuple[int, int], blur: bool = True) -> torch.Tensor:
    """`postprocess_map` then `to_uint8` as tensor operations on the maps' device.

    Bilinear resize with half-pixel centres (cv2.INTER_LINEAR), the 11-tap Gaussian of
    cv2.GaussianBlur (sigma 2 for kernel 11) with reflect-101 borders, then min-max.
    """
    w, h = size
    x = F.interpolate(saliency.float()[:, None], size=(h, w), mode="bilinear", align_corners=False)
    if blur:
        kernel = _gaussian_kernel(BLUR_KERNEL, x.device)
        pad = BLUR_KERNEL // 2
        x = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
        x = F.conv2d(F.pad(x, (0, 0, pad, pad), mode="reflect"), kernel.view(1, 1, -1, 1))
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    span = hi - lo
    scaled = torch.round((x - lo) * (255.0 / torch.where(span > 0, span, torch.ones_like(span))))
    return torch.where(span > 0, scaled, torch.zeros_like(scaled)).to(torch.uint8)[:, 0]


def _gaussian_kernel(ksize: int, device: torch.device) -> torch.Tensor:
    """cv2.getGaussianKernel(ksize, 0): sigma = 0.3 * ((ksize - 1) / 2 - 1) + 0.8."""
    sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8
    k = np.exp(-((np.arange(ksize) - (ksize - 1) / 2) ** 2) / (2 * sigma ** 2))
    return torch.from_numpy((k / k.sum()).astype(np.float32)).to(device)


# --------------------------------------------------------------------------- predictors


def pick_device(device: str = "auto") -> torch.device:
    """The device a prediction runs on (see `devices.resolve_device`)."""
    return resolve_device(device)


_TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "off": "float32"}


class SalFoMPredictor:
    """A SalFoM model on a device; bf16 autocast on CUDA by default, float32 on the CPU.

    `dtype` takes the training config's names (`bf16`, `fp16`, `off`), the torch names or
    `auto`. In bf16 the weights outside the float32 parts are cast once (`cast_for_autocast`);
    on CUDA cuDNN picks its fastest kernels, and float32 matrix products use TF32.
    """

    def __init__(self, model: torch.nn.Module, key: str, device: str = "auto", dtype: str = "auto"):
        self.device = pick_device(device)
        self.dtype = _TORCH_DTYPES[resolve_precision(dtype, self.device)]
        self.model = model.to(self.device).eval()
        if self.dtype == "bfloat16" and hasattr(self.model, "cast_for_autocast"):
            self.model.cast_for_autocast(torch.bfloat16)
        if self.device.type == "cuda":
            set_fast_math(self.device, tf32=self.dtype == "float32")
        self.window = model.cfg.num_frames
        self.input_size = model.cfg.img_size
        self.preset = model.cfg.name
        self.key = f"{key}:{self.dtype}"

    @classmethod
    def from_checkpoint(cls, path, device: str = "auto", dtype: str = "auto",
                        allow_partial: bool = False) -> "SalFoMPredictor":
        from ..models.checkpoint import load_model

        model, report = load_model(path, allow_partial=allow_partial)
        key = f"salfom:{model.cfg.name}:{file_fingerprint(path)}"
        if report.untrained:      # randomly initialised parts: these maps must never be reused from the cache
            key += f":partial-{time.time_ns()}"
        predictor = cls(model, key, device, dtype)
        predictor.load_report = report
        return predictor

    @torch.inference_mode()
    def predict_tensor(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, S, S) normalised clips -> (B, S, S) float32 saliency, on the model's device."""
        clips = clips.to(self.device, non_blocking=True)
        if self.dtype == "float32":
            return self.model(clips).float()
        with torch.autocast(self.device.type, dtype=getattr(torch, self.dtype)):
            return self.model(clips).float()

    def predict(self, clips: torch.Tensor) -> np.ndarray:
        return self.predict_tensor(clips).cpu().numpy()


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
