"""The benchmarks' own logic and the GPU check of issue 12, run at toy size on the CPU."""
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import gpu_check  # noqa: E402
import infer  # noqa: E402

import common  # noqa: E402
from salfom_core import create_model  # noqa: E402


def test_channels_last_converts_the_3d_convolutions_and_keeps_the_answer():
    torch.manual_seed(0)
    model = create_model("salfom_tiny").eval()
    clip = torch.randn(1, 3, 16, 224, 224)
    with torch.no_grad():
        expected = model(clip)
        infer.to_channels_last_3d(model)
        got = model(clip.contiguous(memory_format=torch.channels_last_3d))
    conv3d = [m.weight for m in model.modules() if isinstance(m, nn.Conv3d)]
    conv2d = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert conv3d and conv2d
    assert all(w.is_contiguous(memory_format=torch.channels_last_3d) and not w.is_contiguous() for w in conv3d)
    assert all(w.is_contiguous() for w in conv2d)           # 4-D weights have no channels_last_3d
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_infer_with_channels_last_runs(capsys):
    # converting the whole model (the old code) raised "required rank 5 tensor" on the 2-D convolutions
    assert infer.main(["--preset", "salfom_tiny", "--channels-last", "--repeats", "1", "--no-baseline"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["channels_last"] is True and line["mode"] == "eager" and line["windows_per_s"] > 0


def test_fraction_of_peak_names_its_reference():
    # 150 windows/s of 3.04 TFLOP: the target, 456 TFLOP/s
    fields = common.peak_fields("NVIDIA H100 80GB HBM3", 456.0)
    assert fields["fraction_of_measured_bf16_peak"] == round(456 / 790, 3)
    assert fields["fraction_of_datasheet_bf16_peak"] == round(456 / 989, 3)
    assert "790" in fields["bf16_peak_reference"] and "989" in fields["bf16_peak_reference"]
    assert common.peak_fields("NVIDIA H200", 395.0)["fraction_of_measured_bf16_peak"] == 0.5
    assert common.peak_fields("x86_64 CPU, 2 cores, 2 threads", 1.0) == {}
    assert common.peak_fields("NVIDIA H200", 395.0, measured_here=790.0)["fraction_of_matmul_this_run"] == 0.5


def _write_results(out: Path, lines: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def _infer_line(mode, windows_per_s, fraction, speedup):
    return {"step": "infer", "bench": "infer", "mode": mode, "device": "NVIDIA H100", "batch": 16,
            "windows_per_s": windows_per_s, "fraction_of_measured_bf16_peak": fraction,
            "speedup_vs_baseline": speedup}


def _summary(out: Path, steps: str, capsys) -> tuple[int, dict, dict]:
    rc = gpu_check.main(["summary", "--out", str(out), "--steps", steps])
    lines = [json.loads(t) for t in capsys.readouterr().out.splitlines()]
    checks = {line["check"]: line for line in lines if "check" in line}
    return rc, checks, lines[-1]


def test_summary_judges_the_fastest_mode_and_names_missing_steps(tmp_path, capsys):
    done = [{"step": s, "step_done": True, "device": "NVIDIA H100"} for s in ("infer", "infer_compile")]
    _write_results(tmp_path, [_infer_line("baseline", 12.0, None, None), _infer_line("eager", 120.0, 0.46, 10.0),
                              _infer_line("compile+cudagraph", 160.0, 0.62, 13.3), *done])
    rc, checks, summary = _summary(tmp_path, "infer,infer_compile", capsys)
    assert rc == 0 and summary["pass"] is True
    assert checks["infer_windows_per_s"]["value"] == 160.0 and checks["infer_windows_per_s"]["pass"] is True
    assert checks["infer_windows_per_s"]["mode"] == "compile+cudagraph"

    _write_results(tmp_path, [_infer_line("eager", 140.0, 0.54, 7.5), done[0]])
    rc, checks, summary = _summary(tmp_path, "infer,infer_compile,e2e", capsys)
    assert rc == 1 and summary["pass"] is False
    assert [checks[c]["pass"] for c in gpu_check.INFER_CHECKS] == [False, False, False]
    assert summary["steps_missing"] == ["infer_compile", "e2e"]


def _run_script(*args, timeout=600):
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.slow
def test_gpu_check_refuses_to_run_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = _run_script(tmp_path / "out", "--work", tmp_path / "work", timeout=120)
    assert proc.returncode == 2
    assert "--cpu-smoke" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_gpu_check_cpu_smoke_runs_every_step(tmp_path):
    out = tmp_path / "out"
    proc = _run_script("--cpu-smoke", out, "--work", tmp_path / "work")
    log = (out / "gpu_check.log").read_text()
    assert proc.returncode == 0, log[-4000:]
    lines = [json.loads(t) for t in (out / "results.jsonl").read_text().splitlines()]
    assert all(line.get("device") for line in lines)
    done = {line["step"] for line in lines if line.get("step_done")}
    assert done == {"preflight", *gpu_check.STEPS}
    checks = {line["check"]: line for line in lines if "check" in line}
    judged = ["accuracy_bf16_map_vs_float32", "e2e_predict_bf16_vs_float32_maps", "e2e_train_steps",
              "e2e_train_loss_falls", "e2e_train_best_reloads"]
    assert all(checks[c]["pass"] is True for c in judged), {c: checks[c] for c in judged}
    speed = [*gpu_check.INFER_CHECKS, "train_peak_memory_gb_with_checkpointing", "train_checkpointing_slowdown"]
    assert all(checks[c]["pass"] is None for c in speed)     # toy size: reported, not judged
    modes = {line["mode"] for line in lines if line.get("bench") == "infer"}
    assert modes == {"baseline", "eager", "compile"}
    for trace in ("infer_trace.json.gz", "train_trace.json.gz"):
        assert json.loads(gzip.decompress((out / trace).read_bytes()))["traceEvents"]
    assert "=== e2e" in log and "training step" in (out / "profiles.txt").read_text()
    assert lines[-1]["summary"] is True and lines[-1]["pass"] is True
