"""`load_gaze`: any supported gaze input, the reader picked by what the path is (its content, not
only its name); `load_gaze_files` merges several; `inspect_gaze` says what an input holds.

Files: Tobii Pro Lab TSV, EyeLink ASC, Gazepoint CSV, Pupil Neon `gaze.csv` / Core
`gaze_positions.csv` (their folder is read), SMI raw export (.txt), the plain gaze CSV, or any CSV
with `GazeOptions.columns`. Folders: a Pupil Neon or Core recording, SMI exports (`*.txt`), a
folder of exports of one kind (e.g. `P01.asc ... P12.asc`: one observer each) or of Pupil
recordings, or a benchmark's annotation folder.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ...errors import GazeError
from . import eyelink, gazepoint, mapped_csv, pupil, tobii
from .annotation import read_annotation_folder
from .data import FixationEvents, GazeData
from .inspection import GazeInspection
from .options import GazeOptions, check_options
from .plain_csv import PlainTable, read_csv
from .smi import ScreenGeometry, read_smi
from .text import read_head, sniff_delimiter
from .tracks import assemble

EXPORT_SUFFIXES = (".asc", ".tsv", ".csv", ".txt")
FORMAT_NAMES = {"tobii": tobii.FORMAT, "eyelink": eyelink.FORMAT, "gazepoint": gazepoint.FORMAT,
                "mapped": mapped_csv.FORMAT, "pupil": "Pupil Labs recording", "smi": "SMI raw export",
                "csv": "plain gaze CSV", "annotation": "annotation folder", "folder": "folder of exports"}
KNOWN = ("Tobii Pro Lab TSV, EyeLink ASC, Pupil Labs Neon or Core folder, Gazepoint CSV, SMI .txt, "
         "a gaze CSV (frame or time_s, x, y), or an annotation folder")


# --------------------------------------------------------------------------- what a path is


def gaze_format(path: str | os.PathLike, options: GazeOptions | None = None) -> str:
    """One of FORMAT_NAMES' keys for `path`, from its content; a GazeError when none fits."""
    path = Path(path)
    options = options or GazeOptions()
    if not path.exists():
        raise GazeError(f"{path}: no such file or folder")
    if path.is_dir():
        return _folder_format(path)
    if path.suffix.lower() == ".edf":
        return "eyelink"                  # the reader says how to convert it
    if options.columns:
        return "mapped"
    try:
        head = read_head(path)
    except OSError as exc:
        raise GazeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    first = head.split("\n", 1)[0].strip().lstrip("\ufeff")
    if tobii.is_tobii(head):
        return "tobii"
    if eyelink.is_asc(head):
        return "eyelink"
    if gazepoint.is_gazepoint(head):
        return "gazepoint"
    if _is_smi(head):
        return "smi"
    if _is_pupil_table(first):
        return "pupil"
    if _is_plain_csv(first) or path.suffix.lower() == ".csv":
        return "csv"
    if path.suffix.lower() == ".txt":
        return "smi"
    columns = ", ".join(c.strip() for c in first.replace("\t", ",").split(",")[:12] if c.strip())
    raise GazeError(f"{path}: unknown gaze format (expected {KNOWN}); its first line has: {columns or 'nothing'}; "
                    "another CSV can be read with --columns time=...,x=...,y=...")


def _folder_format(path: Path) -> str:
    if pupil.is_neon(path) or pupil.core_export(path) is not None:
        return "pupil"
    if any(path.glob("*.txt")):
        return "smi"
    if _export_files(path) or _recordings(path):
        return "folder"
    return "annotation"


def _is_smi(head: str) -> bool:
    lines = head.splitlines()[:60]
    return any(line.startswith("Time\t") and "POR" in line for line in lines) or \
        bool(lines) and lines[0].startswith("## [")


def _is_pupil_table(first: str) -> bool:
    low = first.lower()
    return ("timestamp [ns]" in low and "gaze x [px]" in low) or ("gaze_timestamp" in low and "norm_pos_x" in low)


def _is_plain_csv(first: str) -> bool:
    names = {c.strip().lower() for c in first.split(sniff_delimiter(first))}
    return {"x", "y"} <= names and bool({"frame", "time_s"} & names)


def _export_files(folder: Path) -> list[Path]:
    from ..files import natural_key

    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES
                   and not p.name.startswith(".")), key=natural_key)


def _recordings(folder: Path) -> list[Path]:
    from ..files import natural_key

    return sorted((p for p in folder.iterdir() if p.is_dir() and (pupil.is_neon(p) or pupil.core_export(p))),
                  key=natural_key)


# --------------------------------------------------------------------------- reading


def load_gaze(path: str | os.PathLike, size: tuple[int, int], n_frames: int, fps: float = 30.0,
              screen: ScreenGeometry = ScreenGeometry(), options: GazeOptions | None = None) -> GazeData:
    """Any supported gaze input, chosen by what `path` is; `options` say how to read it."""
    options = options or GazeOptions()
    check_options(options)
    gaze = _read(Path(path), size, n_frames, fps, screen, options)
    return keep_participants(gaze, options.participants)


