"""`GazeOptions`: every setting of a gaze import, and the parsers of their text forms.

One object travels from the command line (`salfom ... --stimulus ... --video-rect ...`) or the
app's import dialog to `load_gaze`; each reader uses the fields that apply to its format and
ignores the rest. The defaults read every shared export as it is.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ...errors import ConfigError

TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
COORDS = ("px", "norm")
DETECTORS = ("ivt", "idt", "none")
COLUMN_KEYS = ("time", "frame", "x", "y", "observer", "fixation", "stimulus")


@dataclass(frozen=True)
class GazeOptions:
    """How to read a gaze export. None means "what the file says, else the stated default"."""

    stimulus: str | None = None             # Tobii `Presented Media name`, EyeLink VFRAME video, Gazepoint media
    participants: tuple[str, ...] | None = None   # observers to keep; None: all of them
    start_message: str | None = None        # regex of the message/event at the video's first frame
    offset_ms: float = 0.0                  # added to every sample's time: positive moves gaze to later frames
    video_rect: tuple[float, float, float, float] | None = None   # X, Y, W, H of the video in the file's pixels
    columns: dict[str, str] | None = None   # mapped CSV: {"time": ..., "x": ..., "y": ..., "observer": ...}
    time_unit: str | None = None            # mapped CSV: s, ms, us, ns (None: the header's unit, else a guess)
    coords: str | None = None               # mapped CSV: px or norm (None: norm when all lie in 0..1)
    min_confidence: float | None = None     # Pupil Core: samples below are dropped (None: 0.6)
    detect: str | None = None               # ivt, idt, none (every row a fixation sample); None: the file's, else ivt
    velocity_threshold: float | None = None     # I-VT: deg/s with screen_mm and distance_mm, else px/s
    dispersion_threshold: float | None = None   # I-DT: deg, else px
    min_fixation_ms: float | None = None        # shorter detected fixations are dropped (None: 60 I-VT, 100 I-DT)
    screen_mm: tuple[float, float] | None = None    # the screen's visible width and height in mm
    distance_mm: float | None = None                # eye to screen
    screen_px: tuple[int, int] | None = None        # the screen in pixels where the file does not say it
    video_name: str | None = None           # the video's file name: picks the stimulus of that name


def check_options(o: GazeOptions) -> None:
    """A ConfigError naming the first invalid setting (`load_gaze` checks before it reads; an
    editor such as the import dialog may hold invalid settings meanwhile)."""
    if o.participants is not None and len(o.participants) == 0:
        raise ConfigError("no participant chosen: choose at least one (or all)")
    if o.time_unit is not None and o.time_unit not in TIME_UNITS:
        raise ConfigError(f"time unit {o.time_unit!r}: expected one of {', '.join(TIME_UNITS)}")
    if o.coords is not None and o.coords not in COORDS:
        raise ConfigError(f"coordinates {o.coords!r}: expected px or norm")
    if o.detect is not None and o.detect not in DETECTORS:
        raise ConfigError(f"fixation detector {o.detect!r}: expected ivt, idt or none")
    if not math.isfinite(o.offset_ms):
        raise ConfigError(f"offset {o.offset_ms} ms: expected a number of milliseconds")
    if o.video_rect is not None and (len(o.video_rect) != 4 or not (o.video_rect[2] > 0 and o.video_rect[3] > 0)):
        raise ConfigError(f"video rectangle {o.video_rect}: expected X,Y,W,H with W and H above 0")
    for name in ("velocity_threshold", "dispersion_threshold", "min_fixation_ms", "distance_mm"):
        value = getattr(o, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name.replace('_', ' ')} {value}: expected a number above 0")
    if o.min_confidence is not None and not 0 <= o.min_confidence <= 1:
        raise ConfigError(f"minimum confidence {o.min_confidence}: expected a number from 0 to 1")
    if o.screen_mm is not None and (len(o.screen_mm) != 2 or min(o.screen_mm) <= 0):
        raise ConfigError(f"screen size {o.screen_mm} mm: expected width and height above 0")
    if o.columns is not None:
        unknown = set(o.columns) - set(COLUMN_KEYS)
        if unknown:
            raise ConfigError(f"column mapping: unknown keys {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(COLUMN_KEYS)}")
        if not {"x", "y"} <= set(o.columns) or not ({"time", "frame"} & set(o.columns)):
            raise ConfigError("column mapping: give x=, y= and time= (or frame=)")
    if o.start_message:
        try:
            re.compile(o.start_message)
        except re.error as exc:
            raise ConfigError(f"start message {o.start_message!r}: not a regular expression ({exc})") from None


# --------------------------------------------------------------------------- text forms


def parse_rect(text: str) -> tuple[float, float, float, float]:
    """`X,Y,W,H` in pixels."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise ConfigError(f"--video-rect {text!r}: expected X,Y,W,H in pixels with W and H above 0 "
                          "(e.g. 0,45,1440,810)")
    return values


def parse_columns(text: str) -> dict[str, str]:
    """`time=t,x=gx,y=gy,observer=subject`: the file's column for each role."""
    mapping = {}
    for part in text.split(","):
        key, sep, column = part.partition("=")
        if not sep or not key.strip() or not column.strip():
            raise ConfigError(f"--columns {text!r}: expected ROLE=COLUMN pairs separated by commas "
                              f"(roles: {', '.join(COLUMN_KEYS)})")
        mapping[key.strip().lower()] = column.strip()
    return mapping


def parse_mm(text: str) -> tuple[float, float]:
    """`WxH` in millimetres."""
    parts = text.lower().replace("mm", "").split("x")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ConfigError(f"--screen-mm {text!r}: expected WIDTHxHEIGHT in millimetres (e.g. 531x299)")
    return values


def parse_participants(text: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    if not names:
        raise ConfigError(f"--participants {text!r}: expected names separated by commas")
    return names
