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
    # sample 0 by hand: S = (1, 1, 1, 3) -> (1/6, 1/6, 1/6, 1/2), G = (0, 1, 1, 2) -> (0, 1/4, 1/4, 1/2)
    #   KL = 2 * 1/4 log((1/4) / (1/6)) + 1/2 log(1) = 0.5 log(1.5)
    #   CC: deviations (-.5, -.5, -.5, 1.5) and (-1, 0, 0, 1): 2 / sqrt(3 * 2) = 2 / sqrt(6)
    # sample 1 is a perfect prediction: KL 0, CC 1
    s = torch.tensor([[[1.0, 1.0], [1.0, 3.0]], [[0.0, 1.0], [1.0, 2.0]]])
    g = torch.tensor([[[0.0, 1.0], [1.0, 2.0]], [[0.0, 1.0], [1.0, 2.0]]])
    first = 0.5 * math.log(1.5) - 2 / math.sqrt(6)
    assert kl_cc_loss(s[:1], g[:1]).item() == pytest.approx(first, abs=1e-6)
    assert kl_cc_loss(s[1:], g[1:]).item() == pytest.approx(-1.0, abs=1e-6)
    assert kl_cc_loss(s, g).item() == pytest.approx((first - 1.0) / 2, abs=1e-6)      # the batch's mean


def test_all_zero_maps_are_finite_with_finite_gradients():
    pred = torch.zeros(2, 8, 8, requires_grad=True)
    for target in (torch.zeros(2, 8, 8), torch.rand(2, 8, 8)):
        loss = kl_cc_loss(pred, target)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()
        pred.grad = None
