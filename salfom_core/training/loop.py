"""Training: KL + CC, Adam, the paper's protocol; one GPU, CPU, or many GPUs under torchrun.

    salfom train --config run.toml [--resume]
    torchrun --nproc_per_node N -m salfom_core train --config run.toml

Every step and every validation is appended to `<output>/log.jsonl` (one JSON object a line,
flushed at once) so the app, or any program, can follow a run live. Each epoch writes
`last.pt` (weights, optimizer, epoch: what --resume needs) and `best.pt` when validation CC
improves, both atomically. SIGTERM or SIGINT stops after the current step (under torchrun
every rank after the same step), saving `last.pt`; --resume continues with the next epoch,
drawing the clips an uninterrupted run would have. Under torchrun each process trains on
the GPU of its LOCAL_RANK (NCCL), or on the CPU (gloo).
"""
from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler
from torch.utils.data.distributed import DistributedSampler

from ..evaluation import metrics
from ..inference.devices import PRECISIONS, DeviceOutOfMemory, release_cached_memory, resolve_device
from ..inference.distributed import current_rank
from ..models import create_model
from ..models.checkpoint import CheckpointError, load_weights, read_checkpoint, save_checkpoint
from ..models.preprocess import postprocess_map
from .config import TrainConfig
from .datasets import TrainClips, ValClips
from .losses import kl_cc_loss


class JsonLog:
    """Append-only JSON-lines log; each line is flushed so readers can follow it live."""

    def __init__(self, path: Path | None):
        self.fh = open(path, "a", encoding="utf-8") if path else None

    def write(self, event: str, **fields) -> None:
        if self.fh:
            self.fh.write(json.dumps({"event": event, "time": time.time(), **fields}) + "\n")
            self.fh.flush()

    def close(self):
        if self.fh:
            self.fh.close()


class StopFlag:
    """Set by SIGTERM/SIGINT: finish the step, save, exit cleanly."""

    def __init__(self):
        self.set = False
        self._previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:   # not the main thread (tests calling train())
                pass

    def _handle(self, *_):
        self.set = True

    def restore(self) -> None:
        """Give the signals back to their previous handlers (a program that trains twice)."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def init_distributed(device: torch.device) -> None:
    """Join torchrun's process group on the chosen device: NCCL on CUDA, gloo on the CPU.

    The device is set first and passed as `device_id`, so NCCL binds each rank to its own GPU
    from the start instead of guessing (and warning) at the first collective.
    """
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")


def _autocast(device: torch.device, amp: str):
    if device.type != "cuda" or amp == "off":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast("cuda", dtype=PRECISIONS[amp])


def _all_reduce(tensor: torch.Tensor, device: torch.device, op=dist.ReduceOp.SUM) -> torch.Tensor:
    """All-reduce on the process's device (NCCL refuses CPU tensors); returns a CPU tensor."""
    on_device = tensor.to(device)
    dist.all_reduce(on_device, op=op)
    return on_device.cpu()


def should_stop(stop: "StopFlag", world: int, device: torch.device) -> bool:
    """True on every rank as soon as any rank was signalled, so all stop after the same step."""
    if world == 1:
        return stop.set
    flag = torch.tensor([1.0 if stop.set else 0.0])
    return bool(_all_reduce(flag, device, dist.ReduceOp.MAX).item())


class ShardSampler(Sampler):
    """Every rank-th item from `rank` on: each item on exactly one rank, none repeated.

    DistributedSampler pads the last round with duplicates so that ranks get equal counts;
    validation sums scores over ranks, so the duplicates would be counted twice.
    """

    def __init__(self, n: int, rank: int, world: int):
        self.indices = list(range(rank, n, world))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


def build_model(cfg: TrainConfig, log: JsonLog) -> torch.nn.Module:
    model = create_model(cfg.preset)
    for source in (cfg.umt_checkpoint, cfg.init_checkpoint):
        if source:
            report = load_weights(model, source, allow_partial=True)   # training trains the untrained parts
            log.write("init", source=source, kind=report.kind, loaded=report.loaded)
    model.set_grad_checkpointing(cfg.grad_checkpointing)
    return model


