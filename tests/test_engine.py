"""Sliding-window inference: window contents, batching, cancel, resume, cache, resolution."""
import numpy as np
import pytest
import torch

from helpers import open_store
from salfom_core import create_model
from salfom_core.inference.engine import (
    CenterBiasPredictor,
    EngineSettings,
    SalFoMPredictor,
    predict_video,
    window_indices,
)
from salfom_core.inference.store import PredictionStore
from salfom_core.models.preprocess import IMAGENET_MEAN, IMAGENET_STD


def test_window_indices_by_hand():
    assert window_indices(20, 30, 16) == list(range(5, 21))
    assert window_indices(2, 30, 16, "repeat") == [0] * 14 + [1, 2]
    assert window_indices(2, 30, 16, "reverse") == list(range(17, 1, -1))
    assert window_indices(2, 5, 4, "reverse") == [4, 4, 3, 2]          # short video: clamp
    assert window_indices(15, 30, 16, "reverse") == list(range(0, 16))  # no padding from 15 on


class RecordingPredictor:
    """Decodes which frames each window held (frame k is grey level 8k+8) and returns them."""

    window, input_size = 4, 16

    def __init__(self):
        self.key = "recording"
        self.windows, self.batches = [], []

    def predict(self, clips):
        self.batches.append(clips.shape[0])
        # undo the normalization of channel 0 to read back each frame's grey level
        grey = clips[:, 0].mean(dim=(-1, -2)) * IMAGENET_STD[0] + IMAGENET_MEAN[0]
        ids = torch.round((grey * 255 - 8) / 8).int().tolist()
        self.windows += ids
        maps = np.zeros((clips.shape[0], 16, 16), np.float32)
        maps[:, :8] = 1.0          # top half salient: an orientation the output must keep
        return maps


@pytest.mark.parametrize("padding", ["repeat", "reverse"])
def test_windows_hold_the_right_frames(tmp_path, video, padding):
    predictor = RecordingPredictor()
    settings = EngineSettings(padding=padding, batch_size=5)
    store = open_store(tmp_path, video, predictor, settings)
    assert predict_video(video, predictor, store, settings)
    assert predictor.windows == [window_indices(i, 23, 4, padding) for i in range(23)]
    assert predictor.batches == [5, 5, 5, 5, 3]
    saliency = store.read(7)
    assert saliency.shape == (48, 64)                       # original resolution
    assert saliency[:12].mean() > 200 and saliency[-12:].mean() < 50


def test_cancel_stops_within_a_batch_and_resume_computes_only_the_rest(tmp_path, video):
    predictor = RecordingPredictor()
    settings = EngineSettings(batch_size=4)
    store = open_store(tmp_path, video, predictor, settings)
    seen = []
    complete = predict_video(video, predictor, store, settings, progress=lambda p: seen.append(p.done),
                             cancel=lambda: len(seen) >= 2)
    assert not complete and seen == [4, 8] and store.done.sum() == 8
    # a fresh process opening the same store (as after a kill) resumes with frames 8..22
    resumed = RecordingPredictor()
    store = open_store(tmp_path, video, resumed, settings)
    assert store.missing().tolist() == list(range(8, 23))
    assert predict_video(video, resumed, store, settings)
    assert resumed.windows == [window_indices(i, 23, 4) for i in range(8, 23)]
    # a repeat run is a cache hit: nothing is computed
    again = RecordingPredictor()
    assert predict_video(video, again, open_store(tmp_path, video, again, settings), settings)
    assert again.windows == []


def test_start_at_computes_from_the_playhead_first(tmp_path, video):
    predictor = RecordingPredictor()
    settings = EngineSettings(batch_size=1)
    store = open_store(tmp_path, video, predictor, settings)
    predict_video(video, predictor, store, settings, start_at=15)
    order = [w[-1] for w in predictor.windows]
    assert order == list(range(15, 23)) + list(range(0, 15))


def test_salfom_tiny_and_center_bias_fill_the_store(tmp_path, video):
    model = create_model("salfom_tiny")
    tiny = SalFoMPredictor(model, "tiny-test", device="cpu")
    store = open_store(tmp_path, video, tiny)
    assert predict_video(video, tiny, store, EngineSettings(batch_size=8))
    maps = [store.read(i) for i in range(len(video))]
    assert all(m.shape == (48, 64) and m.dtype == np.uint8 and m.max() == 255 for m in maps)
    center = CenterBiasPredictor()
    store = open_store(tmp_path, video, center)
    assert predict_video(video, center, store)
    m = store.read(0)
    assert np.unravel_index(m.argmax(), m.shape) in [(23, 31), (23, 32), (24, 31), (24, 32)]


def test_store_refuses_a_different_geometry(tmp_path):
    PredictionStore(tmp_path / "s", 10, 4, 6)
    with pytest.raises(ValueError, match="holds 10 frames of 6x4"):
        PredictionStore(tmp_path / "s", 11, 4, 6)


def test_moving_playhead_replans_after_the_current_batch(tmp_path, video):
    from salfom_core.inference.engine import iter_predict

    predictor = RecordingPredictor()
    settings = EngineSettings(batch_size=2)
    store = open_store(tmp_path, video, predictor, settings)
    playhead = {"frame": 0}
    steps = []
    for step in iter_predict(video, predictor, store, settings, start_at=lambda: playhead["frame"]):
        steps.append(step.frames)
        if len(steps) == 1:
            playhead["frame"] = 18        # the user seeks while frames 0, 1 are computed
    assert steps[0] == [0, 1] and steps[1] == [18, 19]
    assert store.complete and sorted(f for s in steps for f in s) == list(range(23))


def test_time_estimate_from_measured_speed(monkeypatch):
    from salfom_core.inference import perf

    monkeypatch.setattr(perf.os, "cpu_count", lambda: 2)
    assert perf.estimate_seconds("salfom_l16", "cpu", "float32", 100) == pytest.approx(1118.0)
    monkeypatch.setattr(perf.os, "cpu_count", lambda: 8)          # four times the cores
    assert perf.estimate_seconds("salfom_l16", "cpu", "float32", 100) == pytest.approx(279.5)
    assert perf.estimate_seconds("salfom_l16", "cuda", "bfloat16", 100) is None
