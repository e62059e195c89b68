"""Shared pieces of the benchmarks: device facts, FLOP counts, timing, profiling."""
from __future__ import annotations

import gzip
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch

# bf16 dense matrix throughput (TFLOP/s) of the GPUs this project is benchmarked on. Two
# references, because "fraction of peak" means little without saying which:
# - measured: an 8192^3 bf16 matrix product through PyTorch on this project's H100/H200
#   machines ran at 769-798 TFLOP/s on random data (/work/.library/device/KINDS.md); the
#   issue's targets (55 % of peak = 150 windows/s at 3.04 TFLOP each) are against this one.
# - datasheet: NVIDIA's dense (no sparsity) bf16 figure for the H100/H200 SXM.
MEASURED_BF16_TFLOPS = 790.0
DATASHEET_BF16_TFLOPS = 989.0
BF16_PEAK_TFLOPS = {"H100": {"measured": MEASURED_BF16_TFLOPS, "datasheet": DATASHEET_BF16_TFLOPS},
                    "H200": {"measured": MEASURED_BF16_TFLOPS, "datasheet": DATASHEET_BF16_TFLOPS}}
PEAK_REFERENCE = (f"measured: {MEASURED_BF16_TFLOPS:.0f} TFLOP/s, the bf16 matrix-product throughput measured on "
                  f"this project's H100/H200 machines; datasheet: {DATASHEET_BF16_TFLOPS:.0f} TFLOP/s, "
                  "NVIDIA's dense bf16 figure")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def bf16_peaks(name: str) -> dict[str, float] | None:
    """{"measured": ..., "datasheet": ...} TFLOP/s for a device name, None where unknown (CPUs)."""
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)


def peak_fields(name: str, achieved_tflops: float, measured_here: float | None = None) -> dict:
    """The fraction of peak under keys that name their reference; empty where none is known."""
    peaks = bf16_peaks(name)
    out = {}
    if peaks:
        out["fraction_of_measured_bf16_peak"] = round(achieved_tflops / peaks["measured"], 3)
        out["fraction_of_datasheet_bf16_peak"] = round(achieved_tflops / peaks["datasheet"], 3)
        out["bf16_peak_reference"] = PEAK_REFERENCE
    if measured_here:
        out["matmul_bf16_tflops_this_run"] = round(measured_here, 1)
        out["fraction_of_matmul_this_run"] = round(achieved_tflops / measured_here, 3)
    return out


def matmul_tflops(device: torch.device, n: int = 8192, repeats: int = 10) -> float | None:
    """bf16 n^3 matrix-product TFLOP/s on this device now (CUDA only): the ceiling of this run."""
    if device.type != "cuda":
        return None
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    seconds = timed(lambda: a @ b, device, repeats, warmup=3)
    del a, b
    return 2 * n ** 3 / seconds / 1e12


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


def profile(fn, device: torch.device, trace_path: Path, steps: int = 2, rows: int = 25) -> str:
    """Run fn() `steps` times under torch.profiler; write a gzipped Chrome trace (open it in
    https://ui.perfetto.dev) and return the table of the operators that took the most time."""
    from torch.profiler import ProfilerActivity

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    fn()                                   # not the first call: no compilation or allocator growth
    synchronize(device)
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(steps):
            fn()
        synchronize(device)
    trace_path = Path(trace_path)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "trace.json"
        prof.export_chrome_trace(str(raw))
        with open(raw, "rb") as src, gzip.open(trace_path, "wb") as dst:
            shutil.copyfileobj(src, dst)
    sort_by = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=sort_by, row_limit=rows)


def wait_for(app, condition, timeout_s: float = 600, poll_s: float = 0.0005) -> None:
    """Process Qt events until `condition()` holds; TimeoutError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        app.processEvents()
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(poll_s)
