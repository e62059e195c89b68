"""Loading and saving weights: safe (weights_only), loud (errors name the file and keys), atomic.

Three kinds of source are recognised:
- `official`: the SalFoM DHF1K checkpoint (or any checkpoint under its names),
- `umt`: a UMT encoder checkpoint (initialises the encoder only),
- `studio`: checkpoints this project writes, which record the preset and training metadata.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from .atomic import atomic_write
from .models import create_model
from .models.convert import (convert_official_salfom, convert_umt_encoder, is_official_salfom,
                             is_umt_encoder, strip_prefixes)

STUDIO_FORMAT = "salfom-studio-checkpoint"
_WRAPPER_KEYS = ("state_dict", "model", "module", "model_state_dict", "net")
_SHOW = 5  # how many offending keys an error message lists


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and the problem."""


@dataclass
class LoadReport:
    kind: str                       # "official", "umt" or "studio"
    loaded: int                     # tensors copied into the model
    ignored: list[str] = field(default_factory=list)       # present, unused by design
    not_in_source: list[str] = field(default_factory=list)  # left as initialised (UMT: the decoder)
    meta: dict = field(default_factory=dict)


def read_checkpoint(path: str | os.PathLike) -> Any:
    """torch.load with weights_only=True; every failure becomes a CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    try:
        # mmap keeps a 1.6 GB checkpoint out of memory until its tensors are copied
        mmap = zipfile.is_zipfile(path)
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        detail = next((line.strip() for line in str(exc).splitlines() if "GLOBAL" in line or "Unsupported" in line),
                      str(exc).splitlines()[0] if str(exc) else "")
        if "GLOBAL" in detail:
            raise CheckpointError(
                f"{path}: refused: the file holds Python objects that loading would have to execute "
                f"(only tensors and plain containers are accepted): {detail}") from None
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (corrupt?): {detail}") from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _unwrap(obj: Any) -> tuple[Mapping[str, torch.Tensor], dict]:
    """Find the state dict inside the usual wrappers; returns (state, studio metadata or {})."""
    if isinstance(obj, Mapping) and obj.get("format") == STUDIO_FORMAT:
        return obj["state_dict"], {k: v for k, v in obj.items() if k != "state_dict"}
    for _ in range(3):
        if isinstance(obj, Mapping) and not _is_state(obj):
            inner = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping) or not _is_state(obj):
        raise CheckpointError("holds no state dict (a mapping of parameter names to tensors)")
    return obj, {}


def _is_state(obj: Mapping) -> bool:
    return len(obj) > 0 and all(isinstance(k, str) for k in obj) and \
        sum(isinstance(v, torch.Tensor) for v in obj.values()) >= max(1, len(obj) // 2)


def _first(keys) -> str:
    keys = list(keys)
    more = f" (and {len(keys) - _SHOW} more)" if len(keys) > _SHOW else ""
    return ", ".join(keys[:_SHOW]) + more


def load_weights(model: nn.Module, source: str | os.PathLike | Mapping[str, Any]) -> LoadReport:
    """Load an official SalFoM, UMT or SalFoM Studio checkpoint into `model`.

    Raises CheckpointError naming the file and the first offending keys for anything that
    does not fit: unknown names, missing names, wrong shapes, another architecture.
    """
    where = str(source) if isinstance(source, (str, os.PathLike)) else "<state dict>"
    try:
        raw = read_checkpoint(source) if isinstance(source, (str, os.PathLike)) else source
        state, meta = _unwrap(raw)
        return _load_state(model, state, meta)
    except CheckpointError as exc:
        msg = str(exc)
        raise CheckpointError(msg if msg.startswith(where) else f"{where}: {msg}") from None


def _load_state(model: nn.Module, state: Mapping[str, torch.Tensor], meta: dict) -> LoadReport:
    cfg = model.cfg
    state = strip_prefixes(state, ("module.", "_orig_mod."))   # DataParallel / DDP and torch.compile saves
    if meta:
        kind = "studio"
        if meta.get("preset") and meta["preset"] != cfg.name:
            raise CheckpointError(f"holds preset {meta['preset']!r} but the model is {cfg.name!r}")
        converted, ignored, unknown = dict(state), [], []
    elif is_official_salfom(state):
        kind = "official"
        converted, ignored, unknown = convert_official_salfom(state)
    elif is_umt_encoder(state):
        kind = "umt"
        try:
            converted, ignored, unknown = convert_umt_encoder(state, cfg)
        except ValueError as exc:
            raise CheckpointError(str(exc)) from None
    else:
        raise CheckpointError(f"not a SalFoM or UMT checkpoint (another architecture?); its first keys: "
                              f"{_first(state)}")

    own = model.state_dict()
    unexpected = [k for k in converted if k not in own]
    if unknown or unexpected:
        raise CheckpointError(f"unexpected keys for {cfg.name}: {_first(unknown + unexpected)}")
    wrong = [f"{k} {tuple(v.shape)} (model: {tuple(own[k].shape)})"
             for k, v in converted.items() if tuple(v.shape) != tuple(own[k].shape)]
    if wrong:
        raise CheckpointError(f"shapes do not fit {cfg.name}: {_first(wrong)}")

    # A checkpoint without pos_embed keeps the model's fixed sine-cosine table (spec).
    optional = {"encoder.pos_embed"}
    if kind == "umt":
        # A UMT checkpoint initialises the encoder; the decoder keeps its initialisation.
        optional |= {k for k in own if not k.startswith("encoder.")}
    missing = [k for k in own if k not in converted and k not in optional]
    if missing:
        raise CheckpointError(f"missing keys for {cfg.name}: {_first(missing)}")

    with torch.no_grad():
        for name, value in converted.items():
            target = own[name]
            target.copy_(value.to(dtype=target.dtype))   # float16 UMT files become float32
    not_in_source = [k for k in own if k not in converted]
    return LoadReport(kind, len(converted), ignored, not_in_source, meta.get("meta", {}))


# --------------------------------------------------------------------------- our own format


def save_checkpoint(path: str | os.PathLike, model: nn.Module, meta: dict | None = None,
                    extra: dict | None = None) -> None:
    """Write model weights, preset and metadata atomically (temporary file, then rename).

    `extra` holds training state (optimizer, epoch) for resuming; plain values and tensors only.
    """
    payload = {"format": STUDIO_FORMAT, "version": 1, "preset": model.cfg.name,
               "config": _plain(asdict(model.cfg)), "meta": meta or {},
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    if extra:
        payload.update(extra)
    with atomic_write(path, "wb") as fh:
        torch.save(payload, fh)


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _preset_of(raw: Any) -> str:
    """The preset a checkpoint is for: recorded in ours, `salfom_l16` for official/UMT files."""
    if isinstance(raw, Mapping) and raw.get("format") == STUDIO_FORMAT:
        return raw["preset"]
    return "salfom_l16"


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, LoadReport]:
    """Create the right preset for a checkpoint file and load it; the model is in eval mode."""
    raw = read_checkpoint(path)
    model = create_model(_preset_of(raw))
    try:
        report = _load_state(model, *_unwrap(raw))
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return model.to(device).eval(), report
