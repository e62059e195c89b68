"""Loading and saving weights: safe (weights_only), loud (errors name the file and keys), atomic.

Three kinds of source are recognised:
- `official`: the SalFoM DHF1K checkpoint (or any checkpoint under its names),
- `umt`: a UMT encoder checkpoint (initialises the encoder only),
- `studio`: checkpoints this project writes, which record the preset and training metadata.
"""
from __future__ import annotations

import functools
import math
import os
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from ..io.atomic import atomic_write
from ..io.fingerprint import file_sha256
from .convert import convert_official_salfom, convert_umt_encoder, is_official_salfom, is_umt_encoder, strip_prefixes
from .registry import create_model, list_models

STUDIO_FORMAT = "salfom-studio-checkpoint"
_WRAPPER_KEYS = ("state_dict", "model", "module", "model_state_dict", "net")
_SHOW = 5  # how many offending keys an error message lists


# The model's parts, in the order of the forward pass; every parameter name starts with one.
MODEL_PARTS = ("encoder", "tcfe", "dfd", "sfd", "fusion")
PART_NAMES = {"encoder": "UMT encoder", "tcfe": "TCFE branch", "dfd": "DFD decoder",
              "sfd": "SFD decoder", "fusion": "fusion head"}


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and the problem."""


class _ShapeMismatch(CheckpointError):
    """The names fit a preset but the shapes do not: the file is for another preset."""


class PartialCheckpointError(CheckpointError):
    """A checkpoint that fits the model but leaves whole parts of it untrained (e.g. a UMT
    encoder file: the decoder would keep its random initialisation). `untrained` lists the
    parts (names of MODEL_PARTS); `load_weights(..., allow_partial=True)` loads it anyway."""

    def __init__(self, message: str, untrained: list[str], kind: str):
        super().__init__(message)
        self.untrained = list(untrained)
        self.kind = kind


def kind_phrase(kind: str) -> str:
    return {"official": "an official SalFoM", "umt": "a UMT", "studio": "a SalFoM Studio"}.get(kind, f"a {kind}")


def describe_parts(parts) -> str:
    return ", ".join(f"{p} ({PART_NAMES.get(p, p)})" for p in parts)


@dataclass
class LoadReport:
    kind: str                       # "official", "umt" or "studio"
    loaded: int                     # tensors copied into the model
    ignored: list[str] = field(default_factory=list)       # present, unused by design
    not_in_source: list[str] = field(default_factory=list)  # left as initialised (UMT: the decoder)
    meta: dict = field(default_factory=dict)
    untrained: list[str] = field(default_factory=list)      # whole parts left as initialised


def read_checkpoint(path: str | os.PathLike) -> Any:
    """torch.load with weights_only=True; every failure becomes a CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    with open(path, "rb") as fh:
        head = fh.read(64)
    looks_like = what_file_is(head)
    if looks_like:
        raise CheckpointError(f"{path}: not a checkpoint: {looks_like}")
    try:
        # mmap keeps a 1.6 GB checkpoint out of memory until its tensors are copied
        return torch.load(path, map_location="cpu", weights_only=True, mmap=head.startswith(_ZIP_MAGIC))
    except pickle.UnpicklingError as exc:
        detail = next((line.strip() for line in str(exc).splitlines() if "GLOBAL" in line or "Unsupported" in line),
                      str(exc).splitlines()[0] if str(exc) else "")
        if "GLOBAL" in detail:
            raise CheckpointError(
                f"{path}: refused: the file holds Python objects that loading would have to execute "
                f"(only tensors and plain containers are accepted): {detail}") from None
        raise CheckpointError(f"{path}: not a checkpoint: unreadable as PyTorch data (corrupt?): {detail}") from None
    except Exception as exc:   # the unpickler fails in many ways on foreign bytes (KeyError, IndexError, ...)
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: not a checkpoint: unreadable as PyTorch data (truncated or corrupt?): "
                              f"{detail}") from None


_ZIP_MAGIC = b"PK\x03\x04"
_SIGNATURES = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
               (b"\x1f\x8b", "a gzip archive (unpack it first)"), (b"\x89HDF", "an HDF5 file (Keras/TensorFlow?)"),
               (b"%PDF", "a PDF document"), (b"<", "an HTML/XML page (a login page saved instead of the file?)"))


def what_file_is(head: bytes) -> str | None:
    """None when `head` can start a PyTorch file (zip archive or pickle), else what the file looks like."""
    if not head:
        return "the file is empty"
    if head.startswith(_ZIP_MAGIC) or head[0] == 0x80:   # torch.save: a zip archive, or (legacy) a pickle
        return None
    for magic, what in _SIGNATURES:
        if head.lstrip().startswith(magic):
            return what
    if len(head) >= 10 and head[8:10] == b"{\"":
        return "a safetensors file (convert it with safetensors.torch.load_file and torch.save)"
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "unrecognised binary data (neither a zip archive nor a pickle, as torch.save writes)"


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


