"""Gaze from today's eye trackers: Tobii Pro Lab, EyeLink, Pupil Labs, Gazepoint, any CSV.

The independent truth for the shared exports (../shared/data/dhf1k_0002/exports) is the SMI
import of the same recordings (`load_gaze` of ../gaze): every export must give the same fixation
samples per frame and per observer within 0.1 px, "boundary samples" aside. A boundary sample
is one whose SMI time lies so close to a frame boundary k/30 s that the export's own clock puts
it in the other frame legitimately:
- Tobii: timestamps are the SMI times exactly (microseconds), but SMI drops a sample exactly on
  a boundary (DHF1K's record_mapping.m: k < 30 t < k + 1) where Tobii's rule floor(30 t) keeps it;
- EyeLink: samples and VFRAME messages are rounded to whole milliseconds, so a sample within
  1 ms of a boundary may land on either side;
- Neon: a scene frame's timestamp is its SMI start + 16 ms (not + 16.67), so the nearest-frame
  rule moves samples up to 0.67 ms before a boundary into the next frame: 1 ms covers it.
A boundary sample may appear at the start or the end of the adjacent frame or not at all in the
export's frame; everything else must match in time order. The hand-made files below are written
by the tests, with the expected frames and positions worked out by hand in the comments.
"""
import codecs
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path
from hypothesis import given, settings
from hypothesis import strategies as st

from salfom_core import cli
from salfom_core.io.gaze import GazeError, GazeOptions, inspect_gaze, load_gaze, load_gaze_files, read_csv, write_csv
from salfom_core.io.gaze import events as detectors
from salfom_core.io.gaze.text import ByteTable, bytes_to_floats

VIDEO = (640, 360)
FRAMES = 783
TO_VIDEO = 640 / 1440            # the shared recordings: screen 1440x900, video at (0, 45) 1440x810


# --------------------------------------------------------------------------- the SMI truth


