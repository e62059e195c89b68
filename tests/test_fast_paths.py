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


def encoder_sdpa_calls(model, clip, monkeypatch) -> tuple[int, torch.Tensor]:
    """The logits, and how many times their forward pass ran the encoder's attention through
    the fused kernel (`F.scaled_dot_product_attention` on all T*g*g tokens at once)."""
    import torch.nn.functional as F

    tokens = model.cfg.num_frames * model.cfg.grid ** 2
    calls = []
    fused = F.scaled_dot_product_attention

    def counting(q, k, v, *args, **kwargs):
        calls.append(q.shape[-2])
        return fused(q, k, v, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(F, "scaled_dot_product_attention", counting)
        with torch.no_grad():
            logits = model.forward_logits(clip)
    return calls.count(tokens), logits


def test_explicit_attention_equals_sdpa(monkeypatch):
    torch.manual_seed(0)
    model = create_model("salfom_tiny").eval()
    clip = torch.randn(2, 3, 16, 224, 224)
    fused_calls, fast = encoder_sdpa_calls(model, clip, monkeypatch)
    model.set_explicit_attention(True)
    explicit_calls, slow = encoder_sdpa_calls(model, clip, monkeypatch)
    # the switch changes the path: every encoder block leaves the fused kernel for softmax(QK^T)V
    assert (fused_calls, explicit_calls) == (model.cfg.depth, 0)
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-5)


def kept_for_backward(model, loss_of) -> dict:
    """Bytes each encoder block and SFD time collapser saves for the backward pass in a forward."""
    inside, kept = [None], {}
    parts = {**{f"encoder.blocks.{i}": b for i, b in enumerate(model.encoder.blocks)},
             **{f"sfd.time_collapse.{i}": c for i, c in enumerate(model.sfd.time_collapse)}}
    handles = []
    for name, module in parts.items():
        handles.append(module.register_forward_pre_hook(lambda *_a, name=name: inside.__setitem__(0, name)))
        handles.append(module.register_forward_hook(lambda *_a: inside.__setitem__(0, None)))

    def pack(tensor):
        if inside[0] is not None:
            kept[inside[0]] = kept.get(inside[0], 0) + tensor.numel() * tensor.element_size()
        return tensor

    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            loss = loss_of()
    finally:
        for handle in handles:
            handle.remove()
    loss.backward()
    return kept


def test_activation_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = create_model("salfom_tiny").train()
    model.tcfe.stages.apply(lambda m: setattr(m, "p", 0.0) if hasattr(m, "p") else None)   # no stochastic depth
    clip, target = torch.randn(1, 3, 16, 224, 224), torch.rand(1, 224, 224)

    def grads():
        model.zero_grad()
        kept = kept_for_backward(model, lambda: kl_cc_loss(model(clip), target))
        return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}, kept

    plain, kept_plain = grads()
    model.set_grad_checkpointing(True)
    checkpointed, kept_checkpointed = grads()
    # the switch's effect: the checkpointed parts keep no activations (they are recomputed)
    assert len(kept_plain) == model.cfg.depth + 4 and min(kept_plain.values()) > 0
    assert kept_checkpointed == {}
    assert plain.keys() == checkpointed.keys() and len(plain) > 100
    for k in plain:
        torch.testing.assert_close(checkpointed[k], plain[k], rtol=1e-4, atol=1e-6)
