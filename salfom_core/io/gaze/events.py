"""Fixation detection for gaze without the tracker's own fixations: I-VT and I-DT.

Both follow Salvucci & Goldberg (2000), "Identifying fixations and saccades in eye-tracking
protocols". Defaults (stated in every converted CSV's `# fixations:` line):

- I-VT: a sample is a fixation sample when its point-to-point velocity (from the previous
  sample; the first of a stretch from the next) is below 30 deg/s, the threshold of Tobii's
  I-VT filter (Olsen 2012); consecutive fixation samples make a fixation, kept when it lasts
  60 ms or more (Tobii's "discard short fixations").
- I-DT: a window of at least 100 ms whose dispersion (max x - min x) + (max y - min y) is at most
  1.0 degree is a fixation, grown while the dispersion stays within the threshold
  (Salvucci & Goldberg's suggested 1 degree and 100 ms).
- Degrees need the screen's size in mm, its size in pixels and the viewing distance; without
  them the thresholds are in the tracker's pixels (screen pixels, or the scene camera's):
  1000 px/s and 35 px, about 30 deg/s and 1 degree on a 53 cm wide, 1920 px screen seen from
  65 cm.
- Missing samples (NaN) and gaps over 75 ms between samples end a fixation.

A fixation's duration is its last sample's time minus its first's plus the median sample
interval (the last sample lasts one interval); its position is the mean of its samples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULTS = {"ivt": {"deg": 30.0, "px": 1000.0, "min_ms": 60.0},
            "idt": {"deg": 1.0, "px": 35.0, "min_ms": 100.0}}
MAX_GAP_S = 0.075


@dataclass(frozen=True)
class Detector:
    """A detector with its thresholds resolved; `description` states them."""

    kind: str                   # "ivt" or "idt"
    threshold: float            # deg/s or px/s (I-VT), deg or px (I-DT)
    px_per_unit: float          # tracker pixels per degree, or 1 for pixels
    min_duration_s: float
    description: str
    max_gap_s: float = MAX_GAP_S

    @classmethod
    def make(cls, kind: str, options, px_per_deg: float | None, screen=None, screen_mm=None,
             distance_mm=None) -> "Detector":
        defaults = DEFAULTS[kind]
        given = options.velocity_threshold if kind == "ivt" else options.dispersion_threshold
        in_deg = px_per_deg is not None
        threshold = given if given is not None else defaults["deg" if in_deg else "px"]
        min_ms = options.min_fixation_ms if options.min_fixation_ms is not None else defaults["min_ms"]
        unit = ("deg" if in_deg else "px") + ("/s" if kind == "ivt" else "")
        where = (f"screen {screen_mm[0]:g}x{screen_mm[1]:g} mm = {screen[0]:g}x{screen[1]:g} px at {distance_mm:g} mm"
                 if in_deg else "tracker pixels")
        what = "velocity below" if kind == "ivt" else "dispersion at most"
        description = (f"{'I-VT' if kind == 'ivt' else 'I-DT'}: {what} {threshold:g} {unit} ({where}), "
                       f"fixations of {min_ms:g} ms or more, split at gaps over {MAX_GAP_S * 1000:g} ms")
        return cls(kind, float(threshold), float(px_per_deg or 1.0), min_ms / 1000, description)

    def run(self, t: np.ndarray, x: np.ndarray, y: np.ndarray, scale: float = 1.0):
        """(per-sample fixation labels, events) of one observer's samples in time order.

        `x`, `y` in video pixels; `scale` tracker pixels per video pixel (thresholds are in
        tracker pixels or degrees)."""
        limit = self.threshold * self.px_per_unit / scale       # in video pixels (per second)
        if self.kind == "ivt":
            return ivt(t, x, y, limit, self.min_duration_s, self.max_gap_s)
        return idt(t, x, y, limit, self.min_duration_s, self.max_gap_s)


def stretches(t: np.ndarray, x: np.ndarray, y: np.ndarray, max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """An id per sample that changes at every missing sample and every gap over `max_gap_s`
    (missing samples get -1): fixations never span a change."""
    valid = np.isfinite(x) & np.isfinite(y) & np.isfinite(t)
    new = np.ones(len(t), dtype=bool)
    if len(t) > 1:
        new[1:] = ~valid[:-1] | (np.diff(t) > max_gap_s)
    ids = np.cumsum(new) - 1
    return np.where(valid, ids, -1)


def label_runs(t, labels, x, y, stretch: np.ndarray | None = None):
    """Maximal runs of consecutive labelled samples as events (start_s, duration_s, mean x, mean y)."""
    t, x, y = (np.asarray(a, dtype=np.float64) for a in (t, x, y))
    labels = np.asarray(labels, dtype=bool) & np.isfinite(x) & np.isfinite(y)
    starts, ends = _runs(labels, stretch if stretch is not None else stretches(t, x, y, np.inf))
    return _events(t, x, y, starts, ends)


def _runs(labels: np.ndarray, stretch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First index and one-past-last index of each run of labelled samples within one stretch."""
    if not labels.any():
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    begins = labels.copy()
    begins[1:] &= ~labels[:-1] | (stretch[1:] != stretch[:-1])
    finishes = labels.copy()
    finishes[:-1] &= ~labels[1:] | (stretch[1:] != stretch[:-1])
    return np.flatnonzero(begins), np.flatnonzero(finishes) + 1


