"""Where `salfom predict` puts each video's maps: one folder per input, never shared."""
from __future__ import annotations

from pathlib import Path


def video_name(path: Path) -> str:
    """The name a video's outputs are called by: the file's stem, or a frame folder's name.

    `.` and `..` have no name of their own (`Path('.').name` is ''), so a folder given that way
    is named after the folder it resolves to; the root folder, which has none, is "root".
    """
    path = Path(path)
    if not path.is_dir():
        return path.stem
    if path.name not in ("", ".."):
        return path.name
    return path.resolve().name or "root"


def output_names(videos: list[Path]) -> tuple[list[Path], list[str], list[str]]:
    """(videos, names, notes): one output name per distinct input, unique ignoring case.

    Inputs that share a name (`x/clip.mp4 y/clip.avi`) would overwrite each other's maps, so
    each of them is numbered (`clip-1`, `clip-2`) in command-line order; a path given twice
    is predicted once. `notes` says what was renamed or skipped, one line each.
    """
    distinct, seen, notes = [], set(), []
    for path in map(Path, videos):
        key = path.resolve()
        if key in seen:
            notes.append(f"{path} is given more than once; predicting it once")
            continue
        seen.add(key)
        distinct.append(path)
    stems = [video_name(p) for p in distinct]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    taken = {s.casefold() for s in stems if counts[s.casefold()] == 1}
    names, numbers = [], {}
    for path, stem in zip(distinct, stems):
        if counts[stem.casefold()] == 1:
            names.append(stem)
            continue
        n = numbers.get(stem.casefold(), 0)
        while True:   # the numbered name must not be another input's own name
            n += 1
            name = f"{stem}-{n}"
            if name.casefold() not in taken:
                break
        numbers[stem.casefold()] = n
        taken.add(name.casefold())
        names.append(name)
        notes.append(f"{path}: another input is also called '{stem}'; its outputs are named '{name}'")
    return distinct, names, notes
