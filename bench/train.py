"""One training step of SalFoM (batch 1, 16 frames): step time and peak memory, with and
without activation checkpointing; one JSON line per setting.

    python bench/train.py [--preset salfom_l16] [--amp bf16]

Target on CUDA for salfom_l16: peak memory under 20 GB with checkpointing (a 24 GB card
fine-tunes the full model) and a step no more than 1.5x slower than without it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import device_name, timed  # noqa: E402
from salfom_core import create_model  # noqa: E402
from salfom_core.losses import kl_cc_loss  # noqa: E402


def measure(preset: str, device: torch.device, amp: str, checkpointing: bool, repeats: int) -> dict:
    torch.manual_seed(0)
    model = create_model(preset).to(device).train()
    model.set_grad_checkpointing(checkpointing)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
    clip = torch.randn(1, 3, 16, 224, 224, device=device)
    target = torch.rand(1, 224, 224, device=device)
    use_amp = amp != "off"
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=use_amp):
            prediction = model(clip)
        loss = kl_cc_loss(prediction.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed(step, device, repeats, warmup=2 if device.type == "cuda" else 1)
    out = {"checkpointing": checkpointing, "step_s": round(seconds, 4)}
    if device.type == "cuda":
        out["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2 ** 30, 2)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="salfom_l16")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", default="bf16", choices=("bf16", "fp16", "off"))
    parser.add_argument("--repeats", type=int, help="timed steps (default 10 CUDA, 2 CPU)")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    repeats = args.repeats or (10 if device.type == "cuda" else 2)
    runs = []
    for checkpointing in (True, False):
        runs.append(measure(args.preset, device, args.amp, checkpointing, repeats))
        if device.type == "cuda":
            torch.cuda.empty_cache()      # the first model's memory is free again before the second
    with_ckpt, without = runs
    print(json.dumps({"bench": "train_step", "device": device_name(device), "preset": args.preset, "batch": 1,
                      "frames": 16, "amp": args.amp if device.type == "cuda" or args.amp != "off" else "off",
                      "with_checkpointing": with_ckpt, "without_checkpointing": without,
                      "checkpointing_slowdown": round(with_ckpt["step_s"] / without["step_s"], 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
