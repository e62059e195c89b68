"""Map the parameter names of official checkpoints onto ours.

Two families arrive from outside:
- the official SalFoM checkpoint (619 entries; `encoder.*`, `transformer_N.*`, `conv_*`),
- UMT encoder checkpoints (`blocks.N.*`, `patch_embed.proj.*`, maybe `pos_embed`, a Kinetics head).

Each converter returns (converted, ignored): our names -> tensors, and the source names
that the forward pass never reads (dropped on purpose, listed for the load report).
"""
from __future__ import annotations

import re
from typing import Mapping

import torch

from .salfom import SalFoMConfig, interpolate_pos_embed

# Entries of the official checkpoint that its forward pass never reads (spec).
_OFFICIAL_UNUSED = re.compile(
    r"^(encoder\.fc_norm\.|encoder\.head\.|final_map\.|conv_t3_3\.|transformer_\d\.norm\."
    r"|transformer_\d\.layers\.0\.blocks\.\d+\.attn\.relative_position_index$)")


def _rule(pattern: str, build):
    return re.compile(pattern), build


# The official numbering starts at 1; conv_7..9 are the fusion's convs 0..2.
_OFFICIAL_RULES = [
    _rule(r"^encoder\.patch_embed\.proj\.(weight|bias)$", lambda m: f"encoder.patch_embed.{m[1]}"),
    _rule(r"^encoder\.pos_embed$", lambda m: "encoder.pos_embed"),
    _rule(r"^encoder\.blocks\.(\d+)\.(.+)$", lambda m: f"encoder.blocks.{m[1]}.{m[2]}"),
    _rule(r"^transformer_(\d)\.patch_embed\.proj\.(weight|bias)$",
          lambda m: f"tcfe.stages.{int(m[1]) - 1}.patch_embed.{m[2]}"),
    _rule(r"^transformer_(\d)\.layers\.0\.blocks\.(\d+)\.(.+)$",
          lambda m: f"tcfe.stages.{int(m[1]) - 1}.blocks.{m[2]}.{m[3]}"),
    _rule(r"^conv_([1-6])\.weight$", lambda m: f"dfd.convs.{int(m[1]) - 1}.weight"),
    _rule(r"^conv_([7-9])\.weight$", lambda m: f"fusion.convs.{int(m[1]) - 7}.weight"),
    _rule(r"^conv_t1_([1-4])\.weight$", lambda m: f"sfd.time_collapse.{int(m[1]) - 1}.weight"),
    _rule(r"^conv_t2_([1-3])\.(weight|bias)$", lambda m: f"sfd.from_dfd_coarse.{int(m[1]) - 1}.{m[2]}"),
    _rule(r"^conv_t3_([1-2])\.(weight|bias)$", lambda m: f"sfd.from_dfd_fine.{int(m[1]) - 1}.{m[2]}"),
    _rule(r"^conv_2D_([1-9])\.weight$", lambda m: f"sfd.convs.{int(m[1]) - 1}.weight"),
]

# Entries of UMT classification checkpoints that SalFoM does not use.
_UMT_UNUSED = re.compile(r"^(head\.|fc_norm\.|norm\.)")
_UMT_PREFIXES = ("module.", "backbone.", "encoder.")


def _official_name(name: str) -> str | None:
    for pattern, build in _OFFICIAL_RULES:
        m = pattern.match(name)
        if m:
            return build(m)
    return None


def is_official_salfom(state: Mapping[str, torch.Tensor]) -> bool:
    return any(k.startswith(("transformer_1.", "conv_t1_1.")) for k in state)


def is_umt_encoder(state: Mapping[str, torch.Tensor]) -> bool:
    return any(re.match(r"^blocks\.\d+\.attn\.qkv\.weight$", k) for k in strip_prefixes(state, _UMT_PREFIXES))


def strip_prefixes(state: Mapping[str, torch.Tensor], prefixes) -> dict[str, torch.Tensor]:
    """Remove any of `prefixes` (repeatedly, e.g. `module.encoder.`) from every key."""
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for p in prefixes:
                if key.startswith(p):
                    key, changed = key[len(p):], True
        out[key] = value
    return out


def convert_official_salfom(state: Mapping[str, torch.Tensor]):
    """Official SalFoM names -> ours. Unknown names are returned as `unknown` for the caller to report."""
    converted, ignored, unknown = {}, [], []
    for name, value in state.items():
        if _OFFICIAL_UNUSED.match(name):
            ignored.append(name)
            continue
        ours = _official_name(name)
        if ours is None:
            unknown.append(name)
        else:
            converted[ours] = value
    return converted, ignored, unknown


def convert_umt_encoder(state: Mapping[str, torch.Tensor], cfg: SalFoMConfig):
    """UMT encoder names -> `encoder.*`; an 8-frame pos_embed is interpolated to cfg.num_frames."""
    state = strip_prefixes(state, _UMT_PREFIXES)
    converted, ignored, unknown = {}, [], []
    for name, value in state.items():
        if _UMT_UNUSED.match(name):
            ignored.append(name)
        elif name.startswith("patch_embed.proj."):
            converted["encoder.patch_embed." + name.rsplit(".", 1)[1]] = value
        elif name.startswith("blocks."):
            converted["encoder." + name] = value
        elif name == "pos_embed":
            converted["encoder.pos_embed"] = convert_pos_embed(value, cfg)
        else:
            unknown.append(name)
    return converted, ignored, unknown


def convert_pos_embed(pos: torch.Tensor, cfg: SalFoMConfig) -> torch.Tensor:
    """Bring a UMT pos_embed of any frame count / grid to the model's (1, T*g*g, C)."""
    if pos.dim() != 3 or pos.shape[0] != 1:
        raise ValueError(f"pos_embed has shape {tuple(pos.shape)}, expected (1, N, C)")
    n = pos.shape[1]
    # UMT checkpoints come in 8 or 16 frames; the grid follows from N.
    for frames in (cfg.num_frames, cfg.pos_embed_frames, 4, 32):
        grid = int(round((n / frames) ** 0.5))
        if frames * grid * grid == n:
            return interpolate_pos_embed(pos, frames, cfg.num_frames, cfg.grid)
    raise ValueError(f"pos_embed of {n} positions matches no frame count of a square grid")
