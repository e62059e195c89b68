"""Training: KL + CC, Adam, the paper's protocol; one GPU, CPU, or many GPUs under torchrun.

    salfom train --config run.toml [--resume]
    torchrun --nproc_per_node N -m salfom_core.train --config run.toml

Every step and every validation is appended to `<output>/log.jsonl` (one JSON object a line,
flushed at once) so the app, or any program, can follow a run live. Each epoch writes
`last.pt` (weights, optimizer, epoch: what --resume needs) and `best.pt` when validation CC
improves, both atomically. SIGTERM or SIGINT stops after the current step, saving `last.pt`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from . import metrics
from .checkpoint import load_weights, read_checkpoint, save_checkpoint
from .datasets import LAYOUTS, TrainClips, ValClips
from .losses import kl_cc_loss
from .models import create_model
from .preprocess import postprocess_map


@dataclass
class TrainConfig:
    data_root: str = ""
    output: str = "runs/salfom"
    layout: str = "dhf1k"
    preset: str = "salfom_l16"
    epochs: int = 300
    lr: float = 1e-5
    batch_size: int = 1
    weight_decay: float = 0.0
    umt_checkpoint: str = ""          # encoder initialisation (UMT-L/16 K400, 16 frames)
    init_checkpoint: str = ""         # whole-model initialisation (e.g. DHF1K weights for UCF)
    device: str = "auto"
    amp: str = "bf16"                 # "bf16", "fp16" or "off"; used on CUDA only
    grad_checkpointing: bool = False
    val_every: int = 1                # epochs between validations
    val_stride: int = 64
    patience: int = 10                # validations without a better CC before stopping
    max_steps_per_epoch: int = 0      # 0: the whole training set
    max_val_clips: int = 0            # 0: all
    num_workers: int = 2
    seed: int = 0

    @classmethod
    def from_toml(cls, path: str | Path, **overrides) -> "TrainConfig":
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SystemExit(f"{path}: cannot read the training config ({exc})") from None
        raw = raw.get("train", raw)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise SystemExit(f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        cfg = cls(**{**raw, **{k: v for k, v in overrides.items() if v is not None}})
        if not cfg.data_root:
            raise SystemExit(f"{path}: data_root is required")
        if cfg.layout not in LAYOUTS:
            raise SystemExit(f"{path}: layout must be one of {', '.join(LAYOUTS)}")
        return cfg


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
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                signal.signal(sig, self._handle)
            except ValueError:   # not the main thread (tests calling train())
                pass

    def _handle(self, *_):
        self.set = True


def _distributed() -> tuple[int, int, int]:
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))
    return 0, 1, 0


def _device(cfg: TrainConfig, local_rank: int, world: int) -> torch.device:
    if cfg.device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank if world > 1 else torch.cuda.current_device())
        return torch.device("cpu")
    return torch.device(cfg.device)


def _autocast(device: torch.device, amp: str):
    if device.type != "cuda" or amp == "off":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast("cuda", dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


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
        dist.all_reduce(sums)
    model.train()
    n = max(sums[5].item(), 1.0)
    return dict(zip(("loss", "cc", "nss", "sim", "auc_judd"), (sums[:5] / n).tolist()))


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    """Run training; returns {"best": path, "best_cc": value, "epochs": n, "stopped": reason}."""
    rank, world, local_rank = _distributed()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    device = _device(cfg, local_rank, world)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.manual_seed(cfg.seed + rank)
    out = Path(cfg.output)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    log = JsonLog(out / "log.jsonl" if rank == 0 else None)
    stop = StopFlag()
    try:
        return _train(cfg, resume, rank, world, device, out, log, stop)
    finally:
        log.close()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _train(cfg, resume, rank, world, device, out, log, stop) -> dict:
    model = build_model(cfg, log).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start_epoch, best_cc, stale, step = 0, -math.inf, 0, 0
    if resume and (out / "last.pt").exists():
        state = read_checkpoint(out / "last.pt")
        load_weights(model, state)
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best_cc, stale, step = (state["epoch"] + 1, state["best_cc"], state["stale"], state["step"])
        log.write("resume", epoch=start_epoch, step=step, best_cc=best_cc)

    train_set = TrainClips(cfg.data_root, cfg.layout, seed=cfg.seed)
    val_set = ValClips(cfg.data_root, cfg.layout, stride=cfg.val_stride)
    if cfg.max_val_clips:
        val_set.items = val_set.items[:cfg.max_val_clips]
    train_sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=cfg.seed) if world > 1 else None
    val_sampler = DistributedSampler(val_set, world, rank, shuffle=False) if world > 1 else None
    loader_args = {"num_workers": cfg.num_workers, "persistent_workers": cfg.num_workers > 0,
                   "pin_memory": device.type == "cuda"}
    train_loader = DataLoader(train_set, cfg.batch_size, shuffle=train_sampler is None, sampler=train_sampler,
                              drop_last=False, **loader_args)
    val_loader = DataLoader(val_set, 1, sampler=val_sampler, **loader_args)
    ddp = torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else model
    scaler = torch.amp.GradScaler(enabled=device.type == "cuda" and cfg.amp == "fp16")
    log.write("start", config=asdict(cfg), world_size=world, device=str(device),
              train_videos=len(train_set), val_clips=len(val_set), start_epoch=start_epoch)

    stopped = "completed"
    epoch = start_epoch - 1
    for epoch in range(start_epoch, cfg.epochs):
        train_set.set_epoch(epoch)
        if train_sampler:
            train_sampler.set_epoch(epoch)
        model.train()
        for i, (clip, gt) in enumerate(train_loader):
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
            log.write("step", epoch=epoch, step=step, loss=loss.item(), lr=cfg.lr,
                      seconds=time.perf_counter() - t0)
            if stop.set:
                break
        if stop.set:
            stopped = "stopped"
            _save(out, model, optimizer, cfg, epoch, best_cc, stale, step, rank)   # last.pt only
            break
        improved = False
        if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs:
            scores = validate(model, val_loader, device, cfg.amp, world)
            improved = scores["cc"] > best_cc
            if improved:
                best_cc, stale = scores["cc"], 0
            else:
                stale += 1
            log.write("val", epoch=epoch, step=step, best=improved, **scores)
        _save(out, model, optimizer, cfg, epoch, best_cc, stale, step, rank, best=improved)
        if stale >= cfg.patience:
            stopped = "early_stopping"
            break
    result = {"best": str(out / "best.pt"), "best_cc": best_cc, "epochs": epoch + 1, "stopped": stopped,
              "last": str(out / "last.pt")}
    log.write("end", **result)
    return result


def _save(out, model, optimizer, cfg, epoch, best_cc, stale, step, rank, best=False):
    if rank != 0:
        return
    meta = {"epoch": epoch, "step": step, "best_cc": best_cc, "data_root": cfg.data_root, "layout": cfg.layout}
    save_checkpoint(out / "last.pt", model, meta, extra={
        "optimizer": optimizer.state_dict(), "epoch": epoch, "best_cc": best_cc, "stale": stale, "step": step})
    if best:
        save_checkpoint(out / "best.pt", model, meta)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="salfom train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="TOML file with the settings of TrainConfig "
                        "(top level or under [train]); see README")
    parser.add_argument("--resume", action="store_true", help="continue from <output>/last.pt if it exists")
    parser.add_argument("--output", help="override the output folder")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:1 ...")
    parser.add_argument("--epochs", type=int, help="override the number of epochs")


def run(args) -> int:
    cfg = TrainConfig.from_toml(args.config, output=args.output, device=args.device, epochs=args.epochs)
    result = train(cfg, resume=args.resume)
    if _distributed()[0] == 0:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
