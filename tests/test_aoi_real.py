"""Real data: an AOI around the fly of DHF1K clip 0002, the 12 observers' SMI recordings and
TinyHD's maps. `salfom aoi`'s three tables must equal a computation written here from
AOI_SPEC.md and the data's README alone: the raw SMI text and the PNG files read with numpy,
nothing of salfom_core but the command under test."""
import csv
import json
import math

import cv2
import numpy as np
import pytest
from conftest import shared_path

from salfom_core import cli

W, H, N, FPS = 640, 360, 783, 30.0
SCALE, TOP = 640 / 1440, 45          # README: screen (xs, ys) -> video (a xs, a (ys - 45))
# the fly's box, by eye on the clip; off from frame 770 on (an inactive keyframe)
FLY = [(1, True, (270, 160, 350, 230)), (101, True, (285, 135, 360, 205)), (301, True, (280, 120, 335, 205)),
       (501, True, (255, 125, 355, 200)), (651, True, (295, 125, 380, 205)), (741, True, (275, 125, 365, 205)),
       (770, False, (275, 125, 365, 205))]


def fly_box(frame):
    """(x0, y0, x1, y1) at a 1-based frame, None where off (linear between active keyframes)."""
    before = [k for k in FLY if k[0] <= frame]
    if not before or not before[-1][1]:
        return None
    f_a, _, a = before[-1]
    after = [k for k in FLY if k[0] > frame]
    if not after or not after[0][1]:
        return a
    f_b, _, b = after[0]
    t = (frame - f_a) / (f_b - f_a)
    return tuple(va + t * (vb - va) for va, vb in zip(a, b))


def inside(box, x, y):
    x0, y0, x1, y1 = box
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def read_smi(path):
    """Every sample: seconds from the first sample, video x, y, and whether it is a fixation."""
    lines = path.read_text(encoding="latin-1").splitlines()
    head = lines[0].split("\t")
    col = {name: head.index(name) for name in ("Time", "L POR X [px]", "L POR Y [px]", "L Event Info")}
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    us = np.array([float(r[col["Time"]]) for r in rows])
    x = np.array([float(r[col["L POR X [px]"]]) for r in rows]) * SCALE
    y = (np.array([float(r[col["L POR Y [px]"]]) for r in rows]) - TOP) * SCALE
    fixation = np.array([r[col["L Event Info"]] == "Fixation" for r in rows])
    return (us - us[0]) / 1e6, x, y, fixation


def fixations(t, x, y, fixation):
    """Maximal runs of consecutive `Fixation` samples: (t0, duration, mean x, mean y)."""
    out, i, step = [], 0, np.median(np.diff(t))
    while i < len(t):
        if not fixation[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(t) and fixation[j + 1]:
            j += 1
        end = t[j + 1] if j + 1 < len(t) else t[j] + step
        out.append((t[i], end - t[i], x[i:j + 1].mean(), y[i:j + 1].mean()))
        i = j + 1
    return out


@pytest.fixture(scope="module")
def expected():
    root = shared_path("data", "dhf1k_0002")
    files = sorted((root / "gaze").glob("P*.txt"))
    assert len(files) == 12
    samples = {k: [] for k in range(N)}      # 0-based frame -> (x, y, observer) of its fixation samples
    per_observer = {}
    for o, path in enumerate(files):
        t, x, y, fixation = read_smi(path)
        ft = FPS * t
        k = np.floor(ft).astype(int)
        # the per-frame import (README): fixation samples in frame floor(30 t), inside the picture
        keep = fixation & (ft > k) & (k < N) & (x > 0) & (y > 0) & (x < W) & (y < H)
        for ki, xi, yi in zip(k[keep], x[keep], y[keep]):
            samples[ki].append((xi, yi, o))
        per_observer[path.stem.split("_")[0]] = fixations(t, x, y, fixation)
    # per frame: gaze and TinyHD
    frames = {}
    rows, cols = np.mgrid[1:H + 1, 1:W + 1]           # pixel [i, j] stands at (j + 1, i + 1)
    for f in range(1, N + 1):
        box = fly_box(f)
        if box is None:
            continue
        mask = inside(box, cols, rows)
        area = mask.sum() / (W * H)
        s = np.array(samples[f - 1]).reshape(-1, 3)
        hit = inside(box, s[:, 0], s[:, 1])
        share = hit.mean() if len(s) else math.nan
        m = cv2.imread(str(root / "maps_tinyhd" / f"{f:04d}.png"), cv2.IMREAD_GRAYSCALE).astype(np.float64)
        assert m.shape == (H, W)
        frames[f] = {"gaze": (share, share / area, len(set(s[hit, 2]))),
                     "maps_tinyhd": (m[mask].sum() / m.sum(), m[mask].sum() / m.sum() / area, None)}
    # per observer: fixations by the frame they start in
    observers = {}
    onset = 0.0                                      # the fly's first active frame is frame 1
    for name, fix in per_observer.items():
        kept = [(t0, d, x, y) for t0, d, x, y in fix if 1 <= math.floor(FPS * t0) + 1 <= N]
        hits = [fly_box(math.floor(FPS * t0) + 1) is not None and bool(inside(fly_box(math.floor(FPS * t0) + 1), x, y))
                for t0, d, x, y in kept]
        hit_fix = [k for k, h in zip(kept, hits) if h]
        visits, visit_ms, run_start = 0, 0.0, None
        for i, h in enumerate(hits + [False]):
            if h and run_start is None:
                run_start = i
            if not h and run_start is not None:
                last = kept[i - 1]
                visits += 1
                visit_ms += (last[0] + last[1] - kept[run_start][0]) * 1000
                run_start = None
        ttff = hit_fix[0][0] * 1000 if hit_fix else None
        observers[name] = {"ttff_ms": ttff, "ttff_from_onset_ms": None if ttff is None else ttff - onset,
                           "first_fixation_ms": hit_fix[0][1] * 1000 if hit_fix else None,
                           "fixations": len(hit_fix), "fixation_ms": sum(d for _, d, _, _ in hit_fix) * 1000,
                           "visits": visits, "visit_ms": visit_ms}
    return frames, observers


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = shared_path("data", "dhf1k_0002")
    tmp = tmp_path_factory.mktemp("aoi_real")
    aois = {"version": 1, "video": "0002.avi", "aois": [{"name": "fly", "color": "#e41a1c", "shape": "rect",
            "keyframes": [{"frame": f, "active": a, "vertices": [[b[0], b[1]], [b[2], b[3]]]} for f, a, b in FLY]}]}
    (tmp / "0002.aois.json").write_text(json.dumps(aois))
    code = cli.main(["aoi", str(root / "0002.avi"), "--aois", str(tmp / "0002.aois.json"), "--gaze", str(root / "gaze"),
                     "--pred", str(root / "maps_tinyhd"), "-o", str(tmp / "out"), "-q"])
    assert code == 0
    tables = {}
    for name in ("aoi_observers", "aoi_frames", "aoi_summary"):
        with open(tmp / "out" / f"{name}.csv", newline="") as fh:
            tables[name] = list(csv.DictReader(fh))
    return tables


def number(text):
    return None if text == "" else float(text)


def close(a, b, tol):
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return (a is None) and (b is None or math.isnan(b))
    return abs(a - b) <= tol * max(1.0, abs(b))


def close_ms(a, b):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-3)


