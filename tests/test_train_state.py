"""Training config checks, per-epoch clip draws with loader workers, and what a resume restores."""
import copy
import json
import math
import os
import signal
from pathlib import Path

import pytest
import torch

from salfom_core import cli, create_model, save_checkpoint
from salfom_core import train as torchrun_entry
from salfom_core.errors import ConfigError
from salfom_core.io.synthetic import write_dataset
from salfom_core.models.checkpoint import CheckpointError
from salfom_core.training import loop as train_mod
from salfom_core.training.config import TrainConfig
from salfom_core.training.loop import epoch_batches, make_train_loader, resume_from, train

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "dhf1k", "dhf1k", {"train": 4, "val": 2}, size=(64, 48))


def write_toml(path: Path, **settings) -> Path:
    path.write_text("[train]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    return path


def tiny_config(dataset, output, **extra) -> TrainConfig:
    return TrainConfig(**{"data_root": str(dataset), "output": str(output), "preset": "salfom_tiny", "lr": 1e-3,
                          "epochs": 2, "val_every": 1, "val_stride": 8, "num_workers": 0, "device": "cpu",
                          "max_val_clips": 2, **extra})


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize("field, value, words", [
    ("epochs", "three", "epochs must be an integer, not 'three'"),
    ("lr", "fast", "lr must be a number"),
    ("grad_checkpointing", 1, "grad_checkpointing must be true or false"),
    ("batch_size", True, "batch_size must be an integer"),
    ("amp", "fp8", "amp must be one of bf16, fp16, off, not 'fp8'"),
    ("epochs", 0, "epochs must be at least 1"),
    # these reached torch (Adam, create_model) and came back without the file or the field
    ("lr", -1.0, "lr must be a number of at least 0, not -1.0"),
    ("weight_decay", -0.5, "weight_decay must be a number of at least 0, not -0.5"),
    ("preset", "salfom_xl", "preset must be one of salfom_l16, salfom_tiny, not 'salfom_xl'"),
])
def test_bad_config_values_are_one_line_and_exit_code_2(tmp_path, capsys, field, value, words):
    config = write_toml(tmp_path / "run.toml", data_root=str(tmp_path), **{field: value})
    with pytest.raises(ConfigError, match="run.toml"):
        TrainConfig.from_toml(config)
    assert cli.main(["train", "--config", str(config)]) == 2
    assert torchrun_entry.main(["--config", str(config)]) == 2          # torchrun's entry point
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(words in line and "run.toml" in line for line in lines)


@pytest.mark.parametrize("text, words", [
    ("[train]\ndata_root = \"x\"\nlr = nan\n", "lr must be a number of at least 0, not nan"),
    ("[train]\ndata_root = \"x\"\nweight_decay = inf\n", "weight_decay must be a number of at least 0, not inf"),
    ("train = 5\n", "[train] must be a table of settings"),            # a TypeError traceback before
    ("data_root = \"x\"\ntrain = 5\n", "[train] must be a table of settings"),
])
def test_config_that_is_not_a_table_or_not_finite_is_one_line(tmp_path, capsys, text, words):
    config = tmp_path / "run.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="run.toml"):
        TrainConfig.from_toml(config)
    assert cli.main(["train", "--config", str(config)]) == 2
    assert torchrun_entry.main(["--config", str(config)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(words in line and "run.toml" in line for line in lines)


def test_torchrun_entry_point_turns_an_unusable_output_folder_into_one_line(tmp_path, capsys):
    # `-m salfom_core.train` (torchrun's entry point) printed a traceback for any OSError
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = write_toml(tmp_path / "run.toml", data_root=str(tmp_path), preset="salfom_tiny", device="cpu",
                        output=str(blocker / "run"))
    assert torchrun_entry.main(["--config", str(config)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("salfom train: error:") and "file/run" in lines[0]


def test_a_float_field_takes_an_integer(tmp_path):
    assert TrainConfig.from_toml(write_toml(tmp_path / "r.toml", data_root="x", lr=0)).lr == 0


def test_amp_is_checked_for_configs_made_in_code(dataset, tmp_path):
    with pytest.raises(ConfigError, match="amp must be one of"):
        train(tiny_config(dataset, tmp_path / "o", amp="bfloat"))


# --------------------------------------------------------------------------- clip draws


def _epoch_targets(dataset, workers: int, epochs: int) -> list[list[float]]:
    cfg = tiny_config(dataset, "unused", num_workers=workers)
    train_set = train_mod.TrainClips(cfg.data_root, cfg.layout, seed=cfg.seed)
    loader, sampler, order = make_train_loader(train_set, cfg, 0, 1, CPU)
    # the target map identifies the clip's last frame: its sum differs from frame to frame
    return [[round(float(gt.sum()), 3) for _, gt in epoch_batches(loader, sampler, order, epoch, cfg.seed)]
            for epoch in range(epochs)]


def test_loader_workers_draw_new_clip_starts_every_epoch(dataset):
    with_workers = _epoch_targets(dataset, 2, 3)
    assert with_workers == _epoch_targets(dataset, 0, 3)
    draws = [sorted(epoch) for epoch in with_workers]
    assert draws[0] != draws[1] and draws[1] != draws[2]


# --------------------------------------------------------------------------- resume


def _sigterm_at_train_step(monkeypatch, step: int):
    calls = {"n": 0}
    loss = train_mod.kl_cc_loss

    def counting_loss(*args):
        if torch.is_grad_enabled():
            calls["n"] += 1
            if calls["n"] == step:
                os.kill(os.getpid(), signal.SIGTERM)
        return loss(*args)

    monkeypatch.setattr(train_mod, "kl_cc_loss", counting_loss)


def _snapshot(model, optimizer, **progress) -> dict:
    return {"weights": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "optimizer": copy.deepcopy(optimizer.state_dict()), **progress}


def _assert_same_tensors(a, b, where=""):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same_tensors(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow
def test_resume_restores_exactly_what_the_killed_run_held(dataset, tmp_path, monkeypatch):
    saved = []
    save = train_mod._save

    def recording_save(out, model, optimizer, cfg, epoch, best_cc, stale, step, rank, best=False):
        saved.append(_snapshot(model, optimizer, epoch=epoch, best_cc=best_cc, stale=stale, step=step))
        save(out, model, optimizer, cfg, epoch, best_cc, stale, step, rank, best)

    monkeypatch.setattr(train_mod, "_save", recording_save)
    _sigterm_at_train_step(monkeypatch, 3)                 # 2 steps an epoch: killed in epoch 1
    cfg = tiny_config(dataset, tmp_path / "run", epochs=3, max_steps_per_epoch=2)
    assert train(cfg)["stopped"] == "stopped"
    killed = saved[-1]
    assert (killed["epoch"], killed["step"]) == (1, 3) and math.isfinite(killed["best_cc"])
    assert killed["optimizer"]["state"], "Adam has moments after 3 steps"
    monkeypatch.undo()

    resumed = {}

    def recording_resume(path, model, optimizer):
        progress = resume_from(path, model, optimizer)
        resumed.update(_snapshot(model, optimizer, progress=progress))
        return progress

    monkeypatch.setattr(train_mod, "resume_from", recording_resume)
    result = train(cfg, resume=True)
    _assert_same_tensors(killed["weights"], resumed["weights"], "weights")
    _assert_same_tensors(killed["optimizer"], resumed["optimizer"], "optimizer")
    assert resumed["progress"] == (killed["epoch"] + 1, killed["best_cc"], killed["stale"], killed["step"])
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if e["event"] == "step"] == [1, 2, 3, 4, 5]
    assert result["stopped"] == "completed" and result["epochs"] == 3


@pytest.mark.slow
def test_a_resumed_run_ends_where_an_uninterrupted_one_does(dataset, tmp_path, monkeypatch):
    def cfg(name, epochs):
        return tiny_config(dataset, tmp_path / name, epochs=epochs, max_steps_per_epoch=2)

    train(cfg("straight", 2))
    train(cfg("split", 1))
    # the resumed run's fresh model is poisoned (NaN weights): only the checkpoint's weights give
    # the uninterrupted run's result, and a fresh start of this deterministic run cannot pass for it
    build = train_mod.build_model

    def poisoned(*args):
        model = build(*args)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.fill_(math.nan)
        return model

    monkeypatch.setattr(train_mod, "build_model", poisoned)
    train(cfg("split", 2), resume=True)
    log = [json.loads(line) for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    second = log[[e["event"] for e in log].index("end") + 1:]          # what the resumed invocation logged
    assert [(e["epoch"], e["step"]) for e in second if e["event"] == "resume"] == [(1, 2)]
    assert [(e["epoch"], e["step"]) for e in second if e["event"] == "step"] == [(1, 3), (1, 4)]
    straight = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)
    split = torch.load(tmp_path / "split" / "last.pt", weights_only=True)
    for key in ("state_dict", "optimizer", "epoch", "step", "best_cc", "stale"):
        _assert_same_tensors(straight[key], split[key], key)


def _last_pt(tmp_path, **extra) -> Path:
    torch.manual_seed(0)
    model = create_model("salfom_tiny")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(1, 3, 16, 224, 224)).mean().backward()
    optimizer.step()
    path = tmp_path / "run" / "last.pt"
    save_checkpoint(path, model, extra={"optimizer": optimizer.state_dict(), "epoch": 0, "best_cc": 0.5,
                                        "stale": 0, "step": 1, **extra})
    return path


def test_resume_releases_the_memory_mapped_file(tmp_path):
    path = _last_pt(tmp_path)
    model = create_model("salfom_tiny")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    assert resume_from(path, model, optimizer) == (1, 0.5, 0, 1)
    assert optimizer.state
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps")
    assert str(path) not in maps.read_text()


def test_resume_from_a_file_without_optimizer_state_names_it(dataset, tmp_path, capsys):
    path = tmp_path / "run" / "last.pt"
    save_checkpoint(path, create_model("salfom_tiny"))           # a best.pt copied over last.pt
    config = write_toml(tmp_path / "r.toml", **{k: v for k, v in vars(tiny_config(dataset, path.parent)).items()})
    assert cli.main(["train", "--config", str(config), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "optimizer" in err[0]


def test_resume_from_another_architecture_names_the_file(dataset, tmp_path):
    path = tmp_path / "run" / "last.pt"
    other = create_model("salfom_tiny", embed_dim=32)
    optimizer = torch.optim.Adam(other.parameters())
    save_checkpoint(path, other, extra={"optimizer": optimizer.state_dict(), "epoch": 0, "best_cc": 0.5,
                                        "stale": 0, "step": 1})
    with pytest.raises(CheckpointError) as info:
        train(tiny_config(dataset, path.parent), resume=True)
    assert str(info.value).startswith(f"{path}: cannot resume") and "shapes do not fit" in str(info.value)
