"""A training run's settings: `TrainConfig`, read from TOML and checked field by field."""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import ConfigError
from ..inference.devices import PRECISIONS
from ..io.annotations import LAYOUTS
from ..models import list_models


@dataclass
class TrainConfig:
    data_root: str = ""
    output: str = "runs/salfom"
    layout: str = "dhf1k"
    preset: str = "salfom_l16"
    epochs: int = 300
    lr: float = 1e-5
    batch_size: int = 1
    weight_decay: float = 0.0
    umt_checkpoint: str = ""          # encoder initialisation (UMT-L/16 K400, 16 frames)
    init_checkpoint: str = ""         # whole-model initialisation (e.g. DHF1K weights for UCF)
    device: str = "auto"
    amp: str = "bf16"                 # "bf16", "fp16" or "off"; used on CUDA only
    grad_checkpointing: bool = False
    val_every: int = 1                # epochs between validations
    val_stride: int = 64
    patience: int = 10                # validations without a better CC before stopping
    max_steps_per_epoch: int = 0      # 0: the whole training set
    max_val_clips: int = 0            # 0: all
    num_workers: int = 2
    seed: int = 0

    @classmethod
    def from_toml(cls, path: str | Path, **overrides) -> "TrainConfig":
        """Read a TOML file (fields at the top level or under [train]); ConfigError on any problem."""
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the training config ({exc})") from None
        raw = raw.get("train", raw)
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: [train] must be a table of settings, not {raw!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        cfg = cls(**{**raw, **{k: v for k, v in overrides.items() if v is not None}})
        cfg.check(where=str(path))
        return cfg

    def check(self, where: str = "training config") -> None:
        """Types, choices and ranges of every field; ConfigError naming `where` and the field."""
        for f in fields(self):
            value = getattr(self, f.name)
            expected = _FIELD_TYPES[f.type]
            if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
                raise ConfigError(f"{where}: {f.name} must be {_TYPE_WORDS[f.type]}, not {value!r}")
        if not self.data_root:
            raise ConfigError(f"{where}: data_root is required")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"{where}: layout must be one of {', '.join(LAYOUTS)}, not {self.layout!r}")
        if self.preset not in list_models():
            raise ConfigError(f"{where}: preset must be one of {', '.join(list_models())}, not {self.preset!r}")
        for name in ("lr", "weight_decay"):     # Adam's own check names neither the file nor the field
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ConfigError(f"{where}: {name} must be a number of at least 0, not {getattr(self, name)}")
        if self.amp not in PRECISIONS:
            raise ConfigError(f"{where}: amp must be one of {', '.join(PRECISIONS)}, not {self.amp!r}")
        for name in ("epochs", "batch_size", "val_every", "val_stride", "patience"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}: {name} must be at least 1, not {getattr(self, name)}")
        for name in ("max_steps_per_epoch", "max_val_clips", "num_workers"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{where}: {name} must not be negative, not {getattr(self, name)}")


_FIELD_TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool}
_TYPE_WORDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}
