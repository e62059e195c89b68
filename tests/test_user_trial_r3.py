"""Issue 22's fresh user trial: inputs the round-3 corpus did not name, each made here, each
pinning what a careful scientific tool does with it (read it right, or one line naming the file
and the problem; never a traceback, never a silent empty or shifted result)."""
import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import make_video
from salfom_core import cli

W, H, N = 64, 48, 10
VIDEO_ARGS = ["--size", f"{W}x{H}", "--frames", str(N), "--fps", "25"]


def convert(capsys, gaze: Path, out: Path, *extra) -> tuple[int, str]:
    """`salfom gaze-convert` without a video; (exit code, stderr)."""
    code = cli.main(["gaze-convert", str(gaze), "-o", str(out), *VIDEO_ARGS, *extra])
    return code, capsys.readouterr().err


def rows_of(path: Path) -> list[dict]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def assert_one_error_line(code: int, err: str, *names: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    for name in names:
        assert name in lines[0], lines[0]


# --------------------------------------------------------------------------- the plain gaze CSV
# The `--columns` reader sniffs the delimiter, reads `0,5` decimals and UTF-16; the plain CSV
# (frame/time_s, x, y), the format the README tells users to write, does none of it.

PLAIN_ROWS = [(k, 10.5 + k, 20.25) for k in range(N)]     # frame, x, y: pixels, by hand


def test_plain_csv_saved_by_german_excel_is_read(tmp_path, capsys):
    """Excel in a German locale saves `;`-separated CSVs with decimal commas."""
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame;x;y;observer\n" + "".join(f"{f};{x:.2f};{y:.2f};P1\n".replace(".", ",")
                                                      for f, x, y in PLAIN_ROWS))
    code, err = convert(capsys, gaze, tmp_path / "out.csv")
    assert code == 0, err
    assert [(int(r["frame"]), float(r["x"]), float(r["y"])) for r in rows_of(tmp_path / "out.csv")] == PLAIN_ROWS


def test_plain_tab_separated_gaze_is_read(tmp_path, capsys):
    """The error today lists exactly the columns it asks for: 'its first line has: frame, x, y'."""
    gaze = tmp_path / "gaze.tsv"
    gaze.write_text("frame\tx\ty\tobserver\n" + "".join(f"{f}\t{x}\t{y}\tP1\n" for f, x, y in PLAIN_ROWS))
    code, err = convert(capsys, gaze, tmp_path / "out.csv")
    assert code == 0, err
    assert [(int(r["frame"]), float(r["x"]), float(r["y"])) for r in rows_of(tmp_path / "out.csv")] == PLAIN_ROWS


def test_plain_csv_in_utf16_with_a_bom_is_read(tmp_path, capsys):
    """Windows tools ('Unicode text') write UTF-16 with a byte-order mark: the encoding is certain."""
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{f},{x},{y},P1\n" for f, x, y in PLAIN_ROWS),
                    encoding="utf-16")
    assert gaze.read_bytes()[:2] == b"\xff\xfe"
    code, err = convert(capsys, gaze, tmp_path / "out.csv")
    assert code == 0, err
    assert [(int(r["frame"]), float(r["x"]), float(r["y"])) for r in rows_of(tmp_path / "out.csv")] == PLAIN_ROWS


def test_plain_csv_with_every_sample_off_the_picture_is_an_error(tmp_path, capsys):
    """Every sample is off the 64x48 picture (x -5 or 100): the tracker readers refuse this
    ('all N fixation samples fall outside the video's picture'); the plain CSV writes an empty
    CSV and exits 0, and `evaluate` then scores 0 frames with exit 0."""
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{k},{-5 if k % 2 else 100},20,P1\n" for k in range(N)))
    code, err = convert(capsys, gaze, tmp_path / "out.csv")
    assert_one_error_line(code, err, "gaze.csv", "outside")


