"""Map and frame folders as other tools write them (issue 22's trial, round 3): hidden files,
numbering from 0, JPEG grey saved as RGB, 16-bit and float maps, maps that do not fit the
video, through the library, `salfom evaluate` and the app."""

import cv2
import numpy as np
import pytest

from salfom_core.evaluation.sources import MapFolder
from salfom_core.io.annotations import find_annotations
from salfom_core.io.files import MapImageError, numbered_files, numbering_note, read_grey
from salfom_core.io.paths import PathKind, classify_path


def blob(w: int = 64, h: int = 48, cx: float = 30, cy: float = 20, sigma: float = 6.0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (255 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2))).astype(np.uint8)


def test_grey_maps_saved_as_rgb_are_read_as_grey(tmp_path):
    """Grey saved as RGB, through JPEG, or through a colour-managed export that leaves the
    channels a level or two apart: grey maps, not colour ones."""
    grey = blob()
    jpeg, managed = tmp_path / "0001.jpg", tmp_path / "0002.png"
    cv2.imwrite(str(jpeg), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    tinted = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR).astype(int)
    tinted[..., 2] += 2                                         # red two levels up
    cv2.imwrite(str(managed), np.clip(tinted, 0, 255).astype(np.uint8))
    for path in (jpeg, managed):
        read = read_grey(path)
        assert read.ndim == 2 and read.dtype == np.uint8
        assert np.abs(read.astype(int) - grey).max() <= 8, path.name


def test_a_float_map_with_nan_is_refused_naming_the_file(tmp_path):
    m = blob().astype(np.float32) / 255
    m[3, 4] = np.nan
    path = tmp_path / "0001.tif"
    cv2.imwrite(str(path), m)
    with pytest.raises(MapImageError, match="0001.tif.*NaN"):
        read_grey(path)


def test_folders_numbered_from_zero_are_frames_from_one_with_a_note(tmp_path):
    zero, one = tmp_path / "zero", tmp_path / "one"
    for folder, first in ((zero, 0), (one, 1)):
        folder.mkdir()
        for k in range(3):
            cv2.imwrite(str(folder / f"map_{first + k:03d}.png"), blob())
    def names(folder):
        return {i: p.name for i, p in numbered_files(folder).items()}

    assert names(zero) == {0: "map_000.png", 1: "map_001.png", 2: "map_002.png"}
    assert names(one) == {0: "map_001.png", 1: "map_002.png", 2: "map_003.png"}
    note = numbering_note(numbered_files(zero))
    assert "map_000.png" in note and "frame 1" in note
    assert numbering_note(numbered_files(one)) is None


def test_a_maps_folder_holding_macos_sidecar_files_is_still_maps(tmp_path):
    """`._notes.txt` (AppleDouble) beside the maps once made the folder look like SMI exports."""
    folder = tmp_path / "maps_copied"
    folder.mkdir()
    for k in range(3):
        cv2.imwrite(str(folder / f"{k + 1:04d}.png"), blob())
    (folder / "._notes.txt").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    (folder / "Thumbs.db").write_bytes(bytes(64))
    assert classify_path(folder) is PathKind.MAPS
    assert sorted(p.name for p in MapFolder(folder).files.values()) == ["0001.png", "0002.png", "0003.png"]


def test_16_bit_and_float_annotations_are_read_at_their_depth(tmp_path):
    """A 16-bit ground-truth map reads as im2double does (/65535) and a float fixation map
    (0.0 / 1.0) keeps its fixations (an 8-bit threshold of 127 took it for empty)."""
    root = tmp_path / "video"
    (root / "maps").mkdir(parents=True)
    (root / "fixation").mkdir()
    gt = np.full((48, 64), 32768, np.uint16)
    gt[10, 20] = 65535
    cv2.imwrite(str(root / "maps" / "0001.png"), gt)
    fix = np.zeros((48, 64), np.float32)
    fix[5, 7] = fix[30, 40] = 1.0
    cv2.imwrite(str(root / "fixation" / "0001.tif"), fix)
    ann = find_annotations(root)
    assert ann.gt_map(0)[10, 20] == 1.0 and ann.gt_map(0)[0, 0] == pytest.approx(32768 / 65535)
    assert sorted(zip(*np.nonzero(ann.fixations(0)))) == [(5, 7), (30, 40)]


