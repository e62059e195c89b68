"""The model against the reference implementation's golden tensors (shared/reference/salfom_golden)."""
import json

import numpy as np
import pytest
import torch
from conftest import load_golden_weights, shared_path

from fill_rule import fill, golden_input
from salfom_core import create_model, load_weights
from salfom_core.models import SalFoMConfig
from salfom_core.models.convert import convert_pos_embed


@pytest.fixture(scope="module")
def golden_dir():
    return shared_path("reference", "salfom_golden")


@pytest.fixture(scope="module")
def golden_outputs(golden_dir, golden_weights):
    model = create_model("salfom_l16").eval()
    # The official checkpoint as TMFI-Net's trainer saves it under DataParallel: `module.` names.
    state = {"module." + k: v for k, v in load_golden_weights(golden_weights).items()}
    report = load_weights(model, {"state_dict": state})
    assert report.kind == "official"
    assert report.not_in_source == []
    del state
    with torch.no_grad():
        outputs = model.forward_all(golden_input())
        saliency = torch.sigmoid(outputs.logits.squeeze(1))
    return outputs, saliency


@pytest.mark.slow
def test_logits_match_reference(golden_outputs, golden_dir):
    outputs, _ = golden_outputs
    expected = np.load(golden_dir / "salfom_logits.npy")
    np.testing.assert_allclose(outputs.logits.numpy(), expected, rtol=0, atol=1e-4)


@pytest.mark.slow
def test_output_matches_reference(golden_outputs, golden_dir):
    _, saliency = golden_outputs
    expected = np.load(golden_dir / "salfom_output.npy")
    assert saliency.shape == (1, 224, 224)
    np.testing.assert_allclose(saliency.numpy(), expected, rtol=0, atol=3e-5)


@pytest.mark.slow
@pytest.mark.parametrize("branch, file, reshape, spatial_step", [
    ("tokens", "encoder_tokens_subsample.npy", None, None),
    ("tcfe", "tcfe_out_subsample.npy", (16, 56, 56), 7),
    ("dfd_prerelu", "dfd_out_prerelu_subsample.npy", (16, 112, 112), 7),
    ("sfd_prerelu", "sfd_out_prerelu_subsample.npy", (16, 112, 112), 7),
])
def test_branches_match_reference(golden_outputs, golden_dir, branch, file, reshape, spatial_step):
    outputs, _ = golden_outputs
    value = getattr(outputs, branch).numpy()[0]
    if reshape is None:
        value = value[::97, ::31]
    else:
        value = value.reshape(reshape)[:, ::spatial_step, ::spatial_step]
    expected = np.load(golden_dir / file)
    # branch values have std up to 9: compare relative to that scale
    np.testing.assert_allclose(value, expected, rtol=0, atol=1e-4 * max(1.0, np.abs(expected).max()))


def test_pos_embed_8_to_16_frames(golden_dir):
    pos8 = fill("pos_embed", (1, 1568, 1024))
    pos16 = convert_pos_embed(pos8, SalFoMConfig())
    assert pos16.shape == (1, 3136, 1024)
    expected = np.load(golden_dir / "umt_pos_embed_8to16_subsample.npy")
    np.testing.assert_allclose(pos16.numpy()[0, ::7, ::13], expected, rtol=0, atol=1e-6)
    stats = json.loads((golden_dir / "stats.json").read_text())["umt_pos_embed_8to16"]
    total = pos16.double()
    assert total.sum().item() == pytest.approx(stats["sum"], rel=1e-6)
    assert (total ** 2).sum().item() == pytest.approx(stats["sumsq"], rel=1e-6)