def test_plain_csv_with_every_sample_after_the_video_is_an_error(tmp_path, capsys):
    """Frames 100-109 of a 10-frame video (a wrong clip, or times in ms under `time_s`)."""
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{k},30,20,P1\n" for k in range(100, 110)))
    code, err = convert(capsys, gaze, tmp_path / "out.csv")
    assert_one_error_line(code, err, "gaze.csv", "outside")


def test_plain_csv_with_a_header_and_no_rows_is_an_error(tmp_path, capsys):
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n")
    code, err = convert(capsys, gaze, tmp_path / "out.csv")
    assert_one_error_line(code, err, "gaze.csv")


def test_rows_without_an_observer_name_are_not_a_hidden_observer(tmp_path, capsys):
    """Half the rows have an empty `observer` (a hand-merged file): today they count as samples
    of nobody, '20 fixation samples of 1 observers', drawn in the app as rings no observer box
    can hide. Either give them an observer of their own or say how many rows lack a name."""
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{f},{x},{y},{'P1' if f % 2 else ''}\n"
                                                      for f, x, y in PLAIN_ROWS))
    code, err = convert(capsys, gaze, tmp_path / "out.csv")
    assert code == 0, err
    named = all(r["observer"].strip() for r in rows_of(tmp_path / "out.csv"))
    said = any("gaze.csv" in line and "observer" in line and str(N // 2) in line for line in err.splitlines())
    assert named or said, err


# --------------------------------------------------------------------------- maps and frame folders


def blob(cx: float, cy: float, sigma: float = 2.0) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return (255 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2))).astype(np.uint8)


def moving_target(k: int) -> tuple[int, int]:
    """Where frame k's (0-based) map peaks and its gaze lies: 5 px further right each frame."""
    return 5 + 5 * k, 20


@pytest.fixture()
def scene(tmp_path):
    """A 10-frame video, gaze on a target moving right, and its maps `0001.png` ... (frame 1 first)."""
    video = make_video(tmp_path / "clip.mp4", n_frames=N, size=(W, H))
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{k},{moving_target(k)[0]},{moving_target(k)[1]},P1\n"
                                                      for k in range(N)))
    maps = tmp_path / "maps"
    maps.mkdir()
    for k in range(N):
        cv2.imwrite(str(maps / f"{k + 1:04d}.png"), blob(*moving_target(k)))
    return video, gaze, maps


def evaluate(capsys, pred: Path, video: Path, gaze: Path, out: Path) -> tuple[int, str]:
    code = cli.main(["evaluate", "--pred", str(pred), "--gaze", str(gaze), "--video", str(video),
                     "--metrics", "nss,cc", "--out", str(out), "-q"])
    return code, capsys.readouterr().err


def per_frame_nss(out: Path) -> dict[int, float]:
    with open(out / "metrics_frames.csv") as fh:
        return {int(r["frame"]): float(r["nss"]) for r in csv.DictReader(fh)}


def test_maps_folder_copied_from_a_mac_keeps_its_maps(scene, tmp_path, capsys):
    """A USB stick or network share written by macOS holds `._0001.png` (AppleDouble) beside
    each file and a `.DS_Store`: hidden files, not maps. Today `._0001.png` replaces frame 1's
    map and `evaluate` (and the app's --maps) stops: '._0001.png: not a readable image'."""
    video, gaze, maps = scene
    code, err = evaluate(capsys, maps, video, gaze, tmp_path / "clean")
    assert code == 0, err
    (maps / "._0001.png").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    (maps / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(60))
    code, err = evaluate(capsys, maps, video, gaze, tmp_path / "mac")
    assert code == 0, err
    assert per_frame_nss(tmp_path / "mac") == per_frame_nss(tmp_path / "clean")