def test_evaluate_says_a_folder_numbered_from_zero(tmp_path, capsys):
    from helpers import make_video
    from salfom_core import cli

    video = make_video(tmp_path / "clip.mp4", n_frames=4, size=(64, 48))
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{k},30,20,P1\n" for k in range(4)))
    maps = tmp_path / "from_zero"
    maps.mkdir()
    for k in range(4):
        cv2.imwrite(str(maps / f"{k:04d}.png"), blob())
    assert cli.main(["evaluate", "--pred", str(maps), "--gaze", str(gaze), "--video", str(video),
                     "--metrics", "nss", "--out", str(tmp_path / "out"), "-q"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "0000.png" in line]
    assert len(notes) == 1 and "from_zero" in notes[0] and "frame 1" in notes[0], notes


def test_the_app_shows_16_bit_maps_and_says_they_do_not_fit(window, tmp_path):
    """The demo is 480x272 and 150 frames: 160 portrait 16-bit maps (peak 600) are added, shown
    with their peak at 255, and one message names the folder, the count and the sizes."""
    from salfom_app.window import DEMO_VIDEO

    folder = tmp_path / "deep_portrait"
    folder.mkdir()
    deep = np.round(blob(272, 480, 100, 300, 40).astype(np.float64) / 255 * 600).astype(np.uint16)
    for k in range(160):
        cv2.imwrite(str(folder / f"{k + 1:04d}.png"), deep)
    assert window.open_video(DEMO_VIDEO)
    window.cancel_all(wait=True)
    layer = window.add_map_folder(folder)
    assert layer is not None
    shown = layer.read(0)
    assert shown.dtype == np.uint8 and shown.shape == (272, 480) and shown.max() == 255
    said = [e for e in window.errors if "deep_portrait" in e]
    assert said and "160" in said[-1] and "272x480" in said[-1] and "480x272" in said[-1], window.errors


def test_a_gaze_dataset_copied_from_a_mac_has_only_its_videos(tmp_path):
    """`._clip.mp4` beside `._clip_gaze.csv` (AppleDouble) looked like a second video with gaze."""
    from helpers import make_video
    from salfom_core.evaluation.truths import dataset_truths

    make_video(tmp_path / "clip.mp4", n_frames=4, size=(64, 48))
    (tmp_path / "clip_gaze.csv").write_text("frame,x,y,observer\n" + "".join(f"{k},30,20,P1\n" for k in range(4)))
    for name in ("._clip.mp4", "._clip_gaze.csv"):
        (tmp_path / name).write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    assert [t.name for t in dataset_truths(tmp_path)] == ["clip"]


def test_the_app_scores_16_bit_maps_as_the_cli_does(qtbot, window, tmp_path):
    """16-bit maps are shown at 8 bits but scored as stored: the app's per-frame metrics equal
    `salfom evaluate`'s (rounding them to 8 bits first moved AUC-J and NSS)."""
    from test_viewer_numbers import KEYS, evaluate_with_cli
    from test_viewer_panes import bar_titles

    from salfom_app.window import DEMO_VIDEO

    folder = tmp_path / "deep"
    folder.mkdir()
    yy, xx = np.mgrid[0:272, 0:480]
    for k in range(150):
        # a shallow ramp with a few hundred levels: 8 bits would merge neighbouring levels
        ramp = 300 + (xx + 2 * yy + 3 * k) % 400
        cv2.imwrite(str(folder / f"{k + 1:04d}.png"), ramp.astype(np.uint16))
    cli_scores = evaluate_with_cli([folder], tmp_path / "cli")["deep"]["frames"]
    assert window.open_video(DEMO_VIDEO)
    layer = window.add_map_folder(folder)
    qtbot.waitUntil(lambda: layer.scored.all() and not window.busy(), timeout=120000)
    # shown scaled to each frame's peak: the colour bar says so (not "255 in its images")
    assert bar_titles(window) == ["deep: 1.0 = the frame's highest value"]
    for frame, values in cli_scores.items():
        for key in KEYS:
            assert layer.metrics[key][frame] == pytest.approx(values[key], abs=1e-9, nan_ok=True), (frame, key)
    # the 8-bit picture of the same maps gives other numbers: the test can tell them apart
    from salfom_core.evaluation.metrics import auc_judd
    from salfom_core.io.files import as_uint8_map
    fixations = window.state.truth.fixations(0)
    stored = cv2.imread(str(folder / "0001.png"), cv2.IMREAD_UNCHANGED)
    assert auc_judd(as_uint8_map(stored), fixations) != pytest.approx(auc_judd(stored, fixations), abs=1e-6)