def _read(path: Path, size, n_frames, fps, screen: ScreenGeometry, options: GazeOptions) -> GazeData:
    kind = gaze_format(path, options)
    screen_px = tuple(options.screen_px or (screen.width, screen.height))
    if kind in ("smi", "csv", "annotation"):
        gaze = _read_classic(kind, path, size, n_frames, fps, screen)
        gaze.warnings += _unused_options(path, kind, options)
        return gaze
    if kind == "folder":
        inputs = _export_files(path) or _recordings(path)
        return _merge(inputs, size, n_frames, fps, screen, dataclasses.replace(options, participants=None))
    if kind == "pupil" and path.is_file():
        path = path.parent          # gaze.csv or gaze_positions.csv: its recording folder
    readers = {
        "tobii": lambda: tobii.read_tracks(path, size, n_frames, fps, options),
        "eyelink": lambda: eyelink.read_tracks(path, size, n_frames, fps, options, screen_px),
        "gazepoint": lambda: gazepoint.read_tracks(path, size, n_frames, fps, options, screen_px),
        "mapped": lambda: mapped_csv.read_tracks(path, size, n_frames, fps, options, screen_px),
        "pupil": lambda: pupil.read_tracks(path, size, n_frames, fps, options),
    }
    return assemble(readers[kind](), size, n_frames, fps, options)


def _read_classic(kind: str, path: Path, size, n_frames, fps, screen) -> GazeData:
    if kind == "smi":
        return read_smi(sorted(path.glob("*.txt")) if path.is_dir() else [path], size, n_frames, fps, screen)
    if kind == "csv":
        return read_csv(path, size, n_frames, fps)
    return read_annotation_folder(path, size, fps)


def _unused_options(path: Path, kind: str, options: GazeOptions) -> list[str]:
    """A warning for settings a classic format does not read (SMI, the plain CSV, annotations)."""
    unused = [name for name, value in (("--offset-ms", options.offset_ms), ("--video-rect", options.video_rect),
                                       ("--detect", options.detect), ("--start-message", options.start_message),
                                       ("--stimulus", options.stimulus))
              if value]
    if not unused:
        return []
    return [f"{path}: {', '.join(unused)} do{'es' if len(unused) == 1 else ''} not apply to a "
            f"{FORMAT_NAMES[kind]}: ignored"]


def keep_participants(gaze: GazeData, participants) -> GazeData:
    """Only the named observers (all when `participants` is None); an unknown name is an error."""
    if participants is None or gaze.observers == list(participants):
        return gaze
    missing = [p for p in participants if p not in gaze.observers]
    if missing:
        raise GazeError(f"{gaze.source}: no participant {', '.join(missing)}; it has: "
                        f"{', '.join(gaze.observers) or 'no named observers'}")
    names = [n for n in gaze.observers if n in participants]
    remap = np.full(len(gaze.observers) + 1, -1, dtype=np.int64)
    for new, name in enumerate(names):
        remap[gaze.observers.index(name)] = new
    observer = remap[gaze.observer]
    keep = observer >= 0
    events = None
    if gaze.events is not None:
        e = gaze.events
        mine = remap[e.observer] >= 0
        events = FixationEvents(remap[e.observer][mine], e.start_s[mine], e.duration_s[mine], e.x[mine], e.y[mine],
                                method=e.method)
    out = GazeData(gaze.frame[keep], gaze.x[keep], gaze.y[keep], observer[keep], names, gaze.n_frames, gaze.size,
                   gaze.clock, gaze.source, gaze.skipped, events, list(gaze.warnings))
    out.outside, out.outside_frames = gaze.outside, gaze.outside_frames
    return out


def load_gaze_files(paths, size: tuple[int, int], n_frames: int, fps: float = 30.0,
                    screen: ScreenGeometry = ScreenGeometry(), options: GazeOptions | None = None) -> GazeData:
    """Several gaze inputs (as a shell glob gives them) merged into one recording.

    SMI exports are one file per observer and are read together; any other mix is read input
    by input, an input's unnamed observer taking the input's file name. A path given twice
    counts once.
    """
    options = options or GazeOptions()
    check_options(options)
    paths = list(dict.fromkeys(Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)))
    if not paths:
        raise GazeError("no gaze input given")
    if len(paths) == 1:
        return load_gaze(paths[0], size, n_frames, fps, screen, options)
    for path in paths:
        if not path.exists():
            raise GazeError(f"{path}: no such file or folder")
    if all(p.is_file() and p.suffix.lower() == ".txt" for p in paths) and \
            all(gaze_format(p, options) == "smi" for p in paths):
        gaze = read_smi(paths, size, n_frames, fps, screen)
        gaze.warnings += _unused_options(paths[0].parent, "smi", options)
    else:
        gaze = _merge(paths, size, n_frames, fps, screen, dataclasses.replace(options, participants=None))
    return keep_participants(gaze, options.participants)