def test_frame_folder_copied_from_a_mac_has_only_its_frames(tmp_path, capsys):
    """`info` counts `._0001.png` as an 11th frame; make-dataset then fails on it at frame 11."""
    from salfom_core.io.video import open_video

    frames = tmp_path / "frames"
    frames.mkdir()
    for k in range(N):
        image = np.zeros((H, W, 3), np.uint8)
        image[..., 2] = 20 * k                                 # red rises: colour frames
        cv2.imwrite(str(frames / f"{k + 1:04d}.png"), image)
    (frames / "._0001.png").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    (frames / ".DS_Store").write_bytes(bytes(64))
    with open_video(frames) as video:
        assert len(video) == N
        assert [int(video.read(k)[..., 0].mean()) for k in range(N)] == [20 * k for k in range(N)]


def test_predict_reads_a_folder_of_greyscale_frames(tmp_path, capsys):
    """Greyscale stimuli (psychophysics, infrared cameras, black-and-white film): `info`,
    `make-dataset` and the app take the folder as frames; `predict` alone refuses it ('a maps
    folder, not a video or a folder of frames')."""
    frames = tmp_path / "stimulus"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for k in range(N):
        cv2.imwrite(str(frames / f"{k + 1:04d}.png"), rng.integers(0, 256, (H, W), dtype=np.uint8))
    assert cli.main(["info", str(frames)]) == 0
    assert json.loads(capsys.readouterr().out)["frame_count"] == N
    code = cli.main(["predict", str(frames), "-c", "center-bias", "-o", str(tmp_path / "out"),
                     "--cache", str(tmp_path / "cache"), "-q"])
    assert code == 0, capsys.readouterr().err
    assert len(list((tmp_path / "out" / "stimulus").glob("*.png"))) == N


def test_predict_of_the_current_folder_names_its_output_after_it(tmp_path, capsys, monkeypatch):
    """`cd frames && salfom predict . -o ../out`: `Path('.').name` is '', so today the maps land
    in `out/` itself, beside other videos' folders, and the summary reads ': 10 maps in out'."""
    frames = tmp_path / "trial_07"
    frames.mkdir()
    for k in range(N):
        image = np.zeros((H, W, 3), np.uint8)
        image[..., 2] = 20 * k + 10                            # red: colour frames, not maps
        cv2.imwrite(str(frames / f"{k + 1:04d}.png"), image)
    monkeypatch.chdir(frames)
    code = cli.main(["predict", ".", "-c", "center-bias", "-o", str(tmp_path / "out"),
                     "--cache", str(tmp_path / "cache"), "-q"])
    assert code == 0, capsys.readouterr().err
    assert len(list((tmp_path / "out" / "trial_07").glob("*.png"))) == N
    assert not list((tmp_path / "out").glob("*.png"))


def test_maps_numbered_from_zero_are_not_shifted_by_a_frame(scene, tmp_path, capsys):
    """Many tools number from 0 (`0000.png`). Today `0000.png` is dropped without a word and
    every other map is scored one frame early (frame k gets map k+1): a silent one-frame lag.
    Either read them as frames 1.. (as their count says) or refuse naming `0000.png`."""
    video, gaze, maps = scene
    code, err = evaluate(capsys, maps, video, gaze, tmp_path / "one_based")
    assert code == 0, err
    zero = tmp_path / "zero_based"
    zero.mkdir()
    for k in range(N):
        (zero / f"{k:04d}.png").write_bytes((maps / f"{k + 1:04d}.png").read_bytes())
    code, err = evaluate(capsys, zero, video, gaze, tmp_path / "zero_out")
    if code == 2:
        assert_one_error_line(code, err, "0000.png")
    else:
        assert code == 0, err
        assert per_frame_nss(tmp_path / "zero_out") == per_frame_nss(tmp_path / "one_based")