def smi_fixation_times() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per observer: time (s from the first sample), video x, y of every `Fixation` sample, parsed
    here from the SMI text (the times are what the boundary test needs)."""
    out = {}
    for path in sorted(shared_path("data", "dhf1k_0002", "gaze").glob("*.txt")):
        rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
        t = np.array([float(r[0]) for r in rows])
        fix = np.array([r[7].startswith("Fixation") for r in rows])
        x = np.array([float(r[5]) for r in rows]) * TO_VIDEO
        y = (np.array([float(r[6]) for r in rows]) - 45) * TO_VIDEO
        out[path.stem.split("_")[0]] = ((t[fix] - t[0]) * 1e-6, x[fix], y[fix])
    return out


@pytest.fixture(scope="module")
def smi():
    return load_gaze(shared_path("data", "dhf1k_0002", "gaze"), VIDEO, FRAMES)


@pytest.fixture(scope="module")
def smi_times():
    return smi_fixation_times()


def boundary_samples(times, name: str, tolerance_s: float):
    """(the boundary's frame k, video x, y) of the SMI fixation samples within `tolerance_s` of k/30 s."""
    t, x, y = times[name]
    k = np.round(t * 30)
    near = np.abs(t - k / 30) <= tolerance_s
    return k[near].astype(int), np.c_[x[near], y[near]]


def mismatches(truth, gaze, times, tolerance_s: float) -> tuple[list, int]:
    """(frame, observer) pairs where `gaze` differs from `truth` beyond boundary samples, and how
    many boundary samples were allowed to move."""
    bad, moved = [], 0
    for name in gaze.observers:
        o, g = truth.observers.index(name), gaze.observers.index(name)
        edge, points = boundary_samples(times, name, tolerance_s)
        for f in range(truth.n_frames):
            tx, ty, tobs = truth.for_frame(f)
            gx, gy, gobs = gaze.for_frame(f)
            expected, got = np.c_[tx[tobs == o], ty[tobs == o]], np.c_[gx[gobs == g], gy[gobs == g]]
            near = np.r_[points[edge == f], points[edge == f + 1]]       # boundaries at f/30 and (f+1)/30
            starts = list(range((edge == f).sum()))
            ends = list(range(len(starts), len(near)))
            present = {i for i in range(len(near))
                       if len(expected) and np.abs(expected - near[i]).max(axis=1).min() < 1e-6}
            core = expected[[not (len(near) and np.abs(near - p).max(axis=1).min() < 1e-6) for p in expected]]
            best = None
            for first in [[]] + [[i] for i in starts]:
                for last in [[]] + [[i] for i in ends]:
                    candidate = np.r_[near[first].reshape(-1, 2), core.reshape(-1, 2), near[last].reshape(-1, 2)]
                    if candidate.shape == got.shape and (len(got) == 0 or np.abs(candidate - got).max() <= 0.1):
                        moves = len(present ^ set(first + last))
                        best = moves if best is None else min(best, moves)
            if best is None:
                bad.append((f, name, len(expected), len(got)))
            else:
                moved += best
    return bad, moved


def assert_same_as_smi(truth, gaze, times, tolerance_s: float, observers):
    assert gaze.observers == observers
    bad, moved = mismatches(truth, gaze, times, tolerance_s)
    assert bad == []
    total = sum(int((truth.observer == truth.observers.index(n)).sum()) for n in observers)
    assert moved <= 0.05 * total            # boundary samples are few: the allowance hides nothing else
    return moved


def exports(*parts) -> Path:
    return shared_path("data", "dhf1k_0002", "exports", *parts)


OPTIONS = GazeOptions(video_name="0002.avi")


# --------------------------------------------------------------------------- the shared exports


def test_tobii_export_equals_the_smi_import(smi, smi_times):
    gaze = load_gaze(exports("tobii_prolab_0002.tsv"), VIDEO, FRAMES, options=OPTIONS)
    moved = assert_same_as_smi(smi, gaze, smi_times, 1e-9, [f"P{k:02d}" for k in range(1, 13)])
    assert moved > 0        # the t = 0 samples: SMI drops them, floor(30 t) keeps them in frame 0
    # the file's own fixations: one event per SMI Fixation run, at the same time
    assert gaze.events.method.startswith("file") and len(gaze.events) == len(smi.events)
    np.testing.assert_allclose(gaze.events.start_s, smi.events.start_s, atol=1e-6)
    np.testing.assert_array_equal(gaze.events.observer, smi.events.observer)


@pytest.mark.parametrize("participant", [f"P{k:02d}" for k in range(1, 13)])
def test_every_eyelink_asc_equals_the_smi_import(smi, smi_times, participant):
    gaze = load_gaze(exports("eyelink", f"{participant}.asc"), VIDEO, FRAMES, options=OPTIONS)
    assert gaze.warnings == []                       # the VFRAME corner gives the video's own aspect
    assert_same_as_smi(smi, gaze, smi_times, 0.001, [participant])
    # EFIX events are SMI's Fixation runs, times rounded to the millisecond
    mine = smi.events.observer == smi.observers.index(participant)
    np.testing.assert_allclose(gaze.events.start_s, smi.events.start_s[mine], atol=0.0011)


def test_both_neon_folders_equal_the_smi_import(smi, smi_times):
    gaze = load_gaze(exports("pupil_neon"), VIDEO, FRAMES, options=OPTIONS)
    assert_same_as_smi(smi, gaze, smi_times, 0.001, ["P01", "P02"])
    mine = np.isin(smi.events.observer, [0, 1])
    np.testing.assert_allclose(gaze.events.start_s, smi.events.start_s[mine], atol=0.001)


def test_without_the_boundary_allowance_the_exports_differ(smi, smi_times):
    # the comparison is not vacuous: EyeLink's millisecond clock does move samples across frames
    gaze = load_gaze(exports("eyelink", "P03.asc"), VIDEO, FRAMES, options=OPTIONS)
    assert len(mismatches(smi, gaze, smi_times, 0.0)[0]) > 50


def test_eyelink_folder_and_mixed_inputs_merge_one_observer_each(smi):
    folder = load_gaze(exports("eyelink"), VIDEO, FRAMES, options=OPTIONS)
    assert folder.observers == smi.observers
    assert abs(len(folder) - len(smi)) <= 12         # the t = 0 samples of the first frame
    mixed = load_gaze_files([exports("eyelink", "P01.asc"), exports("pupil_neon", "P02"),
                             exports("tobii_prolab_0002.tsv")], VIDEO, FRAMES,
                            options=GazeOptions(video_name="0002.avi", participants=("P01", "P02", "P05")))
    assert mixed.observers == ["P01", "P02", "P05"]
    counts = {n: int((mixed.observer == k).sum()) for k, n in enumerate(mixed.observers)}
    assert len(mixed) == sum(counts.values())            # nobody else's samples, not even unnamed
    # P01 and P02 come from two exports each: twice their samples (give or take boundary ones)
    assert abs(counts["P01"] - 2 * (smi.observer == 0).sum()) <= 4
    assert abs(counts["P05"] - (smi.observer == 4).sum()) <= 2


def test_inspection_of_the_shared_exports():
    tsv = inspect_gaze(exports("tobii_prolab_0002.tsv"), OPTIONS)
    assert tsv.format == "Tobii Pro Lab TSV" and tsv.participants == [f"P{k:02d}" for k in range(1, 13)]
    assert tsv.stimuli == ["0002.avi"] and tsv.stimulus == "0002.avi"
    assert "VideoStimulusStart 0002.avi" in tsv.start_events
    assert tsv.video_rect == (0, 45, 1440, 810)
    # sample counts: the SMI files' rows (P01 has 6774 samples, 2001 of them in fixations)
    assert tsv.sample_counts["P01"] == 6774 and tsv.fixation_counts["P01"] == 2001
    assert tsv.starts["P01"] == pytest.approx(1.5)
    asc = inspect_gaze(exports("eyelink"), OPTIONS)
    assert asc.participants == [f"P{k:02d}" for k in range(1, 13)] and asc.stimuli == ["0002.avi"]
    assert asc.video_rect == (0, 45, 1440, 810) and asc.screen == (1440, 900)
    assert any(m.startswith("!V VFRAME") for m in asc.start_events)
    neon = inspect_gaze(exports("pupil_neon", "P01"), OPTIONS)
    assert neon.participants == ["P01"] and neon.fixation_counts["P01"] == 2001 and neon.has_events


# --------------------------------------------------------------------------- Tobii Pro Lab, hand-made

SMALL = (100, 50)               # a 100x50 video, 30 fps, 10 frames
TOBII_NEW = {"time": "Recording timestamp [μs]", "participant": "Participant name",
             "duration": "Recording duration [ms]", "media": "Presented Media name",
             "mw": "Presented Media width [px]", "mh": "Presented Media height [px]",
             "mx": "Presented Media position X [DACS px]", "my": "Presented Media position Y [DACS px]",
             "px": "Gaze point X [DACS px]", "py": "Gaze point Y [DACS px]",
             "gx": "Gaze point X [MCS norm]", "gy": "Gaze point Y [MCS norm]", "type": "Eye movement type",
             "event_ms": "Gaze event duration [ms]", "index": "Eye movement type index",
             "fx": "Fixation point X [MCS norm]", "fy": "Fixation point Y [MCS norm]",
             "event": "Event", "value": "Event value"}
TOBII_OLD = {**TOBII_NEW, "time": "Recording timestamp", "duration": "Recording duration",
             "mw": "Presented Media width", "mh": "Presented Media height",
             "mx": "Presented Media position X (DACSpx)", "my": "Presented Media position Y (DACSpx)",
             "px": "Gaze point X (DACSpx)", "py": "Gaze point Y (DACSpx)", "gx": "Gaze point X (MCSnorm)",
             "gy": "Gaze point Y (MCSnorm)", "event_ms": "Gaze event duration", "fx": "Fixation point X (MCSnorm)",
             "fy": "Fixation point Y (MCSnorm)"}


def sample(ts, who, media, gx, gy, kind="Fixation", index=1, fx=None, fy=None):
    # the media is shown at DACS (10, 20), 200x100 px: the DACS gaze point follows from the norm one
    return {"time": ts, "participant": who, "duration": 8000, "media": media, "mw": 200, "mh": 100, "mx": 10,
            "my": 20, "px": 10 + gx * 200, "py": 20 + gy * 100, "gx": gx, "gy": gy, "type": kind, "index": index,
            "event_ms": 120, "fx": gx if fx is None else fx, "fy": gy if fy is None else fy}


def event(ts, who, name, value=""):
    return {"time": ts, "participant": who, "event": name, "value": value}


# Ann sees clip.mp4 from 1 000 000 us; Bob from 5 000 000 us, then other.mp4 from 6 000 000 us
TOBII_ROWS = [
    event(0, "Ann", "RecordingStart"),
    sample(900_000, "Ann", "", 0.9, 0.9),                              # fixation cross: no media
    event(1_000_000, "Ann", "VideoStimulusStart", "clip.mp4"),
    sample(1_000_000, "Ann", "clip.mp4", 0.5, 0.5, fx=0.4, fy=0.45),   # t 0: frame 0 at (50, 25)
    sample(1_040_000, "Ann", "clip.mp4", 0.25, 0.2, fx=0.4, fy=0.45),  # t 0.04: frame 1 at (25, 10)
    sample(1_050_000, "Ann", "clip.mp4", 0.9, 0.9, "Saccade"),
    sample(1_100_000, "Ann", "clip.mp4", 0.1, 0.8, index=2),           # t 0.1: 30 t = 3: frame 3 at (10, 40)
    event(1_200_000, "Ann", "VideoStimulusEnd", "clip.mp4"),
    event(5_000_000, "Bob", "VideoStimulusStart", "clip.mp4"),
    sample(5_070_000, "Bob", "clip.mp4", 0.3, 0.4),                    # t 0.07: frame 2 at (30, 20)
    event(6_000_000, "Bob", "VideoStimulusStart", "other.mp4"),
    sample(6_000_000, "Bob", "other.mp4", 0.6, 0.6),                   # other.mp4: frame 0 at (60, 30)
]
CLIP_TRUTH = [(0, "Ann", 50, 25), (1, "Ann", 25, 10), (2, "Bob", 30, 20), (3, "Ann", 10, 40)]


def write_tobii(path, rows=TOBII_ROWS, columns=TOBII_NEW, decimal=".", encoding="utf-8", time_scale=1.0,
                end="\n"):
    def text(value):
        if isinstance(value, float):
            return f"{value:.6f}".rstrip("0").rstrip(".").replace(".", decimal)
        return "" if value is None else str(value)

    lines = ["\t".join(columns.values())]
    for row in rows:
        values = {**row, "time": int(row["time"] * time_scale)}
        lines.append("\t".join(text(values.get(role)) for role in columns))
    path.write_bytes(("\n".join(lines) + end).encode(encoding))
    return path


def rows_of(gaze):
    return sorted((int(f), gaze.observer_name(int(o)), round(float(x), 4), round(float(y), 4))
                  for f, x, y, o in zip(gaze.frame, gaze.x, gaze.y, gaze.observer))


def load_small(path, **options):
    return load_gaze(path, SMALL, 10, 30.0, options=GazeOptions(video_name="clip.mp4", **options))


@pytest.mark.parametrize("style", ["new", "old"])
def test_tobii_both_header_styles(tmp_path, style):
    path = write_tobii(tmp_path / "export.tsv", columns=TOBII_NEW if style == "new" else TOBII_OLD)
    gaze = load_small(path)
    assert gaze.observers == ["Ann", "Bob"]
    assert rows_of(gaze) == CLIP_TRUTH
    # Ann's first fixation (index 1): starts at t 0, lasts 120 ms, at its Fixation point (40, 22.5)
    ann = gaze.events.observer == 0
    np.testing.assert_allclose(gaze.events.start_s[ann], [0.0, 0.1])
    np.testing.assert_allclose(gaze.events.duration_s[ann], [0.12, 0.12])
    assert (gaze.events.x[ann][0], gaze.events.y[ann][0]) == pytest.approx((40, 22.5))


def test_tobii_bare_timestamps_in_milliseconds_are_recognised(tmp_path):
    # a bare `Recording timestamp` is microseconds, unless the timestamps span a thousandth of
    # `Recording duration` (8000 ms): these are milliseconds, and read as such
    path = write_tobii(tmp_path / "ms.tsv", columns=TOBII_OLD, time_scale=1e-3)
    assert rows_of(load_small(path)) == CLIP_TRUTH


def test_tobii_utf16_with_comma_decimals(tmp_path):
    path = write_tobii(tmp_path / "export16.tsv", decimal=",", encoding="utf-16", end="\r\n")
    assert path.read_bytes()[:2] == codecs.BOM_UTF16_LE
    assert "0,25" in path.read_bytes().decode("utf-16")
    assert rows_of(load_small(path)) == CLIP_TRUTH


def test_tobii_stimulus_and_participants(tmp_path):
    path = write_tobii(tmp_path / "export.tsv")
    other = load_small(path, stimulus="other.mp4")
    assert rows_of(other) == [(0, "Bob", 60, 30)]
    assert rows_of(load_small(path, participants=("Bob",))) == [(2, "Bob", 30, 20)]
    # the video's name picks the stimulus; a name none of the media has is one clear error
    with pytest.raises(GazeError, match=r"export\.tsv: none is named film\.avi .*clip\.mp4, other\.mp4.*--stimulus"):
        load_gaze(path, SMALL, 10, options=GazeOptions(video_name="film.avi"))
    with pytest.raises(GazeError, match=r"export\.tsv: no stimulus 'intro\.mp4' .* it has: clip\.mp4, other\.mp4"):
        load_small(path, stimulus="intro.mp4")
    with pytest.raises(GazeError, match=r"export\.tsv: no participant Cid; it has: Ann, Bob"):
        load_small(path, participants=("Cid",))
    # both showings, inspected: participants, stimuli, the start events found
    found = inspect_gaze(path, GazeOptions(video_name="clip.mp4"))
    assert found.participants == ["Ann", "Bob"] and found.stimuli == ["clip.mp4", "other.mp4"]
    assert found.stimulus == "clip.mp4" and found.sample_counts == {"Ann": 4, "Bob": 1}
    assert found.start_events == ["RecordingStart", "VideoStimulusStart clip.mp4", "VideoStimulusStart other.mp4"]
    assert found.video_rect == (10, 20, 200, 100)


def test_tobii_start_event_missing_and_chosen(tmp_path):
    rows = [r for r in TOBII_ROWS if not (r.get("event") == "VideoStimulusStart" and r["participant"] == "Bob")]
    rows.insert(8, event(5_010_000, "Bob", "MyStart", "go"))
    path = write_tobii(tmp_path / "nostart.tsv", rows)
    with pytest.raises(GazeError, match=r"nostart\.tsv: no VideoStimulusStart clip\.mp4 for participant Bob: "
                                        r"give the start with --start-message"):
        load_small(path)
    # Ann's start and Bob's own event: Bob's sample is 60 ms after MyStart: frame 1
    chosen = load_small(path, start_message="VideoStimulusStart clip|MyStart")
    assert rows_of(chosen) == [(0, "Ann", 50, 25), (1, "Ann", 25, 10), (1, "Bob", 30, 20), (3, "Ann", 10, 40)]
    # an offset is added to every sample's time: +30 ms moves Ann's 40 ms sample to 70 ms (frame 2)
    shifted = load_small(path, start_message="VideoStimulusStart clip|MyStart", offset_ms=30)
    assert (2, "Ann", 25, 10) in rows_of(shifted)


def test_tobii_video_rect_reads_the_pixel_gaze(tmp_path):
    path = write_tobii(tmp_path / "export.tsv")
    # the DACS gaze point with the media's own rectangle gives the MCS result back
    same = load_small(path, video_rect=(10, 20, 200, 100))
    assert rows_of(same) == CLIP_TRUTH
    # a rectangle twice as large: positions halve, relative to its corner
    half = load_small(path, video_rect=(10, 20, 400, 200))
    assert rows_of(half)[0] == (0, "Ann", 25, 12.5)


@pytest.mark.parametrize("case, words", [
    ("cut", r"cut\.tsv: the file is cut at line 13 \(its last row has 3 of 19 columns"),
    ("latin1", r"latin1\.tsv: not UTF-8 text \(byte 0xb5 on line 1\)"),
    ("column", r"column\.tsv: no column 'Gaze point X \[MCS norm\]' in the header; it has: Recording timestamp"),
])
def test_tobii_bad_files_are_one_line_naming_the_problem(tmp_path, case, words):
    path = tmp_path / f"{case}.tsv"
    if case == "cut":
        text = write_tobii(path).read_text(encoding="utf-8")
        path.write_text(text[: text.rstrip("\n").rfind("\t", 0, text.rstrip("\n").rfind("\n") + 25)],
                        encoding="utf-8")
    elif case == "latin1":
        write_tobii(path, columns={**TOBII_NEW, "time": "Recording timestamp [µs]"}, encoding="latin-1")
    else:
        columns = {k: v for k, v in TOBII_NEW.items() if k not in ("gx", "gy", "px", "py")}
        write_tobii(path, columns=columns)
    with pytest.raises(GazeError, match=words) as error:
        load_small(path)
    assert "\n" not in str(error.value)


# --------------------------------------------------------------------------- EyeLink ASC, hand-made

ASC_HEAD = "** CONVERTED FROM test.edf using edfapi 4.2.1\n** DATE: Mon Mar  4 10:02:11 2024\n**\n\n"


def write_asc(path, body: str, end: str = "\n"):
    path.write_text(ASC_HEAD + "\n".join(line.strip() for line in body.strip().splitlines()) + end)
    return path


# a 1920x1080 screen; the video's frames at (160, 90): centred, 1600x900; a 160x90 video is then
# screen / 10 - (16, 9). Both eyes; `.` where an eye is lost.
BINOCULAR = """
MSG	1000 DISPLAY_COORDS 0 0 1919 1079
START	1000 	LEFT	RIGHT	SAMPLES	EVENTS
SAMPLES	GAZE	LEFT	RIGHT	RATE	500.00	TRACKING	CR	FILTER	2
MSG	1010 !V VFRAME 1 160 90 clip.mp4
1008	 960.0	 540.0	 1000.0	 980.0	 560.0	 1000.0	.....
SFIX L   1010
1010	 960.0	 540.0	 1000.0	 980.0	 560.0	 1000.0	.....
1012	   .	   .	    0.0	1000.0	 600.0	 1000.0	.....
MSG	1043 !V VFRAME 2 160 90 clip.mp4
1044	 160.0	  90.0	 1000.0	 170.0	 100.0	 1000.0	.....
1046	   .	   .	    0.0	   .	   .	    0.0	.....
1050	 500.0	 300.0	 1000.0	 520.0	 320.0	 1000.0	.....
EFIX L   1010	1052	44	  980.0	  560.0	   1000
EFIX R   1010	1046	38	  990.0	  570.0	   1000
1080	 960.0	 540.0	 1000.0	 980.0	 560.0	 1000.0	.....
END	1082 	SAMPLES	EVENTS	RES	  38.54	  31.12
"""


def test_eyelink_binocular_missing_values_display_coords_and_vframe(tmp_path):
    path = write_asc(tmp_path / "B01.asc", BINOCULAR)
    gaze = load_gaze(path, (160, 90), 10, 30.0, options=GazeOptions(video_name="clip.mp4"))
    # 1008: before frame 1; 1010: both eyes, mean (970, 550) -> (81, 46); 1012: the right eye only
    # (1000, 600) -> (84, 51); 1044: frame 2 (VFRAME at 1043), mean (165, 95) -> (0.5, 0.5);
    # 1046: no eye; 1050: inside the left EFIX but not the right one; 1080: after the last frame
    # (1043 + 33 ms)
    assert gaze.observers == ["B01"] and gaze.warnings == []
    assert rows_of(gaze) == [(0, "B01", 81, 46), (0, "B01", 84, 51), (1, "B01", 0.5, 0.5)]
    # the events: the eye with more EFIX lines (a tie: the left), from the first frame's VFRAME
    assert gaze.events.start_s.tolist() == [0.0] and gaze.events.duration_s.tolist() == [0.044]
    assert (gaze.events.x[0], gaze.events.y[0]) == pytest.approx((82, 47))


def test_eyelink_aspect_warning_and_video_rect(tmp_path):
    path = write_asc(tmp_path / "B01.asc", BINOCULAR)
    # a 4:3 video: the centred rectangle 1600x900 is 16:9, more than 1 % off: warned
    gaze = load_gaze(path, (160, 120), 10, 30.0, options=GazeOptions())
    assert len(gaze.warnings) == 1
    assert re.search(r"B01\.asc: the video's rectangle 160,90,1600,900 \(VFRAME corner, centred\) has aspect "
                     r"1\.778, the video 160x120 has 1\.333: give --video-rect", gaze.warnings[0])
    # --video-rect: the video at (0, 0), 1920x1080 (12 screen px per video px): no warning
    gaze = load_gaze(path, (160, 90), 10, 30.0, options=GazeOptions(video_rect=(0, 0, 1920, 1080)))
    assert gaze.warnings == [] and rows_of(gaze)[0] == (0, "B01", round(970 / 12, 4), round(550 / 12, 4))


START_MESSAGE = """
MSG	2000 DISPLAY_COORDS 0 0 1439 899
START	2000 	LEFT	SAMPLES	EVENTS
SAMPLES	GAZE	LEFT	RATE	 250.00	TRACKING	CR	FILTER	2
MSG	2105 5 MOVIE_START clip.mp4
MSG	2100 Video_Frame: 1
2096	 720.0	 450.0	 1000.0	...
2100	 720.0	 450.0	 1000.0	...
MSG	2133 Video_Frame: 2
2140	 360.0	 225.0	 1000.0	...
MSG	2166 Video_Frame: 3
2160	   0.0	 450.0	 1000.0	...
2180	1440.0	 855.0	 1000.0	...
EFIX L   2096	2180	88	  720.0	  450.0	   1000
END	2184 	SAMPLES	EVENTS	RES	  38.54	  31.12
"""


def test_eyelink_start_message_offset_and_frame_messages(tmp_path):
    path = write_asc(tmp_path / "S01.asc", START_MESSAGE)
    # no VFRAME: the video fitted to the 1440x900 screen, (0, 45) 1440x810: x / 9, (y - 45) / 9.
    # `MSG 2105 5 MOVIE_START`: the event was at 2100. 2096 is before it; 2100 -> frame 0;
    # 2140: 40 ms -> frame 1; 2160: 60 ms -> frame 1; 2180: 80 ms -> frame 2
    gaze = load_gaze(path, (160, 90), 10, 30.0, options=GazeOptions(start_message="MOVIE_START"))
    assert rows_of(gaze) == [(0, "S01", 80, 45), (1, "S01", 0, 45), (1, "S01", 40, 20), (2, "S01", 160, 90)]
    # +10 ms: 2160 is at 70 ms -> frame 2; 2096 at 6 ms -> frame 0
    shifted = load_gaze(path, (160, 90), 10, 30.0, options=GazeOptions(start_message="MOVIE_START", offset_ms=10))
    assert [f for f, *_ in rows_of(shifted)] == [0, 0, 1, 2, 2]
    # a regex with a group of digits: every matching message marks its frame (1-based)
    frames = load_gaze(path, (160, 90), 10, 30.0, options=GazeOptions(start_message=r"Video_Frame: (\d+)"))
    # 2100 frame 1 (0), 2140 frame 2 (1), 2160 still frame 2 (1), 2180 frame 3 (2); 2096 before any
    assert [f for f, *_ in rows_of(frames)] == [0, 1, 1, 2]


def test_eyelink_without_frame_or_start_messages_names_what_it_found(tmp_path):
    path = write_asc(tmp_path / "S01.asc", START_MESSAGE)
    with pytest.raises(GazeError, match=r"S01\.asc: no '!V VFRAME' messages: give the message at the video's first "
                                        r"frame with --start-message REGEX; messages found: DISPLAY_COORDS 0 0 1439 "
                                        r"899, MOVIE_START clip\.mp4, Video_Frame: 1"):
        load_gaze(path, (160, 90), 10)
    with pytest.raises(GazeError, match=r"S01\.asc: no message matches 'MOVIE_STOP'"):
        load_gaze(path, (160, 90), 10, options=GazeOptions(start_message="MOVIE_STOP"))


def test_eyelink_cut_file_and_binary_edf(tmp_path):
    cut = write_asc(tmp_path / "cut.asc", BINOCULAR.split("1080\t")[0] + "1080\t 96", end="")
    with pytest.raises(GazeError, match=r"cut\.asc: the file is cut at line 19 \('1080\\t 96' has no line end, "
                                        r"and the recording no END\)"):
        load_gaze(cut, (160, 90), 10)
    edf = tmp_path / "P01.edf"
    edf.write_bytes(b"SR_RESEARCH\x00\x01\x02")
    with pytest.raises(GazeError, match=r"P01\.edf: a binary EyeLink EDF file: convert it to ASC with .*edf2asc"):
        load_gaze(edf, (160, 90), 10)


def test_samples_all_outside_the_video_say_how_many_and_suggest_a_rectangle(tmp_path):
    # the video was shown at (960, 540) 480x270 but the file says 0,0 (a wrong --video-rect)
    body = "\n".join(["MSG\t1000 DISPLAY_COORDS 0 0 1919 1079", "START\t1000 \tLEFT\tSAMPLES\tEVENTS",
                      "SAMPLES\tGAZE\tLEFT\tRATE\t 250.00"]
                     + [f"MSG\t{1000 + round(k * 100 / 3)} !V VFRAME {k + 1} 0 0 clip.mp4" for k in range(7)]
                     + [f"{1000 + 4 * k}\t {1100 + k:.1f}\t {600 + k:.1f}\t 1000.0\t..." for k in range(50)]
                     + ["EFIX L   1000\t1196\t200\t 1125.0\t 625.0\t 1000", "END\t1200 \tSAMPLES"])
    path = write_asc(tmp_path / "wrong.asc", body)
    with pytest.raises(GazeError) as error:
        load_gaze(path, (160, 90), 100, options=GazeOptions(video_rect=(0, 0, 480, 270)))
    message = str(error.value)
    assert message.startswith(f"{path}: all 50 fixation samples fall outside the video's picture (rectangle "
                              "0,0,480,270); the samples lie in x 1100..1149, y 600..649")
    suggested = [float(v) for v in re.search(r"try --video-rect (\S+)$", message).group(1).split(",")]
    # a rectangle with the video's aspect around the samples: it puts them back on the picture
    fixed = load_gaze(path, (160, 90), 100, options=GazeOptions(video_rect=tuple(suggested)))
    assert len(fixed) >= 48 and suggested[2] / suggested[3] == pytest.approx(16 / 9, rel=0.02)


# --------------------------------------------------------------------------- Pupil Labs, hand-made


def write_core_recording(root: Path) -> Path:
    """A Pupil Core recording with a Player export: `rec/exports/000/`."""
    export = root / "rec" / "exports" / "000"
    export.mkdir(parents=True)
    (root / "rec" / "info.player.json").write_text(json.dumps({"recording_name": "Wearer1"}))
    (export / "gaze_positions.csv").write_text(
        "gaze_timestamp,world_index,confidence,norm_pos_x,norm_pos_y,base_data\n"
        "100.000,0,0.95,0.25,0.75,x\n"      # in the fixation; y from the bottom: (25, 12.5)
        "100.010,0,0.40,0.50,0.50,x\n"      # confidence 0.4: dropped by default
        "100.050,1,0.90,0.50,0.10,x\n"      # in the fixation: (50, 45)
        "100.300,9,0.99,0.10,0.10,x\n")     # after the fixation (100.0 + 200 ms)
    (export / "fixations.csv").write_text(
        "id,start_timestamp,duration,start_frame_index,end_frame_index,norm_pos_x,norm_pos_y,dispersion,"
        "confidence,method\n1,100.0,200,0,6,0.3,0.6,1.0,0.9,pupil\n")
    np.save(export / "world_timestamps.npy", 99.99 + np.arange(10) / 30)
    return root / "rec"


def test_pupil_core_bottom_left_origin_confidence_and_fixation_windows(tmp_path):
    recording = write_core_recording(tmp_path)
    gaze = load_gaze(recording, SMALL, 10)
    assert gaze.observers == ["Wearer1"]
    assert rows_of(gaze) == [(0, "Wearer1", 25, 12.5), (1, "Wearer1", 50, 45)]
    # the fixation: from the video's start (half a frame before world frame 0's timestamp)
    assert gaze.events.start_s[0] == pytest.approx(100.0 - (99.99 - 1 / 60))
    assert gaze.events.duration_s[0] == pytest.approx(0.2)
    assert (gaze.events.x[0], gaze.events.y[0]) == pytest.approx((30, 20))
    # a lower confidence threshold keeps the 0.4 sample (frame 0, (50, 25)); the export folder reads alike
    lower = load_gaze(recording / "exports" / "000", SMALL, 10, options=GazeOptions(min_confidence=0.3))
    assert rows_of(lower) == [(0, "Wearer1", 25, 12.5), (0, "Wearer1", 50, 25), (1, "Wearer1", 50, 45)]
    with pytest.raises(GazeError, match=r"000: no gaze sample has confidence 0\.99 or more \(the best has 0\.99\)|"
                                        r"000: no gaze sample has confidence 1 or more"):
        load_gaze(recording, SMALL, 10, options=GazeOptions(min_confidence=1.0))


def test_pupil_neon_cut_gaze_file(tmp_path):
    folder = tmp_path / "neon"
    folder.mkdir()
    (folder / "world_timestamps.csv").write_text("section id,recording id,timestamp [ns]\ns,r,1000000000\n"
                                                 "s,r,1033333333\n")
    (folder / "gaze.csv").write_text("section id,recording id,timestamp [ns],gaze x [px],gaze y [px],worn,"
                                     "fixation id,blink id\ns,r,1000000000,10.5,20.5,1,1,\ns,r,1004")
    with pytest.raises(GazeError, match=r"gaze\.csv: the file is cut at line 3 \(its last row has 3 of 8 columns"):
        load_gaze(folder, SMALL, 10)


# --------------------------------------------------------------------------- Gazepoint, hand-made

GAZEPOINT = """MEDIA_ID,MEDIA_NAME,CNT,TIME(2024/03/04 10:00:00.000),TIMETICK(f=10000000),\
FPOGX,FPOGY,FPOGS,FPOGD,FPOGID,FPOGV,BPOGX,BPOGY,BPOGV,USER
0,intro.jpg,1,0.50,5000000,0.5,0.5,0.40,0.10,1,1,0.5,0.5,1,
1,clip.mp4,2,1.00,10000000,0.5,0.5,1.00,0.02,2,1,0.5,0.5,1,
1,clip.mp4,3,1.05,10500000,0.25,0.05,1.00,0.05,2,1,0.25,0.05,1,
1,clip.mp4,4,1.10,11000000,0.9,0.9,1.10,0.00,3,0,0.9,0.9,0,
1,clip.mp4,5,1.20,12000000,0.75,0.55,1.15,0.05,3,1,0.75,0.55,1,
"""


def test_gazepoint_screen_fractions_media_and_fixation_ids(tmp_path):
    path = tmp_path / "User 0_all_gaze.csv"
    path.write_text(GAZEPOINT)
    # screen 1440x900, a 160x90 video fitted: (0, 45) 1440x810, 9 screen px per video px.
    # clip.mp4 starts at TIME 1.00: (0.5, 0.5) -> (720, 450) -> (80, 45) in frame 0; 1.05 -> frame 1,
    # (360, 45) -> (40, 0); 1.10 is not valid (FPOGV 0); 1.20 -> frame 6, (1080, 495) -> (120, 50)
    gaze = load_gaze(path, (160, 90), 10, options=GazeOptions(video_name="clip.mp4"))
    assert rows_of(gaze) == [(0, "User 0_all_gaze", 80, 45), (1, "User 0_all_gaze", 40, 0),
                             (6, "User 0_all_gaze", 120, 50)]
    # one event per FPOGID: FPOGS from the media's start, the longest FPOGD, the last position
    np.testing.assert_allclose(gaze.events.start_s, [0.0, 0.15])
    np.testing.assert_allclose(gaze.events.duration_s, [0.05, 0.05])
    np.testing.assert_allclose(np.c_[gaze.events.x, gaze.events.y], [[40, 0], [120, 50]])
    intro = load_gaze(path, (160, 90), 10, options=GazeOptions(stimulus="intro.jpg"))
    assert rows_of(intro) == [(0, "User 0_all_gaze", 80, 45)]
    found = inspect_gaze(path, GazeOptions(video_name="clip.mp4"))
    assert found.format == "Gazepoint Analysis CSV" and found.stimuli == ["intro.jpg", "clip.mp4"]
    assert found.sample_counts == {"User 0_all_gaze": 4} and found.fixation_counts == {"User 0_all_gaze": 3}


# --------------------------------------------------------------------------- any CSV by a mapping

MAPPED = "subject;t_ms;gx;gy;label\nA;1000;0,5;0,5;fixation\nA;1040;0,25;0,75;Fixation\nA;1050;0,9;0,9;saccade\n" \
         "B;200;0,1;0,2;fixation\n"


def test_mapped_csv_semicolons_comma_decimals_units_and_labels(tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text(MAPPED)
    columns = {"time": "t_ms", "x": "gx", "y": "gy", "observer": "subject", "fixation": "label"}
    # ms from the column's name; fractions of the 100x50 video; each observer's first sample at t 0:
    # A 1000 -> frame 0 (50, 25); A 1040 -> 40 ms, frame 1 (25, 37.5); B 200 -> frame 0 (10, 10)
    gaze = load_gaze(path, SMALL, 10, options=GazeOptions(columns=columns))
    assert gaze.observers == ["A", "B"]
    assert rows_of(gaze) == [(0, "A", 50, 25), (0, "B", 10, 10), (1, "A", 25, 37.5)]
    # the same values as screen fractions of a 1000x500 screen with the video at (0, 0) 500x250
    on_screen = load_gaze(path, SMALL, 10, options=GazeOptions(columns=columns, video_rect=(0, 0, 500, 250),
                                                                screen_px=(1000, 500)))
    assert rows_of(on_screen)[0] == (0, "A", 100, 50)
    # a time unit given overrides the name: seconds make 40 units 40 s, past the 10 frames
    seconds = load_gaze(path, SMALL, 10, options=GazeOptions(columns=columns, time_unit="s"))
    assert rows_of(seconds) == [(0, "A", 50, 25), (0, "B", 10, 10)]
    with pytest.raises(GazeError, match=r"lab\.csv: no column 'time' \(for time=\); it has: subject, t_ms, gx, gy, "
                                        r"label"):
        load_gaze(path, SMALL, 10, options=GazeOptions(columns={**columns, "time": "time"}))


# --------------------------------------------------------------------------- fixation detection


def synthetic_trace():
    """250 Hz: fixation (100, 100) 300 ms, saccade 12 ms, fixation (300, 150) 300 ms, blink 100 ms,
    fixation (200, 50) 200 ms, saccade, a 40 ms pause at (50, 50) (too short), saccade, fixation
    (400, 200) 160 ms. Jitter +-0.5 px: 250 px/s at most, far below the thresholds."""
    rng = np.random.default_rng(1)
    parts, truth = [], []

    def hold(x, y, n, fixation=True):
        if fixation:
            truth.append((sum(len(p) for p in parts), n, x, y))
        parts.append(np.c_[np.full(n, x) + rng.uniform(-0.5, 0.5, n), np.full(n, y) + rng.uniform(-0.5, 0.5, n)])

    def move(a, b, n=3):            # steps over 35 px: no window of I-DT's reaches into a saccade
        f = np.arange(1, n + 1)[:, None] / (n + 1)
        parts.append(np.asarray(a) + f * (np.asarray(b) - np.asarray(a)))

    hold(100, 100, 75), move((100, 100), (300, 150)), hold(300, 150, 75)
    parts.append(np.full((25, 2), np.nan))
    hold(200, 50, 50), move((200, 50), (50, 50)), hold(50, 50, 10, fixation=False), move((50, 50), (400, 200))
    hold(400, 200, 40)
    xy = np.concatenate(parts)
    return np.arange(len(xy)) * 0.004, xy[:, 0], xy[:, 1], truth


@pytest.mark.parametrize("kind", ["ivt", "idt"])
def test_detectors_find_the_known_fixations(kind):
    t, x, y, truth = synthetic_trace()
    detector = detectors.Detector.make(kind, GazeOptions(), None)
    labels, (start, duration, mx, my) = detector.run(t, x, y)
    assert len(start) == len(truth) == 4                     # the 40 ms pause is not one
    for k, (first, n, fx, fy) in enumerate(truth):
        # I-VT labels a sample by its velocity from the one before: the first sample after a
        # saccade still moves fast, so a fixation may start one sample late
        assert start[k] == pytest.approx(t[first], abs=0.0041)
        assert duration[k] == pytest.approx(n * 0.004, abs=0.0081)
        assert (mx[k], my[k]) == pytest.approx((fx, fy), abs=0.3)
    assert labels.sum() == pytest.approx(sum(n for _, n, *_ in truth), abs=4)
    assert not labels[np.isnan(x)].any()


def test_detector_thresholds_in_degrees_and_their_statement():
    options = GazeOptions(detect="ivt", screen_mm=(531, 299), distance_mm=650)
    detector = detectors.Detector.make("ivt", options, px_per_deg=36.2, screen=(1920, 1080), screen_mm=(531, 299),
                                       distance_mm=650)
    assert detector.description == ("I-VT: velocity below 30 deg/s (screen 531x299 mm = 1920x1080 px at 650 mm), "
                                    "fixations of 60 ms or more, split at gaps over 75 ms")
    # 30 deg/s at 36.2 px/deg is 1086 px/s: a steady 1000 px/s drift is a fixation, 1200 px/s is not
    t = np.arange(50) * 0.004
    assert detector.run(t, 1000 * t, np.zeros(50))[0].all()
    assert not detector.run(t, 1200 * t, np.zeros(50))[0].any()


def test_a_file_without_fixations_goes_through_the_detector(tmp_path):
    t, x, y, truth = synthetic_trace()
    path = tmp_path / "raw.csv"
    path.write_text("time,x,y\n" + "".join(f"{a:.3f},{b:.2f},{c:.2f}\n" for a, b, c in zip(t, x, y)))
    columns = {"time": "time", "x": "x", "y": "y"}
    for kind, method in ((None, "I-VT: velocity below 1000 px/s"), ("idt", "I-DT: dispersion at most 35 px")):
        gaze = load_gaze(path, (640, 360), 100, options=GazeOptions(columns=columns, detect=kind, coords="px"))
        assert gaze.events.method.startswith(method) and len(gaze.events) == 4
        assert len(gaze) == pytest.approx(sum(n for _, n, *_ in truth), abs=4)
        out = tmp_path / f"{kind}.csv"
        write_csv(gaze, out)
        assert out.read_text().splitlines()[0] == f"# fixations: {gaze.events.method}"
        again = read_csv(out, (640, 360), 100)          # the plain reader skips the comment
        assert len(again) == len(gaze)


# --------------------------------------------------------------------------- the fast table reader

FIELD = st.text(alphabet="ab09.,-μ é", max_size=6)


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 5), rows=st.lists(st.lists(FIELD, min_size=5, max_size=5), min_size=1, max_size=40),
       short=st.sets(st.integers(0, 39), max_size=3), block=st.sampled_from([16, 64, 1 << 16]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]), newline=st.sampled_from(["\n", "\r\n"]))
