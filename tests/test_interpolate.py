"""Interpolated maps between computed frames: values, the store's exact record, the engine's
coarse-to-fine order, `salfom predict --stride` and the warning of `salfom evaluate`."""
import json

import cv2
import numpy as np
import pytest
import torch

from helpers import make_video, open_store
from salfom_core import cli, create_model, save_checkpoint
from salfom_core.inference.engine import EngineSettings, iter_predict, predict_video
from salfom_core.inference.interpolate import (
    bracket,
    interpolated_map,
    interpolation_warnings,
    iter_blends,
    map_or_blend,
    read_interpolation_record,
)
from salfom_core.inference.plan import target_batches
from salfom_core.models.preprocess import IMAGENET_MEAN, IMAGENET_STD


def test_blend_values_at_known_frames():
    maps = {0: np.full((2, 3), 0, np.uint8), 4: np.full((2, 3), 200, np.uint8), 6: np.full((2, 3), 100, np.uint8)}
    maps[4][0, 0] = 40
    exact = np.zeros(9, bool)
    exact[[0, 4, 6]] = True
    read = maps.get
    assert bracket(exact, 1) == (0, 4, 0.25) and bracket(exact, 5) == (4, 6, 0.5)
    assert interpolated_map(read, exact, 1)[1, 1] == 50           # 0.75 * 0 + 0.25 * 200
    assert interpolated_map(read, exact, 3)[1, 1] == 150
    assert interpolated_map(read, exact, 3)[0, 0] == 30           # 0.25 * 0 + 0.75 * 40
    assert interpolated_map(read, exact, 5)[1, 1] == 150          # halfway from 200 to 100
    # exact frames, and frames with no computed frame after them, get no blend
    assert interpolated_map(read, exact, 4) is None and interpolated_map(read, exact, 7) is None
    assert bracket(exact, 8) is None
    m, is_exact = map_or_blend(read, exact, 4)
    assert is_exact and m[1, 1] == 200
    m, is_exact = map_or_blend(read, exact, 2)
    assert not is_exact and m[1, 1] == 100
    assert map_or_blend(read, exact, 8) == (None, False)
    walked = dict(iter_blends(read, exact))
    assert sorted(walked) == [1, 2, 3, 5]
    for i, m in walked.items():
        np.testing.assert_array_equal(m, interpolated_map(read, exact, i))


class SpotPredictor:
    """Reads which frame ends each window (frame k is grey level 8k+8) and returns a map whose
    salient column is that frame's number: maps differ from frame to frame."""

    window, input_size = 4, 16

    def __init__(self):
        self.key = "spot"
        self.computed = []

    def predict(self, clips):
        grey = clips[:, 0, -1].mean(dim=(-1, -2)) * IMAGENET_STD[0] + IMAGENET_MEAN[0]
        ids = torch.round((grey * 255 - 8) / 8).int().tolist()
        self.computed += ids
        maps = np.zeros((clips.shape[0], 16, 32), np.float32)
        for b, k in enumerate(ids):
            maps[b, :, k] = 1.0
        return maps


def test_engine_computes_coarse_to_fine_from_the_playhead(tmp_path, video):
    predictor = SpotPredictor()
    settings = EngineSettings(batch_size=2, blur=False)
    store = open_store(tmp_path, video, predictor, settings)
    steps = [s.frames for s in iter_predict(video, predictor, store, settings, start_at=10, order="coarse-to-fine")]
    # by hand for 23 frames, playhead 10: {16, 22, 0}, {8}, {12, 20, 4}, {10, 14, 18, 6, 2}, odd frames
    assert steps == [[16, 22], [0], [8], [12, 20], [4], [10, 14], [2, 6], [18],
                     [11, 13], [7, 9], [15, 17], [3, 5], [19, 21], [1]]
    assert steps == [g.tolist() for g in target_batches(np.arange(23), 23, 10, 2, "coarse-to-fine")]
    assert predictor.computed == [f for s in steps for f in s]
    assert store.complete
    for i in (0, 9, 22):   # each map is exact: its own window's last frame put the spot there
        assert np.argmax(store.read(i).mean(axis=0)) == pytest.approx(i * 2, abs=1)


def test_a_moved_playhead_replans_coarse_to_fine_from_there(tmp_path, video):
    predictor = SpotPredictor()
    settings = EngineSettings(batch_size=2)
    store = open_store(tmp_path, video, predictor, settings)
    playhead = {"frame": 0}
    steps = []
    for step in iter_predict(video, predictor, store, settings, start_at=lambda: playhead["frame"],
                             order="coarse-to-fine"):
        steps.append(step.frames)
        playhead["frame"] = 20            # the user seeks while frame 0 is computed
    # by hand: 0 (its own run: 16 is further than two windows), then, from 20, the rest of
    # the first level outward (22, 16), the 8th frames (8), the 4th (20, then 4 and 12)
    assert steps[:6] == [[0], [22], [16], [8], [20], [4, 12]]
    assert store.complete and sorted(f for s in steps for f in s) == list(range(23))


