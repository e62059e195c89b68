"""Listing the files of a folder: images in natural order, numbered maps by frame."""
from __future__ import annotations

import re
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_NUMBER = re.compile(r"(\d+)")


def natural_key(path: Path):
    return [int(part) if part.isdigit() else part.lower() for part in _NUMBER.split(path.stem)]


def list_images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                  key=natural_key)


def numbered_files(folder: Path, suffixes=IMAGE_SUFFIXES) -> dict[int, Path]:
    """0-based frame -> file, from the last number in each name (`0001.png`, `Name_001.png`
    are frame 0: files are numbered from 1)."""
    out = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir(), key=natural_key):
            numbers = _NUMBER.findall(path.stem)
            if path.suffix.lower() in suffixes and numbers:
                out[int(numbers[-1]) - 1] = path
    return out
