"""Measured inference speed, for time estimates before the first batch finishes.

Seconds per 16-frame window at batch 1, from `bench/infer.py` on the project's 2-core x86-64
machine (2026-11-24). Other machines scale with their core count; the engine's own ETA takes
over as soon as it has timed a batch.
"""
from __future__ import annotations

import os

MEASURED_CORES = 2
SECONDS_PER_WINDOW = {
    ("salfom_tiny", "cpu", "float32"): 0.069,
    ("salfom_l16", "cpu", "float32"): 11.18,
    ("salfom_l16", "cpu", "bfloat16"): 3.57,
}


def estimate_seconds(preset: str, device: str, dtype: str, windows: int) -> float | None:
    """Expected seconds for `windows` windows, or None where nothing was measured (e.g. a GPU)."""
    per_window = SECONDS_PER_WINDOW.get((preset, device, dtype))
    if per_window is None:
        return None
    cores = os.cpu_count() or MEASURED_CORES
    return windows * per_window * MEASURED_CORES / max(MEASURED_CORES, cores)
