"""Device resolution as pure logic: CUDA's presence and GPU count are faked, no GPU needed."""
import pytest
import torch

from salfom_core.errors import ConfigError
from salfom_core.inference.devices import DeviceOutOfMemory, default_batch_size, resolve_device, resolve_precision


@pytest.fixture()
def gpus(monkeypatch):
    """Pretend the machine has `n` CUDA devices."""
    def fake(n):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    return fake


def test_cuda_without_index_is_the_gpu_of_the_local_rank(gpus):
    gpus(4)
    assert resolve_device("cuda", local_rank=0, world_size=1) == torch.device("cuda", 0)
    assert resolve_device("cuda", local_rank=2, world_size=4) == torch.device("cuda", 2)
    assert resolve_device("auto", local_rank=3, world_size=4) == torch.device("cuda", 3)
    assert resolve_device("cuda:1", local_rank=0, world_size=1) == torch.device("cuda", 1)
    assert resolve_device("cpu", local_rank=2, world_size=4) == torch.device("cpu")


def test_local_rank_and_world_size_come_from_torchrun_environment(gpus, monkeypatch):
    gpus(2)
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert resolve_device("cuda") == torch.device("cuda", 1)


def test_an_explicit_index_under_torchrun_is_refused(gpus):
    gpus(2)
    with pytest.raises(ConfigError, match="one GPU"):
        resolve_device("cuda:1", local_rank=0, world_size=2)


def test_cuda_requested_without_cuda_is_a_config_error(gpus):
    gpus(0)
    assert resolve_device("auto", local_rank=1, world_size=2) == torch.device("cpu")
    for request in ("cuda", "cuda:0"):
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device(request, 0, 1)


def test_bad_names_and_missing_gpus_are_config_errors(gpus):
    gpus(2)
    with pytest.raises(ConfigError, match="2 CUDA device"):
        resolve_device("cuda:2", 0, 1)
    with pytest.raises(ConfigError, match="LOCAL_RANK 3"):
        resolve_device("cuda", 3, 4)
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        resolve_device("gpu", 0, 1)
    with pytest.raises(ConfigError, match="unsupported"):
        resolve_device("meta", 0, 1)


def test_precision_names():
    assert resolve_precision("auto", torch.device("cuda", 0)) == "bf16"
    assert resolve_precision("auto", torch.device("cpu")) == "off"
    assert [resolve_precision(n) for n in ("bf16", "fp16", "off", "bfloat16", "float32")] == \
        ["bf16", "fp16", "off", "bf16", "off"]
    with pytest.raises(ConfigError, match="bf16, fp16, off"):
        resolve_precision("bf61")


def test_default_batch_size_and_out_of_memory_message():
    assert default_batch_size(torch.device("cuda", 0)) > default_batch_size(torch.device("cpu"))
    message = str(DeviceOutOfMemory(torch.device("cuda", 0), 8))
    assert "--batch-size" in message and "(e.g. 4)" in message and "\n" not in message


def test_auto_names_a_gpu_that_exists(monkeypatch):
    """`auto` under LOCAL_RANK 1 on a one-GPU machine is refused, as `cuda` is (it returned
    cuda:1, a device that does not exist)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto", local_rank=0, world_size=2) == torch.device("cuda", 0)
    with pytest.raises(ConfigError, match="has 1 CUDA device"):
        resolve_device("auto", local_rank=1, world_size=2)