def test_byte_table_reads_what_a_plain_split_reads(tmp_path_factory, width, rows, short, block, encoding, newline):
    # random fields (multi-byte characters, commas, empties), blocks cut anywhere, some short rows
    # (skipped), UTF-8 with or without BOM, UTF-16, CRLF: the columns equal a line-by-line split
    lines = [r[:width] if k not in short else r[: max(width - 1, 0)] for k, r in enumerate(rows)]
    lines = [r for r in lines if "\t".join(r).strip()] or [["x"] * width]
    header = [f"c{i}" for i in range(width)]
    path = tmp_path_factory.mktemp("t") / "t.tsv"
    path.write_bytes((newline.join("\t".join(r) for r in [header] + lines) + newline).encode(encoding))
    table = ByteTable(path, block_bytes=block)
    got = {c: [] for c in range(width)}
    for part in table.blocks(lambda h: {c: "label" for c in range(len(h))}):
        for c in range(width):
            got[c] += [v.decode("utf-8") for v in part.columns[c].tolist()]
    whole = [r for r in lines if len(r) == width]
    assert table.header == header
    assert got == {c: [r[c] for r in whole] for c in range(width)}
    assert table.skipped == len(lines) - len(whole)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.none()), min_size=1, max_size=30),
       st.booleans())
