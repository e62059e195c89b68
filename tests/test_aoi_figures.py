"""AOI figures from a small hand-written SMI recording whose fixation runs are known, and
hand-made maps: every number below is worked out by hand from AOI_SPEC.md; and `salfom aoi`
end to end on the same inputs."""
import csv
import math
import re

import cv2
import numpy as np
import pytest

from salfom_core import cli
from salfom_core.aoi import AOI, AoiError, Keyframe
from salfom_core.aoi.figures import (FRAME_COLUMNS, OBSERVER_COLUMNS, SUMMARY_COLUMNS, AoiInputs, MapSource,
                                     compute_figures, require_events)
from salfom_core.evaluation.sources import MapFolder
from salfom_core.io.gaze import load_gaze

SIZE, N_FRAMES, FPS = (640, 360), 30, 30.0
A = 640 / 1440          # the DHF1K screen geometry: video (x, y) = (A xs, A (ys - 45))
LEFT = ((50, 50), (150, 150))          # 101 x 101 pixels
RIGHT = ((450, 50), (550, 150))
AREA = 101 * 101 / (640 * 360)


def screen(x, y):
    return x / A, y / A + 45


def smi_rows(runs):
    """runs: (first ms, last ms, label, video x, y), samples every 10 ms."""
    rows = []
    for first, last, label, x, y in runs:
        xs, ys = screen(x, y)
        for t in range(first, last + 1, 10):
            rows.append(f"{1_000_000 + t * 1000}\tSMP\t1\t3\t3\t{xs:.4f}\t{ys:.4f}\t{label}")
    return rows


# P01, in ms from its first sample (runs of `Fixation` samples, Z and A to F):
P01 = [(0, 20, "Fixation", 500, 100),       # Z: t0 0, 30 ms, frame 1, at RIGHT's place, but RIGHT is off there
       (30, 30, "-", 320, 180),
       (40, 120, "Fixation", 100, 100),     # A: t0 40, until 130: 90 ms, frame floor(1.2) + 1 = 2, LEFT
       (130, 140, "Saccade", 320, 180),
       (150, 230, "Fixation", 110, 100),    # B: t0 150, 90 ms, frame 5, LEFT (right after A: one visit)
       (240, 330, "Saccade", 320, 180),
       (340, 390, "Fixation", 500, 100),    # C: t0 340, 60 ms, frame floor(10.2) + 1 = 11: RIGHT's first frame
       (400, 410, "Blink", 0, 0),
       (420, 510, "Fixation", 500, 100),    # D: t0 420, 100 ms, frame 13, RIGHT (right after C: one visit)
       (520, 520, "Saccade", 320, 180),
       (530, 590, "Fixation", 100, 100),    # E: t0 530, 70 ms, frame 16, LEFT
       (600, 600, "-", 320, 180),
       (610, 680, "Fixation", 500, 100)]    # F: t0 610, ends the file: 680 - 610 + 10 ms, frame 19, RIGHT
# P02 looks at the centre: one fixation (0-90 ms, 100 ms long), in neither AOI
P02 = [(0, 90, "Fixation", 320, 180), (100, 680, "Saccade", 320, 180)]
HEADER = "Time\tType\tTrial\tL Dia X [px]\tL Dia Y [px]\tL POR X [px]\tL POR Y [px]\tL Event Info"


@pytest.fixture()
def recording(tmp_path):
    folder = tmp_path / "gaze"
    folder.mkdir()
    for name, runs in (("P01", P01), ("P02", P02)):
        (folder / f"{name}_Trial001.txt").write_text("\n".join([HEADER, *smi_rows(runs)]) + "\n")
    return folder


@pytest.fixture()
def maps(tmp_path):
    """One map for every frame: 100 on a 20 x 20 block inside LEFT, 50 on a 10 x 10 block in
    the top-left corner (in no AOI): mass 40000 + 5000, LEFT's share 8/9, RIGHT's 0."""
    folder = tmp_path / "blocks"
    folder.mkdir()
    m = np.zeros((360, 640), np.uint8)
    m[90:110, 90:110] = 100          # pixel [i, j] at (j + 1, i + 1): points 91..110, inside LEFT
    m[0:10, 0:10] = 50
    for k in range(1, N_FRAMES + 1):
        cv2.imwrite(str(folder / f"{k:04d}.png"), m)
    # a uniform map at half the size: resized as `salfom evaluate` does, still uniform,
    # so every AOI's share is its area share (density 1)
    half = tmp_path / "uniform_half"
    half.mkdir()
    for k in range(1, N_FRAMES + 1):
        cv2.imwrite(str(half / f"{k:04d}.png"), np.full((180, 320), 128, np.uint8))
    return folder, half