def _interval(t: np.ndarray) -> float:
    steps = np.diff(t)
    steps = steps[np.isfinite(steps) & (steps > 0)]
    return float(np.median(steps)) if len(steps) else 0.0


def _events(t, x, y, starts, ends):
    if len(starts) == 0:
        return (np.empty(0),) * 4
    step = _interval(t)
    # missing samples are never inside a run, but a NaN would poison every later sum
    sums_x = np.concatenate([[0], np.cumsum(np.nan_to_num(x))])
    sums_y = np.concatenate([[0], np.cumsum(np.nan_to_num(y))])
    n = ends - starts
    return (t[starts], t[ends - 1] - t[starts] + step, (sums_x[ends] - sums_x[starts]) / n,
            (sums_y[ends] - sums_y[starts]) / n)


def _keep_long(t, starts, ends, min_duration_s, n):
    """Runs lasting at least `min_duration_s`, and the per-sample labels of those runs."""
    step = _interval(t)
    long = (t[ends - 1] - t[starts] + step) >= min_duration_s - 1e-9
    starts, ends = starts[long], ends[long]
    labels = np.zeros(n, dtype=bool)
    if len(starts):
        marks = np.zeros(n + 1, dtype=np.int64)
        np.add.at(marks, starts, 1)
        np.add.at(marks, ends, -1)
        labels = np.cumsum(marks[:-1]) > 0
    return starts, ends, labels


def ivt(t, x, y, velocity_limit: float, min_duration_s: float, max_gap_s: float = MAX_GAP_S):
    """Velocity-threshold identification; `velocity_limit` in the coordinates' units per second."""
    t, x, y = (np.asarray(a, dtype=np.float64) for a in (t, x, y))
    stretch = stretches(t, x, y, max_gap_s)
    n = len(t)
    speed = np.full(n, np.inf)
    if n > 1:
        dt = np.diff(t)
        step = np.hypot(np.diff(x), np.diff(y)) / np.where(dt > 0, dt, np.nan)
        same = (stretch[1:] == stretch[:-1]) & (stretch[1:] >= 0)
        back = np.where(same, step, np.nan)               # velocity of sample i from sample i - 1
        speed[1:] = np.where(np.isfinite(back), back, np.inf)
        # the first sample of a stretch takes its velocity to the next sample
        first = np.concatenate([[True], ~same])
        forward = np.concatenate([np.where(same, step, np.inf), [np.inf]])
        speed = np.where(first, forward, speed)
    below = (speed < velocity_limit) & (stretch >= 0)
    starts, ends = _runs(below, stretch)
    starts, ends, labels = _keep_long(t, starts, ends, min_duration_s, n)
    return labels, _events(t, x, y, starts, ends)


def idt(t, x, y, dispersion_limit: float, min_duration_s: float, max_gap_s: float = MAX_GAP_S):
    """Dispersion-threshold identification; `dispersion_limit` in the coordinates' units."""
    t, x, y = (np.asarray(a, dtype=np.float64) for a in (t, x, y))
    stretch = stretches(t, x, y, max_gap_s)
    n = len(t)
    step = _interval(t)
    # window i..window_end[i]-1 is the shortest that lasts min_duration_s (its last sample lasting `step`)
    window_end = np.searchsorted(t, t + min_duration_s - step - 1e-9, side="left") + 1
    xl, yl, sl = x.tolist(), y.tolist(), stretch.tolist()
    starts, ends = [], []
    i = 0
    while i < n:
        j = int(window_end[i])
        if sl[i] < 0 or j > n or sl[j - 1] != sl[i]:
            i += 1
            continue
        wx, wy = xl[i:j], yl[i:j]
        lo_x, hi_x, lo_y, hi_y = min(wx), max(wx), min(wy), max(wy)
        if (hi_x - lo_x) + (hi_y - lo_y) > dispersion_limit:
            i += 1
            continue
        # grow the window while the dispersion stays within the limit
        while j < n and sl[j] == sl[i]:
            nx, ny = xl[j], yl[j]
            a, b, c, d = min(lo_x, nx), max(hi_x, nx), min(lo_y, ny), max(hi_y, ny)
            if (b - a) + (d - c) > dispersion_limit:
                break
            lo_x, hi_x, lo_y, hi_y = a, b, c, d
            j += 1
        starts.append(i), ends.append(j)
        i = j
    starts, ends = np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
    labels = np.zeros(n, dtype=bool)
    for a, b in zip(starts, ends):
        labels[a:b] = True
    return labels, _events(t, x, y, starts, ends)
