"""SR Research EyeLink ASC (edf2asc): one file per participant, screen pixels, millisecond clock.

Read: monocular and binocular sample lines (`<ms> <x> <y> <pupil> ...`, binocular `<ms> <xl> <yl>
<pl> <xr> <yr> <pr> ...`; the mean of the eyes that have a value), `.` for a missing value,
`MSG <ms> DISPLAY_COORDS l t r b` (inclusive: the screen's size), `MSG <ms> !V VFRAME <n> <left>
<top> <video>` (one per shown frame, n 1-based), `MSG <ms> <offset> <text>` (the event happened
at ms - offset), `EFIX <eye> <start> <end> <dur> <x> <y> ...` fixation events.

Frame rule, with VFRAME messages: a sample belongs to the frame of the last VFRAME at or before
it (frame n - 1); samples before frame 1, or after the last frame's end (its VFRAME plus the
mean frame interval), or more than 3 frame intervals after their VFRAME (between showings), are
left out. With `--start-message REGEX` instead: time t from the first matching message, frame
floor(fps t); a regex with a group capturing digits (`Video_Frame: (\\d+)`) reads every matching
message as a frame message (numbers 1-based, unless a 0 occurs). The fixation samples are those
inside an `EFIX` interval (start and end inclusive); binocular: inside one of every eye that has
a value at that sample.

The video's rectangle on the screen: `--video-rect`, else the VFRAME corner with the video
centred (W = screen width - 2 left, H = screen height - 2 top), else the video fitted to the
screen; a warning when its aspect differs from the video's by more than 1 %.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import GazeError
from ..frame_clock import as_clock
from .inspection import GazeInspection, message_kinds
from .options import GazeOptions
from .text import read_lines
from .tracks import Track, TrackSet, VideoRect, aspect_warning, choose_stimulus, fit_rect, frame_at

FORMAT = "EyeLink ASC"
VFRAME = re.compile(r"^!V\s+VFRAME\s+(-?\d+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(.+?)\s*$")
MAX_FRAME_GAP = 3           # frame intervals after its VFRAME beyond which a sample is between showings


def is_asc(head: str) -> bool:
    lines = head.splitlines()[:400]
    return any(line.startswith("** CONVERTED FROM") for line in lines[:5]) or sum(
        1 for line in lines if line.startswith(("MSG\t", "MSG ", "START\t", "SAMPLES\t", "EFIX ", "SFIX "))) >= 2


@dataclass
class AscFile:
    """The parts of an ASC file the import uses."""

    path: Path
    t: np.ndarray                      # sample times, ms
    xy: np.ndarray                     # (n, 4): xl, yl, xr, yr (NaN: missing or not recorded)
    messages: list[tuple[float, str]]  # (event time ms, text), offsets applied
    fixations: dict[str, list[tuple[float, float, float, float, float]]]   # eye -> (start, end, dur, x, y)
    screen: tuple[float, float] | None
    screen_origin: tuple[float, float] = (0.0, 0.0)
    eyes: set[str] = field(default_factory=set)
    skipped: int = 0
    ended: bool = True                 # every START has its END


def read_asc(path) -> AscFile:
    path = Path(path)
    if path.suffix.lower() == ".edf":
        raise GazeError(f"{path}: a binary EyeLink EDF file: convert it to ASC with SR Research's edf2asc first")
    lines, reader = read_lines(path, fallback="latin-1")
    times, values, messages, skipped = [], [], [], 0
    fixations: dict[str, list] = {"L": [], "R": []}
    eyes, binocular, screen, origin, open_blocks = set(), False, None, (0.0, 0.0), 0
    for line in lines:
        if not line:
            continue
        head = line[0]
        if head.isdigit():
            parts = line.split()
            try:
                sample = float(parts[0]), _sample(parts, binocular, eyes)
            except (ValueError, IndexError):
                skipped += 1
                continue
            times.append(sample[0])
            values.append(sample[1])
            continue
        if line.startswith("MSG"):
            parsed = _message(line)
            if parsed is None:
                skipped += 1
                continue
            messages.append(parsed)
            if parsed[1].startswith(("DISPLAY_COORDS", "GAZE_COORDS")) and (screen is None or "DISPLAY" in parsed[1]):
                corners = [float(v) for v in parsed[1].split()[1:5]]
                screen, origin = (corners[2] - corners[0] + 1, corners[3] - corners[1] + 1), (corners[0], corners[1])
        elif line.startswith("EFIX"):
            parts = line.split()
            try:
                fixations.setdefault(parts[1], []).append(
                    (float(parts[2]), float(parts[3]), float(parts[4]), _value(parts[5]), _value(parts[6])))
            except (ValueError, IndexError):
                skipped += 1
        elif line.startswith(("SAMPLES", "START")):
            words = line.split()
            if line.startswith("START"):
                open_blocks += 1
            if "LEFT" in words or "RIGHT" in words:
                recorded = {w[0] for w in words if w in ("LEFT", "RIGHT")}
                binocular = len(recorded) == 2
                eyes = recorded
        elif line.startswith("END"):
            open_blocks -= 1
    ended = open_blocks <= 0
    if not reader.complete:
        # edf2asc ends every line: a last line without its end is where a copy or a conversion stopped
        raise GazeError(f"{path}: the file is cut at line {reader.count} ({reader.last[:40]!r} has no line end"
                        f"{'' if ended else ', and the recording no END'}): convert the EDF again")
    if not times:
        raise GazeError(f"{path}: no sample lines (an ASC converted with edf2asc -ne, or not an ASC file)")
    xy = np.array(values, dtype=np.float64).reshape(-1, 4)
    return AscFile(path, np.array(times), xy, messages, fixations, screen, origin, eyes, skipped, ended)


def _value(text: str) -> float:
    return float("nan") if text in (".", "MISSING", "NaN", "nan") else float(text)


def _sample(parts: list[str], binocular: bool, eyes: set[str]) -> tuple[float, float, float, float]:
    if binocular:
        return _value(parts[1]), _value(parts[2]), _value(parts[4]), _value(parts[5])
    x, y = _value(parts[1]), _value(parts[2])
    return (float("nan"), float("nan"), x, y) if eyes == {"R"} else (x, y, float("nan"), float("nan"))


def _message(line: str) -> tuple[float, str] | None:
    """(time of the event, text): `MSG <t> <offset> <text>` means the event was at t - offset."""
    parts = line.split(None, 3)
    if len(parts) < 3:
        return None
    try:
        t = float(parts[1])
    except ValueError:
        return None
    if len(parts) == 4 and re.fullmatch(r"-?\d+", parts[2]):
        return t - float(parts[2]), parts[3].strip()
    return t, " ".join(parts[2:]).strip()


# --------------------------------------------------------------------------- alignment


@dataclass
class Alignment:
    """Frame markers (event time ms, 0-based frame) or one start time; and the VFRAME corner."""

    frame_times: np.ndarray | None
    frame_numbers: np.ndarray | None
    start_ms: float
    corner: tuple[float, float] | None
    described: str


def video_names(asc: AscFile) -> list[str]:
    return list(dict.fromkeys(m.group(4) for _, text in asc.messages if (m := VFRAME.match(text))))


def align(asc: AscFile, options: GazeOptions, fps: float) -> Alignment:
    source = asc.path
    if options.start_message:
        pattern = re.compile(options.start_message)
        hits = [(t, m) for t, text in asc.messages if (m := pattern.search(text))]
        if not hits:
            raise GazeError(f"{source}: no message matches {options.start_message!r}; messages found: "
                            f"{', '.join(message_kinds([t for _, t in asc.messages], 8)) or 'none'}")
        numbered = [(t, m.group(1)) for t, m in hits if m.groups() and m.group(1) and m.group(1).isdigit()]
        if numbered:
            times = np.array([t for t, _ in numbered])
            numbers = np.array([int(n) for _, n in numbered])
            zero_based = numbers.min() == 0
            return Alignment(times, numbers - (0 if zero_based else 1), times[0], None,
                             f"frame messages matching {options.start_message!r}")
        return Alignment(None, None, hits[0][0], None, f"message {hits[0][1].string!r}")
    frames = [(t, m) for t, text in asc.messages if (m := VFRAME.match(text))]
    if not frames:
        raise GazeError(f"{source}: no '!V VFRAME' messages: give the message at the video's first frame with "
                        f"--start-message REGEX; messages found: "
                        f"{', '.join(message_kinds([t for _, t in asc.messages], 8)) or 'none'}")
    stimulus = choose_stimulus(source, [m.group(4) for _, m in frames], options, "VFRAME messages")
    frames = [(t, m) for t, m in frames if m.group(4) == stimulus]
    times = np.array([t for t, _ in frames])
    numbers = np.array([int(m.group(1)) for _, m in frames]) - 1
    corner = (float(frames[0][1].group(2)), float(frames[0][1].group(3)))
    return Alignment(times, numbers, float(times[0]), corner, f"VFRAME messages of {stimulus}")


def video_rect(asc: AscFile, alignment: Alignment, options: GazeOptions, screen_px, size) -> tuple[VideoRect, str]:
    """The video on the screen, and where that came from."""
    if options.video_rect:
        return VideoRect.of(options.video_rect), "--video-rect"
    screen = asc.screen or screen_px
    if alignment.corner is not None:
        left, top = alignment.corner[0] - asc.screen_origin[0], alignment.corner[1] - asc.screen_origin[1]
        w, h = screen[0] - 2 * left, screen[1] - 2 * top
        if w > 0 and h > 0:
            return VideoRect(alignment.corner[0], alignment.corner[1], w, h), "VFRAME corner, centred"
    rect = fit_rect(screen, size)
    return VideoRect(rect.x + asc.screen_origin[0], rect.y + asc.screen_origin[1], rect.w, rect.h), \
        "fitted to the screen"


def frames_of(t_ms: np.ndarray, alignment: Alignment, fps, offset_ms: float) -> np.ndarray:
    """0-based frame of each sample time (ms), -1 outside the video: by the frame messages, or by
    the video's clock (`fps`: a rate or a FrameClock) from a start message."""
    t_ms = t_ms + offset_ms
    if alignment.frame_times is None:
        return frame_at((t_ms - alignment.start_ms) / 1000, fps)
    order = np.argsort(alignment.frame_times, kind="stable")
    times, numbers = alignment.frame_times[order], alignment.frame_numbers[order]
    interval = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else 1000 / as_clock(fps).fps
    k = np.searchsorted(times, t_ms, side="right") - 1
    since = t_ms - times[np.maximum(k, 0)]
    limit = np.where(k == len(times) - 1, interval, MAX_FRAME_GAP * interval)
    inside = (k >= 0) & (since < limit)
    return np.where(inside, numbers[np.maximum(k, 0)], -1).astype(np.int64)


