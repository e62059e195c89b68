"""The engine's pipeline (decode thread, device frame pool, device post-processing, commits)
against the straightforward path it replaced, on deterministic weights and real frames."""
import cv2
import numpy as np
import pytest
import torch
from conftest import shared_path

from fill_rule import fill
from salfom_core import cli, create_model, save_checkpoint
from salfom_core.inference import engine
from salfom_core.inference.devices import DeviceOutOfMemory
from salfom_core.inference.engine import (
    CenterBiasPredictor,
    EngineSettings,
    SalFoMPredictor,
    iter_predict,
    postprocess_tensor,
    predict_video,
    window_indices,
)
from salfom_core.inference.store import PredictionStore
from salfom_core.io.video import VideoDecodeError, open_video
from salfom_core.models.preprocess import clip_tensor, postprocess_map, preprocess_frame, to_uint8


def filled_tiny() -> torch.nn.Module:
    """salfom_tiny with every tensor set by the golden fill rule (deterministic, no training)."""
    model = create_model("salfom_tiny").eval()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            value = fill(name, tuple(tensor.shape)) if tensor.is_floating_point() else None
            if value is not None:
                tensor.copy_(value)
    return model


def old_engine_maps(source, model, padding: str, blur: bool = True) -> np.ndarray:
    """What the engine computed before the pipeline: one window at a time, OpenCV throughout."""
    frames = [preprocess_frame(source.read(i), model.cfg.img_size) for i in range(len(source))]
    out = []
    with torch.inference_mode():
        for i in range(len(source)):
            clip = clip_tensor([frames[k] for k in window_indices(i, len(source), model.cfg.num_frames, padding)])
            saliency = model(clip[None]).float().numpy()[0]
            out.append(to_uint8(postprocess_map(saliency, (source.info.width, source.info.height), blur)))
    return np.stack(out)


def open_store(root, source, predictor, settings):
    return PredictionStore.open(root, source.content_key(), predictor.key, settings.cache_fields(),
                                len(source), source.info.height, source.info.width)


@pytest.fixture(scope="module")
def real_clip():
    return shared_path("data", "dhf1k_0601_first20", "images")


@pytest.mark.slow
@pytest.mark.parametrize("padding, batch", [("repeat", 3), ("reverse", 8)])
def test_maps_equal_the_straightforward_path_within_one_level(tmp_path, real_clip, padding, batch):
    torch.manual_seed(0)
    model = filled_tiny()
    with open_video(real_clip) as source:
        expected = old_engine_maps(source, model, padding)
        predictor = SalFoMPredictor(model, "filled-tiny", device="cpu", dtype="off")
        settings = EngineSettings(padding=padding, batch_size=batch)
        store = open_store(tmp_path, source, predictor, settings)
        assert predict_video(source, predictor, store, settings, start_at=7)
        got = np.stack([store.read(i) for i in range(len(source))])
    assert got.shape == (20, 256, 320)
    assert np.abs(got.astype(int) - expected).max() <= 1
    assert expected.std() > 20                           # maps with structure, not flat


@pytest.mark.parametrize("size", [(640, 360), (64, 48), (224, 224)])
@pytest.mark.parametrize("blur", [True, False])
def test_device_post_processing_equals_opencv_within_one_level(size, blur):
    rng = np.random.default_rng(1)
    maps = cv2.GaussianBlur(rng.random((3, 224, 224)).astype(np.float32).transpose(1, 2, 0), (0, 0), 6)
    maps = np.ascontiguousarray(maps.transpose(2, 0, 1))
    maps[2] = 0.5                                        # a flat map is all zeros
    expected = np.stack([to_uint8(postprocess_map(m, size, blur)) for m in maps])
    got = postprocess_tensor(torch.from_numpy(maps), size, blur).numpy()
    assert got.dtype == np.uint8 and got.shape == expected.shape
    diff = np.abs(got.astype(int) - expected)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01
    assert not got[2].any()


class FastPredictor:
    window, input_size, key = 2, 8, "fast"

    def predict(self, clips):
        return np.tile(np.arange(8, dtype=np.float32), (clips.shape[0], 8, 1))


