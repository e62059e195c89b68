"""Training under torch.distributed on gloo (two spawned ranks), and the pieces shared with NCCL."""
import json
import os
import signal

import pytest
import torch

from dist_helpers import run_ranks
from salfom_core import create_model
from salfom_core import train as torchrun_entry
from salfom_core.io.synthetic import write_dataset
from salfom_core.training import loop as train_mod
from salfom_core.training.config import TrainConfig
from salfom_core.training.datasets import ValClips
from salfom_core.training.loop import init_distributed, make_val_loader, validate


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "dhf1k", "dhf1k", {"train": 4, "val": 2}, size=(64, 48))


def tiny_config(dataset, output, **extra) -> TrainConfig:
    settings = {"data_root": str(dataset), "output": str(output), "preset": "salfom_tiny", "lr": 1e-3,
                "epochs": 1, "val_every": 1, "val_stride": 8, "num_workers": 0, "device": "cpu", **extra}
    return TrainConfig(**settings)


# --------------------------------------------------------------------------- process group


def test_process_group_is_created_on_the_chosen_device_after_setting_it(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: calls.append(("set_device", d)))
    monkeypatch.setattr(torch.distributed, "init_process_group",
                        lambda backend, **kw: calls.append(("init", backend, kw.get("device_id"))))
    init_distributed(torch.device("cuda", 1))
    assert calls == [("set_device", torch.device("cuda", 1)), ("init", "nccl", torch.device("cuda", 1))]
    calls.clear()
    init_distributed(torch.device("cpu"))
    assert calls == [("init", "gloo", None)]


def test_training_refuses_cuda_on_a_machine_without_it(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = tmp_path / "c.toml"
    config.write_text(f'[train]\ndata_root = "{dataset}"\noutput = "{tmp_path / "o"}"\n')
    assert torchrun_entry.main(["--config", str(config), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CUDA is not available" in err[0]


# --------------------------------------------------------------------------- validation


def _validate_rank(rank, world, dataset, n_clips):
    init_distributed(train_mod.resolve_device("cpu"))       # the path train() takes
    try:
        return _scores(dataset, n_clips, rank, world)
    finally:
        torch.distributed.destroy_process_group()


def _scores(dataset, n_clips, rank, world):
    torch.manual_seed(0)
    model = create_model("salfom_tiny")
    val_set = ValClips(dataset, "dhf1k", stride=8)
    val_set.items = val_set.items[:n_clips]
    cfg = tiny_config(dataset, "unused")
    loader = make_val_loader(val_set, cfg, rank, world, torch.device("cpu"))
    return validate(model, loader, torch.device("cpu"), "off", world)


@pytest.mark.slow
def test_validation_on_two_ranks_equals_one_rank_with_an_odd_number_of_clips(dataset):
    assert len(ValClips(dataset, "dhf1k", stride=8)) >= 5
    single = _scores(dataset, 5, 0, 1)
    both = run_ranks(_validate_rank, 2, dataset, 5)
    assert both[0] == both[1]
    # float32 forwards in another process (other thread count, batch split) differ in the last
    # bits (4e-8 relative seen); a padded duplicate clip would move a mean of 5 clips by percents
    for name, value in single.items():
        assert both[0][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


# --------------------------------------------------------------------------- SIGTERM


def _train_rank_signalled(rank, world, dataset, output, signal_rank, at_step):
    """Train; the rank `signal_rank` gets SIGTERM during its step `at_step` (the others never do)."""
    calls = {"n": 0}
    loss = train_mod.kl_cc_loss

    def counting_loss(*args):
        if not torch.is_grad_enabled():      # validation
            return loss(*args)
        calls["n"] += 1
        if rank == signal_rank and calls["n"] == at_step:
            os.kill(os.getpid(), signal.SIGTERM)
        return loss(*args)

    train_mod.kl_cc_loss = counting_loss
    cfg = tiny_config(dataset, output, epochs=3, max_val_clips=2)
    result = train_mod.train(cfg)
    return {"stopped": result["stopped"], "steps": calls["n"]}


@pytest.mark.slow
def test_sigterm_on_one_rank_stops_all_ranks_after_the_same_step(dataset, tmp_path):
    out = tmp_path / "run"
    results = run_ranks(_train_rank_signalled, 2, dataset, out, 1, 3, timeout=90)
    # 4 videos over 2 ranks: 2 steps per epoch per rank; the signal came during step 3 (epoch 1)
    assert results == [{"stopped": "stopped", "steps": 3}] * 2
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if e["event"] == "step"] == [1, 2, 3]
    assert [e["stopped"] for e in log if e["event"] == "end"] == ["stopped"]
    state = torch.load(out / "last.pt", weights_only=True)
    assert (state["epoch"], state["step"]) == (1, 3)
