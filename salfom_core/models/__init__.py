"""SalFoM networks: the network and its presets (`salfom`, `registry`), the official checkpoints'
names (`convert`), checkpoint loading (`checkpoint`), installed weights (`weights`), and the
model's input and output conversions (`preprocess`)."""
from .registry import create_model, list_models, register_model
from .salfom import PRESETS, SalFoM, SalFoMConfig, SalFoMOutputs

__all__ = ["create_model", "list_models", "register_model", "PRESETS", "SalFoM", "SalFoMConfig",
           "SalFoMOutputs"]
