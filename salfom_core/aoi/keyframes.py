"""AOIs that move with the video: keyframes, the shape and state at any frame, an editable set.

Frames are 1-based, as in the AOI file and on the timeline (AOI_SPEC.md). Between two active
keyframes with the same number of vertices each vertex moves linearly; an inactive keyframe
switches the AOI off from its frame until the next active one; before the first keyframe the
AOI is off; after the last it keeps that keyframe's shape and state.

Everything here is plain Python (no Qt) so that the app's AOI layer, its undo stack and the
command line share it. Edits check what they are given and raise `AoiError` (a ValueError)
with one line naming the AOI and the problem; nothing is half-applied.
"""
from __future__ import annotations

import bisect
import copy
import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import SalfomError
from .shapes import SHAPES, Region, contains, region, vertex_problem

# ColorBrewer Set1: the colour a new AOI gets, in turn
PALETTE = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#999999")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

Vertices = tuple[tuple[float, float], ...]


class AoiError(SalfomError):
    """An AOI file or an AOI edit that cannot be used: the message names the file or AOI."""


def as_vertices(vertices) -> Vertices:
    """Vertices as a tuple of (x, y) float pairs; an AoiError for anything else."""
    try:
        out = tuple((float(x), float(y)) for x, y in vertices)
    except (TypeError, ValueError):
        raise AoiError(f"vertices must be [x, y] pairs of numbers, not {vertices!r}") from None
    if not all(math.isfinite(c) for v in out for c in v):
        raise AoiError(f"vertices must be finite numbers, not {vertices!r}")
    return out


@dataclass(frozen=True)
class Keyframe:
    """The AOI's shape from `frame` (1-based) on; `active` False switches it off there.

    An inactive keyframe keeps the vertices the AOI had there, so that switching it back on
    restores the shape; they may be empty (a file may omit them)."""

    frame: int
    active: bool
    vertices: Vertices

    def to_dict(self) -> dict:
        return {"frame": self.frame, "active": self.active, "vertices": [[_num(x), _num(y)] for x, y in self.vertices]}


def _num(value: float):
    """Whole numbers written as ints: the file stays readable by hand."""
    return int(value) if float(value).is_integer() else value