def test_colour_heatmaps_are_not_scored_as_grey_maps_without_a_word(scene, tmp_path, capsys):
    """Maps saved through a colormap (jet: hot red and cold blue have similar luminance) are
    read as their luminance today: NSS 6.0 becomes 0.6 with exit 0 and no warning."""
    video, gaze, maps = scene
    jet = tmp_path / "jet"
    jet.mkdir()
    for k in range(N):
        cv2.imwrite(str(jet / f"{k + 1:04d}.png"), cv2.applyColorMap(cv2.imread(str(maps / f"{k + 1:04d}.png"), 0),
                                                                     cv2.COLORMAP_JET))
    code, err = evaluate(capsys, jet, video, gaze, tmp_path / "jet_out")
    if code == 2:
        assert_one_error_line(code, err, "jet")
        assert "colo" in err.lower(), err
    else:
        assert code == 0, err
        warning = [line for line in err.splitlines() if "warning" in line.lower() and "colo" in line.lower()]
        assert warning and "jet" in warning[0], err


def test_16_bit_maps_keep_their_precision(scene, tmp_path, capsys):
    """A model that writes raw values into 16-bit PNGs (peak 600 of 65535): every metric is
    blind to the maps' scale, so they must score as the 8-bit maps of the same blobs do. Today
    `files.read_grey` reads 8 bits (value >> 8): the blob becomes 0..2 and NSS and CC change."""
    video, gaze, maps = scene
    code, err = evaluate(capsys, maps, video, gaze, tmp_path / "eight")
    assert code == 0, err
    deep = tmp_path / "deep"
    deep.mkdir()
    for k in range(N):
        grey = cv2.imread(str(maps / f"{k + 1:04d}.png"), cv2.IMREAD_UNCHANGED).astype(np.float64)
        cv2.imwrite(str(deep / f"{k + 1:04d}.png"), np.round(grey / 255 * 600).astype(np.uint16))
    code, err = evaluate(capsys, deep, video, gaze, tmp_path / "deep_out")
    assert code == 0, err
    expected, got = per_frame_nss(tmp_path / "eight"), per_frame_nss(tmp_path / "deep_out")
    assert got.keys() == expected.keys()
    assert all(abs(got[f] - expected[f]) < 0.05 * abs(expected[f]) for f in expected), (got, expected)


def test_float_tiff_maps_are_read(scene, tmp_path, capsys):
    """32-bit float TIFFs (numpy/MATLAB saliency pipelines) are valid images OpenCV reads with
    IMREAD_UNCHANGED; today they are refused as 'not a readable image'."""
    video, gaze, maps = scene
    code, err = evaluate(capsys, maps, video, gaze, tmp_path / "eight")
    assert code == 0, err
    floats = tmp_path / "floats"
    floats.mkdir()
    for k in range(N):
        grey = cv2.imread(str(maps / f"{k + 1:04d}.png"), cv2.IMREAD_UNCHANGED).astype(np.float32) / 255
        cv2.imwrite(str(floats / f"{k + 1:04d}.tif"), grey)
    code, err = evaluate(capsys, floats, video, gaze, tmp_path / "float_out")
    assert code == 0, err
    expected, got = per_frame_nss(tmp_path / "eight"), per_frame_nss(tmp_path / "float_out")
    assert got.keys() == expected.keys()
    assert all(abs(got[f] - expected[f]) < 0.05 * abs(expected[f]) for f in expected), (got, expected)


def warned_about(err: str, folder: Path) -> bool:
    return any("warning" in line.lower() and folder.name in line for line in err.splitlines())


def test_maps_of_another_video_are_said(scene, tmp_path, capsys):
    """30 maps for the 10-frame video (another clip's output folder): today 20 maps are ignored
    and the rest scored, exit 0, not a word."""
    video, gaze, maps = scene
    other = tmp_path / "other_clip"
    other.mkdir()
    for k in range(3 * N):
        cv2.imwrite(str(other / f"{k + 1:04d}.png"), blob(*moving_target(k % N)))
    code, err = evaluate(capsys, other, video, gaze, tmp_path / "out")
    assert (code == 2 and "other_clip" in err) or (code == 0 and warned_about(err, other)), err