def aois():
    return [AOI("left", "rect", [Keyframe(1, True, LEFT)]), AOI("right", "rect", [Keyframe(11, True, RIGHT)])]


def figures_of(recording, maps):
    gaze = load_gaze(recording, SIZE, N_FRAMES, FPS)
    models = [MapSource(folder.name, MapFolder(folder).read) for folder in maps]
    return compute_figures(AoiInputs(N_FRAMES, SIZE, FPS, gaze, models), aois())


EXPECTED_OBSERVERS = [
    # aoi, observer, ttff, from onset, first fixation, fixations, fixation ms, visits, visit ms
    ("left", "P01", 40, 40, 90, 3, 90 + 90 + 70, 2, (240 - 40) + 70),
    ("left", "P02", None, None, None, 0, 0, 0, 0),
    # RIGHT's onset is frame 11, at 10/30 s: Z (frame 1) does not count; C and D make one visit
    # (the blink between them is no fixation), F another (E between)
    ("right", "P01", 340, 340 - 1000 / 3, 60, 3, 60 + 100 + 80, 2, (520 - 340) + 80),
    ("right", "P02", None, None, None, 0, 0, 0, 0),
]


def test_fixation_events_give_ttff_first_fixation_visits_and_counts(recording, maps):
    rows = figures_of(recording, maps).observer_rows()
    assert [tuple(r[c] for c in OBSERVER_COLUMNS[:2]) for r in rows] == [e[:2] for e in EXPECTED_OBSERVERS]
    for row, expected in zip(rows, EXPECTED_OBSERVERS):
        for column, value in zip(OBSERVER_COLUMNS[2:], expected[2:]):
            assert row[column] == (None if value is None else pytest.approx(value, abs=1e-6)), (row, column)


def by_frame(rows, aoi, source):
    return {r["frame"]: r for r in rows if r["aoi"] == aoi and r["source"] == source}


def test_per_frame_shares_of_gaze_and_models(recording, maps):
    rows = figures_of(recording, maps).frame_rows()
    assert {r["active"] for r in rows} == {1}
    left, right = by_frame(rows, "left", "gaze"), by_frame(rows, "right", "gaze")
    assert sorted(left) == list(range(1, 31)) and sorted(right) == list(range(11, 31))   # active frames only
    # frame 1 (0 < 30 t < 1): P01's 2 samples of Z (10, 20 ms), P02's 3 at the centre (t = 0 itself
    # is on the boundary: dropped), none in LEFT
    assert (left[1]["share"], left[1]["observers"]) == (0, 0)
    # frame 2: P01's 3 samples of A in LEFT, P02's 3 at the centre
    assert (left[2]["share"], left[2]["observers"]) == (0.5, 1)
    assert left[2]["density"] == pytest.approx(0.5 / AREA)
    # frame 4 (100 < t < 133 ms): P01's 110 and 120 ms samples (A), nothing else
    assert (left[4]["share"], left[4]["observers"]) == (1, 1)
    # frame 8 (233 < t < 267 ms): saccades only: no share, the row is there
    assert math.isnan(left[8]["share"]) and left[8]["observers"] == 0
    # frame 11 (333 < t < 367 ms): C's 340, 350, 360 ms samples, in RIGHT; frame 14: D's three
    assert (right[11]["share"], right[11]["observers"]) == (1, 1)
    assert (right[14]["share"], right[14]["observers"]) == (1, 1)
    blocks = by_frame(rows, "left", "blocks")
    assert all(r["share"] == pytest.approx(8 / 9) for r in blocks.values()) and len(blocks) == 30
    assert blocks[5]["density"] == pytest.approx(8 / 9 / AREA) and blocks[5]["observers"] is None
    assert all(r["share"] == 0 for r in by_frame(rows, "right", "blocks").values())
    uniform = by_frame(rows, "right", "uniform_half")
    assert len(uniform) == 20 and all(r["density"] == pytest.approx(1, rel=1e-12) for r in uniform.values())