@dataclass
class AOI:
    """One area of interest: name, colour, shape and keyframes (sorted by frame, one per frame)."""

    name: str
    shape: str
    keyframes: list[Keyframe]
    color: str = PALETTE[0]

    def __post_init__(self):
        self.keyframes = sorted(self.keyframes, key=lambda k: k.frame)
        self.check()

    # ------------------------------------------------------------------ checks

    def check(self, n_frames: int | None = None) -> None:
        """An AoiError naming this AOI if anything about it is wrong (for the file and for edits)."""
        problem = self.problem(n_frames)
        if problem:
            raise AoiError(f"AOI {self.name!r}: {problem}")

    def problem(self, n_frames: int | None = None) -> str | None:
        if not isinstance(self.name, str) or not self.name.strip():
            return "the name must be a non-empty text"
        if not isinstance(self.color, str) or not _COLOR.match(self.color):
            return f"colour {self.color!r} is not #rrggbb"
        if self.shape not in SHAPES:
            return vertex_problem(self.shape, 0)
        if not self.keyframes:
            return "no keyframes"
        counts = set()
        previous = None
        for k in self.keyframes:
            if not isinstance(k.frame, int) or isinstance(k.frame, bool) or k.frame < 1:
                return f"keyframe frame {k.frame!r} is not a frame number (1, 2, ...)"
            if n_frames is not None and k.frame > n_frames:
                return f"keyframe at frame {k.frame} is outside the video's {n_frames} frames"
            if k.frame == previous:
                return f"two keyframes at frame {k.frame}"
            previous = k.frame
            if k.active or k.vertices:
                problem = vertex_problem(self.shape, len(k.vertices))
                if problem:
                    return f"keyframe at frame {k.frame}: {problem}"
                counts.add((len(k.vertices), k.frame))
        if not any(k.active for k in self.keyframes) and not counts:
            return "no keyframe has vertices"
        if len({n for n, _ in counts}) > 1:
            (n_a, f_a), (n_b, f_b) = _first_change(sorted(counts, key=lambda c: c[1]))
            return f"the vertex count changes between keyframes ({n_a} at frame {f_a}, {n_b} at frame {f_b})"
        return None

    # ------------------------------------------------------------------ the AOI at a frame

    def _index_at(self, frame: int) -> int:
        """Index of the last keyframe at or before `frame`, -1 before the first."""
        return bisect.bisect_right([k.frame for k in self.keyframes], frame) - 1

    def is_active(self, frame: int) -> bool:
        i = self._index_at(frame)
        return i >= 0 and self.keyframes[i].active

    def vertices_at(self, frame: int) -> Vertices | None:
        """The shape's vertices at `frame`, None where the AOI is off."""
        i = self._index_at(frame)
        if i < 0 or not self.keyframes[i].active:
            return None
        a = self.keyframes[i]
        b = self.keyframes[i + 1] if i + 1 < len(self.keyframes) else None
        if b is None or not b.active or len(b.vertices) != len(a.vertices) or frame == a.frame:
            return a.vertices
        t = (frame - a.frame) / (b.frame - a.frame)
        return tuple((xa + t * (xb - xa), ya + t * (yb - ya)) for (xa, ya), (xb, yb) in zip(a.vertices, b.vertices))

    def last_vertices(self, frame: int) -> Vertices | None:
        """The vertices at `frame`, or where the AOI is off, those it last had (for drawing a
        hidden AOI, or switching it back on): None only before its first keyframe."""
        for k in reversed(self.keyframes[:self._index_at(frame) + 1]):
            if k.active:
                return self.vertices_at(frame) if self.is_active(frame) else k.vertices
            if k.vertices:
                return k.vertices
        return None

    def contains(self, frame: int, x, y) -> np.ndarray:
        """Which points (x, y) are inside the AOI as it stands at `frame` (all False where off)."""
        vertices = self.vertices_at(frame)
        if vertices is None:
            return np.zeros(np.broadcast(np.asarray(x), np.asarray(y)).shape, dtype=bool)
        return contains(self.shape, vertices, x, y)

    def region_at(self, frame: int, size: tuple[int, int]) -> Region | None:
        """Its pixels on a `size` (W, H) map at `frame`, None where the AOI is off."""
        vertices = self.vertices_at(frame)
        return None if vertices is None else region(self.shape, vertices, size)

    def active_frames(self, n_frames: int) -> np.ndarray:
        """(n_frames,) bool: entry f - 1 tells whether the AOI is on at frame f."""
        on = np.zeros(n_frames, dtype=bool)
        for k, nxt in zip(self.keyframes, self.keyframes[1:] + [None]):
            if k.active:
                on[k.frame - 1:(nxt.frame - 1 if nxt else n_frames)] = True
        return on

    def outside_picture(self, n_frames: int, size: tuple[int, int]) -> bool:
        """True when the AOI is on somewhere in the video but covers no pixel of the `size` (W, H)
        picture in any of those frames: drawn in screen pixels, or for another video. Its
        share is then 0 in every frame, which looks like a result and is none.

        Stops at the first frame with a pixel inside: one region for an AOI in the picture."""
        active = np.flatnonzero(self.active_frames(n_frames))
        if not active.size:
            return False
        # every shape it takes while on lies in the box of its active keyframes' vertices (it
        # moves linearly between them), and the pixels stand at x 1..W, y 1..H: a box that
        # misses them settles it without a region per frame
        x0, x1, y0, y1 = self.extent()
        if x1 < 1 or y1 < 1 or x0 > size[0] or y0 > size[1]:
            return True
        shapes = set()
        for f in active:
            vertices = self.vertices_at(int(f) + 1)
            if vertices in shapes:
                continue
            if region(self.shape, vertices, size).pixels:
                return False
            shapes.add(vertices)
        return bool(shapes)

    def extent(self) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1): the box around the vertices of all its active keyframes."""
        points = [v for k in self.keyframes if k.active for v in k.vertices]
        xs, ys = [x for x, _y in points], [y for _x, y in points]
        return min(xs), max(xs), min(ys), max(ys)

    def first_active_frame(self, n_frames: int | None = None) -> int | None:
        for k in self.keyframes:
            if k.active and (n_frames is None or k.frame <= n_frames):
                return k.frame
        return None

    # ------------------------------------------------------------------ edits (each a keyframe)

    def set_keyframe(self, frame: int, vertices, active: bool = True) -> None:
        """Make (or replace) the keyframe at `frame`: what drawing, moving or resizing at a
        frame does. The AOI is unchanged if the result would be invalid."""
        key = Keyframe(int(frame), bool(active), as_vertices(vertices))
        self._replace(key)

    def move(self, frame: int, dx: float, dy: float) -> None:
        """Shift the AOI as it stands at `frame` by (dx, dy): a keyframe there."""
        vertices = self.last_vertices(frame)
        if vertices is None:
            raise AoiError(f"AOI {self.name!r}: nothing to move at frame {frame}, before its first keyframe")
        self.set_keyframe(frame, [(x + dx, y + dy) for x, y in vertices], active=True)

    def hide_from(self, frame: int) -> None:
        """"Hide from here": an inactive keyframe at `frame`, keeping the shape for a later show."""
        vertices = self.last_vertices(frame)
        self._replace(Keyframe(int(frame), False, vertices or ()))

    def show_from(self, frame: int) -> None:
        """Switch a hidden AOI back on at `frame` with the shape it last had."""
        vertices = self.last_vertices(frame)
        if vertices is None:
            raise AoiError(f"AOI {self.name!r}: no shape to show at frame {frame}, before its first keyframe")
        self._replace(Keyframe(int(frame), True, vertices))

    def remove_keyframe(self, frame: int) -> None:
        """Delete the keyframe at `frame` (the last one cannot go: delete the AOI instead)."""
        kept = [k for k in self.keyframes if k.frame != frame]
        if len(kept) == len(self.keyframes):
            raise AoiError(f"AOI {self.name!r}: no keyframe at frame {frame}")
        self._assign(kept)

    def replace_keyframes(self, keyframes, first: int, last: int) -> None:
        """Put `keyframes` in place of those from frame `first` to `last` (tracking's result)."""
        kept = [k for k in self.keyframes if not first <= k.frame <= last]
        self._assign(kept + list(keyframes))

    def _replace(self, key: Keyframe) -> None:
        self._assign([k for k in self.keyframes if k.frame != key.frame] + [key])

    def _assign(self, keyframes: list[Keyframe]) -> None:
        trial = copy.copy(self)
        trial.keyframes = sorted(keyframes, key=lambda k: k.frame)
        trial.check()
        self.keyframes = trial.keyframes

    # ------------------------------------------------------------------ file form

    def to_dict(self) -> dict:
        return {"name": self.name, "color": self.color, "shape": self.shape,
                "keyframes": [k.to_dict() for k in self.keyframes]}


def _first_change(counts):
    for a, b in zip(counts, counts[1:]):
        if a[0] != b[0]:
            return a, b
    return counts[0], counts[-1]


@dataclass
class AoiSet:
    """The AOIs of one video, in order, with unique names: what `<stem>.aois.json` holds.

    Each edit method checks its input first and raises AoiError, leaving the set as it was.
    `snapshot()` / `restore()` give the app's undo stack a whole-set copy to return to."""

    video: str = ""
    aois: list[AOI] = field(default_factory=list)

    def __post_init__(self):
        self._check_names(self.aois)

    def __iter__(self):
        return iter(self.aois)

    def __len__(self) -> int:
        return len(self.aois)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.aois]

    def get(self, name: str) -> AOI:
        for a in self.aois:
            if a.name == name:
                return a
        raise AoiError(f"no AOI named {name!r}")

    def check(self, n_frames: int | None = None) -> None:
        self._check_names(self.aois)
        for a in self.aois:
            a.check(n_frames)

    @staticmethod
    def _check_names(aois) -> None:
        seen = set()
        for a in aois:
            if a.name in seen:
                raise AoiError(f"AOI {a.name!r}: two AOIs have this name")
            seen.add(a.name)

    # ------------------------------------------------------------------ edits

    def next_color(self) -> str:
        used = {a.color.lower() for a in self.aois}
        return next((c for c in PALETTE if c not in used), PALETTE[len(self.aois) % len(PALETTE)])

    def unique_name(self, base: str = "AOI") -> str:
        """`base`, or `base 2`, `base 3` ... whichever is free."""
        names, k = set(self.names), 1
        while (candidate := base if k == 1 else f"{base} {k}") in names:
            k += 1
        return candidate

    def add(self, shape: str, frame: int, vertices, name: str | None = None, color: str | None = None) -> AOI:
        """A new AOI drawn at `frame`: one active keyframe there."""
        aoi = AOI(name or self.unique_name(), shape, [Keyframe(int(frame), True, as_vertices(vertices))],
                  color or self.next_color())
        self.insert(aoi)
        return aoi

    def insert(self, aoi: AOI, index: int | None = None) -> None:
        aoi.check()
        self._check_names(self.aois + [aoi])
        self.aois.insert(len(self.aois) if index is None else index, aoi)

    def remove(self, name: str) -> AOI:
        aoi = self.get(name)
        self.aois.remove(aoi)
        return aoi

    def rename(self, name: str, new_name: str) -> None:
        aoi = self.get(name)
        if new_name != name and new_name in self.names:
            raise AoiError(f"AOI {new_name!r}: two AOIs would have this name")
        if not isinstance(new_name, str) or not new_name.strip():
            raise AoiError(f"AOI {name!r}: the new name must be a non-empty text")
        aoi.name = new_name

    def recolor(self, name: str, color: str) -> None:
        aoi = self.get(name)
        if not isinstance(color, str) or not _COLOR.match(color):
            raise AoiError(f"AOI {name!r}: colour {color!r} is not #rrggbb")
        aoi.color = color.lower()

    # ------------------------------------------------------------------ undo

    def snapshot(self) -> dict:
        return self.to_dict()

    def restore(self, snapshot: dict) -> None:
        other = AoiSet.from_dict(snapshot)
        self.video, self.aois = other.video, other.aois

    def copy(self) -> "AoiSet":
        return AoiSet.from_dict(self.to_dict())

    # ------------------------------------------------------------------ file form (aoi_file reads and writes it)

    def to_dict(self) -> dict:
        return {"version": 1, "video": self.video, "aois": [a.to_dict() for a in self.aois]}

    @classmethod
    def from_dict(cls, data: dict) -> "AoiSet":
        """From a dict as `to_dict` writes it (already checked: the file reader checks its input)."""
        return cls(data.get("video", ""), [AOI(a["name"], a["shape"],
                                               [Keyframe(k["frame"], k["active"], as_vertices(k["vertices"]))
                                                for k in a["keyframes"]], a["color"]) for a in data["aois"]])
