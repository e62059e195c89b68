"""Listing the files of a folder (images in natural order, numbered maps by frame) and reading
numbered grey images: predicted maps and ground-truth maps alike."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_NUMBER = re.compile(r"(\d+)")


def natural_key(path: Path):
    # isdecimal, not isdigit: '①' is a digit that int() refuses
    return [int(part) if part.isdecimal() else part.lower() for part in _NUMBER.split(path.stem)]


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


def read_grey(path: Path) -> np.ndarray | None:
    """An 8-bit greyscale image, or None when it cannot be read (callers name the problem)."""
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


def read_numbered_grey(files: dict[int, Path], index: int) -> np.ndarray | None:
    """Frame `index`'s grey image from a `numbered_files` index (uint8), None where the frame
    has no file; a file that does not decode is a ValueError naming it."""
    path = files.get(index)
    if path is None:
        return None
    image = read_grey(path)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return image
