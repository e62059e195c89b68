"""End to end on the CPU: train salfom_tiny, reload, predict, evaluate; DDP on gloo; the CLI on real data."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import shared_path
from torch.utils.data import DataLoader

from dist_helpers import free_port
from salfom_core import cli, create_model, load_model
from salfom_core.io.synthetic import write_dataset
from salfom_core.training.config import TrainConfig
from salfom_core.training.datasets import ValClips
from salfom_core.training.loop import train, validate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "dhf1k", "dhf1k", {"train": 4, "val": 2})


def write_config(path: Path, dataset: Path, output: Path, **extra) -> Path:
    settings = {"data_root": str(dataset), "output": str(output), "preset": "salfom_tiny", "lr": 1e-3,
                "epochs": 12, "val_every": 4, "val_stride": 4, "num_workers": 0, "device": "cpu",
                "patience": 100, **extra}
    lines = ["[train]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = write_config(out / "run.toml", dataset, out / "run")
    assert cli.main(["train", "--config", str(config)]) == 0
    return out / "run"


@pytest.mark.slow
def test_training_lowers_loss_and_beats_the_untrained_model(trained, dataset):
    log = read_log(trained / "log.jsonl")
    losses = [e["loss"] for e in log if e["event"] == "step"]
    assert len(losses) == 48                               # 12 epochs x 4 videos
    assert sum(losses[-8:]) / 8 < sum(losses[:8]) / 8 - 0.1
    vals = [e for e in log if e["event"] == "val"]
    assert [v["epoch"] for v in vals] == [3, 7, 11]
    torch.manual_seed(0)                                   # the run's initialisation
    untrained = create_model("salfom_tiny")
    loader = DataLoader(ValClips(dataset, "dhf1k", stride=4), 1)
    baseline = validate(untrained, loader, torch.device("cpu"), "off", 1)
    best = max(v["cc"] for v in vals)
    assert best > baseline["cc"] + 0.05
    assert log[-1]["event"] == "end" and log[-1]["best_cc"] == pytest.approx(best)


@pytest.mark.slow
def test_checkpoint_reloads_and_predict_evaluate_run_on_it(trained, dataset, tmp_path):
    model, report = load_model(trained / "best.pt")
    assert report.kind == "studio" and model.cfg.name == "salfom_tiny"
    video = dataset / "val" / "0005"
    out = tmp_path / "pred"
    assert cli.main(["predict", str(video), "-c", str(trained / "best.pt"), "-o", str(out), "--cache",
                     str(tmp_path / "cache"), "-q", "--overlay"]) == 0
    assert len(list((out / "0005").glob("*.png"))) == 40 and (out / "0005_overlay.mp4").stat().st_size > 0
    assert cli.main(["evaluate", "--pred", str(out), "--data", str(dataset), "--split", "val", "-q"]) == 0
    summary = json.loads((out / "metrics_summary.json").read_text())
    assert summary["frames"] == 40 and set(summary["per_video"]) == {"0005"}
    assert summary["overall"]["cc"] > 0.2


@pytest.mark.slow
def test_resume_continues_from_last_checkpoint(dataset, tmp_path):
    config = write_config(tmp_path / "r.toml", dataset, tmp_path / "r", epochs=2, val_every=1,
                          max_steps_per_epoch=2, max_val_clips=2)
    train(TrainConfig.from_toml(config))
    train(TrainConfig.from_toml(config, epochs=3), resume=True)
    log = read_log(tmp_path / "r" / "log.jsonl")
    resume = [e for e in log if e["event"] == "resume"]
    assert resume and resume[0]["epoch"] == 2 and resume[0]["step"] == 4
    assert [e["epoch"] for e in log if e["event"] == "val"] == [0, 1, 2]


@pytest.mark.slow
def test_torchrun_two_processes_on_gloo(dataset, tmp_path):
    config = write_config(tmp_path / "ddp.toml", dataset, tmp_path / "ddp", epochs=1, val_every=1)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", str(free_port()), "-m", "salfom_core.train", "--config", str(config)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = read_log(tmp_path / "ddp" / "log.jsonl")           # written by rank 0 only
    start = next(e for e in log if e["event"] == "start")
    assert start["world_size"] == 2
    assert len([e for e in log if e["event"] == "step"]) == 2   # 4 videos split over 2 ranks
    val = next(e for e in log if e["event"] == "val")
    assert math.isfinite(val["cc"])
    assert (tmp_path / "ddp" / "best.pt").exists()


def test_center_bias_on_the_real_clip_gives_finite_metrics(tmp_path):
    video = shared_path("data", "dhf1k_0002", "0002.avi")
    gaze = shared_path("data", "dhf1k_0002", "gaze")
    out = tmp_path / "pred"
    assert cli.main(["predict", str(video), "-c", "center-bias", "-o", str(out), "--cache",
                     str(tmp_path / "cache"), "-q"]) == 0
    assert len(list((out / "0002").glob("*.png"))) == 783
    assert cli.main(["evaluate", "--pred", str(out / "0002"), "--gaze", str(gaze), "--video", str(video),
                     "--every", "5", "-q"]) == 0
    summary = json.loads((out / "0002" / "metrics_summary.json").read_text())
    assert summary["frames"] == 157
    for name, value in summary["overall"].items():
        assert value is not None and math.isfinite(value), name
    assert summary["overall"]["auc_judd"] > 0.9          # the fly stays near the centre


def test_cli_errors_name_the_file(tmp_path, capsys):
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    from helpers import make_video

    video = make_video(tmp_path / "v.mp4", n_frames=4)    # a real input: the checkpoint is what is wrong
    assert cli.main(["predict", str(video), "-c", str(bad), "-o", str(tmp_path / "o")]) == 2
    assert "broken.pth" in capsys.readouterr().err
    assert cli.main(["predict", str(tmp_path / "v"), "-c", str(bad), "-o", str(tmp_path / "o")]) == 2
    assert "v: no such file" in capsys.readouterr().err      # inputs are checked before a model loads


@pytest.mark.slow
def test_early_stopping_ends_the_run(dataset, tmp_path):
    # lr 0: validation CC never improves after the first validation, so patience 1 stops at epoch 2
    config = write_config(tmp_path / "e.toml", dataset, tmp_path / "e", epochs=10, val_every=1, lr=0.0,
                          patience=1, max_steps_per_epoch=1, max_val_clips=2)
    result = train(TrainConfig.from_toml(config))
    assert result["stopped"] == "early_stopping" and result["epochs"] == 2