def test_summary(recording, maps):
    rows = figures_of(recording, maps).summary_rows()
    assert [(r["aoi"], r["source"]) for r in rows] == [(a, s) for a in ("left", "right")
                                                       for s in ("gaze", "blocks", "uniform_half")]
    left_gaze, left_blocks, _, right_gaze = rows[0], rows[1], rows[2], rows[3]
    assert (left_gaze["frames_active"], right_gaze["frames_active"]) == (30, 20)
    # one of the two observers fixated each AOI; the ttff mean is over that one, the fixation
    # time's over both (zeros included)
    assert left_gaze["percent_fixated"] == 50 and right_gaze["percent_fixated"] == 50
    assert left_gaze["ttff_ms_mean"] == pytest.approx(40) and right_gaze["ttff_ms_mean"] == pytest.approx(340)
    assert left_gaze["fixation_ms_mean"] == pytest.approx(250 / 2)
    assert right_gaze["fixation_ms_mean"] == pytest.approx(240 / 2)
    assert left_blocks["share_mean"] == pytest.approx(8 / 9) and left_blocks["percent_fixated"] is None
    assert left_blocks["ttff_ms_mean"] is None and left_blocks["fixation_ms_mean"] is None


def test_only_the_aois_asked_for_are_computed(recording, maps):
    gaze = load_gaze(recording, SIZE, N_FRAMES, FPS)
    reads = []
    folder = MapFolder(maps[0])
    source = MapSource("blocks", lambda i: reads.append(i) or folder.read(i))
    figures = compute_figures(AoiInputs(N_FRAMES, SIZE, FPS, gaze, [source]), aois()[1:])
    assert figures.aois == ["right"] and {r["aoi"] for r in figures.frame_rows()} == {"right"}
    assert sorted(reads) == list(range(10, 30))      # only the frames where RIGHT is on, each once
    cancelled = compute_figures(AoiInputs(N_FRAMES, SIZE, FPS, gaze, [source]), aois(), cancel=lambda: True)
    assert cancelled is None


# --------------------------------------------------------------------------- the command line


@pytest.fixture()
def clip(tmp_path):
    from helpers import make_video

    return make_video(tmp_path / "clip.mp4", n_frames=N_FRAMES, size=SIZE, fps=int(FPS))


def aoi_file(tmp_path):
    path = tmp_path / "clip.aois.json"
    path.write_text('{"version": 1, "video": "clip.mp4", "aois": ['
                    '{"name": "left", "color": "#e41a1c", "shape": "rect", "keyframes": [{"frame": 1, "active": true, '
                    '"vertices": [[50, 50], [150, 150]]}]},'
                    '{"name": "right", "color": "#377eb8", "shape": "rect", "keyframes": '
                    '[{"frame": 11, "active": true, '
                    '"vertices": [[450, 50], [550, 150]]}]}]}')
    return path


