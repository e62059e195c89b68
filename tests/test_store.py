"""The prediction cache on a bad day: damaged entries, read-only caches, killed writes,
permissions, and a cache folder that cannot be used."""
import os
import stat
import time

import numpy as np
import pytest

from salfom_core import cli
from salfom_core.errors import CacheError
from salfom_core.inference.store import PredictionStore

N, H, W = 6, 4, 5
KEY = ("video-key", "predictor-key", {"padding": "repeat"})


def maps(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (N, H, W), dtype=np.uint8)


def open_store(root, warnings=None, n=N):
    return PredictionStore.open(root, *KEY, n, H, W, warn=None if warnings is None else warnings.append)


def fill(store, truth):
    for i in range(store.n_frames):
        store.write(i, truth[i])
    store.commit(range(store.n_frames))


@pytest.fixture()
def complete(tmp_path):
    """A cache root holding one complete entry; returns (root, entry folder, the maps)."""
    truth = maps()
    store = open_store(tmp_path / "cache")
    fill(store, truth)
    return tmp_path / "cache", store.folder, truth


DAMAGE = {
    "empty done.npy": lambda f: (f / "done.npy").write_bytes(b""),
    "garbage done.npy": lambda f: (f / "done.npy").write_bytes(b"\x93NUMPY garbage" * 3),
    "done.npy of another length": lambda f: np.save(f / "done.npy", np.ones(N + 2, bool)),
    "garbage meta.json": lambda f: (f / "meta.json").write_text("{not json"),
    "meta.json without sizes": lambda f: (f / "meta.json").write_text('{"complete": true}'),
    "short map file": lambda f: (f / "maps.u8").write_bytes((f / "maps.u8").read_bytes()[:-7]),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_entry_is_discarded_with_one_warning_and_rebuilt(complete, damage):
    root, folder, truth = complete
    DAMAGE[damage](folder)
    warnings = []
    store = open_store(root, warnings)
    assert len(warnings) == 1 and str(folder) in warnings[0] and "computing it again" in warnings[0]
    assert store.notes == warnings and not store.done.any()
    fill(store, truth)
    again = open_store(root, warnings)
    assert len(warnings) == 1 and again.complete                  # the rebuilt entry is sound
    assert all(np.array_equal(again.read(i), truth[i]) for i in range(N))


def test_entry_of_another_frame_count_is_replaced(complete):
    # an older reader saw fewer frames in the same file (e.g. before gaps were kept)
    root, folder, _ = complete
    warnings = []
    store = open_store(root, warnings, n=N + 3)
    assert store.n_frames == N + 3 and not store.done.any()
    assert len(warnings) == 1 and f"holds {N} frames" in warnings[0]


def test_complete_entry_in_a_read_only_cache_is_read(complete, monkeypatch):
    root, folder, truth = complete
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    for path in [*folder.iterdir(), folder, root]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    if os.geteuid() == 0:    # root writes anywhere: make the store see what a user would
        real_access = os.access
        monkeypatch.setattr("salfom_core.inference.store.os.access",
                            lambda p, mode: False if mode & os.W_OK else real_access(p, mode))
    try:
        warnings = []
        store = open_store(root, warnings)
        assert store.complete and not store.writable and warnings == []
        assert all(np.array_equal(store.read(i), truth[i]) for i in range(N))
        with pytest.raises(CacheError, match="read-only.*no predictions for this video"):
            PredictionStore.open(root, "another video", *KEY[1:], N, H, W)
        assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before
    finally:
        for path in [root, folder, *folder.iterdir()]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_temporary_files_of_a_killed_write_are_removed(complete):
    root, folder, _ = complete
    killed = folder / ".done.npy.k1ll3d.tmp"
    killed.write_bytes(b"half")
    old = time.time() - 3600
    os.utime(killed, (old, old))
    running = folder / ".meta.json.w0rk1ng.tmp"      # another process writing right now
    running.write_bytes(b"half")
    store = open_store(root)
    assert store.complete and not killed.exists() and running.exists()


def test_files_get_the_users_normal_permissions(tmp_path):
    old_mask = os.umask(0o027)
    os.umask(old_mask)
    store = open_store(tmp_path / "cache")
    fill(store, maps())
    expected = 0o666 & ~old_mask
    for name in ("meta.json", "done.npy", "maps.u8"):
        assert stat.S_IMODE((store.folder / name).stat().st_mode) == expected, name


def test_an_unusable_cache_folder_is_a_clear_error(tmp_path, capsys):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file")
    with pytest.raises(CacheError, match="cache.*cannot use as the prediction cache.*file, not a folder") as info:
        open_store(not_a_folder)
    assert info.value.path == not_a_folder and isinstance(info.value, ValueError)
    with pytest.raises(CacheError, match=r"cache/sub"):
        open_store(not_a_folder / "sub")
    from helpers import make_video

    video = make_video(tmp_path / "v.mp4", n_frames=5)
    assert cli.main(["predict", str(video), "-c", "center-bias", "-o", str(tmp_path / "o"),
                     "--cache", str(not_a_folder), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(not_a_folder) in err[0] and "prediction cache" in err[0]


def test_written_maps_read_back_at_once_and_after_reopening(tmp_path):
    """Maps go to the file by write() (not through the memory map) where the system allows:
    the memory map must see them at once, and a commit must make them durable."""
    rng = np.random.default_rng(0)
    maps = rng.integers(0, 256, (3, 24, 40), dtype=np.uint8)
    store = PredictionStore(tmp_path / "s", 3, 24, 40)
    store.write(2, maps[2])
    store.write(0, maps[0].astype(np.int64))            # cast as the memory map would
    store.mark_ready([0, 2])
    assert np.array_equal(store.read(2), maps[2]) and np.array_equal(store.read(0), maps[0])
    store.commit([0, 2])
    store.write(1, maps[1])
    store.commit([1])
    again = PredictionStore(tmp_path / "s", 3, 24, 40)
    assert again.complete and all(np.array_equal(again.read(i), maps[i]) for i in range(3))
    with pytest.raises(ValueError):
        store.write(1, np.zeros((5, 5), np.uint8))     # a map of the wrong size is refused
