"""Sliding-window inference speed of SalFoM; one JSON line per mode.

    python bench/infer.py [--preset salfom_l16] [--batch 16] [--variants eager,compile] [--no-baseline]

Modes, measured in the same run on the same input:
- `baseline`: the straightforward port: float32, explicit softmax(QK^T)V, one window at a
  time (TF32 off on CUDA).
- fast variants: bf16 autocast on CUDA (TCFE and fusion kept in float32), SDPA attention,
  windows batched; on the CPU float32 (or --cpu-bf16). `eager`, `compile` (torch.compile),
  and on CUDA `cudagraph` / `compile+cudagraph` (the forward pass captured once in a CUDA
  graph and replayed: no per-kernel launch cost). Each line gives windows/s, TFLOP/s, the
  fraction of the bf16 peak (with the reference it is measured against), peak memory and the
  speed-up over the baseline.

Whole-video sliding-window inference: frames are a (T, 3, 224, 224) tensor on the device and
each batch unfolds into stride-1 windows, as the engine builds them (decoding excluded).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import device_name, matmul_tflops, peak_fields, profile, synchronize, timed, window_flops  # noqa: E402
from salfom_core import create_model  # noqa: E402

VARIANTS = ("eager", "cudagraph", "compile", "compile+cudagraph")
CUDA_ONLY = ("cudagraph", "compile+cudagraph")


def windows(frames: torch.Tensor, start: int, batch: int) -> torch.Tensor:
    """Stride-1 windows ending at frames start..start+batch-1: (B, 3, 16, H, W)."""
    idx = torch.arange(start, start + batch, device=frames.device)[:, None] + torch.arange(-15, 1, device=frames.device)
    return frames[idx.clamp_min(0)].permute(0, 2, 1, 3, 4)


def to_channels_last_3d(model: nn.Module) -> nn.Module:
    """channels_last_3d for the 3-D convolutions only: the format exists for 5-D tensors alone,
    so converting the whole model fails on its 2-D convolutions (4-D weights)."""
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            module.to(memory_format=torch.channels_last_3d)
    return model


class CudaGraphed:
    """One forward pass captured in a CUDA graph; a call copies its input into the captured
    buffer and replays the graph (the output tensor is reused by the next call)."""

    def __init__(self, forward, example: torch.Tensor):
        self.static_input = example.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):          # warm-up off the capture stream, as PyTorch asks
            for _ in range(3):
                forward(self.static_input)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_output = forward(self.static_input)

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        self.static_input.copy_(clip)
        self.graph.replay()
        return self.static_output


class InferBench:
    """The model, the frames and the baseline answer, shared by every mode of one run."""

    def __init__(self, args):
        self.args = args
        self.device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                                   ("cpu" if args.device == "auto" else args.device))
        self.cuda = self.device.type == "cuda"
        self.batch = args.batch or (16 if self.cuda else 1)
        self.repeats = args.repeats or (10 if self.cuda else 2)
        self.fast_dtype = torch.bfloat16 if (self.cuda or args.cpu_bf16) else None
        torch.manual_seed(0)
        with torch.device(self.device):        # initialise on the device: the CPU is slow at 300 M weights
            self.model = create_model(args.preset).eval().to(self.device)
        if args.channels_last:
            to_channels_last_3d(self.model)
        self.frames = torch.randn(15 + self.batch * (self.repeats + 4), 3, 224, 224, device=self.device)
        self.flops = window_flops(args.preset)
        self.name = device_name(self.device)
        self.matmul_tflops = matmul_tflops(self.device)
        self.base_windows_per_s: float | None = None
        self.reference: torch.Tensor | None = None     # the baseline's map of the window ending at frame 15
        self.callables: dict[str, object] = {}
        self._compiled = None

    def clip(self, start: int, batch: int) -> torch.Tensor:
        clip = windows(self.frames, start, batch)
        return clip.contiguous(memory_format=torch.channels_last_3d) if self.args.channels_last else clip

    def _forward(self, model, dtype):
        def forward(clip):
            # cache_enabled=False: autocast's weight cache cannot live inside a CUDA graph capture
            with torch.no_grad(), torch.autocast(self.device.type, dtype=dtype or torch.float32,
                                                 enabled=dtype is not None, cache_enabled=False):
                return model(clip)
        return forward

    def _set_tf32(self, enabled: bool) -> None:
        if self.cuda:
            torch.backends.cuda.matmul.allow_tf32 = enabled
            torch.backends.cudnn.allow_tf32 = enabled
            torch.backends.cudnn.benchmark = True

    def _measure(self, fn, batch: int, repeats: int) -> dict:
        starts = list(range(15, self.frames.shape[0] - batch + 1, batch))
        state = {"k": 0}

        def step():
            start = starts[state["k"] % len(starts)]
            state["k"] += 1
            return fn(self.clip(start, batch))

        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        seconds = timed(step, self.device, repeats, warmup=2 if self.cuda else 1)
        out = {"seconds_per_batch": round(seconds, 5), "windows_per_s": round(batch / seconds, 3)}
        out["frames_per_s"] = out["windows_per_s"]       # one window per frame (stride 1)
        out["achieved_tflops"] = round(self.flops * batch / seconds / 1e12, 3)
        if self.cuda:
            out["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated(self.device) / 2 ** 30, 2)
        return out

    def _line(self, mode: str, **fields) -> dict:
        return {"bench": "infer", "mode": mode, "device": self.name, "preset": self.args.preset,
                "channels_last": self.args.channels_last, "gflop_per_window": round(self.flops / 1e9, 1), **fields}

    def baseline(self) -> dict:
        """float32, explicit attention, batch 1, TF32 off."""
        self._set_tf32(False)
        self.model.set_explicit_attention(True)
        try:
            forward = self._forward(self.model, None)
            result = self._measure(forward, 1, max(1, self.repeats // 2))
            self.reference = forward(self.clip(15, 1)).float()
        finally:
            self.model.set_explicit_attention(False)
        self.base_windows_per_s = result["windows_per_s"]
        return self._line("baseline", dtype="float32", attention="explicit", batch=1, tf32=False, **result)

    def _callable(self, variant: str):
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
        if variant in CUDA_ONLY and not self.cuda:
            raise RuntimeError("CUDA graphs need a CUDA device")
        if variant.startswith("compile"):
            if self._compiled is None:
                self._compiled = torch.compile(self.model, backend=self.args.compile_backend)
            model = self._compiled
        else:
            model = self.model
        forward = self._forward(model, self.fast_dtype)
        if variant.endswith("cudagraph"):
            return CudaGraphed(forward, self.clip(15, self.batch))
        return forward

    def variant(self, variant: str) -> dict:
        """One fast mode; its first call (compilation, graph capture) is timed apart."""
        self._set_tf32(True)
        t0 = time.perf_counter()
        fn = self._callable(variant)
        first = fn(self.clip(15, self.batch)).float()
        synchronize(self.device)
        first_call_s = time.perf_counter() - t0
        self.callables[variant] = fn
        result = self._measure(fn, self.batch, self.repeats)
        line = self._line(variant, dtype="bfloat16" if self.fast_dtype else "float32", attention="sdpa",
                          batch=self.batch, tf32=self.cuda, compile=variant.startswith("compile"),
                          cuda_graph=variant.endswith("cudagraph"), first_call_s=round(first_call_s, 2), **result,
                          **peak_fields(self.name, result["achieved_tflops"], self.matmul_tflops))
        if self.base_windows_per_s:
            line["speedup_vs_baseline"] = round(result["windows_per_s"] / self.base_windows_per_s, 2)
        if self.reference is not None:
            # the fast answer against the straightforward one: same weights, same window
            line["max_abs_diff_vs_baseline"] = float((first[:1] - self.reference).abs().max())
        return line

    def profile(self, variant: str, trace_path: Path) -> str:
        fn = self.callables[variant]
        return profile(lambda: fn(self.clip(15, self.batch)), self.device, trace_path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="salfom_l16")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, help="windows per batch in fast mode (default: 16 CUDA, 1 CPU)")
    parser.add_argument("--repeats", type=int, help="timed batches (default: 10 CUDA, 2 CPU)")
    parser.add_argument("--variants", default="eager",
                        help=f"comma-separated fast modes, in this order: {', '.join(VARIANTS)}")
    parser.add_argument("--compile", action="store_true", help="add the `compile` variant")
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend (`eager`: trace only)")
    parser.add_argument("--channels-last", action="store_true",
                        help="channels_last_3d memory format for the 3-D convolutions and the input")
    parser.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast on the CPU too")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    args.variants = [v for v in args.variants.split(",") if v]
    if args.compile and "compile" not in args.variants:
        args.variants.append("compile")
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {', '.join(sorted(unknown))}; known: {', '.join(VARIANTS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = InferBench(args)
    if not args.no_baseline:
        print(json.dumps(bench.baseline()), flush=True)
    for variant in args.variants:
        print(json.dumps(bench.variant(variant)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