def test_numbers_read_in_bulk_equal_float(values, comma):
    text = [b"" if v is None else repr(v).encode().replace(b".", b"," if comma else b".") for v in values]
    parsed = bytes_to_floats(np.array(text, dtype="S"), comma)
    expected = [np.nan if v is None else v for v in values]
    np.testing.assert_array_equal(parsed, expected)


# --------------------------------------------------------------------------- the command line


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_gaze_convert_with_tracker_options(tmp_path, capsys):
    export = write_tobii(tmp_path / "export.tsv")
    out = tmp_path / "bob.csv"
    assert cli.main(["gaze-convert", str(export), "--size", "100x50", "--frames", "10", "-o", str(out),
                     "--stimulus", "other.mp4", "--participants", "Bob"]) == 0
    assert out.read_text().splitlines() == ["# fixations: file: Tobii Pro Lab Eye movement type",
                                            "frame,time_s,x,y,observer", "0,0.000000,60.000,30.000,Bob"]
    raw = tmp_path / "raw.csv"
    t, x, y, _ = synthetic_trace()
    raw.write_text("t,gx,gy\n" + "".join(f"{a:.3f},{b:.2f},{c:.2f}\n" for a, b, c in zip(t, x, y)))
    out = tmp_path / "detected.csv"
    assert cli.main(["gaze-convert", str(raw), "--size", "640x360", "--frames", "100", "-o", str(out),
                     "--columns", "time=t,x=gx,y=gy", "--coords", "px", "--detect", "idt", "--detect-threshold", "20",
                     "--min-fixation-ms", "80"]) == 0
    assert out.read_text().splitlines()[0] == ("# fixations: I-DT: dispersion at most 20 px (tracker pixels), "
                                               "fixations of 80 ms or more, split at gaps over 75 ms")
    assert "fixations: I-DT" in capsys.readouterr().err