@torch.no_grad()
def validate(model, loader, device, amp: str, world: int) -> dict[str, float]:
    """Loss, CC, NSS, SIM, AUC-Judd at the GT size after the spec's resize and blur."""
    model.eval()
    sums = torch.zeros(6, dtype=torch.float64)   # loss, cc, nss, sim, auc_judd, count
    for item in loader:
        with _autocast(device, amp):
            pred = model(item["clip"].to(device)).float().cpu()
        for k in range(pred.shape[0]):
            gt = item["gt"][k].numpy().astype(np.float64)
            fix = item["fixations"][k].numpy()
            smap = postprocess_map(pred[k].numpy(), (gt.shape[1], gt.shape[0]))
            loss = kl_cc_loss(torch.from_numpy(smap)[None], torch.from_numpy(gt)[None]).item()
            values = [loss, metrics.cc(smap, gt), metrics.nss(smap, fix), metrics.sim(smap, gt),
                      metrics.auc_judd(smap, fix)]
            finite = [0.0 if math.isnan(v) else v for v in values]
            sums += torch.tensor(finite + [1.0], dtype=torch.float64)
    if world > 1:
        sums = _all_reduce(sums, device)
    model.train()
    n = max(sums[5].item(), 1.0)
    return dict(zip(("loss", "cc", "nss", "sim", "auc_judd"), (sums[:5] / n).tolist()))


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    """Run training; returns {"best": path, "best_cc": value, "epochs": n, "stopped": reason}."""
    cfg.check()
    process = current_rank()        # torchrun's RANK / WORLD_SIZE / LOCAL_RANK, read in one place
    rank, world = process.rank, process.world
    device = resolve_device(cfg.device, process.local_rank, world)
    if world > 1 and not dist.is_initialized():
        init_distributed(device)
    elif device.type == "cuda":
        torch.cuda.set_device(device)
    torch.manual_seed(cfg.seed + rank)
    out = Path(cfg.output)
    if rank == 0:
        from ..io.atomic import make_folder

        make_folder(out)        # a file in the way: one line naming it, not "[Errno 17] File exists"
    log = JsonLog(out / "log.jsonl" if rank == 0 else None)
    stop = StopFlag()
    try:
        return _train(cfg, resume, rank, world, device, out, log, stop)
    except torch.OutOfMemoryError as exc:
        release_cached_memory(device)
        raise DeviceOutOfMemory(device, cfg.batch_size, str(exc).splitlines()[0] if str(exc) else "") from None
    finally:
        stop.restore()
        log.close()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def make_train_loader(train_set: TrainClips, cfg: TrainConfig, rank: int, world: int,
                      device: torch.device) -> tuple[DataLoader, Sampler | None, torch.Generator]:
    """The training loader; see `epoch_batches` for how each epoch's clips are drawn.

    Workers are not persistent: each epoch's workers are forked after `set_epoch`, so they
    draw that epoch's clip starts (persistent workers keep the dataset copy of epoch 0).
    """
    sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=cfg.seed) if world > 1 else None
    order = torch.Generator()
    loader = DataLoader(train_set, cfg.batch_size, shuffle=sampler is None, sampler=sampler, drop_last=False,
                        num_workers=cfg.num_workers, persistent_workers=False,
                        pin_memory=device.type == "cuda", generator=order if sampler is None else None)
    return loader, sampler, order


def epoch_batches(loader: DataLoader, sampler: Sampler | None, order: torch.Generator, epoch: int, seed: int):
    """The batches of `epoch`: clip starts and order depend on (seed, epoch) only, so a resumed
    run draws what an uninterrupted one would have."""
    loader.dataset.set_epoch(epoch)
    if sampler is not None:
        sampler.set_epoch(epoch)
    order.manual_seed(seed * 100_003 + epoch)
    return iter(loader)


def make_val_loader(val_set: ValClips, cfg: TrainConfig, rank: int, world: int, device: torch.device) -> DataLoader:
    sampler = ShardSampler(len(val_set), rank, world) if world > 1 else None
    return DataLoader(val_set, 1, sampler=sampler, num_workers=cfg.num_workers,
                      persistent_workers=cfg.num_workers > 0, pin_memory=device.type == "cuda")