# --------------------------------------------------------------------------- tracks


def read_tracks(path, size, n_frames, fps, options: GazeOptions, screen_px=(1440, 900),
                asc: AscFile | None = None) -> TrackSet:
    asc = asc or read_asc(path)
    source = str(asc.path)
    alignment = align(asc, options, fps)
    rect, where = video_rect(asc, alignment, options, screen_px, size)
    warnings = [w for w in [aspect_warning(source, rect, size, where)] if w and not options.video_rect]
    if not asc.ended:
        warnings.append(f"{source}: a START without its END: the recording may be cut")
    sx, sy = _mean_of_eyes(asc.xy[:, 0], asc.xy[:, 2]), _mean_of_eyes(asc.xy[:, 1], asc.xy[:, 3])
    x, y = rect.to_video(sx, sy, size)
    frame = frames_of(asc.t, alignment, fps, options.offset_ms)
    start = alignment.start_ms - options.offset_ms
    t = (asc.t - start) / 1000
    eyes = [e for e in ("L", "R") if asc.fixations.get(e)]
    labels, events = None, None
    if eyes:
        labels = np.ones(len(t), dtype=bool)
        for eye, column in (("L", 0), ("R", 2)):
            has_value = np.isfinite(asc.xy[:, column])
            if eye in eyes:
                labels &= ~has_value | _inside_fixation(asc.t, asc.fixations[eye])
            elif has_value.any():
                labels &= ~has_value      # an eye with samples but no EFIX: never in a fixation
        labels &= np.isfinite(sx)
        main = max(eyes, key=lambda e: len(asc.fixations[e]))
        fix = np.array(asc.fixations[main], dtype=np.float64).reshape(-1, 5)
        ex, ey = rect.to_video(fix[:, 3], fix[:, 4], size)
        events = ((fix[:, 0] - start) / 1000, fix[:, 2] / 1000, ex, ey)
    name = asc.path.stem
    track = Track(name, t, x, y, frame, labels, events, rect.scale(size))
    return TrackSet([track], source, rect, asc.screen or tuple(screen_px), asc.skipped, warnings,
                    "file: EyeLink EFIX")