def test_the_store_commits_about_once_a_second_and_at_the_end(tmp_path, real_clip, monkeypatch):
    clock = {"t": 0.0}

    def fake_clock():                    # every reading of the clock is a quarter second later
        clock["t"] += 0.25
        return clock["t"]

    monkeypatch.setattr(engine, "_clock", fake_clock)
    commits = []
    with open_video(real_clip) as source:
        settings = EngineSettings(batch_size=1)
        store = open_store(tmp_path, source, FastPredictor(), settings)
        commit = store.commit
        monkeypatch.setattr(store, "commit", lambda ix: (commits.append(list(ix)), commit(ix)))
        assert predict_video(source, FastPredictor(), store, settings)
    assert 3 <= len(commits) <= 6                       # 20 batches, not 20 commits
    assert sorted(i for c in commits for i in c) == list(range(20))
    again = open_store(tmp_path, source, FastPredictor(), settings)
    assert again.complete


def test_a_cancelled_run_commits_what_it_showed(tmp_path, real_clip):
    with open_video(real_clip) as source:
        settings = EngineSettings(batch_size=2)
        store = open_store(tmp_path, source, FastPredictor(), settings)
        shown = []
        assert not predict_video(source, FastPredictor(), store, settings, progress=lambda p: shown.extend(p.frames),
                                 cancel=lambda: len(shown) >= 6)
        assert open_store(tmp_path, source, FastPredictor(), settings).done.nonzero()[0].tolist() == shown


class BrokenSource:
    """A video whose decoder fails at frame 5, as a damaged file does."""

    def __init__(self, source):
        self.source, self.info = source, source.info

    def __len__(self):
        return len(self.source)

    def iter_frames(self, start=0, stop=None):
        for j, frame in self.source.iter_frames(start, stop):
            if j == 5:
                raise VideoDecodeError("clip: decoding broke at frame 5", 5)
            yield j, frame


def test_a_decoding_error_in_the_producer_thread_reaches_the_caller(tmp_path, real_clip):
    with open_video(real_clip) as source:
        broken = BrokenSource(source)
        settings = EngineSettings(batch_size=2)
        store = open_store(tmp_path, source, FastPredictor(), settings)
        done = []
        with pytest.raises(VideoDecodeError, match="frame 5"):
            for step in iter_predict(broken, FastPredictor(), store, settings):
                done += step.frames
        assert done == [0, 1, 2, 3] and store.done.sum() == 4


class OutOfMemoryPredictor:
    window, input_size, key, device = 2, 8, "oom", torch.device("cpu")

    def predict_tensor(self, clips):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_empties_the_cache_and_is_typed(tmp_path, real_clip, monkeypatch):
    released = []
    monkeypatch.setattr(engine, "release_cached_memory", released.append)
    with open_video(real_clip) as source:
        settings = EngineSettings(batch_size=8)
        store = open_store(tmp_path, source, OutOfMemoryPredictor(), settings)
        with pytest.raises(DeviceOutOfMemory) as info:
            predict_video(source, OutOfMemoryPredictor(), store, settings)
    assert released == [torch.device("cpu")]
    assert info.value.batch_size == 8 and info.value.device == torch.device("cpu")


