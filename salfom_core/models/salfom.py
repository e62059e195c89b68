"""SalFoM: a UMT video transformer encoder and a three-branch saliency decoder.

The architecture follows SALFOM_SPEC.md (the reference implementation that produced
the official DHF1K checkpoint). Parameter names here are our own, grouped by branch;
`salfom_core.models.convert` maps the official names onto them.

Shapes are given for the default clip: (B, 3, T=16, 224, 224).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .registry import register_model


@dataclass(frozen=True)
class SalFoMConfig:
    """Every width and depth of the network; presets below fill it."""

    name: str = "salfom_l16"
    img_size: int = 224
    num_frames: int = 16
    patch_size: int = 16
    # encoder (UMT)
    embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    mlp_ratio: float = 4.0
    # frames of the sine-cosine table UMT pre-trains with (its checkpoints hold 8 frames)
    pos_embed_frames: int = 8
    # TCFE: three temporal Swin stages
    tcfe_channels: tuple[int, int, int] = (256, 64, 16)
    tcfe_heads: tuple[int, int, int] = (8, 8, 8)
    tcfe_patch: tuple[int, int, int] = (2, 2, 4)
    tcfe_window: tuple[int, int, int] = (2, 2, 4)
    tcfe_depth: int = 6
    tcfe_drop_path: float = 0.2
    # DFD conv widths conv_1..conv_6
    dfd_channels: tuple[int, ...] = (512, 256, 128, 64, 32, 16)
    # SFD 2-D conv widths conv_2D_1..conv_2D_9
    sfd_channels: tuple[int, ...] = (512, 256, 256, 128, 64, 64, 32, 16, 16)
    # fusion widths conv_7, conv_8 (conv_9 outputs one channel)
    fusion_channels: tuple[int, int] = (32, 16)

    def __post_init__(self):
        if self.dfd_channels[1] != self.tcfe_channels[0] or self.dfd_channels[3] != self.tcfe_channels[1]:
            raise ValueError("DFD widths 2 and 4 must equal TCFE widths 1 and 2 (the branches are summed)")
        if self.sfd_channels[2] != self.dfd_channels[1] or self.sfd_channels[5] != self.dfd_channels[3]:
            raise ValueError("SFD widths 3 and 6 must equal DFD widths 2 and 4 (the branches are summed)")
        if self.num_frames != 16 or self.img_size // self.patch_size != 14:
            # The decoder's time and space reductions are fixed by the paper for 16 x 14 x 14 tokens.
            raise ValueError("SalFoM's decoder needs 16 frames and a 14x14 token grid (224 px, patch 16)")

    @property
    def grid(self) -> int:
        return self.img_size // self.patch_size

    @property
    def num_tokens(self) -> int:
        return self.num_frames * self.grid * self.grid


# --------------------------------------------------------------------------- helpers


def sincos_position_table(n_position: int, dim: int) -> torch.Tensor:
    """The fixed sine-cosine table of UMT / VideoMAE: (1, n_position, dim), float32."""
    position = np.arange(n_position, dtype=np.float64)[:, None]
    exponent = 2 * (np.arange(dim) // 2) / dim
    angles = position / np.power(10000.0, exponent)[None, :]
    angles[:, 0::2] = np.sin(angles[:, 0::2])
    angles[:, 1::2] = np.cos(angles[:, 1::2])
    return torch.tensor(angles, dtype=torch.float32).unsqueeze(0)


def interpolate_pos_embed(pos: torch.Tensor, src_frames: int, dst_frames: int, dst_grid: int) -> torch.Tensor:
    """Resample a frame-major (1, T*g*g, C) position table to (1, dst_frames*dst_grid^2, C).

    Time: linear, align_corners=False, each (h, w, c) on its own; space: bicubic over the grid.
    This is UMT's own conversion of its 8-frame tables.
    """
    _, n, c = pos.shape
    src_grid = math.isqrt(n // src_frames)
    if src_frames * src_grid * src_grid != n:
        raise ValueError(f"pos_embed of {n} positions is not {src_frames} frames of a square grid")
    pos = pos.float()
    if src_frames != dst_frames:
        volume = pos.reshape(src_frames, src_grid * src_grid * c).T.unsqueeze(1)  # (g*g*C, 1, T)
        volume = F.interpolate(volume, size=dst_frames, mode="linear", align_corners=False)
        pos = volume.squeeze(1).T.reshape(1, dst_frames * src_grid * src_grid, c)
    if src_grid != dst_grid:
        grid = pos.reshape(dst_frames, src_grid, src_grid, c).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(dst_grid, dst_grid), mode="bicubic", align_corners=False)
        pos = grid.permute(0, 2, 3, 1).reshape(1, dst_frames * dst_grid * dst_grid, c)
    return pos


def upsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Up-sample H and W (not time) by `factor`; trilinear for 5-D, bilinear for 4-D."""
    if x.dim() == 5:
        return F.interpolate(x, scale_factor=(1, factor, factor), mode="trilinear", align_corners=False)
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch per sample while training."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