def _mean_of_eyes(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The mean of the eyes that have a value (NaN where neither has)."""
    count = np.isfinite(left).astype(np.int8) + np.isfinite(right)
    total = np.nan_to_num(left) + np.nan_to_num(right)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _inside_fixation(t: np.ndarray, fixations) -> np.ndarray:
    """Whether each sample time lies in an EFIX interval, start and end inclusive."""
    spans = np.array(sorted((f[0], f[1]) for f in fixations), dtype=np.float64).reshape(-1, 2)
    k = np.searchsorted(spans[:, 0], t, side="right") - 1
    return (k >= 0) & (t <= spans[np.maximum(k, 0), 1])


# --------------------------------------------------------------------------- inspection


def inspect(path, options: GazeOptions, screen_px=(1440, 900)) -> GazeInspection:
    asc = read_asc(path)
    names = video_names(asc)
    found = GazeInspection(str(path), FORMAT, [asc.path.stem], names, screen=asc.screen,
                           has_events=any(asc.fixations.values()))
    texts = [text for _, text in asc.messages]
    found.start_events = message_kinds([t for t in texts if VFRAME.match(t) or "START" in t.upper()], 20)
    found.messages = message_kinds(texts)
    name = asc.path.stem
    try:
        alignment = align(asc, options, 30.0)
        found.stimulus = choose_stimulus(str(path), names, options, "VFRAME messages") if names else None
        found.starts[name] = (alignment.start_ms - options.offset_ms) / 1000
        size = (16, 9)     # only the corner matters here: a centred video's rectangle
        rect, _ = video_rect(asc, alignment, options, screen_px, size)
        found.video_rect = (rect.x, rect.y, rect.w, rect.h)
    except GazeError as exc:
        found.starts[name] = None
        found.notes.append(str(exc))
    found.sample_counts[name] = len(asc.t)
    fixation_eyes = [e for e in ("L", "R") if asc.fixations.get(e)]
    found.fixation_counts[name] = int(sum(_inside_fixation(asc.t, asc.fixations[e]).sum() for e in fixation_eyes[:1]))
    if not asc.ended:
        found.notes.append("a START without its END: the recording may be cut")
    return found
