"""Values of command-line options that several subcommands parse alike (`cli`, `make_dataset`)."""
from __future__ import annotations

from .errors import ConfigError


def parse_size(text: str, option: str) -> tuple[int, int]:
    """`WxH` with positive whole numbers, else a ConfigError naming the option."""
    parts = text.lower().split("x")
    if len(parts) == 2 and all(p.strip().isdigit() and int(p) > 0 for p in parts):
        return int(parts[0]), int(parts[1])
    raise ConfigError(f"{option} {text!r}: expected WIDTHxHEIGHT in pixels, both above 0 (e.g. 1440x900)")