# --------------------------------------------------------------------------- encoder (UMT)


class EncoderAttention(nn.Module):
    """Joint space-time attention; qkv has one shared weight and a q/v-only bias."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)
        # The straightforward path (explicit softmax(QK^T)V) is kept for benchmarks only.
        self.explicit = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if self.explicit:
            attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
            out = attn.softmax(dim=-1) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class EncoderBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = EncoderAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class UMTEncoder(nn.Module):
    """UMT-L/16 without temporal downsampling; returns the last block's tokens as a volume."""

    def __init__(self, cfg: SalFoMConfig):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = nn.Conv3d(3, cfg.embed_dim, kernel_size=(1, cfg.patch_size, cfg.patch_size),
                                     stride=(1, cfg.patch_size, cfg.patch_size))
        # Never trained (the reference adds it detached), so a buffer; checkpoints may override it.
        table = sincos_position_table(cfg.pos_embed_frames * cfg.grid * cfg.grid, cfg.embed_dim)
        self.register_buffer("pos_embed", interpolate_pos_embed(table, cfg.pos_embed_frames,
                                                                cfg.num_frames, cfg.grid))
        self.blocks = nn.ModuleList(EncoderBlock(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio)
                                    for _ in range(cfg.depth))
        self.grad_checkpointing = False

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(clip)                       # (B, C, T, g, g)
        b, c, t, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)                 # frame-major tokens (B, T*g*g, C)
        x = x + self.pos_embed.to(x.dtype)
        for block in self.blocks:
            if self.grad_checkpointing and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x

    def tokens_to_volume(self, tokens: torch.Tensor) -> torch.Tensor:
        b, _, c = tokens.shape
        g = self.cfg.grid
        return tokens.transpose(1, 2).reshape(b, c, self.cfg.num_frames, g, g)


# --------------------------------------------------------------------------- TCFE (temporal Swin)


