"""Every fast path computes what the straightforward model computes."""
import json

import numpy as np
import pytest
import torch

from conftest import shared_path
from fill_rule import golden_input, official_state_dict
from salfom_core import create_model, load_weights
from salfom_core.losses import kl_cc_loss


@pytest.mark.slow
def test_bf16_autocast_stays_within_0_02_of_float32_on_golden_weights():
    golden = shared_path("reference", "salfom_golden")
    manifest = json.loads((golden / "salfom_state_dict_manifest.json").read_text())
    model = create_model("salfom_l16").eval()
    load_weights(model, official_state_dict(manifest))
    reference = np.load(golden / "salfom_output.npy")           # float32, the reference implementation
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        saliency = model(golden_input()).float().numpy()
    difference = np.abs(saliency - reference).max()
    assert 0 < difference <= 0.02, difference                   # > 0: bf16 really ran


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
