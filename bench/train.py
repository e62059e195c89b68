"""One training step of SalFoM (batch 1, 16 frames): step time and peak memory, with and
without activation checkpointing; one JSON line per setting.

    python bench/train.py [--preset salfom_l16] [--amp bf16|fp16|off]

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

from common import device_name, profile, timed  # noqa: E402
from salfom_core import create_model  # noqa: E402
from salfom_core.training.losses import kl_cc_loss


def make_step(preset: str, device: torch.device, amp: str, checkpointing: bool):
    """A model, its optimizer and one training step on a fixed random clip: step() runs it."""
    torch.manual_seed(0)
    with torch.device(device):       # initialised where it runs: the CPU is slow at 300 M weights
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

    return step


def measure(preset: str, device: torch.device, amp: str, checkpointing: bool, repeats: int) -> dict:
    step = make_step(preset, device, amp, checkpointing)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed(step, device, repeats, warmup=2 if device.type == "cuda" else 1)
    out = {"checkpointing": checkpointing, "step_s": round(seconds, 4)}
    if device.type == "cuda":
        out["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2 ** 30, 2)
        out["peak_gpu_memory_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 2)
    del step
    if device.type == "cuda":
        torch.cuda.empty_cache()      # this model's memory is free again before the next one
    return out


def profile_step(preset: str, device: torch.device, amp: str, checkpointing: bool, trace_path, steps: int = 2) -> str:
    """A torch.profiler trace of `steps` training steps (see common.profile); returns the top operators."""
    return profile(make_step(preset, device, amp, checkpointing), device, trace_path, steps=steps)


def train_bench(preset: str, device: torch.device, amp: str, repeats: int) -> dict:
    """The JSON line: one step with and one without activation checkpointing."""
    with_ckpt = measure(preset, device, amp, True, repeats)
    without = measure(preset, device, amp, False, repeats)
    return {"bench": "train_step", "device": device_name(device), "preset": preset, "batch": 1, "frames": 16,
            "amp": amp if device.type == "cuda" or amp != "off" else "off",
            "with_checkpointing": with_ckpt, "without_checkpointing": without,
            "checkpointing_slowdown": round(with_ckpt["step_s"] / without["step_s"], 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="salfom_l16")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", choices=("bf16", "fp16", "off"),
                        help="default: bf16 on CUDA, off on the CPU (PyTorch 2.13's CPU bf16 backward of a "
                             "3-D convolution over a 2-frame input aborts with 'double free or corruption')")
    parser.add_argument("--repeats", type=int, help="timed steps (default 10 CUDA, 2 CPU)")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    repeats = args.repeats or (10 if device.type == "cuda" else 2)
    args.amp = args.amp or ("bf16" if device.type == "cuda" else "off")
    print(json.dumps(train_bench(args.preset, device, args.amp, repeats)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