def _merge(paths: list[Path], size, n_frames, fps, screen, options: GazeOptions) -> GazeData:
    parts = [_read(p, size, n_frames, fps, screen, options) for p in paths]
    names: list[str] = []

    def observer_index(name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    observer, remaps = [], []
    for path, part in zip(paths, parts):
        own = [observer_index(name) for name in part.observers]
        unnamed = observer_index(path.stem) if (part.observer < 0).any() else -1
        remap = np.array(own + [unnamed], dtype=np.int64)
        observer.append(remap[part.observer])   # an unnamed sample's -1 picks the last entry
        remaps.append(remap)
    events = (FixationEvents.concatenate([p.events for p in parts], remaps)
              if all(p.events is not None for p in parts) else None)
    merged = GazeData(np.concatenate([p.frame for p in parts]), np.concatenate([p.x for p in parts]),
                      np.concatenate([p.y for p in parts]), np.concatenate(observer), names, n_frames, size, fps,
                      ", ".join(map(str, paths)), sum(p.skipped for p in parts), events,
                      [w for p in parts for w in p.warnings])
    merged.outside = sum(p.outside for p in parts)
    merged.outside_frames = sum(p.outside_frames for p in parts)
    return merged


# --------------------------------------------------------------------------- inspection


def inspect_gaze(path: str | os.PathLike, options: GazeOptions | None = None,
                 screen: ScreenGeometry = ScreenGeometry()) -> GazeInspection:
    """What `path` holds (format, participants, stimuli, start events or messages, the video's
    rectangle it implies, sample counts), read once, before any import."""
    path = Path(path)
    options = options or GazeOptions()
    check_options(options)
    kind = gaze_format(path, options)
    screen_px = tuple(options.screen_px or (screen.width, screen.height))
    if kind == "tobii":
        return tobii.inspect(path, options)
    if kind == "eyelink":
        return eyelink.inspect(path, options, screen_px)
    if kind == "gazepoint":
        return gazepoint.inspect(path, options, screen_px)
    if kind == "mapped":
        return mapped_csv.inspect(path, options)
    if kind == "pupil":
        return pupil.inspect(path if path.is_dir() else path.parent, options)
    if kind == "folder":
        return _inspect_folder(path, options, screen)
    if kind == "smi":
        return _inspect_smi(path)
    if kind == "csv":
        return _inspect_csv(path)
    return GazeInspection(str(path), FORMAT_NAMES["annotation"],
                          notes=["observers unknown: the fixation maps merge them"])


def _inspect_folder(path: Path, options: GazeOptions, screen: ScreenGeometry) -> GazeInspection:
    inputs = _export_files(path) or _recordings(path)
    parts = [inspect_gaze(p, dataclasses.replace(options, participants=None), screen) for p in inputs]
    kinds = list(dict.fromkeys(p.format for p in parts))
    found = GazeInspection(str(path), f"{' + '.join(kinds)} ({len(parts)} inputs)",
                           has_events=all(p.has_events for p in parts))
    for part in parts:
        found.participants += [n for n in part.participants if n not in found.participants]
        found.stimuli += [s for s in part.stimuli if s not in found.stimuli]
        for field in ("start_events", "messages", "notes"):
            getattr(found, field).extend(x for x in getattr(part, field) if x not in getattr(found, field))
        for field in ("starts", "sample_counts", "fixation_counts"):
            getattr(found, field).update(getattr(part, field))
        found.stimulus = found.stimulus or part.stimulus
        found.video_rect = found.video_rect or part.video_rect
        found.screen = found.screen or part.screen
    return found


def _inspect_smi(path: Path) -> GazeInspection:
    from .smi import _read_smi_file

    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    found = GazeInspection(str(path), FORMAT_NAMES["smi"], has_events=True)
    for file in files:
        name = file.stem.split("_")[0]
        t, *_ = _read_smi_file(file)
        found.participants.append(name)
        found.fixation_counts[name] = len(t)
        found.sample_counts[name] = sum(1 for line in file.read_text(encoding="latin-1").splitlines()
                                        if line[:1].isdigit())
    found.start_events = ["first sample"]
    return found


def _inspect_csv(path: Path) -> GazeInspection:
    table = PlainTable.open(path, required=False)
    fields = table.fields
    counts: dict[str, int] = {}
    for row in table.reader:
        name = (row.get(fields["observer"]) or "").strip() if "observer" in fields else ""
        counts[name or path.stem] = counts.get(name or path.stem, 0) + 1
    found = GazeInspection(str(path), FORMAT_NAMES["csv"], list(counts), sample_counts=counts,
                           fixation_counts=dict(counts))
    method = next((line[len("# fixations:"):].strip() for line in table.comments[:5]
                   if line.startswith("# fixations:")), "")
    if method:
        found.notes.append(f"fixations: {method}")
    return found
