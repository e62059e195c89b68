"""`salfom make-dataset`: the DHF1K layout from a real video and its observers' raw gaze."""
import json
import os

import cv2
import numpy as np
import pytest
from conftest import shared_path
from scipy.io import loadmat

from salfom_core import cli
from salfom_core.io.gaze import load_gaze
from salfom_core.training.datasets import TrainClips
from salfom_core.training.make_dataset import DatasetSettings, MakeDatasetError, make_dataset, pair_inputs

SIGMA = 30.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))     # DHF1K: FWHM 30 px


def fixated_pixels(xs, ys, w, h):
    """The spec's record_mapping rule by hand: 1-based pixel (round(y), round(x)), 0 < x < W, 0 < y < H."""
    cols, rows = np.floor(np.asarray(xs) + 0.5).astype(int), np.floor(np.asarray(ys) + 0.5).astype(int)
    keep = (cols > 0) & (cols < w) & (rows > 0) & (rows < h)
    out = np.zeros((h, w), bool)
    out[rows[keep] - 1, cols[keep] - 1] = True
    return out


def gaussian_sum(fix):
    """A Gaussian (FWHM 30 px) at every fixated pixel, summed, over its maximum: a separable sum
    of outer products, computed independently of the library's filter."""
    h, w = fix.shape
    rows, cols = np.nonzero(fix)
    gy = np.exp(-((np.arange(h)[None, :] - rows[:, None]) ** 2) / (2 * SIGMA ** 2))
    gx = np.exp(-((np.arange(w)[None, :] - cols[:, None]) ** 2) / (2 * SIGMA ** 2))
    out = gy.T @ gx
    return out / out.max()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    video = shared_path("data", "dhf1k_0002", "0002.avi")
    gaze = shared_path("data", "dhf1k_0002", "gaze")
    root = tmp_path_factory.mktemp("made") / "lab"
    stop_at = 300
    calls = []

    def cancel():
        return len(calls) >= stop_at

    # a run killed at frame 300, then the command line finishing it
    reports = make_dataset([video], [gaze], root, DatasetSettings("train", "jpg"),
                           progress=lambda name, done, total: calls.append(done), cancel=cancel)
    assert not reports[0].complete and reports[0].written == stop_at
    mtime = (root / "train" / "0002" / "images" / "0100.jpg").stat().st_mtime_ns
    assert cli.main(["make-dataset", str(video), "--gaze", str(gaze), "-o", str(root), "--image-format", "jpg",
                     "-q"]) == 0
    assert (root / "train" / "0002" / "images" / "0100.jpg").stat().st_mtime_ns == mtime   # not rewritten
    return root / "train" / "0002", load_gaze(gaze, (640, 360), 783)


@pytest.mark.slow
def test_layout_and_resume(made, capsys):
    folder, gaze = made
    assert len(list((folder / "images").glob("*.jpg"))) == 783
    assert len(list((folder / "maps").glob("*.png"))) == 783          # every frame has fixations (README)
    assert len(list((folder / "fixation").glob("*.png"))) == 783
    assert len(list((folder / "fixation" / "maps").glob("*.mat"))) == 783
    manifest = json.loads((folder / "make_dataset.json").read_text())
    assert manifest["complete"] and manifest["frames"] == 783
    image = cv2.imread(str(folder / "images" / "0001.jpg"))
    assert image.shape == (360, 640, 3)


@pytest.mark.slow
def test_maps_follow_the_dhf1k_rule_on_the_converted_fixations(made):
    folder, gaze = made
    worst = 1.0
    for k in range(783):
        xs, ys, _ = gaze.for_frame(k)
        fix = fixated_pixels(xs, ys, 640, 360)
        png = cv2.imread(str(folder / "fixation" / f"{k + 1:04d}.png"), cv2.IMREAD_GRAYSCALE)
        np.testing.assert_array_equal(png > 127, fix, err_msg=f"frame {k + 1}")
        assert set(np.unique(png)) <= {0, 255}
        mat = loadmat(str(folder / "fixation" / "maps" / f"{k + 1:04d}.mat"))["I"]
        np.testing.assert_array_equal(mat.astype(bool), fix, err_msg=f"frame {k + 1}")
        gt = cv2.imread(str(folder / "maps" / f"{k + 1:04d}.png"), cv2.IMREAD_GRAYSCALE).astype(np.float64)
        worst = min(worst, np.corrcoef(gt.ravel(), gaussian_sum(fix).ravel())[0, 1])
    assert worst > 0.99


