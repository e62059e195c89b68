"""The AOI file (`<video stem>.aois.json`, AOI_SPEC.md) read and written; Tobii Pro Lab's AOI
export imported.

A file that cannot be used is one AoiError line naming the file and the AOI (bad JSON, an
unknown shape, too few vertices, a keyframe outside the video, a vertex count that changes
between keyframes), never a partial set. Writing is atomic (a temporary file, then a rename)
and keeps the previous file as `<file>.bak`, so that a crash or a bad edit never leaves the
user's work emptied.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..io.atomic import atomic_write_bytes, atomic_write_text
from ..io.frame_clock import as_clock
from .keyframes import AOI, PALETTE, AoiError, AoiSet, Keyframe, as_vertices

VERSION = 1
SUFFIX = ".aois.json"


def aoi_path(video: str | os.PathLike) -> Path:
    """Where a video's AOIs live by default: `<folder>/<stem>.aois.json` beside it."""
    video = Path(video)
    return video.with_name((video.name if video.is_dir() else video.stem) + SUFFIX)


def backup_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".bak")


# --------------------------------------------------------------------------- reading


def read_aois(path: str | os.PathLike, n_frames: int | None = None, fps: float | None = None) -> AoiSet:
    """The AOIs of `path`: the spec's file, or a Tobii Pro Lab AOI export (recognised by its
    `Aois` list; its keyframe times need `fps`). `n_frames`: the video's frame count, so a
    keyframe beyond it is refused."""
    path = Path(path)
    data = _read_json(path)
    if isinstance(data, dict) and "aois" not in data and _key(data, "Aois") is not None:
        if fps is None:
            raise AoiError(f"{path}: a Tobii Pro Lab AOI export: the video's frame rate is needed "
                           "to place its keyframes")
        return _from_tobii(path, data, fps, n_frames)
    return _from_spec(path, data, n_frames)


