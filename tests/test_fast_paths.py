"""Every fast path computes what the straightforward model computes."""
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import load_golden_weights, shared_path

from fill_rule import fill, golden_input
from salfom_core import create_model, load_weights
from salfom_core.training.losses import kl_cc_loss


def native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX) and oneDNN uses it.

    Elsewhere (AVX2 laptops, many AMD servers) bf16 is emulated, and the golden model's bf16
    forward pass takes many minutes instead of seconds.
    """
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    try:
        onednn = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):
        onednn = True
    return bool(flags & {"avx512_bf16", "amx_bf16"}) and onednn


def fill_own_names(model):
    """The reference's fill rule applied to the model's own parameter names and shapes."""
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if value.is_floating_point():
                value.copy_(fill(name, tuple(value.shape)))
    return model


def bf16_difference(model, clip, reference=None) -> float:
    """Largest |bf16 autocast - float32| of the saliency (float32: `reference` or a run here)."""
    with torch.no_grad():
        if reference is None:
            reference = model(clip).numpy()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            saliency = model(clip).float().numpy()
    return float(np.abs(saliency - reference).max())


@pytest.mark.slow
@pytest.mark.skipif(not native_bf16(), reason="bf16 is emulated on this CPU (minutes); "
                    "test_bf16_autocast_stays_within_0_02_of_float32_on_a_small_model covers the claim")
def test_bf16_autocast_stays_within_0_02_of_float32_on_golden_weights(golden_weights):
    golden = shared_path("reference", "salfom_golden")
    model = create_model("salfom_l16").eval()
    load_weights(model, load_golden_weights(golden_weights))
    reference = np.load(golden / "salfom_output.npy")           # float32, the reference implementation
    difference = bf16_difference(model, golden_input(), reference)
    assert 0 < difference <= 0.02, difference                   # > 0: bf16 really ran


def test_bf16_autocast_stays_within_0_02_of_float32_on_a_small_model():
    # Every CPU: the same claim on salfom_tiny (every kind of layer, 0.5 M parameters), filled
    # by the golden rule; a few seconds even where bf16 is emulated.
    model = fill_own_names(create_model("salfom_tiny").eval())
    clip = golden_input()[:, :, :model.cfg.num_frames, :model.cfg.img_size, :model.cfg.img_size]
    difference = bf16_difference(model, clip)
    assert 0 < difference <= 0.02, difference


def test_explicit_attention_equals_sdpa():
    torch.manual_seed(0)
    model = create_model("salfom_tiny").eval()
    clip = torch.randn(2, 3, 16, 224, 224)
    with torch.no_grad():
        fast = model.forward_logits(clip)
        model.set_explicit_attention(True)
        slow = model.forward_logits(clip)
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-5)


def test_activation_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = create_model("salfom_tiny").train()
    model.tcfe.stages.apply(lambda m: setattr(m, "p", 0.0) if hasattr(m, "p") else None)   # no stochastic depth
    clip, target = torch.randn(1, 3, 16, 224, 224), torch.rand(1, 224, 224)

    def grads():
        model.zero_grad()
        kl_cc_loss(model(clip), target).backward()
        return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}

    plain = grads()
    model.set_grad_checkpointing(True)
    checkpointed = grads()
    assert plain.keys() == checkpointed.keys() and len(plain) > 100
    for k in plain:
        torch.testing.assert_close(checkpointed[k], plain[k], rtol=1e-4, atol=1e-6)