def load_weights(model: nn.Module, source: str | os.PathLike | Mapping[str, Any],
                 allow_partial: bool = False) -> LoadReport:
    """Load an official SalFoM, UMT or SalFoM Studio checkpoint into `model`.

    Raises CheckpointError naming the file and the first offending keys for anything that
    does not fit: unknown names, missing names, wrong shapes, another architecture; and
    PartialCheckpointError when whole parts of the model would stay untrained (a UMT encoder
    file, a decoder-only file), unless `allow_partial` (training initialises the encoder so).
    """
    where = str(source) if isinstance(source, (str, os.PathLike)) else "<state dict>"
    try:
        raw = read_checkpoint(source) if isinstance(source, (str, os.PathLike)) else source
        return _load_state(model, *_unwrap(raw), allow_partial=allow_partial)
    except CheckpointError as exc:
        raise _naming(exc, where) from None


def _naming(exc: CheckpointError, where: str) -> CheckpointError:
    """The same error (type and attributes kept) with its message starting with the file."""
    msg = str(exc)
    if not msg.startswith(where):
        exc.args = (f"{where}: {msg}",)
    return exc


@dataclass
class _Match:
    """How a state dict maps onto a model: what would be copied, and what would stay as initialised."""
    kind: str
    converted: dict
    ignored: list
    untrained: list          # whole parts absent from the source
    meta: dict


def _match(own: Mapping[str, torch.Tensor], cfg, state: Mapping[str, torch.Tensor], meta: dict) -> _Match:
    """Check names and shapes of `state` against the model's `own` state (tensors may be on the
    meta device: nothing is copied here). Raises CheckpointError for anything that does not fit."""
    state = strip_prefixes(state, ("module.", "_orig_mod."))   # DataParallel / DDP and torch.compile saves
    if meta:
        kind = "studio"
        if meta.get("preset") and meta["preset"] != cfg.name:
            raise CheckpointError(f"holds preset {meta['preset']!r} but the model is {cfg.name!r}")
        converted, ignored, unknown = dict(state), [], []
    elif is_official_salfom(state):
        kind = "official"
        converted, ignored, unknown = convert_official_salfom(state)
    elif all(k in own for k in state):
        kind = "studio"                           # a bare state dict under our own names
        converted, ignored, unknown = dict(state), [], []
    elif is_umt_encoder(state):
        kind = "umt"
        try:
            converted, ignored, unknown = convert_umt_encoder(state, cfg)
        except ValueError as exc:
            raise CheckpointError(str(exc)) from None
    else:
        raise CheckpointError(f"not a SalFoM or UMT checkpoint (another architecture?); its first keys: "
                              f"{_first(state)}")

    unexpected = [k for k in converted if k not in own]
    if unknown or unexpected:
        raise CheckpointError(f"unexpected keys for {cfg.name}: {_first(unknown + unexpected)}")
    wrong = [f"{k} {tuple(v.shape)} (model: {tuple(own[k].shape)})"
             for k, v in converted.items() if tuple(v.shape) != tuple(own[k].shape)]
    if wrong:
        raise _ShapeMismatch(f"shapes do not fit {cfg.name}: {_first(wrong)}")

    # A checkpoint without pos_embed keeps the model's fixed sine-cosine table (spec).
    optional = {"encoder.pos_embed"}
    required = [k for k in own if k not in optional]
    present_parts = {_part(k) for k in converted if k not in optional}
    # A part the source does not touch at all stays as initialised (untrained); a part it
    # fills only in places is a broken or mismatched file.
    untrained = [p for p in MODEL_PARTS if p not in present_parts and any(_part(k) == p for k in required)]
    missing = [k for k in required if k not in converted and _part(k) not in untrained]
    if missing:
        raise CheckpointError(f"missing keys for {cfg.name}: {_first(missing)}")
    if not present_parts:
        raise CheckpointError(f"fills no part of {cfg.name}")
    return _Match(kind, converted, ignored, untrained, meta)


def _part(name: str) -> str:
    return name.split(".", 1)[0]


def _load_state(model: nn.Module, state: Mapping[str, torch.Tensor], meta: dict,
                allow_partial: bool = False) -> LoadReport:
    own = model.state_dict()
    match = _match(own, model.cfg, state, meta)
    if match.untrained and not allow_partial:
        raise PartialCheckpointError(_partial_message(match), match.untrained, match.kind)
    with torch.no_grad():
        for name, value in match.converted.items():
            target = own[name]
            target.copy_(value.to(dtype=target.dtype))   # float16 UMT files become float32
    not_in_source = [k for k in own if k not in match.converted]
    return LoadReport(match.kind, len(match.converted), match.ignored, not_in_source,
                      match.meta.get("meta", {}), match.untrained)


