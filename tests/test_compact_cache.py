"""The prediction cache keeps the model's own maps (issue 22, Scale): bytes per frame bounded
whatever the video's resolution, the maps users get within one level of 255 of the 8-bit maps
post-processed at once, entries of the format before recomputed with a note, and the space a
job needs checked first."""
import json

import cv2
import numpy as np
import pytest
import torch
from conftest import shared_path

from helpers import make_video
from salfom_core import cli, create_model
from salfom_core.inference.engine import (
    CenterBiasPredictor,
    EngineSettings,
    SalFoMPredictor,
    model_map_size,
    predict_video,
    window_indices,
)
from salfom_core.inference.predict import open_store
from salfom_core.inference.store import MapForm, PredictionStore, store_key
from salfom_core.io import disk
from salfom_core.io.video import open_video
from salfom_core.models.preprocess import clip_tensor, postprocess_map, preprocess_frame, to_uint8

KIB = 1024


def test_salfom_maps_cost_at_most_100_kib_a_frame_at_any_resolution():
    size = model_map_size(SalFoMPredictor(create_model("salfom_tiny"), "tiny", device="cpu", dtype="off"))
    assert size == (224, 224)
    for height, width in [(1080, 1920), (2160, 3840), (4320, 7680)]:
        form = MapForm.smaller(height, width, size)
        # 224 x 224 16-bit values and the map's float32 min and max: 100,360 bytes
        assert form.kind == "model-u16" and form.record_bytes(height, width) == 2 * 224 * 224 + 8 <= 100 * KIB
    # a video smaller than the model's map keeps 8-bit maps at its own size: 320 x 180 bytes
    assert MapForm.smaller(180, 320, size) == MapForm() and MapForm().record_bytes(180, 320) == 320 * 180
    # the centre bias's 64 x 64 map fits as it is: float32, 4 x 64 x 64 + 8 bytes
    form = MapForm.smaller(1080, 1920, model_map_size(CenterBiasPredictor()))
    assert form.kind == "model-f32" and form.record_bytes(1080, 1920) == 4 * 64 * 64 + 8


class NullModel:
    """Zeros at the size of SalFoM's maps, at once: the run is about the pipeline and the cache."""

    window, input_size, key = 16, 224, "null-224"

    def predict(self, clips):
        return np.zeros((clips.shape[0], 224, 224), np.float32)


def test_a_1080p_entry_holds_at_most_100_kib_a_frame_on_disk(tmp_path):
    video = make_video(tmp_path / "hd.mp4", n_frames=4, size=(1920, 1080))
    with open_video(video) as source:
        store = open_store(source, video, NullModel(), EngineSettings(), tmp_path / "cache")
        assert predict_video(source, NullModel(), store, EngineSettings())
        assert store.read(3).shape == (1080, 1920) and not store.read(3).any()
    entry_bytes = sum(p.stat().st_size for p in store.folder.iterdir() if p.name != "meta.json")
    assert entry_bytes / 4 <= 100 * KIB                     # not 1920 x 1080 = 2 MB a frame
    assert not (store.folder / "maps.u8").exists()


def todays_maps(source, model, frames) -> tuple[dict, dict]:
    """({frame: the model's map}, {frame: the 8-bit map as the engine wrote it before}): the
    model on each frame's window, then the spec's post-processing at the video's size at once."""
    n, size = len(source), (source.info.width, source.info.height)
    cache, out = {}, {}
    with torch.inference_mode():
        for i in frames:
            window = window_indices(i, n, model.cfg.num_frames)
            clip = clip_tensor([cache.setdefault(k, preprocess_frame(source.read(k), model.cfg.img_size))
                                for k in window])
            out[i] = (model(clip[None]).float().numpy()[0])
    return out, {i: to_uint8(postprocess_map(m, size)) for i, m in out.items()}


def test_salfom_maps_read_back_within_one_level_of_todays_on_a_real_clip(tmp_path):
    clip = shared_path("data", "dhf1k_0002", "0002.avi")
    torch.manual_seed(0)
    model = create_model("salfom_tiny").eval()           # random weights: a map range of ~0.02
    predictor = SalFoMPredictor(model, "tiny-random", device="cpu", dtype="off")
    frames = [0, 1, 2, 3, 300, 301, 302, 303]
    settings = EngineSettings(batch_size=4)
    with open_video(clip) as source:
        store = open_store(source, clip, predictor, settings, tmp_path / "cache")
        assert store.keeps_model_maps                     # 640 x 360: the model's 224 x 224 is smaller
        assert predict_video(source, predictor, store, settings, frames=frames)
        raw, expected = todays_maps(source, model, frames)
    for i in frames:
        got = store.read(i)
        assert got.shape == (360, 640) and np.abs(got.astype(int) - expected[i]).max() <= 1, i
        assert expected[i].std() > 10                     # maps with structure, not flat
        span = raw[i].max() - raw[i].min()
        np.testing.assert_allclose(store.read_model_map(i), raw[i], rtol=0, atol=span / 65535 + 1e-6)


