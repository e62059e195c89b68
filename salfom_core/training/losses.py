"""The training loss of the paper: KL(S, G) + CC-loss(S, G), batched.

Both follow TMFI-Net's trainer (which SalFoM's authors used): KL on maps divided by their
sums with eps = 2.2204e-16 inside and outside the ratio; CC-loss is minus Pearson's
correlation (sample std). All-zero maps give finite values (0 correlation), never NaN.
"""
from __future__ import annotations

import torch

KL_EPS = 2.2204e-16


def _flat(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W) or (B, 1, H, W) -> (B, H*W), computed in float32 even under autocast."""
    return x.reshape(x.shape[0], -1).float()


def kl_divergence(pred: torch.Tensor, target: torch.Tensor, eps: float = KL_EPS) -> torch.Tensor:
    """Per-sample sum G * log(eps + G / (S + eps)) of the sum-normalized maps: (B,)."""
    s, g = _flat(pred), _flat(target)
    s = s / s.sum(dim=1, keepdim=True).clamp_min(eps)
    g = g / g.sum(dim=1, keepdim=True).clamp_min(eps)
    return (g * torch.log(eps + g / (s + eps))).sum(dim=1)


def correlation(pred: torch.Tensor, target: torch.Tensor, eps: float = KL_EPS) -> torch.Tensor:
    """Per-sample Pearson correlation (B,); 0 where a map is constant."""
    s, g = _flat(pred), _flat(target)
    s = s - s.mean(dim=1, keepdim=True)
    g = g - g.mean(dim=1, keepdim=True)
    n = s.shape[1]
    cov = (s * g).sum(dim=1) / (n - 1)
    std = s.std(dim=1) * g.std(dim=1)
    return cov / std.clamp_min(eps)


def kl_cc_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The paper's loss KL - CC, averaged over the batch (a scalar)."""
    return (kl_divergence(pred, target) - correlation(pred, target)).mean()