def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def test_cli_end_to_end(tmp_path, clip, recording, maps, capsys):
    out = tmp_path / "out"
    code = cli.main(["aoi", str(clip), "--aois", str(aoi_file(tmp_path)), "--gaze", str(recording),
                     "--pred", str(maps[0]), "--pred", "center-bias", "-o", str(out),
                     "--plot", str(tmp_path / "aoi.png"), "-q"])
    assert code == 0, capsys.readouterr().err
    header, observers = read_csv(out / "aoi_observers.csv")
    assert tuple(header) == OBSERVER_COLUMNS
    assert observers[0] == {"aoi": "left", "observer": "P01", "ttff_ms": "40", "ttff_from_onset_ms": "40",
                            "first_fixation_ms": "90", "fixations": "3", "fixation_ms": "250", "visits": "2",
                            "visit_ms": "270"}
    assert observers[1]["ttff_ms"] == "" and observers[1]["fixations"] == "0"
    assert observers[2]["ttff_from_onset_ms"] == "6.667"
    header, frames = read_csv(out / "aoi_frames.csv")
    assert tuple(header) == FRAME_COLUMNS
    assert {r["source"] for r in frames} == {"gaze", "blocks", "center-bias"}       # a model is named by its folder
    assert len(frames) == (30 + 20) * 3
    row = next(r for r in frames if (r["aoi"], r["frame"], r["source"]) == ("left", "2", "gaze"))
    assert (row["active"], row["share"], row["observers"]) == ("1", "0.5", "1")
    assert next(r for r in frames if r["source"] == "gaze" and r["frame"] == "8")["share"] == ""
    header, summary = read_csv(out / "aoi_summary.csv")
    assert tuple(header) == SUMMARY_COLUMNS
    centre = next(r for r in summary if (r["aoi"], r["source"]) == ("left", "center-bias"))
    assert centre["frames_active"] == "30" and 0 < float(centre["share_mean"]) < 1 and centre["percent_fixated"] == ""
    assert (tmp_path / "aoi.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "left" in capsys.readouterr().out


@pytest.mark.parametrize("make_args, message", [
    (lambda t, g, m: ["--gaze", str(g), "--plot", str(t / "x.gif")], r"x\.gif: the plot is written as"),
    (lambda t, g, m: ["--pred", str(t / "nothing_here")], r"nothing_here: not a folder of maps"),
    (lambda t, g, m: ["--pred", str(m[0]), "--pred", str(m[0])], r"is given twice"),
    (lambda t, g, m: [], r"give --gaze and/or --pred"),
])
def test_cli_refuses_bad_settings_in_one_line(tmp_path, clip, recording, maps, capsys, make_args, message):
    out = tmp_path / "out"
    code = cli.main(["aoi", str(clip), "--aois", str(aoi_file(tmp_path)), "-o", str(out), "-q",
                     *make_args(tmp_path, recording, maps)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("salfom aoi: error: ")
    assert re.search(message, err[0]), err[0]
    assert not out.exists()


def test_cli_malformed_aoi_file_and_gaze_without_events(tmp_path, clip, recording, capsys):
    bad = tmp_path / "bad.aois.json"
    bad.write_text('{"version": 1, "aois": [{"name": "logo", "shape": "hexagon", "keyframes": '
                   '[{"frame": 1, "vertices": [[0, 0], [5, 5]]}]}]}')
    assert cli.main(["aoi", str(clip), "--aois", str(bad), "--gaze", str(recording), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"salfom aoi: error: {bad}: AOI 'logo': unknown shape 'hexagon' (expected rect, ellipse, polygon)"
    folder = fixation_annotations(tmp_path)    # fixated pixels per frame: no fixation events
    assert cli.main(["aoi", str(clip), "--aois", str(aoi_file(tmp_path)), "--gaze", str(folder),
                     "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{folder}: no fixation events" in err and "--detect ivt" in err


def fixation_annotations(tmp_path):
    """A DHF1K-style annotation folder: frame 1's fixated pixels (100, 100) and (300, 300)."""
    folder = tmp_path / "annotated"
    (folder / "fixation").mkdir(parents=True)
    for k in range(1, N_FRAMES + 1):
        fix = np.zeros((360, 640), np.uint8)
        if k == 1:
            fix[99, 99] = fix[299, 299] = 255        # pixel [i, j] at (j + 1, i + 1)
        cv2.imwrite(str(folder / "fixation" / f"{k:04d}.png"), fix)
    return folder


def test_gaze_without_events_still_gives_per_frame_shares(tmp_path):
    gaze = load_gaze(fixation_annotations(tmp_path), SIZE, N_FRAMES, FPS)
    figures = compute_figures(AoiInputs(N_FRAMES, SIZE, FPS, gaze), aois()[:1])
    row = by_frame(figures.frame_rows(), "left", "gaze")[1]
    assert row["share"] == 0.5 and row["observers"] is None        # observers unknown: not counted
    assert figures.observer_rows() == [] and figures.summary_rows()[0]["percent_fixated"] is None
    with pytest.raises(AoiError, match="no fixation events"):
        require_events(gaze)


@pytest.mark.slow      # a few seconds: a model computes
def test_cli_checkpoint_is_predicted_through_the_cache(tmp_path, capsys):
    """`--pred CHECKPOINT` reads the same maps `salfom predict` writes for it, from the cache."""
    import torch

    from helpers import make_video
    from salfom_core import create_model, save_checkpoint

    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny.pt"
    save_checkpoint(checkpoint, create_model("salfom_tiny"))
    video = make_video(tmp_path / "small.mp4", n_frames=18, size=(64, 48), fps=30, texture=True)
    aois_path = tmp_path / "small.aois.json"
    aois_path.write_text('{"version": 1, "aois": [{"name": "middle", "shape": "ellipse", "keyframes": '
                         '[{"frame": 1, "vertices": [[16, 12], [48, 36]]}]}]}')
    cache = tmp_path / "cache"
    assert cli.main(["predict", str(video), "-c", str(checkpoint), "-o", str(tmp_path / "pred"), "--cache", str(cache),
                     "-q"]) == 0
    common = ["aoi", str(video), "--aois", str(aois_path), "-q"]
    assert cli.main([*common, "--pred", str(checkpoint), "--cache", str(cache), "-o", str(tmp_path / "a")]) == 0
    assert cli.main([*common, "--pred", str(tmp_path / "pred" / "small"), "-o", str(tmp_path / "b")]) == 0
    _, from_cache = read_csv(tmp_path / "a" / "aoi_frames.csv")
    _, from_files = read_csv(tmp_path / "b" / "aoi_frames.csv")
    assert {r["source"] for r in from_cache} == {"tiny"} and {r["source"] for r in from_files} == {"small"}
    assert [r["share"] for r in from_cache] == [r["share"] for r in from_files] and len(from_cache) == 18
    assert 0 < float(from_cache[0]["share"]) < 1
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 1         # one entry: the maps were not computed again


def test_cli_reads_gaze_without_events_through_a_detector(tmp_path, clip, capsys):
    """A CSV read by a column mapping has no fixation events: `--detect ivt` (the gaze options,
    as on every command) finds them. Observer a rests at (580, 100), right of "left", for 100 ms,
    then jumps into it at (100, 100) and rests there: one fixation in "left", starting at 104 ms
    (I-VT labels a sample by the velocity from the sample before: the first sample after the
    jump, at 100 ms, belongs to the saccade)."""
    rows = ["t_ms,gx,gy,who"]
    for k in range(100):                                     # 250 Hz, 400 ms
        t = 4 * k
        x = 580 if k < 25 else 100
        rows.append(f"{t},{x + (k % 2) * 0.5},{100 + (k % 3) * 0.5},a")
    gaze = tmp_path / "raw.csv"
    gaze.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    code = cli.main(["aoi", str(clip), "--aois", str(aoi_file(tmp_path)), "--gaze", str(gaze),
                     "--columns", "time=t_ms,x=gx,y=gy,observer=who", "--time-unit", "ms", "--coords", "px",
                     "--detect", "ivt", "-o", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    _, observers = read_csv(out / "aoi_observers.csv")
    left = next(r for r in observers if (r["aoi"], r["observer"]) == ("left", "a"))
    assert left["fixations"] == "1" and left["ttff_ms"] == "104"


def test_cli_says_which_aoi_lies_wholly_outside_the_picture(tmp_path, clip, recording, capsys):
    """"right" drawn in screen pixels (x 1450..1550 on the 640 x 360 clip): a warning naming the
    file and the AOI, the figures of the others as before; every AOI outside: an error."""
    aois = aoi_file(tmp_path)
    assert cli.main(["aoi", str(clip), "--aois", str(aois), "--gaze", str(recording), "-o", str(tmp_path / "as_drawn"),
                     "-q"]) == 0
    assert "wholly outside" not in capsys.readouterr().err
    aois.write_text(aois.read_text().replace("[[450, 50], [550, 150]]", "[[1450, 50], [1550, 150]]"))
    out = tmp_path / "out"
    assert cli.main(["aoi", str(clip), "--aois", str(aois), "--gaze", str(recording), "-o", str(out), "-q"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "wholly outside" in line]
    assert len(said) == 1 and said[0].startswith(f"warning: {aois}: AOI 'right'") and "640x360" in said[0], said
    for name in ("aoi_summary.csv", "aoi_observers.csv"):
        left = [r for r in read_csv(out / name)[1] if r["aoi"] == "left"]
        assert left and left == [r for r in read_csv(tmp_path / "as_drawn" / name)[1] if r["aoi"] == "left"]
    aois.write_text(aois.read_text().replace("[[50, 50], [150, 150]]", "[[-150, 50], [-50, 150]]"))
    assert cli.main(["aoi", str(clip), "--aois", str(aois), "--gaze", str(recording), "-o", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{aois}: all 2 AOIs lie wholly outside the 640x360 picture" in err, err
    assert not (tmp_path / "o2").exists()
