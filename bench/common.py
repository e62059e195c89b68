"""Shared pieces of the benchmarks: device facts, FLOP counts, timing."""
from __future__ import annotations

import os
import platform
import time

import torch

# dense bf16 matrix throughput the issue plans with (TFLOP/s)
BF16_PEAK_TFLOPS = {"H100": 790.0, "H200": 790.0}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def bf16_peak(device: torch.device) -> float | None:
    name = device_name(device)
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)


def window_flops(preset: str) -> float:
    """FLOPs of one 16-frame window, counted by PyTorch on the meta device (no memory, no time)."""
    from torch.utils.flop_counter import FlopCounterMode

    from salfom_core import create_model

    with torch.device("meta"):
        model = create_model(preset).eval()
        clip = torch.empty(1, 3, 16, 224, 224)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(clip)
    return float(counter.get_total_flops())


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median seconds of fn() over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]