def test_per_frame_figures_equal_the_spec_computed_from_the_raw_files(expected, report):
    frames, _ = expected
    rows = report["aoi_frames"]
    assert len(frames) == 769                                     # frames 1-769: off from 770
    assert [(int(r["frame"]), r["source"]) for r in rows] == \
        [(f, s) for f in sorted(frames) for s in ("gaze", "maps_tinyhd")]
    for r in rows:
        share, density, observers = frames[int(r["frame"])][r["source"]]
        assert close(number(r["share"]), share, 1e-9) and close(number(r["density"]), density, 1e-9), r
        assert (r["observers"] == "") if observers is None else int(r["observers"]) == observers, r


def test_per_observer_figures_equal_the_spec_computed_from_the_raw_files(expected, report):
    _, observers = expected
    rows = report["aoi_observers"]
    assert [r["observer"] for r in rows] == [f"P{i:02d}" for i in range(1, 13)]
    for r in rows:
        want = observers[r["observer"]]
        for column, value in want.items():
            # times are written to the microsecond (the SMI clock's tick); counts exactly
            assert close(number(r[column]), value, 0) if column in ("fixations", "visits") else \
                close_ms(number(r[column]), value), (r, column, value)
    hit = [o for o in observers.values() if o["fixations"]]
    assert 9 <= len(hit) <= 12           # the fly is what people watch: most of them fixate it


def test_summary_equals_the_spec_computed_from_the_raw_files(expected, report):
    frames, observers = expected
    gaze, tinyhd = report["aoi_summary"]
    assert (gaze["source"], tinyhd["source"]) == ("gaze", "maps_tinyhd")
    shares = [frames[f]["gaze"][0] for f in frames if not math.isnan(frames[f]["gaze"][0])]
    assert int(gaze["frames_active"]) == 769 and close(number(gaze["share_mean"]), np.mean(shares), 1e-9)
    assert close(number(tinyhd["share_mean"]), np.mean([frames[f]["maps_tinyhd"][0] for f in frames]), 1e-9)
    hit = [o for o in observers.values() if o["ttff_ms"] is not None]
    assert close(number(gaze["percent_fixated"]), 100 * len(hit) / 12, 1e-9)
    assert close_ms(number(gaze["ttff_ms_mean"]), np.mean([o["ttff_ms"] for o in hit]))
    assert close_ms(number(gaze["fixation_ms_mean"]), np.mean([o["fixation_ms"] for o in observers.values()]))
    assert tinyhd["percent_fixated"] == "" and tinyhd["ttff_ms_mean"] == ""
    # people and TinyHD both put about half of their attention on the fly, on 1.8 % of the picture
    assert 0.4 < number(gaze["share_mean"]) < 0.8 and 0.4 < number(tinyhd["share_mean"]) < 0.8