def _read_json(path: Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AoiError(f"{path}: no such AOI file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AoiError(f"{path}: cannot read the AOI file ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AoiError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def _from_spec(path: Path, data, n_frames: int | None) -> AoiSet:
    if not isinstance(data, dict) or not isinstance(data.get("aois"), list):
        raise AoiError(f"{path}: not an AOI file (expected an object with an 'aois' list)")
    version = data.get("version", VERSION)
    if version != VERSION:
        raise AoiError(f"{path}: AOI file version {version!r}; this version reads version {VERSION}")
    aois = []
    for index, item in enumerate(data["aois"]):
        label = _label(item, index)
        try:
            aois.append(_aoi_from_spec(item, index, n_frames))
        except AoiError as exc:
            raise AoiError(f"{path}: {_with_label(str(exc), label)}") from None
    return _as_set(path, str(data.get("video", "")), aois, n_frames)


def _aoi_from_spec(item, index: int, n_frames: int | None) -> AOI:
    if not isinstance(item, dict):
        raise AoiError("not an object")
    keyframes = item.get("keyframes")
    if not isinstance(keyframes, list) or not keyframes:
        raise AoiError("no keyframes (expected a non-empty 'keyframes' list)")
    keys = []
    for k in keyframes:
        if not isinstance(k, dict) or "frame" not in k:
            raise AoiError(f"keyframe {k!r} has no frame")
        frame = k["frame"]
        if isinstance(frame, float) and frame.is_integer():
            frame = int(frame)
        active = k.get("active", True)
        if not isinstance(active, bool):
            raise AoiError(f"keyframe at frame {frame!r}: 'active' must be true or false, not {active!r}")
        keys.append(Keyframe(frame, active, as_vertices(k.get("vertices") or [])))
    aoi = AOI.__new__(AOI)        # checked below with the frame count, without __post_init__'s check
    aoi.name, aoi.shape = item.get("name"), item.get("shape")
    aoi.color = item.get("color") or PALETTE[index % len(PALETTE)]
    aoi.keyframes = sorted(keys, key=lambda k: k.frame if isinstance(k.frame, int) else math.inf)
    if isinstance(aoi.color, str):
        aoi.color = aoi.color.lower()
    return _checked(aoi, n_frames)


def _checked(aoi: AOI, n_frames: int | None) -> AOI:
    problem = aoi.problem(n_frames)
    if problem:
        raise AoiError(problem)       # the caller names the file and the AOI
    return aoi


def _label(item, index: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return f"AOI {name!r}" if isinstance(name, str) and name.strip() else f"AOI #{index + 1} (no name)"


def _with_label(message: str, label: str) -> str:
    return f"{label}: {message}"


def _as_set(path: Path, video: str, aois: list[AOI], n_frames: int | None) -> AoiSet:
    try:
        result = AoiSet(video, aois)
        result.check(n_frames)
    except AoiError as exc:
        raise AoiError(f"{path}: {exc}") from None
    return result


# --------------------------------------------------------------------------- Tobii Pro Lab


def _key(data: dict, name: str):
    """`data[name]`, matching the key's case loosely (exports differ between versions)."""
    if name in data:
        return data[name]
    lower = name.lower()
    return next((v for k, v in data.items() if isinstance(k, str) and k.lower() == lower), None)


def _from_tobii(path: Path, data: dict, fps: float, n_frames: int | None) -> AoiSet:
    """Tobii Pro Lab's AOI export: `Aois[].KeyFrames[]` with `IsActive`, `Seconds` and
    `Vertices[{X, Y}]` in media pixels. A keyframe at s seconds goes to frame
    floor(s * fps) + 1 (`fps` may be a FrameClock: the frame on screen at s, by the timestamps of
    a variable-frame-rate video); its vertices become a polygon (AOI_SPEC.md)."""
    items = _key(data, "Aois")
    if not isinstance(items, list):
        raise AoiError(f"{path}: a Tobii AOI export whose 'Aois' is not a list")
    aois = []
    for index, item in enumerate(items):
        name = _key(item, "Name") if isinstance(item, dict) else None
        label = f"AOI {name!r}" if isinstance(name, str) and name.strip() else f"AOI #{index + 1} (no name)"
        try:
            aois.append(_aoi_from_tobii(item, index, fps, n_frames))
        except AoiError as exc:
            raise AoiError(f"{path}: {_with_label(str(exc), label)}") from None
    return _as_set(path, str(_key(data, "Media") or ""), aois, n_frames)


def _aoi_from_tobii(item, index: int, fps: float, n_frames: int | None) -> AOI:
    if not isinstance(item, dict):
        raise AoiError("not an object")
    frames = _key(item, "KeyFrames")
    if not isinstance(frames, list) or not frames:
        raise AoiError("no KeyFrames")
    by_frame: dict[int, Keyframe] = {}
    for k in frames:
        seconds = _key(k, "Seconds") if isinstance(k, dict) else None
        is_time = isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
        if not is_time or not math.isfinite(seconds) or seconds < 0:
            raise AoiError(f"keyframe {k!r}: 'Seconds' is not a time in seconds")
        frame = int(as_clock(fps).frame_at(seconds)) + 1
        points = _key(k, "Vertices")
        if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
            raise AoiError(f"keyframe at {seconds} s: 'Vertices' is not a list of {{X, Y}}")
        vertices = as_vertices([(_key(p, "X"), _key(p, "Y")) for p in points])
        active = _key(k, "IsActive")
        # two keyframes in one video frame: the later one stands, as it would on playback
        by_frame[frame] = Keyframe(frame, True if active is None else bool(active), vertices)
    name = _key(item, "Name")
    aoi = AOI.__new__(AOI)
    aoi.name = name if isinstance(name, str) and name.strip() else f"AOI {index + 1}"
    aoi.shape, aoi.color = "polygon", _tobii_color(_key(item, "Color"), index)
    aoi.keyframes = sorted(by_frame.values(), key=lambda k: k.frame)
    return _checked(aoi, n_frames)


def _tobii_color(value, index: int) -> str:
    """`RRGGBB`, `#RRGGBB` or `AARRGGBB` (alpha first, as .NET writes colours); else the palette."""
    if isinstance(value, str):
        digits = value.lstrip("#")
        if len(digits) == 8:
            digits = digits[2:]
        if len(digits) == 6 and all(c in "0123456789abcdefABCDEF" for c in digits):
            return "#" + digits.lower()
    return PALETTE[index % len(PALETTE)]


# --------------------------------------------------------------------------- writing


def aoi_json(aois: AoiSet) -> str:
    """The file's text: one line per keyframe, so a change reads well in a diff."""
    aois.check()
    lines = ["{", f'  "version": {VERSION},', f'  "video": {json.dumps(aois.video)},', '  "aois": [']
    for i, aoi in enumerate(aois):
        head = {k: v for k, v in aoi.to_dict().items() if k != "keyframes"}
        keys = ",\n".join(f"      {json.dumps(k.to_dict())}" for k in aoi.keyframes)
        comma = "," if i + 1 < len(aois) else ""
        lines.append(f"    {json.dumps(head)[:-1]}, \"keyframes\": [\n{keys}\n    ]}}{comma}")
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def write_aois(path: str | os.PathLike, aois: AoiSet, backup: bool = True) -> Path:
    """Write `aois` to `path` atomically; the file it replaces is kept as `<path>.bak`.

    The text is made (and the set checked) before anything on disk changes, so a set that
    cannot be written leaves both files as they were. Returns the path written."""
    path = Path(path)
    text = aoi_json(aois)
    if backup and path.exists():
        try:
            previous = path.read_bytes()
        except OSError as exc:
            raise AoiError(f"{path}: cannot read the previous AOI file to back it up ({exc})") from None
        if previous.decode("utf-8", "replace") != text:        # a save that changes nothing keeps the older backup
            atomic_write_bytes(backup_path(path), previous)
    atomic_write_text(path, text)
    return path
