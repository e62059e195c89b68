"""The viewer, offscreen (pytest-qt): open the demo, baseline, scrub, curves, compare, train, export."""
import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from salfom_app.window import DEMO_VIDEO, MainWindow
from salfom_core.metrics import density_map
from salfom_core.synthetic import object_track, write_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(cache_dir=str(tmp_path / "cache"), settings=settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def wait_idle(qtbot, w, timeout=60000):
    qtbot.waitUntil(lambda: not w.busy(), timeout=timeout)


def wait_frame(qtbot, w, frame):
    qtbot.waitUntil(lambda: w.view.bundle is not None and w.view.bundle.index == frame, timeout=10000)


def grab(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(image_format())
    ptr = image.constBits()
    return np.array(ptr, dtype=np.uint8).reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]


def image_format():
    from PySide6.QtGui import QImage
    return QImage.Format_RGBA8888


def test_demo_opens_with_heatmap_fixations_and_one_curve_point_per_frame(qtbot, window):
    assert window.open_video(DEMO_VIDEO)
    assert window.state.synthetic and "synthetic" in window.windowTitle()
    wait_idle(qtbot, window)
    layer = window.state.active
    assert layer.name == "Centre bias" and layer.done.all()
    assert window.state.gaze is not None and len(window.state.gaze.observers) == 8
    n = window.state.n_frames
    curve = window.curves.curves["Centre bias"]
    x, y = curve.getData()
    assert len(x) == n == 150 and np.isfinite(y).sum() == np.count_nonzero(
        [window.state.gaze.for_frame(i)[0].size for i in range(n)])
    wait_frame(qtbot, window, 0)
    pane = window.view.panes[0]
    assert pane.heat.isVisible() and pane.heat.image is not None
    assert len(pane.dots.data) > 0
    assert window.layer_panel.banner.isVisible()          # says plainly that no checkpoint is loaded


def test_scrubbing_changes_the_displayed_overlay(qtbot, window):
    window.open_video(DEMO_VIDEO)
    wait_idle(qtbot, window)
    shots = {}
    for frame in (10, 100):
        window.seek(frame)
        wait_frame(qtbot, window, frame)
        qtbot.wait(50)
        shots[frame] = grab(window.view.graphics)
    assert shots[10].shape == shots[100].shape
    changed = np.mean(np.any(shots[10] != shots[100], axis=-1))
    assert changed > 0.05, changed


def test_keyboard_navigation(qtbot, window):
    window.open_video(DEMO_VIDEO)
    window.activateWindow()
    keys = [(Qt.Key_Right, Qt.NoModifier, 1), (Qt.Key_Right, Qt.ShiftModifier, 11),
            (Qt.Key_Left, Qt.NoModifier, 10), (Qt.Key_End, Qt.NoModifier, 149), (Qt.Key_Home, Qt.NoModifier, 0),
            (Qt.Key_PageDown, Qt.NoModifier, 10)]
    for key, modifier, expected in keys:
        qtbot.keyClick(window, key, modifier)
        assert window.state.frame == expected, (key, modifier)


def oracle_maps(folder: Path) -> Path:
    """Maps of a 'model' that knows where the demo's objects are (a second layer to compare)."""
    folder.mkdir()
    track = object_track(150, (480, 272), 7, n_objects=2)
    for k in range(150):
        fix = np.zeros((272, 480), np.uint8)
        for x, y in track[k]:
            fix[int(y), int(x)] = 1
        cv2.imwrite(str(folder / f"{k + 1:04d}.png"), np.round(density_map(fix, sigma=14) * 255).astype(np.uint8))
    return folder


def test_side_by_side_shows_two_layers(qtbot, window, tmp_path):
    window.open_video(DEMO_VIDEO)
    layer = window.add_map_folder(oracle_maps(tmp_path / "oracle"))
    assert layer is not None and layer.done.all()
    wait_idle(qtbot, window)
    centre = window.state.layer("Centre bias")
    window.state.set_active(centre, compare=layer)
    window.set_view_mode("side-by-side")
    window.seek(40)
    wait_frame(qtbot, window, 40)
    left, right = window.view.panes
    assert (left.layer_name, right.layer_name) == ("Centre bias", "oracle")
    assert left.heat.isVisible() and right.heat.isVisible()
    assert not np.array_equal(left.heat.image, right.heat.image)
    # the oracle beats the centre bias on this clip, in the summary table too
    assert layer.summary()["cc"] > centre.summary()["cc"] + 0.3


def test_export_overlay_video_reads_back_with_every_frame(qtbot, window, tmp_path):
    window.open_video(DEMO_VIDEO)
    wait_idle(qtbot, window)
    target = tmp_path / "export" / "demo_overlay.mp4"
    worker = window.export_overlay(target)
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    with av.open(str(target)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 150
    window.export_metrics_csv(tmp_path / "export" / "metrics.csv")
    window.export_plot(tmp_path / "export" / "metrics.png")
    window.export_frame(tmp_path / "export" / "frame.png")
    qtbot.waitUntil(lambda: all((tmp_path / "export" / f).exists() for f in ("metrics.csv", "metrics.png",
                                                                            "frame.png")), timeout=20000)
    rows = (tmp_path / "export" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("layer,frame,auc_judd") and len(rows) > 100


def test_bad_inputs_give_errors_and_the_session_goes_on(qtbot, window, tmp_path):
    window.open_video(DEMO_VIDEO)
    bad_video = tmp_path / "broken.mp4"
    bad_video.write_bytes(b"\x00" * 1000)
    assert not window.open_video(bad_video)
    assert "broken.mp4" in window.errors[-1]
    assert window.state.video_path == DEMO_VIDEO              # the open video stays
    bad_gaze = tmp_path / "gaze.csv"
    bad_gaze.write_text("nothing,useful\n1,2\n")
    assert not window.open_gaze(bad_gaze)
    assert "gaze.csv" in window.errors[-1]
    bad_ckpt = tmp_path / "weights.pth"
    bad_ckpt.write_bytes(b"garbage")
    window.load_checkpoint(bad_ckpt)
    qtbot.waitUntil(lambda: any("weights.pth" in e for e in window.errors), timeout=20000)
    assert window.checkpoint is None and window.layer_panel.banner.isVisible()


@pytest.mark.slow
def test_training_dialog_runs_to_the_end_and_its_checkpoint_loads(qtbot, window, tmp_path):
    from salfom_app.training import NewRunDialog

    data = write_dataset(tmp_path / "data", "dhf1k", {"train": 2, "val": 1})
    window.open_video(DEMO_VIDEO)
    wait_idle(qtbot, window)
    dialog = NewRunDialog(window)
    dialog.data_root.setText(str(data))
    dialog.output.setText(str(tmp_path / "run"))
    dialog.preset.setCurrentText("salfom_tiny")
    dialog.epochs.setValue(2)
    dialog.device.setCurrentText("cpu")
    run = window.start_training(dialog.config(max_steps_per_epoch=2, max_val_clips=2, num_workers=0))
    with qtbot.waitSignal(run.finished, timeout=240000) as finished:
        pass
    assert finished.args[0] == 0, run.console.toPlainText()
    assert len(run.losses) == 4 and len(run.val_cc) == 2           # curves followed the log live
    assert run.load_button.isEnabled()
    run.load_button.click()
    assert window.checkpoint == str(tmp_path / "run" / "best.pt")
    assert not window.layer_panel.banner.isVisible()
    layer = next(l for l in window.state.layers if l.kind == "salfom")
    qtbot.waitUntil(lambda: layer.done.all() and not window.busy(), timeout=240000)
    assert np.isfinite(layer.metrics["cc"]).sum() > 100
    run.close()


def test_screenshot_smoke(tmp_path):
    target = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SALFOM_CACHE_DIR": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}          # not the user's settings
    proc = subprocess.run([sys.executable, "-m", "salfom_app.main", "--screenshot", str(target),
                           "--cache", str(tmp_path / "cache")], capture_output=True, text=True, timeout=300,
                          env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    image = cv2.imread(str(target))
    assert image is not None and image.shape[0] > 400 and image.shape[1] > 600


def test_real_dhf1k_clip_opens_with_its_gaze(qtbot, window):
    from conftest import shared_path

    video = shared_path("data", "dhf1k_0002", "0002.avi")
    assert window.open_video(video)            # File > Open, pick the file: the gaze beside it comes along
    gaze = window.state.gaze
    assert gaze is not None and len(gaze.observers) == 12 and "12 observers" in window.state.truth_source
    assert not window.state.synthetic and "synthetic" not in window.windowTitle()
    wait_frame(qtbot, window, 0)
    assert len(window.view.panes[0].dots.data) > 0


def test_layer_style_comes_back_in_a_new_session(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "style.ini"), QSettings.IniFormat)
    first = MainWindow(cache_dir=str(tmp_path / "cache"), settings=settings)
    qtbot.addWidget(first)
    first.open_video(DEMO_VIDEO)
    first.state.layer("Centre bias").set(colormap="magma", opacity=0.8, threshold=0.25)
    first.close()
    second = MainWindow(cache_dir=str(tmp_path / "cache"), settings=QSettings(str(tmp_path / "style.ini"),
                                                                              QSettings.IniFormat))
    qtbot.addWidget(second)
    second.open_video(DEMO_VIDEO)
    layer = second.state.layer("Centre bias")
    assert (layer.colormap, layer.opacity, layer.threshold) == ("magma", 0.8, 0.25)
    wait_idle(qtbot, second)
    second.close()


def test_ground_truth_toggle_shows_the_map(qtbot, window):
    window.open_video(DEMO_VIDEO)
    wait_idle(qtbot, window)
    window.seek(30)
    wait_frame(qtbot, window, 30)
    assert window.view.bundle.gt_map is None and not window.view.panes[0].gt.isVisible()
    window.layer_panel.ground_truth.setChecked(True)
    qtbot.waitUntil(lambda: window.view.bundle.gt_map is not None, timeout=5000)
    assert window.view.panes[0].gt.isVisible()