def _partial_message(match: _Match) -> str:
    what = "a UMT encoder checkpoint" if match.kind == "umt" else f"{kind_phrase(match.kind)} checkpoint"
    use = (" It initialises training (umt_checkpoint); for predictions load the trained SalFoM weights."
           if match.kind == "umt" else "")
    return (f"{what} that leaves {describe_parts(match.untrained)} untrained: predictions would come from "
            f"randomly initialised weights.{use} Refused; allow_partial / --allow-partial loads it anyway.")


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


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu",
               allow_partial: bool = False) -> tuple[nn.Module, LoadReport]:
    """Create the right preset for a checkpoint file and load it; the model is in eval mode."""
    raw = read_checkpoint(path)
    try:
        state, meta = _unwrap(raw)
        model = create_model(_fit(state, meta)[0])
        report = _load_state(model, state, meta, allow_partial=allow_partial)
    except CheckpointError as exc:
        raise _naming(exc, str(path)) from None
    return model.to(device).eval(), report


@functools.lru_cache(maxsize=None)
def _skeleton(preset: str) -> tuple[Any, dict]:
    """A preset's config and state on the meta device: names and shapes, no memory, no init cost."""
    with torch.device("meta"):
        model = create_model(preset)
    return model.cfg, model.state_dict()


def _fit(state: Mapping[str, torch.Tensor], meta: dict) -> tuple[str, _Match]:
    """The preset a state dict is for (recorded in ours, else the one whose names and shapes fit)
    and how it maps onto it; when none fits, the error of the most similar preset: one whose
    shapes fit (a damaged file of that preset) before one whose shapes do not."""
    presets = [meta["preset"]] if meta.get("preset") else _by_similarity(state)
    errors = []
    for preset in presets:
        try:
            cfg, own = _skeleton(preset)
        except ValueError:
            raise CheckpointError(f"records preset {preset!r}, which this version does not know") from None
        try:
            return preset, _match(own, cfg, state, meta)
        except CheckpointError as exc:
            errors.append(exc)
    raise next((e for e in errors if not isinstance(e, _ShapeMismatch)), errors[0])


def _by_similarity(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Presets, the likeliest first (by the widest tensor dimension against the encoder's MLP
    width), so that a small file rarely needs the large preset's skeleton built. Only speed and
    the error shown depend on this order: at most one preset fits a file's shapes."""
    from .salfom import PRESETS

    widest = max((max(v.shape) for v in state.values() if isinstance(v, torch.Tensor) and v.dim()), default=1)
    distance = {name: abs(math.log(widest) - math.log(cfg.embed_dim * cfg.mlp_ratio))
                for name, cfg in PRESETS.items()}
    return sorted(list_models(), key=lambda name: (distance.get(name, math.inf), name != "salfom_l16"))


# --------------------------------------------------------------------------- describing a file


@dataclass
class CheckpointInfo:
    """What a checkpoint file is, found without loading it into a model (`salfom info`)."""
    path: str
    size: int                 # bytes
    sha256: str
    kind: str                 # official, umt or studio
    preset: str
    parameters: int           # elements of the tensors the model would take from it
    fills: list[str]          # parts of the model it fills
    untrained: list[str]      # parts it would leave as initialised
    ignored: int              # entries present but unused by design (a classifier head, ...)
    training: dict = field(default_factory=dict)   # our own files: metadata, epoch, step, best CC

    @property
    def role(self) -> str:
        """'predict': a whole model; 'encoder': initialises training's encoder (UMT); 'partial': neither."""
        if not self.untrained:
            return "predict"
        return "encoder" if self.fills == ["encoder"] else "partial"


def describe_checkpoint(path: str | os.PathLike, sha256: str | None = None) -> CheckpointInfo:
    """Read a checkpoint as the loader does (safely) and say what it is; builds no real model.
    `sha256`: a digest already computed (skips hashing the file again)."""
    path = Path(path)
    raw = read_checkpoint(path)
    try:
        state, meta = _unwrap(raw)
        preset, match = _fit(state, meta)
    except CheckpointError as exc:
        raise _naming(exc, str(path)) from None
    training = dict(meta.get("meta") or {})
    for key in ("epoch", "step", "best_cc"):
        if key in meta:
            training[key] = meta[key]
    if meta:
        training["resumable"] = "optimizer" in meta       # last.pt carries the optimizer state
    parts = {_part(k) for k in match.converted}
    return CheckpointInfo(
        path=str(path), size=path.stat().st_size, sha256=sha256 or file_sha256(path), kind=match.kind,
        preset=preset, parameters=sum(v.numel() for v in match.converted.values()),
        fills=[p for p in MODEL_PARTS if p in parts and p not in match.untrained],
        untrained=match.untrained, ignored=len(match.ignored), training=_jsonable(training))


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else f"tensor{tuple(value.shape)}"
    return value