def test_maps_of_the_wrong_aspect_are_said(scene, tmp_path, capsys):
    """Portrait maps (48x64) for a landscape video (64x48): the maps of a rotated clip made from
    its stored (sideways) frames, as issue 22 A describes. Today they are stretched and scored."""
    video, gaze, maps = scene
    portrait = tmp_path / "portrait"
    portrait.mkdir()
    for k in range(N):
        cv2.imwrite(str(portrait / f"{k + 1:04d}.png"), cv2.resize(blob(*moving_target(k)), (H, W)))
    code, err = evaluate(capsys, portrait, video, gaze, tmp_path / "out")
    assert (code == 2 and "portrait" in err) or (code == 0 and warned_about(err, portrait)), err


def test_overlay_of_a_one_pixel_wide_video_is_no_traceback(tmp_path, capsys):
    """`predict --overlay` trims odd sizes to even for H.264 (`w - w % 2`): 1 px becomes 0 and
    PyAV raises IndexError out of `export.iter_overlay_video`."""
    frames = tmp_path / "dot"
    frames.mkdir()
    for k in range(N):
        cv2.imwrite(str(frames / f"{k + 1:04d}.png"), np.array([[[10, 120, 250]]], np.uint8))
    try:
        code = cli.main(["predict", str(frames), "-c", "center-bias", "-o", str(tmp_path / "out"),
                         "--cache", str(tmp_path / "cache"), "--overlay", "-q"])
    except Exception as exc:          # noqa: BLE001 -- the failure this test pins is the escape itself
        pytest.fail(f"traceback: {exc!r}")
    err = capsys.readouterr().err
    if code == 2:
        assert_one_error_line(code, err.splitlines()[-1], "dot")
    else:
        assert code == 0, err
        assert len(list((tmp_path / "out" / "dot").glob("*.png"))) == N


# --------------------------------------------------------------------------- output paths


def test_output_paths_of_the_wrong_kind_are_named_plainly(tmp_path, capsys):
    """`-o` naming a folder where a CSV goes, `--out` naming a file where a folder goes. Today:
    "[Errno 21] Is a directory: '/.../.taken.ne57611z.tmp' -> 'taken'" (a temporary file the
    user never made) and "[Errno 17] File exists: 'notes.txt'" (a folder was asked for)."""
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{f},{x},{y},P1\n" for f, x, y in PLAIN_ROWS))
    taken = tmp_path / "taken"
    taken.mkdir()
    code, err = convert(capsys, gaze, taken)
    assert_one_error_line(code, err, str(taken))
    assert ".tmp" not in err and "Errno" not in err, err

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    maps = tmp_path / "maps"
    maps.mkdir()
    for k in range(N):
        cv2.imwrite(str(maps / f"{k + 1:04d}.png"), blob(*moving_target(k)))
    video = make_video(tmp_path / "clip.mp4", n_frames=N, size=(W, H))
    code, err = evaluate(capsys, maps, video, gaze, notes)
    assert_one_error_line(code, err, str(notes))
    assert "Errno" not in err, err
    assert notes.read_text() == "my notes"


# --------------------------------------------------------------------------- AOIs


def test_an_aoi_wholly_outside_the_picture_is_said(tmp_path, capsys):
    """An AOI drawn in screen pixels (x 300-500) on a 64x48 video: today its share is 0 in every
    frame and its density empty, exit 0 without a word."""
    video = make_video(tmp_path / "clip.mp4", n_frames=N, size=(W, H))
    aois = tmp_path / "clip.aois.json"
    aois.write_text(json.dumps({"version": 1, "aois": [
        {"name": "logo", "shape": "rect", "color": "#ff0000",
         "keyframes": [{"frame": 1, "active": True, "vertices": [[300, 100], [500, 300]]}]}]}))
    code = cli.main(["aoi", str(video), "--aois", str(aois), "--pred", "center-bias", "-o", str(tmp_path / "aoi"),
                     "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "logo" in line and "clip.aois.json" in line]
    assert code in (0, 2) and said, err