def _train(cfg, resume, rank, world, device, out, log, stop) -> dict:
    model = build_model(cfg, log).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start_epoch, best_cc, stale, step = 0, -math.inf, 0, 0
    if resume and (out / "last.pt").exists():
        start_epoch, best_cc, stale, step = resume_from(out / "last.pt", model, optimizer)
        log.write("resume", epoch=start_epoch, step=step, best_cc=best_cc)

    train_set = TrainClips(cfg.data_root, cfg.layout, seed=cfg.seed)
    val_set = ValClips(cfg.data_root, cfg.layout, stride=cfg.val_stride)
    if cfg.max_val_clips:
        val_set.items = val_set.items[:cfg.max_val_clips]
    train_loader, train_sampler, order = make_train_loader(train_set, cfg, rank, world, device)
    val_loader = make_val_loader(val_set, cfg, rank, world, device)
    ddp = torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else model
    scaler = torch.amp.GradScaler(enabled=device.type == "cuda" and cfg.amp == "fp16")
    log.write("start", config=asdict(cfg), world_size=world, device=str(device),
              train_videos=len(train_set), val_clips=len(val_set), start_epoch=start_epoch)

    stopped = "completed"
    epoch = start_epoch - 1
    for epoch in range(start_epoch, cfg.epochs):
        batches = epoch_batches(train_loader, train_sampler, order, epoch, cfg.seed)
        step, stopping = train_epoch(cfg, ddp, optimizer, scaler, batches, device, log, stop, world, epoch, step)
        if stopping:
            stopped = "stopped"
            _save(out, model, optimizer, cfg, epoch, best_cc, stale, step, rank)   # last.pt only
            break
        improved = False
        if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs:
            scores = validate(model, val_loader, device, cfg.amp, world)
            improved = scores["cc"] > best_cc
            best_cc, stale = (scores["cc"], 0) if improved else (best_cc, stale + 1)
            log.write("val", epoch=epoch, step=step, best=improved, **scores)
        _save(out, model, optimizer, cfg, epoch, best_cc, stale, step, rank, best=improved)
        if stale >= cfg.patience:
            stopped = "early_stopping"
            break
    result = {"best": str(out / "best.pt"), "best_cc": best_cc, "epochs": epoch + 1, "stopped": stopped,
              "last": str(out / "last.pt")}
    log.write("end", **result)
    return result


def train_epoch(cfg, ddp, optimizer, scaler, batches, device, log, stop, world, epoch, step) -> tuple[int, bool]:
    """One epoch's steps (at most `max_steps_per_epoch`); returns (step count, stopped by a signal)."""
    for i, (clip, gt) in enumerate(batches):
        if cfg.max_steps_per_epoch and i >= cfg.max_steps_per_epoch:
            break
        t0 = time.perf_counter()
        with _autocast(device, cfg.amp):
            pred = ddp(clip.to(device, non_blocking=True))
        loss = kl_cc_loss(pred.float(), gt.to(device))
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        step += 1
        log.write("step", epoch=epoch, step=step, loss=loss.item(), lr=cfg.lr, seconds=time.perf_counter() - t0)
        if should_stop(stop, world, device):
            return step, True
    return step, False


_RESUME_KEYS = ("optimizer", "epoch", "best_cc", "stale", "step")


def resume_from(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, float, int, int]:
    """Load weights, optimizer state and progress from a last.pt; returns (next epoch, best CC, stale, step).

    Every problem is a CheckpointError naming the file. Nothing of the file stays referenced
    afterwards: it is memory-mapped while read, and the next save replaces it.
    """
    state = read_checkpoint(path)
    missing = [k for k in _RESUME_KEYS if not (isinstance(state, dict) and k in state)]
    if missing:
        raise CheckpointError(f"{path}: cannot resume from it: it holds no {', '.join(missing)} "
                              "(only a last.pt written by salfom train can be resumed)")
    try:
        load_weights(model, state)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: cannot resume from it: {str(exc).removeprefix('<state dict>: ')}") from None
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: cannot resume from it: its optimizer state does not fit the model "
                              f"({exc})") from None
    # Adam keeps CPU tensors as loaded: copy them out of the file's memory map.
    for param_state in optimizer.state.values():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                param_state[key] = value.clone()
    if isinstance(state.get("rng"), torch.Tensor):
        torch.set_rng_state(state["rng"].clone())
    progress = (int(state["epoch"]) + 1, float(state["best_cc"]), int(state["stale"]), int(state["step"]))
    del state
    return progress


def _save(out, model, optimizer, cfg, epoch, best_cc, stale, step, rank, best=False):
    if rank != 0:
        return
    meta = {"epoch": epoch, "step": step, "best_cc": best_cc, "data_root": cfg.data_root, "layout": cfg.layout}
    save_checkpoint(out / "last.pt", model, meta, extra={
        "optimizer": optimizer.state_dict(), "epoch": epoch, "best_cc": best_cc, "stale": stale, "step": step,
        "rng": torch.get_rng_state()})
    if best:
        save_checkpoint(out / "best.pt", model, meta)
