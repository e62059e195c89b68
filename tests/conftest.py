import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
# No test sees the user's installed weights (the app and `salfom predict` would use them).
_DATA_DIR = tempfile.mkdtemp(prefix="salfom-test-data-")
os.environ["SALFOM_DATA_DIR"] = _DATA_DIR
atexit.register(shutil.rmtree, _DATA_DIR, True)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared; the test skips when it is absent (as on a user's machine)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def real_annotated_clips() -> dict[str, Path]:
    """The real clips in benchmark layouts (DHF1K 0601, UCF Diving-Side-001), by video name."""
    return {"0601": shared_path("data", "dhf1k_0601_first20"),
            "Diving-Side-001": shared_path("data", "ucf_sports_diving_side_001")}


@pytest.fixture()
def real_dataset(tmp_path):
    """A DHF1K-layout dataset of the two real annotated clips (links): <tmp>/data/val/<video>."""
    root = tmp_path / "data"
    (root / "val").mkdir(parents=True)
    for name, folder in real_annotated_clips().items():
        os.symlink(folder, root / "val" / name)
    return root


@pytest.fixture()
def window(qtbot, tmp_path):
    """The app's shown main window with its own settings and cache (tests/qt_helpers.py)."""
    from qt_helpers import make_window

    w = make_window(qtbot, tmp_path)
    yield w
    w.close()


@pytest.fixture(scope="session")
def golden_weights():
    """The official-named weights of the reference's fill rule (a state dict, 1.6 GB).

    Filling 400 M values takes about 10 s, so it is done once per test run and kept in memory
    (writing it to disk to map it back cost as much again); `load_golden_weights` gives it."""
    import json

    from fill_rule import official_state_dict

    manifest = json.loads(shared_path("reference", "salfom_golden", "salfom_state_dict_manifest.json").read_text())
    state = official_state_dict(manifest)
    yield state
    state.clear()


def load_golden_weights(weights) -> dict:
    """The filled weights under their official names (the fixture's own tensors: load them into
    a model, do not change them)."""
    return weights


@pytest.fixture()
def video(tmp_path):
    """A 23-frame video whose frame k is grey at helpers.level(k) (test_engine, test_interpolate)."""
    from helpers import make_video
    from salfom_core.io.video import open_video

    source = open_video(make_video(tmp_path / "v.mp4", n_frames=23, size=(64, 48)))
    yield source
    source.close()
