"""salfom_core: the SalFoM video saliency model, its checkpoints, losses, metrics, I/O and engine.

Imports no Qt. Heavy optional pieces (PyAV for video) are imported where they are used.
"""
from .checkpoint import (CheckpointError, LoadReport, PartialCheckpointError, describe_checkpoint, load_model,
                         load_weights, save_checkpoint)
from .models import create_model, list_models

__version__ = "0.1.0"
__all__ = ["create_model", "list_models", "load_weights", "load_model", "save_checkpoint",
           "CheckpointError", "PartialCheckpointError", "LoadReport", "describe_checkpoint", "__version__"]
