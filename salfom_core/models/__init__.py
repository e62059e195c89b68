"""SalFoM networks and their registry."""
from .registry import create_model, list_models, register_model
from .salfom import PRESETS, SalFoM, SalFoMConfig, SalFoMOutputs

__all__ = ["create_model", "list_models", "register_model", "PRESETS", "SalFoM", "SalFoMConfig",
           "SalFoMOutputs"]