class TemporalWindowAttention(nn.Module):
    """Swin-3D window attention for windows of (wt, 1, 1): time steps of one pixel."""

    def __init__(self, dim: int, num_heads: int, window: int):
        super().__init__()
        self.num_heads = num_heads
        self.window = window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(2 * window - 1, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        steps = torch.arange(window)
        self.register_buffer("relative_position_index", steps[:, None] - steps[None, :] + window - 1,
                             persistent=False)

    def forward(self, windows: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """windows: (..., n, C) with n <= window; mask: additive, broadcastable to (..., n, n)."""
        *lead, n, c = windows.shape
        qkv = self.qkv(windows).reshape(*lead, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.movedim(-3, 0).transpose(-2, -3).unbind(0)          # (..., heads, n, hd)
        index = self.relative_position_index[:n, :n].reshape(-1)
        bias = self.relative_position_bias_table[index].reshape(n, n, -1).permute(2, 0, 1)
        if mask is not None:
            bias = bias + mask.unsqueeze(-3)                              # (..., heads, n, n)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        return self.proj(out.transpose(-2, -3).reshape(*lead, n, c))


class TemporalSwinBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, window: int, shift: int, drop_path: float):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = TemporalWindowAttention(dim, num_heads, window)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = Mlp(dim, 4 * dim)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, D, H, W, C), channels last."""
        b, d, h, w, c = x.shape
        # Where time is not longer than the window, the window shrinks to it and nothing shifts.
        window = min(self.window, d)
        shift = self.shift if d > self.window else 0
        y = self.norm1(x)
        pad = (-d) % window
        if pad:
            y = F.pad(y, (0, 0, 0, 0, 0, 0, 0, pad))
        dp = d + pad
        mask = None
        if shift:
            y = torch.roll(y, shifts=-shift, dims=1)
            mask = shifted_window_mask(dp, window, shift, y.device)
        # (B, H, W, D/wt, wt, C): one window per pixel and block of time
        windows = y.permute(0, 2, 3, 1, 4).reshape(b, h, w, dp // window, window, c)
        out = self.attn(windows, mask).reshape(b, h, w, dp, c).permute(0, 3, 1, 2, 4)
        if shift:
            out = torch.roll(out, shifts=shift, dims=1)
        x = x + self.drop_path(out[:, :d])
        return x + self.drop_path(self.mlp(self.norm2(x)))


def shifted_window_mask(length: int, window: int, shift: int, device) -> torch.Tensor:
    """Swin's mask for cyclically shifted windows along time: (length/window, window, window).

    Positions that wrapped around belong to another segment; attention between segments
    gets -100 (the reference's value, not -inf).
    """
    region = torch.zeros(length, device=device)
    region[length - window:length - shift] = 1
    region[length - shift:] = 2
    blocks = region.reshape(length // window, window)
    different = blocks.unsqueeze(1) != blocks.unsqueeze(2)
    return different.float() * -100.0


class TemporalSwinStage(nn.Module):
    """Patch-embed time by (pt,1,1), then Swin blocks alternating plain and shifted windows."""

    def __init__(self, in_dim: int, dim: int, heads: int, patch: int, window: int, depth: int,
                 drop_path: float):
        super().__init__()
        self.patch = patch
        self.patch_embed = nn.Conv3d(in_dim, dim, kernel_size=(patch, 1, 1), stride=(patch, 1, 1))
        rates = [drop_path * i / max(1, depth - 1) for i in range(depth)]   # as torch.linspace(0, p, depth)
        self.blocks = nn.ModuleList(
            TemporalSwinBlock(dim, heads, window, 0 if i % 2 == 0 else window // 2, rates[i])
            for i in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = (-x.shape[2]) % self.patch
        if pad:
            x = F.pad(x, (0, 0, 0, 0, 0, pad))
        x = self.patch_embed(x).permute(0, 2, 3, 4, 1)   # (B, D, H, W, C)
        for block in self.blocks:
            x = block(x)
        return x.permute(0, 4, 1, 2, 3)                  # (B, C, D, H, W), no final norm (spec)


class TCFE(nn.Module):
    """Transformer-based complementary feature extraction: global, coarse features."""

    def __init__(self, cfg: SalFoMConfig):
        super().__init__()
        widths = (cfg.embed_dim,) + cfg.tcfe_channels
        self.stages = nn.ModuleList(
            TemporalSwinStage(widths[i], widths[i + 1], cfg.tcfe_heads[i], cfg.tcfe_patch[i],
                              cfg.tcfe_window[i], cfg.tcfe_depth, cfg.tcfe_drop_path)
            for i in range(3))

    def forward(self, volume: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns theta1, theta2, theta3 and the third stage's raw output (before up4)."""
        theta1 = self.stages[0](volume)
        theta2 = upsample(self.stages[1](theta1), 4)
        stage3 = self.stages[2](theta2)
        return theta1, theta2, upsample(stage3, 4), stage3


# --------------------------------------------------------------------------- DFD and SFD


def conv3d(cin: int, cout: int, kt: int) -> nn.Conv3d:
    """Kernel (kt,3,3), stride (kt,1,1): time shrinks by kt, space kept."""
    return nn.Conv3d(cin, cout, kernel_size=(kt, 3, 3), stride=(kt, 1, 1), padding=(0, 1, 1), bias=False)


def conv2d(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False)


def time_halver(channels: int) -> nn.Conv3d:
    """Kernel (3,1,1), stride (2,1,1), padding (1,0,0), with bias: halves time."""
    return nn.Conv3d(channels, channels, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))


def relu_chain(x: torch.Tensor, layers) -> torch.Tensor:
    for layer in layers:
        x = F.relu(layer(x))
    return x


class DFD(nn.Module):
    """Dynamic feature decoding: 3-D convolutions shrinking time step by step."""

    def __init__(self, cfg: SalFoMConfig):
        super().__init__()
        c = (cfg.embed_dim,) + tuple(cfg.dfd_channels)
        kts = (1, 2, 1, 2, 2, 2)
        self.convs = nn.ModuleList(conv3d(c[i], c[i + 1], kts[i]) for i in range(6))

    def forward(self, volume, theta1, theta2):
        """Returns d2 and d4 (after their sums, the SFD reads them), d6, and conv_6 before its ReLU."""
        conv = self.convs
        d1 = F.relu(conv[0](volume))
        d2 = F.relu(conv[1](d1)) + theta1                          # eq. (1)
        d3 = upsample(F.relu(conv[2](d2)), 2)
        d4 = upsample(F.relu(conv[3](d3)), 2) + theta2
        d5 = upsample(F.relu(conv[4](d4)), 2)
        d6_prerelu = conv[5](d5)
        d6 = upsample(F.relu(d6_prerelu), 2)
        return d2, d4, d6.squeeze(2), d6_prerelu


class SFD(nn.Module):
    """Static feature decoding: time collapsed by learned convolutions, then 2-D convolutions."""

    def __init__(self, cfg: SalFoMConfig):
        super().__init__()
        e = cfg.embed_dim
        self.time_collapse = nn.ModuleList(
            nn.Conv3d(e, e, kernel_size=(2, 3, 3), stride=(2, 1, 1), padding=(0, 1, 1), bias=False)
            for _ in range(4))
        c = (e,) + tuple(cfg.sfd_channels)
        self.convs = nn.ModuleList(conv2d(c[i], c[i + 1]) for i in range(9))
        self.from_dfd_coarse = nn.ModuleList(time_halver(cfg.dfd_channels[1]) for _ in range(3))
        self.from_dfd_fine = nn.ModuleList(time_halver(cfg.dfd_channels[3]) for _ in range(2))
        self.grad_checkpointing = False

    def forward(self, volume, d2, d4):
        """Returns s3 (B, C, 224, 224) and conv_2D_9 before its ReLU."""
        conv = self.convs
        if self.grad_checkpointing and torch.is_grad_enabled():
            # The 1024-wide time collapsers hold the decoder's largest activations.
            s0 = checkpoint(relu_chain, volume, self.time_collapse, use_reentrant=False)
        else:
            s0 = relu_chain(volume, self.time_collapse)
        s1 = relu_chain(s0.squeeze(2), conv[0:3])
        s1 = s1 + relu_chain(d2, self.from_dfd_coarse).squeeze(2)    # eq. (2)
        s2 = F.relu(conv[4](F.relu(conv[3](s1))))
        s2 = upsample(F.relu(conv[5](upsample(s2, 2))), 2)
        s2 = s2 + relu_chain(d4, self.from_dfd_fine).squeeze(2)
        s3 = F.relu(conv[7](F.relu(conv[6](s2))))
        s3_prerelu = conv[8](upsample(s3, 2))
        return upsample(F.relu(s3_prerelu), 2), s3_prerelu


class Fusion(nn.Module):
    """eq. (3): three 3x3 convolutions over [SFD, TCFE, DFD] to one logit map."""

    def __init__(self, cfg: SalFoMConfig):
        super().__init__()
        cin = cfg.sfd_channels[-1] + cfg.tcfe_channels[2] + cfg.dfd_channels[-1]
        a, b = cfg.fusion_channels
        self.convs = nn.ModuleList([conv2d(cin, a), conv2d(a, b), conv2d(b, 1)])

    def forward(self, sfd, tcfe, dfd):
        x = torch.cat([sfd, tcfe, dfd], dim=1)
        x = F.relu(self.convs[1](F.relu(self.convs[0](x))))
        return self.convs[2](x)


# --------------------------------------------------------------------------- the model


def full_precision(module: nn.Module, *inputs: torch.Tensor):
    """Run `module` in float32 even inside a bf16/fp16 autocast region.

    The mixed-precision policy of SalFoM: the TCFE carries large activations (std about 9) and
    the fusion makes the final map; rounding them to bf16 moved the golden saliency map by
    0.021, in float32 by 0.014 (tests/test_fast_paths.py). Together under 1 % of the FLOPs.
    """
    device = inputs[0].device.type
    if not (torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device)):
        return module(*inputs)
    with torch.autocast(device, enabled=False):
        return module(*(x.float() for x in inputs))



