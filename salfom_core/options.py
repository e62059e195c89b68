"""Values of command-line options, checked the same way wherever they are parsed (`cli`, `make_dataset`)."""
from __future__ import annotations

import math

from .errors import ConfigError


def parse_size(text: str, option: str) -> tuple[int, int]:
    """`WxH` with positive whole numbers, else a ConfigError naming the option."""
    parts = text.lower().split("x")
    if len(parts) == 2 and all(p.strip().isdigit() and int(p) > 0 for p in parts):
        return int(parts[0]), int(parts[1])
    raise ConfigError(f"{option} {text!r}: expected WIDTHxHEIGHT in pixels, both above 0 (e.g. 1440x900)")


def check_frame_rate(fps: float, option: str) -> float:
    """A frame rate above 0 (not NaN or infinite), else a ConfigError naming the option."""
    if not (math.isfinite(fps) and fps > 0):
        raise ConfigError(f"{option} {fps:g}: the frame rate must be a number above 0 (e.g. 30)")
    return fps
