"""Loaded models are reused while the checkpoint's content is the same; one per device."""
import gc
import weakref

import torch

from salfom_core import create_model, save_checkpoint
from salfom_core.inference.model_cache import ModelCache, cached_salfom_predictor


def test_same_content_reuses_the_model_and_a_rewritten_file_frees_the_old_one(tmp_path):
    path = tmp_path / "best.pt"
    torch.manual_seed(0)
    save_checkpoint(path, create_model("salfom_tiny"))
    cache = ModelCache()
    first = cached_salfom_predictor(path, "cpu", cache=cache)
    assert cached_salfom_predictor(path, "cpu", cache=cache) is first
    old = weakref.ref(first.model)
    torch.manual_seed(1)
    save_checkpoint(path, create_model("salfom_tiny"))          # training wrote a better best.pt
    second = cached_salfom_predictor(path, "cpu", cache=cache)
    assert second is not first and len(cache) == 1
    a = next(iter(first.model.parameters()))
    b = next(iter(second.model.parameters()))
    assert not torch.equal(a, b)
    del first, a
    gc.collect()
    assert old() is None                                        # the old model is gone, not kept beside


def test_one_model_per_device_key():
    cache = ModelCache()
    loads = []

    def loader(tag):
        return lambda: loads.append(tag) or tag

    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.pt", Path(tmp) / "b.pt"
        a.write_bytes(b"a")
        b.write_bytes(b"b")
        assert cache.get(a, "cpu", loader("a")) == "a"
        assert cache.get(b, "cuda:0", loader("b")) == "b"
        assert cache.get(a, "cpu", loader("a2")) == "a"            # still cached on the cpu
        assert cache.get(b, "cpu", loader("b-cpu")) == "b-cpu"      # replaces a on the cpu
        assert cache.get(a, "cpu", loader("a3")) == "a3"
    assert loads == ["a", "b", "b-cpu", "a3"] and len(cache) == 2