@pytest.mark.parametrize("extra, words", [
    (["--video-rect", "1,2,3"], "--video-rect '1,2,3': expected X,Y,W,H"),
    (["--screen-mm", "531x299"], "--screen-mm and --distance-mm go together"),
    (["--columns", "time"], "--columns 'time': expected ROLE=COLUMN pairs"),
    (["--columns", "x=a,y=b"], "column mapping: give x=, y= and time= (or frame=)"),
    (["--start-message", "("], "start message '(': not a regular expression"),
    (["--participants", "Cid", "--stimulus", "clip.mp4"], "export.tsv: no participant Cid; it has: Ann, Bob"),
    ([], "export.tsv: several stimuli in its Presented Media name; it has: clip.mp4, other.mp4: choose one"),
    (["--stimulus", "x.mp4"], "export.tsv: no stimulus 'x.mp4' in its Presented Media name; it has: clip.mp4"),
])
def test_gaze_option_errors_are_one_line(tmp_path, capsys, extra, words):
    export = write_tobii(tmp_path / "export.tsv")
    argv = ["gaze-convert", str(export), "--size", "100x50", "--frames", "10", "-o", str(tmp_path / "o.csv"), *extra]
    assert cli.main(argv) == 2
    line = error_line(capsys)
    assert line.startswith("salfom gaze-convert: error:") and words in line
    assert not (tmp_path / "o.csv").exists()


