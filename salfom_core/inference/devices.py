"""Which device a process computes on, at what precision, and what to do when it runs out of memory.

One function, `resolve_device`, turns a request (`auto`, `cpu`, `cuda`, `cuda:1`, ...) into a
`torch.device` for training, prediction and the app alike. Under torchrun every process uses
the GPU of its LOCAL_RANK: `cuda` means `cuda:LOCAL_RANK`, and an explicit index is refused
with several processes, because it would put them all on one GPU (NCCL refuses duplicates).
"""
from __future__ import annotations

import torch

from ..errors import ConfigError
from .distributed import current_rank

# Mixed-precision names shared by the training config (`amp`) and the CLI (`--dtype`).
PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16, "off": torch.float32}
_PRECISION_ALIASES = {"bfloat16": "bf16", "float16": "fp16", "float32": "off", "fp32": "off"}

# Windows per forward pass when the user gives none: a GPU needs a full batch to be busy;
# on the CPU a larger batch only adds latency before the first map appears.
DEFAULT_BATCH_SIZE = {"cuda": 16, "cpu": 4}


def resolve_device(request: str | torch.device | None = "auto", local_rank: int | None = None,
                   world_size: int | None = None) -> torch.device:
    """The device this process should use.

    `local_rank` and `world_size` default to torchrun's LOCAL_RANK and WORLD_SIZE (0 and 1
    outside torchrun). Raises ConfigError for an unknown name, CUDA requested where there is
    none, an index beyond the GPUs present, or an explicit index with several processes.
    """
    if local_rank is None or world_size is None:
        process = current_rank()
        local_rank = process.local_rank if local_rank is None else local_rank
        world_size = process.world if world_size is None else world_size
    text = str(request or "auto").strip().lower()
    if text == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        text = "cuda"              # the GPU of LOCAL_RANK, checked below like an explicit request
    try:
        device = torch.device(text)
    except RuntimeError:
        raise ConfigError(f"unknown device {request!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type != "cuda":
        raise ConfigError(f"unsupported device {request!r}; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ConfigError(f"device {request!r} requested but CUDA is not available on this machine "
                          "(no NVIDIA GPU, or a CPU-only PyTorch); use --device cpu or auto")
    if device.index is None:
        device = torch.device("cuda", local_rank)
    elif world_size > 1:
        raise ConfigError(f"device {request!r} would put all {world_size} processes on one GPU; under "
                          "torchrun use 'cuda' or 'auto' (each process takes the GPU of its LOCAL_RANK)")
    count = torch.cuda.device_count()
    if device.index >= count:
        raise ConfigError(f"device {device} requested but this machine has {count} CUDA device(s)"
                          + (f" (LOCAL_RANK {local_rank})" if world_size > 1 else ""))
    return device


def resolve_precision(name: str, device: torch.device | None = None) -> str:
    """`bf16`, `fp16` or `off` from a user's name (`auto`: bf16 on CUDA, off elsewhere).

    The torch names (`bfloat16`, `float16`, `float32`) are accepted too; anything else is a
    ConfigError listing the choices.
    """
    text = str(name).strip().lower()
    if text == "auto":
        return "bf16" if device is not None and device.type == "cuda" else "off"
    text = _PRECISION_ALIASES.get(text, text)
    if text not in PRECISIONS:
        raise ConfigError(f"unknown precision {name!r}; use {', '.join(PRECISIONS)}")
    return text


def default_batch_size(device: torch.device) -> int:
    return DEFAULT_BATCH_SIZE.get(device.type, DEFAULT_BATCH_SIZE["cpu"])


def set_fast_math(device: torch.device, tf32: bool = True) -> None:
    """cuDNN autotuning, and with `tf32` TF32 float32 matrix products and convolutions, on CUDA.

    Inference shapes are fixed, so the autotuner's first-batch cost pays back at once; TF32
    keeps float32's range with a 10-bit mantissa, well inside the maps' 8-bit output. A bf16
    run passes tf32=False: its float32 parts (TCFE, fusion) are float32 for accuracy.
    No effect on other devices.
    """
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = True
    precision = "tf32" if tf32 else "ieee"
    torch.backends.cuda.matmul.fp32_precision = precision
    torch.backends.cudnn.conv.fp32_precision = precision


class DeviceOutOfMemory(RuntimeError):
    """The device ran out of memory for a batch; its cache was emptied.

    The CLI turns it into one line suggesting a smaller --batch-size; the app can offer to
    retry on the CPU. `device` and `batch_size` say what failed.
    """

    def __init__(self, device: torch.device, batch_size: int, detail: str = ""):
        self.device, self.batch_size = device, batch_size
        smaller = max(1, batch_size // 2)
        super().__init__(f"out of memory on {device} with a batch of {batch_size}; try a smaller --batch-size "
                         f"(e.g. {smaller})" + (" or --device cpu" if device.type != "cpu" else "")
                         + (f" [{detail}]" if detail else ""))


def release_cached_memory(device: torch.device) -> None:
    """Give the caching allocator's free blocks back after a failed batch, so a retry can fit."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