def test_store_records_exact_frames_across_cancel_and_resume(tmp_path, video):
    settings = EngineSettings(batch_size=2, blur=False)
    predictor = SpotPredictor()
    store = open_store(tmp_path, video, predictor, settings)
    seen = []
    assert not predict_video(video, predictor, store, settings, progress=seen.append, start_at=10,
                             order="coarse-to-fine", cancel=lambda: len(seen) == 2)
    # a fresh process opening the same store: the first level (every 16th frame and the last)
    reopened = open_store(tmp_path, video, SpotPredictor(), settings)
    assert np.flatnonzero(reopened.exact).tolist() == [0, 16, 22]
    blended, is_exact = reopened.read_or_blend(8)
    assert not is_exact
    first, second = reopened.read(0), reopened.read(16)
    np.testing.assert_array_equal(blended, np.rint(0.5 * first.astype(float) + 0.5 * second).astype(np.uint8))
    assert reopened.read_or_blend(19)[1] is False and reopened.read_or_blend(19)[0] is not None
    # resume: only the other 20 frames are computed, and frame 8's map becomes its own
    resumed = SpotPredictor()
    assert predict_video(video, resumed, reopened, settings, start_at=10, order="coarse-to-fine")
    assert sorted(resumed.computed) == sorted(set(range(23)) - {0, 16, 22})
    exact_map, is_exact = open_store(tmp_path, video, SpotPredictor(), settings).read_or_blend(8)
    assert is_exact and not np.array_equal(exact_map, blended)
    assert np.argmax(exact_map.mean(axis=0)) == pytest.approx(16, abs=1)


def test_engine_computes_only_the_frames_asked(tmp_path, video):
    predictor = SpotPredictor()
    settings = EngineSettings(batch_size=3)
    store = open_store(tmp_path, video, predictor, settings)
    assert predict_video(video, predictor, store, settings, frames=[0, 8, 16, 22])
    assert predictor.computed == [0, 8, 16, 22]
    assert np.flatnonzero(store.exact).tolist() == [0, 8, 16, 22] and not store.complete


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, create_model("salfom_tiny"))
    return path


def test_predict_stride_writes_blends_and_the_record(tmp_path, tiny_checkpoint, capsys):
    video = make_video(tmp_path / "clip.mp4", n_frames=23, size=(64, 48))
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert cli.main(["predict", str(video), "-c", str(tiny_checkpoint), "-o", str(out), "--cache", str(cache),
                     "--stride", "8", "--device", "cpu", "-q"]) == 0
    assert "19 interpolated" in capsys.readouterr().err
    folder = out / "clip"
    assert len(list(folder.glob("*.png"))) == 23
    record = read_interpolation_record(folder)
    assert record["stride"] == 8 and record["frames"] == 23
    assert record["interpolated"] == [n for n in range(1, 24) if n not in (1, 9, 17, 23)]
    done = np.load(next(cache.glob("*/done.npy")))
    assert np.flatnonzero(done).tolist() == [0, 8, 16, 22]           # the model ran on 4 frames
    png = {n: cv2.imread(str(folder / f"{n:04d}.png"), cv2.IMREAD_GRAYSCALE).astype(float) for n in (1, 3, 9, 17, 20, 23)}
    assert np.abs(png[1] - png[9]).max() > 10 and np.abs(png[17] - png[23]).max() > 10   # maps differ
    np.testing.assert_array_equal(png[3], np.rint(0.75 * png[1] + 0.25 * png[9]))     # frame 2 of 0..8
    np.testing.assert_array_equal(png[20], np.rint(0.5 * png[17] + 0.5 * png[23]))     # frame 19 of 16..22
    # evaluate says so
    assert interpolation_warnings(out) == interpolation_warnings(folder)
    assert "19 of 23 maps are interpolated" in interpolation_warnings(folder)[0]
    # stride 1 into the same folder: every map computed, the earlier record is gone
    assert cli.main(["predict", str(video), "-c", "center-bias", "-o", str(out), "--cache", str(cache), "-q"]) == 0
    assert read_interpolation_record(folder) is None and interpolation_warnings(out) == []
    assert cli.main(["predict", str(video), "-c", "center-bias", "-o", str(out), "--stride", "0"]) == 2


def test_evaluate_warns_about_interpolated_maps(tmp_path, capsys):
    from conftest import shared_path

    root = shared_path("data", "ucf_sports_diving_side_001")
    pred = tmp_path / "pred"
    pred.mkdir()
    for n, path in enumerate(sorted((root / "maps").glob("*.png")), start=1):
        (pred / f"{n:04d}.png").write_bytes(path.read_bytes())
    (pred / "interpolated.json").write_text(json.dumps({"stride": 2, "frames": 54, "interpolated": [2, 4]}))
    assert cli.main(["evaluate", "--pred", str(pred), "--data", str(root), "--metrics", "cc",
                     "--every", "27", "-q"]) == 0
    assert "2 of 54 maps are interpolated (salfom predict --stride 2)" in capsys.readouterr().err
    (pred / "interpolated.json").write_text("{broken")
    assert cli.main(["evaluate", "--pred", str(pred), "--data", str(root), "--metrics", "cc", "-q"]) == 2
    assert "interpolated.json: not a valid interpolation record" in capsys.readouterr().err

