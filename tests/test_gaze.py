"""Gaze import: real SMI exports, CSV, annotation folders, gaze-convert."""
import cv2
import numpy as np
import pytest
from conftest import shared_path

from salfom_core import cli
from salfom_core.io.annotations import find_annotations
from salfom_core.io.gaze import GazeError, load_gaze, read_annotation_folder, read_csv, read_smi


def test_real_smi_export_gives_every_frame_3_to_11_observers():
    folder = shared_path("data", "dhf1k_0002", "gaze")
    gaze = read_smi(sorted(folder.glob("*.txt")), (640, 360), n_frames=783)
    assert gaze.observers == [f"P{i:02d}" for i in range(1, 13)]
    per_frame = gaze.observers_per_frame()
    assert len(per_frame) == 783
    assert per_frame.min() == 3 and per_frame.max() == 11 and np.median(per_frame) == 8
    assert gaze.skipped == 0
    # inside the picture, in video pixels
    assert gaze.x.min() > 0 and gaze.x.max() < 640 and gaze.y.min() > 0 and gaze.y.max() < 360


def test_smi_frame_assignment_and_geometry(tmp_path):
    # two fixations 10 ms and 40 ms after the first sample: frames 0 and 1 at 30 fps;
    # screen (720, 450) is the video centre for a 640x360 video on 1440x900
    header = "Time\tType\tTrial\tL Dia X [px]\tL Dia Y [px]\tL POR X [px]\tL POR Y [px]\tL Event Info\n"
    rows = ["1000000\tSMP\t1\t1\t1\t720\t450\tSaccade",
            "1010000\tSMP\t1\t1\t1\t720\t450\tFixation",
            "1040000\tSMP\t1\t1\t1\t1440\t450\tFixation",     # x = 640 = W: outside, dropped
            "garbage line",
            "1050000\tSMP\t1\t1\t1\t360\t225\tFixation"]
    path = tmp_path / "P01_Trail001.txt"
    path.write_text(header + "\n".join(rows) + "\n")
    gaze = read_smi([path], (640, 360), n_frames=10)
    assert gaze.skipped == 1
    assert gaze.frame.tolist() == [0, 1]
    np.testing.assert_allclose(np.c_[gaze.x, gaze.y], [[320, 180], [160, 80]])


def test_csv_pixels_normalized_time_and_malformed_rows(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("frame,x,y,observer\n0,10,20,ann\n1,30,40,bob\nx,1,2,ann\n2,,5,bob\n3,50,60,ann\n")
    gaze = read_csv(path, (100, 80), n_frames=5)
    assert gaze.skipped == 2 and len(gaze) == 3 and gaze.observers == ["ann", "bob"]
    assert gaze.for_frame(1)[0].tolist() == [30.0]
    norm = tmp_path / "n.csv"
    norm.write_text("time_s,x,y\n0.05,0.5,0.25\n0.5,1.0,1.0\n")
    gaze = read_csv(norm, (100, 80), n_frames=30, fps=30)
    assert gaze.frame.tolist() == [1, 15]
    np.testing.assert_allclose(gaze.x, [50, 100])
    np.testing.assert_allclose(gaze.y, [20, 80])
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(GazeError, match=r"bad\.csv.*needs columns"):
        read_csv(bad, (100, 80), 5)


@pytest.mark.parametrize("folder, size, frames", [("dhf1k_0601_first20", (640, 360), 20),
                                                   ("ucf_sports_diving_side_001", (720, 404), 54)])
def test_annotation_folders_reproduce_official_fixation_maps(folder, size, frames):
    root = shared_path("data", folder)
    gaze = read_annotation_folder(root)
    assert gaze.n_frames == frames and gaze.size == size
    ann = find_annotations(root)
    png_files = sorted((root / "fixation").glob("*.png"))
    for k in (0, frames // 2, frames - 1):
        official = cv2.imread(str(png_files[k]), cv2.IMREAD_GRAYSCALE) > 127
        np.testing.assert_array_equal(ann.fixations(k).astype(bool), official)
        np.testing.assert_array_equal(gaze.fixation_map(k).astype(bool), official)
        assert ann.gt_map(k).shape == official.shape


def samples(gaze) -> list[tuple]:
    """Every sample as (frame, x, y, observer name), in the reader's order."""
    return [(int(f), float(x), float(y), gaze.observer_name(int(o)) if o >= 0 else "")
            for f, x, y, o in zip(gaze.frame, gaze.x, gaze.y, gaze.observer)]


def assert_same_samples(got: list[tuple], expected: list[tuple], atol: float = 5e-4):
    """Same frames and observers, x and y within `atol` (the CSV keeps 3 decimals)."""
    assert [(f, o) for f, _, _, o in got] == [(f, o) for f, _, _, o in expected]
    np.testing.assert_allclose([(x, y) for _, x, y, _ in got], [(x, y) for _, x, y, _ in expected], atol=atol)


def test_gaze_convert_writes_the_video_coordinates_of_a_hand_written_smi_export(tmp_path):
    # 640x360 shown on 1440x900: a = 4/9, b = 45, so a screen point (9/4 x, 45 + 9/4 y) is video (x, y).
    # y has quarters and halves (rounding to whole pixels shows) and no point is symmetric (a flip shows).
    header = "Time\tType\tTrial\tL POR X [px]\tL POR Y [px]\tL Event Info\n"
    exports = {"P01_Trial1.txt": ["1000000\tSMP\t1\t720\t450\tSaccade",          # t = 0: no fixation
                                  "1010000\tSMP\t1\t451.6875\t270.5625\tFixation",  # 10 ms: frame 0
                                  "1040000\tSMP\t1\t900\t721.125\tFixation"],       # 40 ms: frame 1
               "P02_Trial1.txt": ["5000000\tSMP\t1\t73.125\t62.4375\tFixation",     # t = 0: on a boundary, dropped
                                  "5020000\tSMP\t1\t73.125\t62.4375\tFixation",     # 20 ms: frame 0
                                  "5070000\tSMP\t1\t1350.5625\t832.5\tFixation"]}   # 70 ms: frame 2
    folder = tmp_path / "smi"
    folder.mkdir()
    for name, rows in exports.items():
        (folder / name).write_text(header + "\n".join(rows) + "\n")
    out = tmp_path / "gaze.csv"
    assert cli.main(["gaze-convert", str(folder), "--size", "640x360", "--frames", "10", "-o", str(out)]) == 0
    expected = [(0, 200.75, 100.25, "P01"), (0, 32.5, 7.75, "P02"), (1, 400.0, 300.5, "P01"), (2, 600.25, 350.0, "P02")]
    got = sorted(samples(read_csv(out, (640, 360), 10)), key=lambda s: (s[0], s[3]))     # by frame, observer
    assert_same_samples(got, expected)


def test_gaze_convert_roundtrip(tmp_path):
    folder = shared_path("data", "dhf1k_0002", "gaze")
    video = shared_path("data", "dhf1k_0002", "0002.avi")
    out = tmp_path / "gaze.csv"
    assert cli.main(["gaze-convert", str(folder), "--video", str(video), "-o", str(out)]) == 0
    original = load_gaze(folder, (640, 360), 783)
    again = read_csv(out, (640, 360), 783)
    assert len(again) == len(original) > 10000 and again.observers == original.observers
    assert_same_samples(samples(again), samples(original))


def test_unknown_gaze_input_is_named(tmp_path):
    path = tmp_path / "gaze.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(GazeError, match=r"gaze\.xlsx.*unknown gaze format"):
        load_gaze(path, (10, 10), 5)