def test_every_gaze_command_takes_the_gaze_options():
    parser = cli.build_parser()
    for command in ("gaze-convert", "evaluate", "make-dataset", "predict"):
        sub = parser._subparsers._group_actions[0].choices[command]
        options = {o for action in sub._actions for o in action.option_strings}
        assert {"--stimulus", "--participants", "--start-message", "--offset-ms", "--video-rect", "--columns",
                "--time-unit", "--coords", "--min-confidence", "--detect", "--screen-mm", "--distance-mm",
                "--screen"} <= options, command


def test_evaluate_reads_an_eyelink_file_with_its_options(tmp_path, capsys):
    video = shared_path("data", "dhf1k_0002", "0002.avi")
    asc = exports("eyelink", "P04.asc")
    out = tmp_path / "eval"
    assert cli.main(["evaluate", "--pred", "center-bias", "--gaze", str(asc), "--video", str(video), "--out",
                     str(out), "--every", "50", "--metrics", "nss", "-q"]) == 0
    summary = json.loads((out / "metrics_summary.json").read_text())
    assert summary["frames"] > 0


def test_make_dataset_reads_an_eyelink_file_with_a_start_message(tmp_path, capsys):
    from helpers import make_video

    video = make_video(tmp_path / "clip.mp4", n_frames=10, size=(160, 90), fps=30)
    asc = write_asc(tmp_path / "S01.asc", START_MESSAGE)
    argv = ["make-dataset", str(video), "--gaze", str(asc), "-o", str(tmp_path / "data"), "-q",
            "--start-message", "MOVIE_START", "--offset-ms", "10"]
    assert cli.main(argv) == 0
    folder = tmp_path / "data" / "train" / "clip"
    # the same samples as test_eyelink_start_message_offset_and_frame_messages' +10 ms reading
    gaze = read_csv(folder / "gaze.csv", (160, 90), 10)
    assert gaze.frame.tolist() == [0, 0, 1, 2, 2]
    settings = json.loads((folder / "make_dataset.json").read_text())["sources"]["settings"]
    assert settings["gaze"]["start_message"] == "MOVIE_START" and settings["gaze"]["offset_ms"] == 10
    # other options for the same output: refused rather than mixed
    assert cli.main(argv[:-1] + ["20"]) == 2
    assert "made from other sources or settings" in capsys.readouterr().err
    # default options leave no trace in the manifest (a dataset made before they existed still matches)
    video2 = make_video(tmp_path / "plain.mp4", n_frames=10, size=(160, 90), fps=30)
    csv_gaze = tmp_path / "plain.csv"
    csv_gaze.write_text("frame,x,y\n0,10,10\n")
    assert cli.main(["make-dataset", str(video2), "--gaze", str(csv_gaze), "-o", str(tmp_path / "data"), "-q"]) == 0
    manifest = json.loads((tmp_path / "data" / "train" / "plain" / "make_dataset.json").read_text())
    assert "gaze" not in manifest["sources"]["settings"]