@pytest.mark.slow
def test_train_runs_an_epoch_on_it(made, tmp_path):
    folder, _ = made
    root = folder.parent.parent
    (root / "val").mkdir(exist_ok=True)
    if not (root / "val" / "0002").exists():
        os.symlink(folder, root / "val" / "0002")        # validate on the same clip: cheap
    assert len(TrainClips(root)) == 1
    config = tmp_path / "run.toml"
    config.write_text(f'[train]\ndata_root = "{root}"\noutput = "{tmp_path / "run"}"\npreset = "salfom_tiny"\n'
                      'epochs = 1\nnum_workers = 0\ndevice = "cpu"\nmax_val_clips = 1\n')
    assert cli.main(["train", "--config", str(config)]) == 0
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    steps = [e for e in log if e["event"] == "step"]
    assert len(steps) == 1 and np.isfinite(steps[0]["loss"])
    assert np.isfinite(next(e for e in log if e["event"] == "val")["cc"])
    assert (tmp_path / "run" / "last.pt").exists()


def test_inputs_are_checked(tmp_path):
    with pytest.raises(MakeDatasetError, match="2 videos but 1 gaze"):
        pair_inputs(["a.mp4", "b.mp4"], ["g.csv"])
    with pytest.raises(MakeDatasetError, match="share the folder 'clip'"):
        pair_inputs(["x/clip.mp4", "y/clip.avi"], ["g1.csv", "g2.csv"])
    with pytest.raises(MakeDatasetError, match="split"):
        DatasetSettings(split="test")


def test_small_video_with_partial_gaze_and_changed_sources(tmp_path, capsys):
    from salfom_core.io.synthetic import object_track, render_frames

    frames = tmp_path / "clip"
    frames.mkdir()
    track = object_track(12, (48, 32))
    for k, frame in enumerate(render_frames(track, (48, 32))):
        cv2.imwrite(str(frames / f"{k + 1:04d}.png"), frame)
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n0,10,10,a\n0,20.4,11.6,b\n3,47,31,a\n3,-5,4,a\n5,1e12,3,b\n")
    out = tmp_path / "ds"
    assert cli.main(["make-dataset", str(frames), "--gaze", str(gaze), "-o", str(out), "--split", "val", "-q"]) == 0
    err = capsys.readouterr().err
    assert "12 frames, 2 with fixations" in err and "2 outside the picture dropped" in err
    folder = out / "val" / "clip"
    assert sorted(p.name for p in (folder / "maps").iterdir()) == ["0001.png", "0004.png"]
    fix = cv2.imread(str(folder / "fixation" / "0001.png"), cv2.IMREAD_GRAYSCALE) > 0
    assert sorted(zip(*np.nonzero(fix))) == [(9, 9), (11, 19)]       # (round(y)-1, round(x)-1)
    assert len(list((folder / "images").glob("*.png"))) == 12
    # evaluate reports the frames without fixations instead of scoring them
    assert cli.main(["evaluate", "--pred", "center-bias", "--data", str(folder), "--out", str(tmp_path), "-q"]) == 0
    assert "2 of 12 frames scored; 10 skipped: no fixation" in capsys.readouterr().err
    # a rerun is instant; other gaze for the same output is refused, not mixed
    assert cli.main(["make-dataset", str(frames), "--gaze", str(gaze), "-o", str(out), "--split", "val", "-q"]) == 0
    assert "already complete" in capsys.readouterr().err
    other = tmp_path / "other.csv"
    other.write_text("frame,x,y\n1,5,5\n")
    assert cli.main(["make-dataset", str(frames), "--gaze", str(other), "-o", str(out), "--split", "val"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "other sources" in err