def test_cli_out_of_memory_is_one_line_suggesting_a_smaller_batch(tmp_path, real_clip, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_predictor", lambda *a: OutOfMemoryPredictor())
    assert cli.main(["predict", str(real_clip.parent), "-c", "x", "-o", str(tmp_path / "o"), "--cache",
                     str(tmp_path / "c"), "-q", "--batch-size", "8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--batch-size" in err[0] and "(e.g. 4)" in err[0]


def test_cli_device_and_dtype_errors_come_before_any_work(tmp_path, real_clip, monkeypatch, capsys):
    checkpoint = tmp_path / "tiny.pt"
    save_checkpoint(checkpoint, create_model("salfom_tiny"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    base = ["predict", str(real_clip.parent), "-c", str(checkpoint), "-o", str(tmp_path / "o"), "-q"]
    assert cli.main(base + ["--device", "cuda"]) == 2
    assert cli.main(base + ["--dtype", "fp8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "CUDA is not available" in err[0] and "bf16, fp16, off" in err[1]


def test_predictor_dtype_names_follow_the_training_config():
    model = create_model("salfom_tiny")
    assert SalFoMPredictor(model, "k", "cpu", "off").dtype == "float32"
    assert SalFoMPredictor(model, "k", "cpu", "float32").key == "k:float32"
    assert SalFoMPredictor(model, "k", "cpu", "auto").dtype == "float32"


def test_bf16_weight_cast_keeps_the_float32_parts_and_the_result():
    torch.manual_seed(0)
    model = filled_tiny()
    clip = torch.randn(1, 3, 16, 224, 224)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        before = model(clip).float()
    model.cast_for_autocast(torch.bfloat16)
    assert {p.dtype for p in model.tcfe.parameters()} == {p.dtype for p in model.fusion.parameters()} == {torch.float32}
    assert model.encoder.blocks[0].attn.qkv.weight.dtype == torch.bfloat16
    assert model.encoder.blocks[0].norm1.weight.dtype == torch.float32
    assert model.dfd.convs[0].weight.dtype == model.sfd.convs[0].weight.dtype == torch.bfloat16
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        after = model(clip).float()
    assert torch.equal(before, after)


def test_center_bias_needs_no_frames(tmp_path, real_clip):
    with open_video(real_clip) as source:
        predictor = CenterBiasPredictor()
        store = open_store(tmp_path, source, predictor, EngineSettings())
        assert predict_video(source, predictor, store)
        m = store.read(3)
    assert m.shape == (256, 320) and m[128, 160] == 255 and m[0, 0] < 30


def test_cpu_post_processing_gives_the_bytes_of_opencv_step_by_step():
    """The CPU path reuses its float buffers and scales in place: the same bytes as
    `to_uint8(postprocess_map(...))`, map after map, for any size and a flat map."""
    rng = np.random.default_rng(2)
    maps = np.stack([cv2.GaussianBlur(rng.random((224, 224)).astype(np.float32), (0, 0), s) for s in (3, 6, 9)])
    maps[1] = 0.25
    work = {}
    for size, blur in [((640, 360), True), ((320, 256), False), ((640, 360), True)]:
        expected = np.stack([to_uint8(postprocess_map(m, size, blur)) for m in maps])
        got = engine.postprocess_batch(torch.from_numpy(maps), size, blur, work)
        assert got.dtype == np.uint8 and np.array_equal(got, expected)
    assert work["size"] == (640, 360) and not got[1].any() and got[0].max() == 255


def test_frame_pool_windows_are_contiguous_and_equal_the_preprocessed_frames():
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(60)]
    pool = engine._FramePool(torch.device("cpu"), 32)
    pool.add(list(enumerate(frames[:20])))
    pool.drop_before(10)
    pool.add([(j, frames[j]) for j in range(20, 60)])        # reuses the freed slots, then grows
    windows = [window_indices(i, 60, 16) for i in (25, 26, 59)]
    assert pool.frames.shape[1] == 64
    clips = pool.gather(windows)
    assert clips.shape == (3, 3, 16, 32, 32) and clips.is_contiguous()
    for clip, w in zip(clips, windows):
        assert torch.equal(clip, clip_tensor([preprocess_frame(frames[k], 32) for k in w]))


def test_the_pipeline_copies_on_one_thread_and_gives_the_model_its_threads(tmp_path, real_clip, monkeypatch):
    seen = {"model": [], "copies": []}

    class ThreadsPredictor(FastPredictor):
        def predict(self, clips):
            seen["model"].append(torch.get_num_threads())
            return super().predict(clips)

    def recording(name, work):
        def run(*args, **kwargs):
            seen["copies"].append((name, torch.get_num_threads()))
            return work(*args, **kwargs)
        return run

    # the pipeline's own tensor work: filling the frame pool, gathering windows, post-processing
    monkeypatch.setattr(engine._FramePool, "add", recording("add", engine._FramePool.add))
    monkeypatch.setattr(engine._FramePool, "gather", recording("gather", engine._FramePool.gather))
    monkeypatch.setattr(engine, "postprocess_batch", recording("postprocess", engine.postprocess_batch))
    before = torch.get_num_threads()
    torch.set_num_threads(2)            # so that one thread differs from the model's, even on a 1-core machine
    try:
        with open_video(real_clip) as source:
            settings = EngineSettings(batch_size=4)
            store = open_store(tmp_path, source, ThreadsPredictor(), settings)
            assert predict_video(source, ThreadsPredictor(), store, settings)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert len(seen["model"]) == 5 and set(seen["model"]) == {2} and after == 2       # 20 frames, batches of 4
    assert {name for name, _ in seen["copies"]} == {"add", "gather", "postprocess"}
    assert {threads for _, threads in seen["copies"]} == {1}
