"""Sliding-window inference speed of SalFoM; one JSON line per (preset, mode).

    python bench/infer.py [--preset salfom_l16] [--batch 16] [--compile] [--no-baseline]

Modes, measured in the same run on the same input:
- `fast`: bf16 autocast on CUDA (TCFE and fusion kept in float32), SDPA attention, windows
  batched, optionally torch.compile; on the CPU float32 (or --cpu-bf16).
- `baseline`: the straightforward port: float32, explicit softmax(QK^T)V, one window at a time.

Whole-video sliding-window inference: frames are a (T, 3, 224, 224) tensor on the device and
each batch unfolds into stride-1 windows, as the engine builds them (decoding excluded).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bf16_peak, device_name, synchronize, timed, window_flops  # noqa: E402
from salfom_core import create_model  # noqa: E402


def windows(frames: torch.Tensor, start: int, batch: int) -> torch.Tensor:
    """Stride-1 windows ending at frames start..start+batch-1: (B, 3, 16, H, W)."""
    idx = torch.arange(start, start + batch, device=frames.device)[:, None] + torch.arange(-15, 1, device=frames.device)
    return frames[idx.clamp_min(0)].permute(0, 2, 1, 3, 4)


def run_mode(model, frames, batch: int, dtype, explicit: bool, repeats: int, device):
    model.set_explicit_attention(explicit)
    starts = list(range(15, frames.shape[0] - batch + 1, batch))
    state = {"k": 0}

    def step():
        start = starts[state["k"] % len(starts)]
        state["k"] += 1
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            return model(windows(frames, start, batch))

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed(step, device, repeats, warmup=2 if device.type == "cuda" else 1)
    out = {"seconds_per_batch": seconds, "windows_per_s": batch / seconds}
    if device.type == "cuda":
        out["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2 ** 30
    model.set_explicit_attention(False)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="salfom_l16")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, help="windows per batch in fast mode (default: 16 CUDA, 1 CPU)")
    parser.add_argument("--repeats", type=int, help="timed batches (default: 10 CUDA, 2 CPU)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model in fast mode")
    parser.add_argument("--channels-last", action="store_true", help="channels_last_3d memory format")
    parser.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast on the CPU too")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    cuda = device.type == "cuda"
    batch = args.batch or (16 if cuda else 1)
    repeats = args.repeats or (10 if cuda else 2)
    torch.manual_seed(0)
    model = create_model(args.preset).eval().to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    frames = torch.randn(15 + batch * (repeats + 3), 3, 224, 224, device=device)
    flops = window_flops(args.preset)
    peak = bf16_peak(device)
    fast_dtype = torch.bfloat16 if (cuda or args.cpu_bf16) else None
    fast_model = torch.compile(model) if args.compile else model
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    fast = run_mode(fast_model, frames, batch, fast_dtype, False, repeats, device)
    result = {"bench": "infer", "device": device_name(device), "preset": args.preset,
              "dtype": "bfloat16" if fast_dtype else "float32", "batch": batch, "compile": args.compile,
              "channels_last": args.channels_last, "frames_per_s": round(fast["windows_per_s"], 2),
              "seconds_per_window": round(1 / fast["windows_per_s"], 4),
              "gflop_per_window": round(flops / 1e9, 1),
              "achieved_tflops": round(flops * fast["windows_per_s"] / 1e12, 2)}
    if peak:
        result["fraction_of_bf16_peak"] = round(flops * fast["windows_per_s"] / 1e12 / peak, 3)
    if cuda:
        result["peak_gpu_memory_gib"] = round(fast["peak_gpu_memory_gib"], 2)
    if not args.no_baseline:
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        base = run_mode(model, frames, 1, None, True, max(2, repeats // 2), device)
        result["baseline"] = {"dtype": "float32", "attention": "explicit", "batch": 1,
                              "frames_per_s": round(base["windows_per_s"], 3),
                              "achieved_tflops": round(flops * base["windows_per_s"] / 1e12, 3)}
        if cuda:
            result["baseline"]["peak_gpu_memory_gib"] = round(base["peak_gpu_memory_gib"], 2)
        result["speedup_vs_baseline"] = round(fast["windows_per_s"] / base["windows_per_s"], 2)
        # the fast path's answer against the straightforward one, same weights and windows
        with torch.inference_mode():
            clip = windows(frames, 15, 1)
            with torch.autocast(device.type, dtype=fast_dtype or torch.float32, enabled=fast_dtype is not None):
                a = fast_model(clip).float()
            model.set_explicit_attention(True)
            b = model(clip).float()
            model.set_explicit_attention(False)
        synchronize(device)
        result["max_abs_diff_vs_baseline"] = float((a - b).abs().max())
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