@dataclass
class SalFoMOutputs:
    """Every intermediate the golden tests pin, plus the logits."""

    tokens: torch.Tensor          # (B, T*g*g, C) encoder output
    tcfe: torch.Tensor            # (B, C3, 1, 56, 56) third TCFE stage before up-sampling
    dfd_prerelu: torch.Tensor     # (B, C, 1, 112, 112) conv_6 before ReLU
    sfd_prerelu: torch.Tensor     # (B, C, 112, 112) conv_2D_9 before ReLU
    logits: torch.Tensor          # (B, 1, 224, 224)


class SalFoM(nn.Module):
    """model(clip) -> (B, H, W) saliency of the clip's last frame, in (0, 1)."""

    def __init__(self, cfg: SalFoMConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = UMTEncoder(cfg)
        self.tcfe = TCFE(cfg)
        self.dfd = DFD(cfg)
        self.sfd = SFD(cfg)
        self.fusion = Fusion(cfg)

    def forward_all(self, clip: torch.Tensor) -> SalFoMOutputs:
        self._check_input(clip)
        tokens = self.encoder(clip)
        volume = self.encoder.tokens_to_volume(tokens)
        theta1, theta2, theta3, stage3 = full_precision(self.tcfe, volume)
        d2, d4, d6, d6_prerelu = self.dfd(volume, theta1, theta2)
        s3, s3_prerelu = self.sfd(volume, d2, d4)
        logits = full_precision(self.fusion, s3, theta3.squeeze(2), d6)
        return SalFoMOutputs(tokens, stage3, d6_prerelu, s3_prerelu, logits)

    def forward_logits(self, clip: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid map (B, H, W): what the loss of a mixed-precision run should see."""
        return self.forward_all(clip).logits.squeeze(1)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward_logits(clip))

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        """Recompute encoder blocks and the SFD time collapsers in the backward pass."""
        self.encoder.grad_checkpointing = enabled
        self.sfd.grad_checkpointing = enabled

    # The parts `full_precision` runs in float32 under autocast (the mixed-precision policy).
    FULL_PRECISION_PARTS = ("tcfe", "fusion")

    def cast_for_autocast(self, dtype: torch.dtype) -> "SalFoM":
        """Store the weights of the convolutions and linear layers outside the float32 parts in
        `dtype`, once, instead of autocast casting them at every call.

        For inference under an autocast of the same `dtype` only: those layers are the ones
        autocast runs in `dtype` anyway, so the results are the same; norms, biases of the
        attention and the position table stay float32, as the TCFE and the fusion do.
        """
        for name, part in self.named_children():
            if name in self.FULL_PRECISION_PARTS:
                continue
            for module in part.modules():
                if isinstance(module, (nn.Linear, nn.Conv2d, nn.Conv3d)):
                    module.to(dtype)
        return self

    def set_explicit_attention(self, enabled: bool = True) -> None:
        """Use softmax(QK^T)V with the matrix materialised (the reference's way; for benchmarks)."""
        for block in self.encoder.blocks:
            block.attn.explicit = enabled

    def _check_input(self, clip: torch.Tensor) -> None:
        c = self.cfg
        expected = (3, c.num_frames, c.img_size, c.img_size)
        if clip.dim() != 5 or tuple(clip.shape[1:]) != expected:
            raise ValueError(f"SalFoM expects clips of shape (B, {', '.join(map(str, expected))}); "
                             f"got {tuple(clip.shape)}")


# --------------------------------------------------------------------------- presets

PRESETS: dict[str, SalFoMConfig] = {
    # The paper's model, exactly as the official DHF1K checkpoint holds it (402.9 M parameters).
    "salfom_l16": SalFoMConfig(),
    # Same topology at a fraction of the width and depth: tests, CPU demos, quick training runs.
    "salfom_tiny": SalFoMConfig(
        name="salfom_tiny", embed_dim=64, depth=2, num_heads=4,
        tcfe_channels=(16, 8, 8), tcfe_heads=(2, 2, 2), tcfe_depth=2,
        dfd_channels=(32, 16, 16, 8, 8, 8), sfd_channels=(32, 16, 16, 16, 8, 8, 8, 8, 8),
        fusion_channels=(16, 8)),
}


def _build(name: str, **overrides) -> SalFoM:
    return SalFoM(replace(PRESETS[name], **overrides))


@register_model
def salfom_l16(**overrides) -> SalFoM:
    return _build("salfom_l16", **overrides)


@register_model
def salfom_tiny(**overrides) -> SalFoM:
    return _build("salfom_tiny", **overrides)
