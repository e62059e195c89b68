"""Distributed prediction: `torchrun -m salfom_core predict` shards videos by frame count, writes the
same bytes as one process, and a killed run resumes with only what is missing."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import make_video
from salfom_core import create_model
from salfom_core.inference.distributed import Rank, balanced_shares, current_rank, videos_of_rank
from salfom_core.inference.engine import pick_device
from salfom_core.models.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def test_shares_balance_frames_and_keep_groups_together():
    # largest first to the least loaded rank: 783 alone, the rest together
    assert balanced_shares([783, 40, 40, 300, 54], 2) == [[0], [1, 2, 3, 4]]
    assert balanced_shares([10, 9, 8, 7], 2) == [[0, 3], [1, 2]]          # 17 / 17
    assert balanced_shares([5, 5, 5], 4) == [[0], [1], [2], []]
    # identical content (same group) on one rank, whatever the weights
    assert balanced_shares([10, 10, 1], 2, groups=["a", "b", "a"]) == [[0, 2], [1]]
    shares = balanced_shares(list(range(1, 30)), 3)
    assert sorted(i for s in shares for i in s) == list(range(29))
    loads = [sum(i + 1 for i in s) for s in shares]
    assert max(loads) - min(loads) <= 29


def test_rank_from_torchrun_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2"), monkeypatch.setenv("RANK", "1"), monkeypatch.setenv("LOCAL_RANK", "1")
    rank = current_rank()
    assert rank == Rank(1, 2, 1) and rank.distributed
    # the predictor's device under torchrun: the GPU of LOCAL_RANK, or the CPU (CUDA faked: any machine)
    for gpus, expected in ((2, "cuda:1"), (0, "cpu")):
        with monkeypatch.context() as fake:
            fake.setattr(torch.cuda, "is_available", lambda: gpus > 0)
            fake.setattr(torch.cuda, "device_count", lambda: gpus)
            assert str(pick_device("auto")) == expected, gpus
    videos = [make_video(tmp_path / f"{n}.mp4", n_frames=n) for n in (12, 5, 6)]
    assert videos_of_rank(videos, rank) == [videos[1], videos[2]]
    assert videos_of_rank(videos, Rank(0, 2, 0)) == [videos[0]]
    monkeypatch.setenv("RANK", "3")
    with pytest.raises(ValueError, match="RANK 3"):
        current_rank()


def _done_frames(cache: Path) -> int:
    total = 0
    for done in cache.glob("*/done.npy"):
        try:
            total += int(np.load(done).sum())
        except (OSError, ValueError):
            pass
    return total


def _maps(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


@pytest.mark.slow
def test_torchrun_two_ranks_equal_one_process_and_resume(tmp_path):
    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny.pt"
    save_checkpoint(checkpoint, create_model("salfom_tiny"))
    videos = [str(make_video(tmp_path / f"clip{n}.mp4", n_frames=n, size=(48, 32))) for n in (6, 4, 2)]
    pause_dir = tmp_path / "paused"
    pause_dir.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
           "SALFOM_TEST_PAUSE_DIR": str(pause_dir)}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(key, None)

    def predict(out, cache, nproc=None, background=False):
        launcher = [sys.executable] if nproc is None else \
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
        # in the background each rank pauses before its third batch (helpers.predict_pausing_before_batch)
        program = ["--no-python", sys.executable, "-c", "import helpers; helpers.predict_pausing_before_batch(2)"] \
            if background else ["-m", "salfom_core"]
        args = launcher + program + ["predict", *videos, "-c", str(checkpoint), "-o", str(out),
                                     "--cache", str(cache), "--device", "cpu", "--batch-size", "2", "-q"]
        if background:
            return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stderr

    predict(tmp_path / "single", tmp_path / "cache1")
    single = _maps(tmp_path / "single")
    assert len(single) == 12
    err = predict(tmp_path / "dist", tmp_path / "cache2", nproc=2)
    assert _maps(tmp_path / "dist") == single                    # byte for byte
    assert "clip6: 6 maps" in err and "[rank 0]" in err and "[rank 1]" in err   # 6 frames | 4 + 2 frames

    # stop the run (SIGTERM, as Ctrl-C or a job scheduler: torchrun passes it on to its workers,
    # which die at once) while both ranks wait before their third batch of 2 frames: rank 0 in
    # clip6 with 4 frames done, rank 1 after clip4; then run again
    cache = tmp_path / "cache3"
    proc = predict(tmp_path / "resumed", cache, nproc=2, background=True)
    deadline = time.monotonic() + 240
    while len(list(pause_dir.iterdir())) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(p.name for p in pause_dir.iterdir()) == ["rank0", "rank1"] and proc.poll() is None, \
        proc.poll() is not None and proc.communicate()[1][-3000:]
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    at_kill = _done_frames(cache)
    assert at_kill == 8, at_kill
    err = predict(tmp_path / "resumed", cache, nproc=2)
    from_cache = sum(int(n) for n in re.findall(r"\((\d+) from the cache\)", err))
    assert from_cache == at_kill                                  # only the missing frames were computed
    # a batch is committed whole, so the resumed batches are those of an uninterrupted run: same bytes
    assert _maps(tmp_path / "resumed") == single