def test_inspection_of_smi_and_the_plain_csv(tmp_path):
    smi = inspect_gaze(shared_path("data", "dhf1k_0002", "gaze"))
    assert smi.format == "SMI raw export" and smi.participants[:2] == ["P01", "P02"]
    assert smi.sample_counts["P01"] == 6774 and smi.fixation_counts["P01"] == 2001
    path = write_tobii(tmp_path / "export.tsv")
    gaze = load_gaze(path, SMALL, 10, options=GazeOptions(video_name="clip.mp4"))
    write_csv(gaze, tmp_path / "plain.csv")
    plain = inspect_gaze(tmp_path / "plain.csv")
    assert plain.format == "plain gaze CSV" and plain.sample_counts == {"Ann": 3, "Bob": 1}
    assert plain.notes == ["fixations: file: Tobii Pro Lab Eye movement type"]


def test_unknown_formats_say_what_is_read_and_how_to_map_columns(tmp_path):
    path = tmp_path / "odd.tsv"
    path.write_text("when\twhere_x\twhere_y\n1\t2\t3\n")
    with pytest.raises(GazeError, match=r"odd\.tsv: unknown gaze format \(expected Tobii Pro Lab TSV, EyeLink ASC, "
                                        r".*its first line has: when, where_x, where_y; another CSV can be read "
                                        r"with --columns"):
        load_gaze(path, SMALL, 10)
    mapped = load_gaze(path, SMALL, 10, options=GazeOptions(columns={"time": "when", "x": "where_x", "y": "where_y"},
                                                           detect="none", coords="px"))
    assert rows_of(mapped) == [(0, "odd", 2, 3)]


def test_options_are_checked_when_used_not_when_edited(tmp_path):
    # the import dialog may hold a half-typed setting: building it is fine, reading with it is one error
    options = GazeOptions(video_rect=(0, 0, 0, 10), participants=())
    path = write_tobii(tmp_path / "export.tsv")
    with pytest.raises(ValueError, match=r"no participant chosen"):
        load_gaze(path, SMALL, 10, options=options)
    with pytest.raises(ValueError, match=r"video rectangle \(0, 0, 0, 10\): expected X,Y,W,H with W and H above 0"):
        inspect_gaze(path, GazeOptions(video_rect=(0, 0, 0, 10)))
