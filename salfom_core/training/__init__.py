"""Training: the loop and its config, the loss, the clips, datasets made from raw gaze, and
training from a lab's own recordings."""
from .config import TrainConfig
from .from_gaze import train_from_gaze
from .loop import train

__all__ = ["TrainConfig", "train", "train_from_gaze"]
