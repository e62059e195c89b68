"""salfom_core: the SalFoM video saliency model, its checkpoints, losses, metrics, I/O and engine.

Five packages, each importing only those before it: `io` (videos, gaze, annotations, files,
exports) -> `models` (the network, checkpoints, installed weights, pre/post-processing) ->
`inference` (engine, plan, store, devices) -> `evaluation` (metrics, truths, scoring) ->
`training` (loop, losses, datasets). The face: this module (re-exports only), `cli`, `errors`.
Imports no Qt. Heavy optional pieces (PyAV for video) are imported where they are used.
"""
from .models import create_model, list_models
from .models.checkpoint import (
                                CheckpointError,
                                LoadReport,
                                PartialCheckpointError,
                                describe_checkpoint,
                                load_model,
                                load_weights,
                                save_checkpoint,
)

__version__ = "0.1.0"
__all__ = ["create_model", "list_models", "load_weights", "load_model", "save_checkpoint",
           "CheckpointError", "PartialCheckpointError", "LoadReport", "describe_checkpoint", "__version__"]
