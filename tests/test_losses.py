"""KL + CC loss: hand-computed values, batching, finiteness, gradients."""
import math

import numpy as np
import pytest
import torch

from salfom_core.evaluation import metrics
from salfom_core.training.losses import correlation, kl_cc_loss, kl_divergence


def test_kl_matches_hand_computation():
    s = torch.tensor([[[1.0, 3.0]]])
    g = torch.tensor([[[1.0, 1.0]]])
    # S -> (1/4, 3/4), G -> (1/2, 1/2): 0.5 log(2) + 0.5 log(2/3)
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl_divergence(s, g).item() == pytest.approx(expected, abs=1e-6)


def test_cc_matches_benchmark_metric_and_batches():
    rng = np.random.default_rng(0)
    s, g = rng.random((3, 12, 16)), rng.random((3, 12, 16))
    got = correlation(torch.tensor(s), torch.tensor(g))
    assert got.shape == (3,)
    for i in range(3):
        assert got[i].item() == pytest.approx(metrics.cc(s[i], g[i]), abs=1e-6)
    kl = kl_divergence(torch.tensor(s), torch.tensor(g))
    for i in range(3):
        assert kl[i].item() == pytest.approx(metrics.kld(s[i], g[i]), abs=1e-5)


def test_loss_is_kl_minus_cc_and_mean_over_batch():
    s, g = torch.rand(4, 8, 8), torch.rand(4, 8, 8)
    assert kl_cc_loss(s, g).item() == pytest.approx(
        (kl_divergence(s, g) - correlation(s, g)).mean().item(), abs=1e-7)
    # a perfect prediction: KL 0, CC 1
    assert kl_cc_loss(g, g).item() == pytest.approx(-1.0, abs=1e-5)


def test_all_zero_maps_are_finite_with_finite_gradients():
    pred = torch.zeros(2, 8, 8, requires_grad=True)
    for target in (torch.zeros(2, 8, 8), torch.rand(2, 8, 8)):
        loss = kl_cc_loss(pred, target)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()
        pred.grad = None
