"""`salfom-app --screenshot` is reproducible (issue 21, point 5): the size asked for (default
1280x860, never the saved geometry), the frame asked for, a dataset's scores waited for, and
with a checkpoint the shown frame's exact map waited for, not the whole video."""
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from helpers import make_video

ROOT = Path(__file__).resolve().parents[1]


def run_app(tmp_path, *args, timeout=300) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([sys.executable, "-m", "salfom_app.main", *args, "--cache", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def saved_settings(tmp_path) -> Path:
    """Where the app's QSettings("SalFoM", "SalFoM Studio") live under this XDG_CONFIG_HOME."""
    return tmp_path / "config" / "SalFoM" / "SalFoM Studio.conf"


def save_a_geometry(tmp_path, size=(1100, 640)) -> bytes:
    """A previous session's window geometry in the settings the app reads."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMainWindow

    QApplication.instance() or QApplication([])
    window = QMainWindow()
    window.resize(*size)
    geometry = window.saveGeometry()
    settings = QSettings(str(saved_settings(tmp_path)), QSettings.IniFormat)
    settings.setValue("geometry", geometry)
    settings.sync()
    return bytes(geometry)


def shape(path: Path) -> tuple[int, int]:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image.shape[1], image.shape[0]


def test_screenshot_takes_the_size_and_frame_asked_for_never_the_saved_geometry(tmp_path):
    from PySide6.QtCore import QSettings

    video = make_video(tmp_path / "clip.mp4", n_frames=30, size=(64, 48))
    before = save_a_geometry(tmp_path)
    first = tmp_path / "first.png"
    done = run_app(tmp_path, str(video), "--frame", "1", "--screenshot", str(first))
    assert done.returncode == 0, done.stderr[-2000:]
    assert shape(first) == (1280, 860)                         # the default, not the saved 1100x640
    assert "(frame 1 of 30;" in done.stdout                    # frame 1 painted, not one from the middle
    second = tmp_path / "second.png"
    done = run_app(tmp_path, str(video), "--frame", "7", "--size", "1366x768", "--screenshot", str(second))
    assert done.returncode == 0, done.stderr[-2000:]
    assert shape(second) == (1366, 768) and "(frame 7 of 30;" in done.stdout
    third = tmp_path / "third.png"
    done = run_app(tmp_path, str(video), "--screenshot", str(third))
    assert done.returncode == 0, done.stderr[-2000:]
    assert shape(third) == (1280, 860)                         # not the previous run's 1366x768
    assert "(frame 16 of 30;" in done.stdout                   # no --frame: the middle one
    # a screenshot run leaves the user's saved window where it was
    settings = QSettings(str(saved_settings(tmp_path)), QSettings.IniFormat)
    assert bytes(settings.value("geometry")) == before


@pytest.mark.parametrize("size", ["1366", "0x700", "wide"])
def test_a_bad_size_is_one_line_naming_it(tmp_path, size):
    done = run_app(tmp_path, "--size", size, "--screenshot", str(tmp_path / "x.png"), timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--size: " in done.stderr and repr(size) in done.stderr


@pytest.mark.slow
def test_dataset_screenshot_waits_for_the_scores_and_exits(tmp_path, real_dataset):
    shot = tmp_path / "dataset.png"
    done = run_app(tmp_path, "--dataset", str(real_dataset), "--screenshot", str(shot))
    assert done.returncode == 0, done.stderr[-2000:]           # it used to wait forever in app.exec()
    assert "dataset data: 2 of 2 videos scored" in done.stdout and shape(shot) == (1280, 860)


@pytest.mark.slow      # a model computes (about 30 s on 2 cores)
def test_checkpoint_screenshot_waits_for_the_shown_frames_exact_map_not_the_whole_video(tmp_path):
    import torch

    from salfom_app.window import DEMO_VIDEO
    from salfom_core import create_model, save_checkpoint

    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny.pt"
    save_checkpoint(checkpoint, create_model("salfom_tiny"))
    shot = tmp_path / "shot.png"
    done = run_app(tmp_path, str(DEMO_VIDEO), "--checkpoint", str(checkpoint), "--frame", "100",
                   "--screenshot", str(shot))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(frame 100 of 150;" in done.stdout
    found = re.search(r"SalFoM \(tiny\): (\d+) of 150 frames computed, (exact map shown|blend shown|no map shown)",
                      done.stdout)
    assert found, done.stdout
    assert found.group(2) == "exact map shown"
    assert int(found.group(1)) < 150, "it waited for the whole video"
    assert "Centre bias: 150 of 150 frames computed, exact map shown" in done.stdout
