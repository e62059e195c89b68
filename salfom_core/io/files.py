"""Listing the files of a folder (images in natural order, numbered maps by frame) and reading
numbered grey images: predicted maps and ground-truth maps alike."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import SalfomError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# files the operating system leaves in folders: macOS `._name` (AppleDouble) and `.DS_Store`,
# Windows' thumbnail caches; never frames or maps, whatever their suffix
_SYSTEM_FILES = {"thumbs.db", "ehthumbs.db", "desktop.ini"}

# a grey map saved as RGB through a lossy codec (JPEG) keeps its channels within a few levels;
# a colormap (jet, hot) spreads them across the range
_COLOUR_SPREAD = 32 / 255

_NUMBER = re.compile(r"(\d+)")

# how map files are read; part of the cached scores' keys, so scores of an older reading are not
# reused. 2: folders numbered from 0, hidden files skipped, 16-bit and float maps kept as they are
MAP_READING = 2


class MapImageError(SalfomError):
    """A map image that cannot be scored as one: unreadable, in colour, or not finite."""


def natural_key(path: Path):
    # isdecimal, not isdigit: '①' is a digit that int() refuses
    return [int(part) if part.isdecimal() else part.lower() for part in _NUMBER.split(path.stem)]


def is_hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower() in _SYSTEM_FILES


def list_images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES and not is_hidden(p) and p.is_file()), key=natural_key)


def _numbered(folder: Path, suffixes) -> dict[int, Path]:
    """The number in each name (its last one) -> file."""
    out = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir(), key=natural_key):
            numbers = _NUMBER.findall(path.stem)
            if path.suffix.lower() in suffixes and numbers and not is_hidden(path):
                out[int(numbers[-1])] = path
    return out


def numbered_files(folder: Path, suffixes=IMAGE_SUFFIXES) -> dict[int, Path]:
    """0-based frame -> file, from the last number in each name: `0001.png`, `Name_001.png` are
    frame 0 (files are numbered from 1), unless a file is numbered 0 (`0000.png`): the folder
    is then numbered from 0 (`numbering_note` says so)."""
    files = _numbered(folder, suffixes)
    shift = 0 if 0 in files else 1
    return {number - shift: path for number, path in files.items()}


def numbering_note(files: dict[int, Path]) -> str | None:
    """One line when a `numbered_files` index was numbered from 0, naming its first file."""
    first = files.get(0)
    if first is None or int(_NUMBER.findall(first.stem)[-1]) != 0:
        return None
    return f"{first.parent}: numbered from 0 ({first.name} is frame 1): read as frames 1 to {max(files) + 1}"


def read_grey(path: Path) -> np.ndarray | None:
    """A greyscale map at its own depth (uint8, uint16 or float32: 16-bit and float maps keep
    their precision), or None when it cannot be read (callers name the problem). A colour image
    whose channels differ (a colormap) or a map with NaN or infinite values is a MapImageError
    naming the file; grey saved as RGB(A) is read as grey."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        return None
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        image = image.astype(np.float32)           # int8, int16, float64 TIFFs: values kept
    if image.ndim == 3:
        image = _grey_of(path, image)
    if image.dtype == np.float32 and not np.isfinite(image).all():
        raise MapImageError(f"{path}: the map holds NaN or infinite values")
    return image


def _grey_of(path: Path, image: np.ndarray) -> np.ndarray:
    """The grey of a grey image stored in colour channels; a MapImageError if it is colour."""
    if image.shape[2] <= 2:                       # grey, or grey and alpha
        return image[..., 0].copy()
    colour = image[..., :3]
    full = max(float(np.abs(colour).max()), 1e-12) if image.dtype == np.float32 else full_scale(image)
    spread = (colour.max(axis=2).astype(np.float64) - colour.min(axis=2)).max() / full
    if spread > _COLOUR_SPREAD:
        raise MapImageError(f"{path}: a colour image (its red, green and blue differ by up to {spread:.0%} of the "
                            "range), not a greyscale map: a colormap (jet, hot) cannot be scored as saliency; "
                            "save the maps' values in grey")
    return colour[..., 1].copy()                  # (nearly) equal channels: green, most of luminance


def full_scale(image: np.ndarray) -> float:
    """The value of white at the image's depth (MATLAB's im2double divides by it)."""
    return 255.0 if image.dtype == np.uint8 else 65535.0 if image.dtype == np.uint16 else 1.0


def as_uint8_map(image: np.ndarray) -> np.ndarray:
    """A map to show (0..255): 8-bit maps as they are; deeper maps scaled so their peak is 255.
    For display only: rounding to 8 bits moves the metrics (AUC-J by up to ~0.01), so metrics
    read the maps as stored."""
    if image.dtype == np.uint8:
        return image
    values = np.asarray(image, dtype=np.float32)
    peak = float(values.max()) if values.size else 0.0
    if peak <= 0:
        return np.zeros(values.shape, np.uint8)
    return np.clip(np.rint(values * (255.0 / peak)), 0, 255).astype(np.uint8)


def read_numbered_grey(files: dict[int, Path], index: int) -> np.ndarray | None:
    """Frame `index`'s grey map from a `numbered_files` index (at its own depth, `read_grey`),
    None where the frame has no file; a file that does not decode is a MapImageError naming it."""
    path = files.get(index)
    if path is None:
        return None
    image = read_grey(path)
    if image is None:
        raise MapImageError(f"{path}: not a readable image")
    return image