def test_centre_bias_maps_from_salfom_predict_are_todays_bytes(tmp_path):
    clip = shared_path("data", "dhf1k_0002", "0002.avi")
    out = tmp_path / "out"
    assert cli.main(["predict", str(clip), "-c", "center-bias", "-o", str(out), "--cache", str(tmp_path / "c"),
                     "-q"]) == 0
    expected = to_uint8(postprocess_map(CenterBiasPredictor()._map, (640, 360)))
    for name in ("0001.png", "0783.png"):
        assert np.array_equal(cv2.imread(str(out / "0002" / name), cv2.IMREAD_GRAYSCALE), expected)
    assert expected.std() > 10
    (entry,) = (tmp_path / "c").iterdir()
    assert json.loads((entry / "meta.json").read_text())["format"] == {"kind": "model-f32", "height": 64,
                                                                       "width": 64, "blur": True}


def old_format_entry(cache, source, predictor, maps: np.ndarray):
    """A complete entry as the cache wrote it before map forms: 8-bit maps at the video's size
    in maps.u8, meta.json without a form."""
    folder = cache / store_key(source.content_key(), predictor.key, EngineSettings().cache_fields())
    folder.mkdir(parents=True)
    n, h, w = maps.shape
    (folder / "meta.json").write_text(json.dumps({"n_frames": n, "height": h, "width": w, "complete": True}))
    (folder / "maps.u8").write_bytes(maps.astype(np.uint8).tobytes())
    np.save(folder / "done.npy", np.ones(n, bool))
    return folder


def test_an_old_entry_is_recomputed_with_a_note_never_read_as_model_maps(tmp_path, capsys):
    video = make_video(tmp_path / "clip.mp4", n_frames=5, size=(192, 108))
    with open_video(video) as source:       # 192 x 108 = 20736 bytes; the centre bias's 64 x 64 map: 16392
        folder = old_format_entry(tmp_path / "cache", source, CenterBiasPredictor(), np.full((5, 108, 192), 255))
    out = tmp_path / "out"
    assert cli.main(["predict", str(video), "-c", "center-bias", "-o", str(out), "--cache", str(tmp_path / "cache"),
                     "-q"]) == 0
    err = capsys.readouterr().err
    assert str(folder) in err and "8-bit maps at 192x108" in err and "computing it again" in err
    assert not (folder / "maps.u8").exists() and (folder / "model.f32").stat().st_size == 5 * 16392
    got = cv2.imread(str(out / "clip" / "0003.png"), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(got, to_uint8(postprocess_map(CenterBiasPredictor()._map, (192, 108))))  # not the 255s


def test_an_old_entry_of_a_video_smaller_than_the_model_map_is_read_as_it_is(tmp_path):
    video = make_video(tmp_path / "clip.mp4", n_frames=5, size=(64, 48))
    maps = np.random.default_rng(0).integers(0, 256, (5, 48, 64))
    warnings = []
    with open_video(video) as source:       # 64 x 48 = 3072 bytes: smaller than the model's 16392
        old_format_entry(tmp_path / "cache", source, CenterBiasPredictor(), maps)
        store = open_store(source, video, CenterBiasPredictor(), EngineSettings(), tmp_path / "cache",
                           warn=warnings.append)
    assert warnings == [] and store.complete and not store.keeps_model_maps
    assert all(np.array_equal(store.read(i), maps[i]) for i in range(5))


def test_a_job_checks_the_space_of_the_compact_entry_first(tmp_path, monkeypatch, capsys):
    video = make_video(tmp_path / "clip.mp4", n_frames=5, size=(192, 108))
    cache = tmp_path / "cache"
    real = disk.shutil.disk_usage
    free = {"bytes": 1000}
    monkeypatch.setattr(disk.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=free["bytes"]) if str(p).startswith(str(cache)) else real(p))
    argv = ["predict", str(video), "-c", "center-bias", "-o", str(tmp_path / "out"), "--cache", str(cache), "-q"]
    assert cli.main(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"salfom predict: error: {cache}") and "not enough free space" in line
    assert "it needs about 82.0 KB, 1.0 KB free" in line            # 5 frames x (64 x 64 x 4 + 8) bytes
    free["bytes"] = 10 ** 9
    assert cli.main(argv) == 0
    free["bytes"] = 0                                                 # a complete entry needs nothing more
    assert cli.main(argv) == 0


def test_a_map_written_again_is_read_anew_and_a_wrong_model_size_is_refused(tmp_path):
    store = PredictionStore(tmp_path / "s", 2, 90, 160, form=MapForm("model-u16", (8, 8)))
    left, right = np.zeros((8, 8), np.float32), np.zeros((8, 8), np.float32)
    left[:, 0], right[:, -1] = 1, 1
    store.write(0, left)
    store.mark_ready([0])
    assert store.read(0)[:, 0].mean() > store.read(0)[:, -1].mean()
    store.write(0, right)                                             # read since: not served stale
    assert store.read(0)[:, 0].mean() < store.read(0)[:, -1].mean()
    with pytest.raises(ValueError, match=f"{tmp_path / 's'}.*model gave a map of \\(8, 9\\)"):
        store.write(1, np.zeros((8, 9), np.float32))
