"""The viewer, offscreen (pytest-qt): open the demo, baseline, scrub, curves, compare, train, export."""
import os
import subprocess
import sys
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from qt_helpers import drag_slider
from salfom_app.window import DEMO_VIDEO, MainWindow
from salfom_core.io.export import PANE_GAP
from salfom_core.io.ground_truth import density_map
from salfom_core.io.overlay import caption_band_height
from salfom_core.io.synthetic import object_track, write_dataset

ROOT = Path(__file__).resolve().parents[1]


def wait_idle(qtbot, w, timeout=60000):
    qtbot.waitUntil(lambda: not w.busy(), timeout=timeout)


def wait_frame(qtbot, w, frame):
    qtbot.waitUntil(lambda: w.view.bundle is not None and w.view.bundle.index == frame, timeout=10000)


def grab(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(image_format())
    ptr = image.constBits()
    rows = np.array(ptr, dtype=np.uint8).reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    return rows.reshape(image.height(), image.width(), 4)


def image_format():
    from PySide6.QtGui import QImage
    return QImage.Format_RGBA8888


def view_pixel(w, x: float, y: float, pane: int = 0) -> np.ndarray:
    """RGB on screen at image coordinates (x, y) of a pane (grabbed from the real widget)."""
    from PySide6.QtCore import QPointF

    graphics = w.view.graphics
    scene = w.view.panes[pane].plot.vb.mapViewToScene(QPointF(x, y))
    point = graphics.mapFromScene(scene)
    shot = grab(graphics.viewport())
    return shot[point.y(), point.x(), :3].astype(int)


def peak(image: np.ndarray) -> tuple[int, int]:
    """(x, y) of the maximum of a map."""
    y, x = np.unravel_index(int(np.argmax(image)), image.shape)
    return int(x), int(y)


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


def test_scrubbing_paints_each_frames_own_map(qtbot, window, oracle):
    """A layer whose map moves with the objects: the painted heatmap follows the playhead."""
    window.open_video(DEMO_VIDEO)
    layer = window.add_map_folder(oracle)
    window.state.set_active(layer)
    window.state.set_view(show_fixations=False)
    pane = window.view.panes[0]
    for frame in (10, 100):
        window.seek(frame)
        wait_frame(qtbot, window, frame)
        qtbot.wait(50)
        truth = cv2.imread(str(oracle / f"{frame + 1:04d}.png"), cv2.IMREAD_GRAYSCALE)
        assert np.array_equal(pane.heat.image, truth)                 # the map painted is this frame's
        x, y = peak(truth)
        hot = view_pixel(window, x + 0.5, y + 0.5)
        plain = window.view.bundle.image[y, x].astype(int)
        assert np.abs(hot - plain).sum() > 60, (frame, hot, plain)   # the heatmap is drawn where it is hot
    other = cv2.imread(str(oracle / "0011.png"), cv2.IMREAD_GRAYSCALE)
    assert not np.array_equal(pane.heat.image, other)


def test_panel_widgets_recolour_the_painted_heatmap_without_rereading(qtbot, window, oracle):
    window.open_video(DEMO_VIDEO)
    layer = window.add_map_folder(oracle)
    window.state.set_active(layer)
    window.state.set_view(show_fixations=False)
    window.seek(40)
    wait_frame(qtbot, window, 40)
    qtbot.wait(50)
    truth = cv2.imread(str(oracle / "0041.png"), cv2.IMREAD_GRAYSCALE)
    x, y = peak(truth)
    from salfom_core.io.overlay import blend
    drawn = blend(window.view.bundle.image, truth, "viridis", 1.0).astype(int)
    contrast = np.abs(drawn - window.view.bundle.image).sum(-1) * ((truth > 100) & (truth < 200))
    y2, x2 = np.unravel_index(int(np.argmax(contrast)), truth.shape)   # a warm pixel below 0.95, drawn visibly
    panel = window.layer_panel
    assert panel._selected() is layer
    qtbot.waitUntil(lambda: not window.session.inference.busy, timeout=20000)   # no map arrives meanwhile
    layer.set(visible=False)                          # the frame alone, as painted: the reference
    qtbot.waitUntil(lambda: layer.name not in window.view.bundle.maps, timeout=5000)
    qtbot.wait(30)
    plain, warm_plain = view_pixel(window, x + 0.5, y + 0.5), view_pixel(window, x2 + 0.5, y2 + 0.5)
    layer.set(visible=True)
    qtbot.waitUntil(lambda: window.view.bundle.maps.get(layer.name) is not None, timeout=5000)
    requested = window.view.requested

    def at_peak():
        qtbot.wait(30)
        return view_pixel(window, x + 0.5, y + 0.5)

    from salfom_core.io.overlay import colormap_lut
    panel.colormap.setCurrentText("jet")
    panel.opacity.setValue(100)
    expected_jet = colormap_lut("jet")[truth[y, x]].astype(int)
    assert np.abs(at_peak() - expected_jet).max() <= 12
    panel.colormap.setCurrentText("viridis")
    expected = colormap_lut("viridis")[truth[y, x]].astype(int)
    assert np.abs(at_peak() - expected).max() <= 12                  # the peak takes viridis' top colour
    panel.opacity.setValue(0)
    assert np.abs(at_peak() - plain).max() <= 6                      # fully transparent: the frame
    panel.opacity.setValue(100)
    assert np.abs(view_pixel(window, x2 + 0.5, y2 + 0.5) - drawn[y2, x2]).max() <= 12
    panel.threshold.setValue(0.95)                                   # the peak (255) stays, the warm pixel goes
    assert np.abs(at_peak() - expected).max() <= 12
    assert np.abs(view_pixel(window, x2 + 0.5, y2 + 0.5) - warm_plain).max() <= 6
    assert window.view.requested == requested                        # recoloured: nothing was read again


def test_keyboard_navigation(qtbot, window):
    window.open_video(DEMO_VIDEO)
    window.activateWindow()
    keys = [(Qt.Key_Right, Qt.NoModifier, 1), (Qt.Key_Right, Qt.ShiftModifier, 11),
            (Qt.Key_Left, Qt.NoModifier, 10), (Qt.Key_End, Qt.NoModifier, 149), (Qt.Key_Home, Qt.NoModifier, 0),
            (Qt.Key_PageDown, Qt.NoModifier, 10)]
    for key, modifier, expected in keys:
        qtbot.keyClick(window, key, modifier)
        assert window.state.frame == expected, (key, modifier)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory) -> Path:
    return oracle_maps(tmp_path_factory.mktemp("maps") / "oracle")


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


def test_split_view_from_the_layer_panel_paints_both_layers(qtbot, window, oracle):
    window.open_video(DEMO_VIDEO)
    layer = window.add_map_folder(oracle)
    assert layer is not None and layer.done.all()
    centre = window.state.layer("Centre bias")
    window.state.set_active(centre, compare=layer)
    window.state.set_view(show_fixations=False)
    window.layer_panel.split.setChecked(True)              # the panel's own control
    assert window.state.view_mode == "split" and len(window.view.panes) == 2
    window.seek(40)
    qtbot.waitUntil(lambda: window.view.bundle is not None and window.view.bundle.index == 40
                    and window.view.bundle.maps.get("Centre bias") is not None, timeout=20000)
    qtbot.wait(50)
    left, right = window.view.panes
    assert (left.layer_name, right.layer_name) == ("Centre bias", "oracle")
    truth = cv2.imread(str(oracle / "0041.png"), cv2.IMREAD_GRAYSCALE)
    centre_map = window.view.bundle.maps["Centre bias"]
    # a point where the oracle is hot and the centre bias is cold: only the right pane is coloured there
    score = truth.astype(int) - centre_map.astype(int)
    y, x = np.unravel_index(int(np.argmax(score)), truth.shape)
    plain = window.view.bundle.image[y, x].astype(int)
    right_px, left_px = view_pixel(window, x + 0.5, y + 0.5, pane=1), view_pixel(window, x + 0.5, y + 0.5, pane=0)
    assert np.abs(right_px - plain).sum() > np.abs(left_px - plain).sum() + 60, (left_px, right_px, plain)
    # 'export current frame' of a split view writes both panes side by side, each as painted
    both = window.exporter.frame_image()          # the panes PANE_GAP apart, their caption bands under them
    assert both.shape[:2] == (272 + caption_band_height(480), 960 + PANE_GAP)
    assert np.abs(both[y, 480 + PANE_GAP + x].astype(int) - right_px).max() <= 12
    assert np.abs(both[y, x].astype(int) - left_px).max() <= 12
    # the View menu reaches it too
    view_menu = window.menu("View")
    single = next(a for a in view_menu.actions() if a.text() == "Single view")
    single.trigger()
    assert len(window.view.panes) == 1 and not window.layer_panel.split.isChecked()
    split = next(a for a in view_menu.actions() if a.text().startswith("Side by side"))
    split.trigger()
    assert len(window.view.panes) == 2 and window.layer_panel.split.isChecked()


def test_ground_truth_toggle_is_painted(qtbot, window):
    window.open_video(DEMO_VIDEO)
    window.state.set_view(show_fixations=False)
    window.state.layer("Centre bias").set(visible=False)
    window.seek(30)
    wait_frame(qtbot, window, 30)
    qtbot.wait(50)
    gt = window.state.truth.gt_map(30)
    y, x = np.unravel_index(int(np.argmax(gt)), gt.shape)
    plain = window.view.bundle.image[y, x].astype(int)
    assert np.abs(view_pixel(window, x + 0.5, y + 0.5) - plain).max() <= 6
    window.layer_panel.ground_truth.setChecked(True)
    qtbot.waitUntil(lambda: window.view.bundle.gt_map is not None, timeout=5000)
    qtbot.wait(50)
    assert np.abs(view_pixel(window, x + 0.5, y + 0.5) - plain).sum() > 60


def test_summary_table_shows_six_columns_without_scrollbar_and_legend_is_off_the_plot(qtbot, window, oracle):
    window.open_video(DEMO_VIDEO)
    window.add_map_folder(oracle)
    qtbot.wait(100)
    table = window.curves.table
    assert table.columnCount() == 6
    assert not table.horizontalScrollBar().isVisible()
    last = table.columnViewportPosition(5) + table.columnWidth(5)
    assert 0 <= table.columnViewportPosition(0) and last <= table.viewport().width()
    assert all(table.columnWidth(c) >= 40 for c in range(6))
    legend = window.curves.legend
    assert legend.isVisible() and "oracle" in legend.text() and "Centre bias" in legend.text()
    plot_rect = window.curves.plot.geometry()
    legend_rect = legend.geometry()
    assert not plot_rect.intersects(legend_rect)          # beside the plot, never over its data


@pytest.mark.slow      # about 11 s: the metrics and an overlay video of the whole clip
def test_exports_show_what_the_view_shows(qtbot, window, tmp_path, oracle):
    window.open_video(DEMO_VIDEO)
    layer = window.add_map_folder(oracle)
    window.session.inference.cancel_all(wait=True)
    window.state.remove_layer(window.state.layer("Centre bias"))    # one layer to score: a faster test
    window.state.set_active(layer)
    layer.set(opacity=1.0, colormap="jet")
    wait_idle(qtbot, window)
    window.state.set_view(show_fixations=False)
    window.seek(60)
    wait_frame(qtbot, window, 60)
    qtbot.wait(50)
    out = tmp_path / "export"
    worker = window.exporter.overlay(out / "demo_overlay.mp4")
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    with av.open(str(out / "demo_overlay.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 150
    truth = cv2.imread(str(oracle / "0061.png"), cv2.IMREAD_GRAYSCALE)
    plain = window.state.video.read(60).astype(int)
    diff = np.abs(frames[60][:272].astype(int) - plain).sum(-1)      # [:272]: the frame above its caption band
    assert diff[truth > 200].mean() > 80 and diff[truth < 5].mean() < 15      # coloured exactly where hot
    window.exporter.metrics_csv(out / "metrics.csv")
    window.exporter.plot(out / "metrics.png")
    window.exporter.frame(out / "frame.png")
    qtbot.waitUntil(lambda: all((out / f).exists() for f in ("metrics.csv", "metrics.png", "frame.png")),
                    timeout=20000)
    # the PNG is the painted view: compare it with the pane grabbed from the screen
    png = cv2.cvtColor(cv2.imread(str(out / "frame.png")), cv2.COLOR_BGR2RGB).astype(int)
    assert png.shape[1] == 480 and png.shape[0] > 272      # the frame, then its caption band (test_exports_describe)
    for x, y in [peak(truth), (50, 50), (400, 200), (240, 136)]:
        assert np.abs(view_pixel(window, x + 0.5, y + 0.5) - png[y, x]).max() <= 12, (x, y)
    # the CSV's values are the table's
    import csv
    with open(out / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"layer", "frame", "cc", "nss", "sim", "auc_judd", "auc_shuffled", "kld"}
    table = window.curves.table
    # the table's columns, as its headers name them, and the CSV's column of each
    columns = {"CC": "cc", "NSS": "nss", "SIM": "sim", "AUC-Judd": "auc_judd", "sAUC": "auc_shuffled", "KLD": "kld"}
    headers = [table.horizontalHeaderItem(col).text() for col in range(table.columnCount())]
    assert sorted(headers) == sorted(columns)
    keys = [columns[header] for header in headers]
    assert table.rowCount() == 1
    for row in range(table.rowCount()):
        name = window.state.layers[row].name
        for col, key in enumerate(keys):
            values = [float(r[key]) for r in rows if r["layer"] == name and r[key] != ""]
            assert table.item(row, col).text() == f"{np.mean(values):.3f}", (name, key)


def test_space_plays_to_the_end_and_the_speed_box_sets_the_rate(qtbot, window):
    window.open_video(DEMO_VIDEO)
    window.activateWindow()
    speed = window.timeline.speed
    speed.setCurrentIndex(speed.findData(4.0))
    assert window.state.speed == 4.0 and window.playback.interval_ms() == int(1000 / (30 * 4))
    window.seek(140)
    qtbot.keyClick(window, Qt.Key_Space)
    assert window.state.playing and window.playback.timer.isActive()
    assert window.playback.timer.interval() == 8
    qtbot.waitUntil(lambda: not window.state.playing, timeout=5000)
    assert window.state.frame == 149                       # stopped at the end, not wrapped
    # each tick of the timer steps one frame; the speed box, changed while playing, sets its interval
    ticks = []
    window.playback.timer.timeout.connect(lambda: ticks.append(window.state.frame))   # after the step
    window.seek(100)
    qtbot.keyClick(window, Qt.Key_Space)
    speed.setCurrentIndex(speed.findData(0.25))
    assert window.playback.timer.interval() == 133         # 30 fps x 0.25 = 7.5 frames a second
    qtbot.waitUntil(lambda: len(ticks) >= 2, timeout=5000)
    qtbot.keyClick(window, Qt.Key_Space)
    assert not window.state.playing and not window.playback.timer.isActive()
    assert ticks == list(range(101, 101 + len(ticks))) and window.state.frame == 100 + len(ticks)


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
    # its maps come and are scored (the whole video would only repeat this for 150 frames)
    qtbot.waitUntil(lambda: np.isfinite(layer.metrics.get("cc", np.full(1, np.nan))).sum() >= 10, timeout=240000)
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


def smi_points_by_hand(folder: Path, frame: int, size=(640, 360), screen=(1440, 900), fps=30.0) -> dict:
    """Each observer's median fixation point in `frame` (0-based), from the raw SMI text by the
    spec's record_mapping.m: a = W / 1440, b = (900 - H / a) / 2, the frame takes the samples
    with frame < fps * t < frame + 1 (t from the observer's first sample), x = a * x_screen,
    y = a * (y_screen - b), points inside the picture only."""
    a = size[0] / screen[0]
    b = (screen[1] - size[1] / a) / 2
    points = {}
    for path in sorted(folder.glob("*.txt")):
        lines = path.read_text(encoding="latin-1").splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("Time"))
        header = lines[start].split("\t")
        t_col, x_col, y_col, event_col = (header.index(name) for name in
                                          ("Time", "L POR X [px]", "L POR Y [px]", "L Event Info"))
        rows = [line.split("\t") for line in lines[start + 1:] if line.strip() and not line.startswith("#")]
        xs, ys = [], []
        for row in rows:
            t = (float(row[t_col]) - float(rows[0][t_col])) * 1e-6
            x, y = a * float(row[x_col]), a * (float(row[y_col]) - b)
            if row[event_col].startswith("F") and frame < fps * t < frame + 1 and 0 < x < size[0] and 0 < y < size[1]:
                xs.append(x), ys.append(y)
        if xs:
            points[path.stem.split("_")[0]] = (float(np.median(xs)), float(np.median(ys)))
    return points


def test_real_dhf1k_clip_opens_with_its_gaze(qtbot, window):
    from conftest import shared_path

    video = shared_path("data", "dhf1k_0002", "0002.avi")
    assert window.open_video(video)            # File > Open, pick the file: the gaze beside it comes along
    gaze = window.state.gaze
    assert gaze is not None and len(gaze.observers) == 12 and "12 observers" in window.state.truth_source
    assert not window.state.synthetic and "synthetic" not in window.windowTitle()
    # the markers of a frame are where the raw exports put each observer's gaze in that frame
    window.seek(400)
    wait_frame(qtbot, window, 400)
    expected = smi_points_by_hand(video.parent / "gaze", 400)
    xs, ys = window.view.panes[0].dots.getData()
    shown = sorted(zip(xs + 0.5, ys + 0.5))                        # a marker sits on the pixel's centre
    assert 3 <= len(expected) <= 11
    np.testing.assert_allclose(shown, sorted(expected.values()), atol=1e-6)


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


# --------------------------------------------------------------------------- the playhead steers inference


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    import torch

    from salfom_core import create_model, save_checkpoint
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, create_model("salfom_tiny"))
    return path


@pytest.mark.slow      # about 6 s: a model computes
def test_dragging_the_slider_moves_inference_to_the_new_frame(qtbot, window, tiny_checkpoint):
    window.open_video(DEMO_VIDEO)
    window.load_checkpoint(tiny_checkpoint)
    layer = next(l for l in window.state.layers if l.kind == "salfom")
    window.state.set_active(layer)
    qtbot.waitUntil(lambda: layer.done.any(), timeout=60000)        # computing from the start
    target = 130
    drag_slider(window.timeline.slider, target)
    assert window.state.frame == target and not window.state.playing
    qtbot.waitUntil(lambda: window.view.bundle is not None and window.view.bundle.index == target
                    and window.view.bundle.maps.get(layer.name) is not None, timeout=60000)
    assert window.view.panes[0].heat.isVisible() and window.view.panes[0].layer is layer
    # the model worked around the far frame first (coarse-to-fine: its nearest grid frames, then
    # a blend or the exact map is painted), not through the frames between the start and it
    near = np.flatnonzero(layer.done[100:160]) + 100
    assert len(near) and not layer.done[50:112].any(), np.flatnonzero(layer.done)
    window.session.inference.cancel_all(wait=True)


def test_curve_click_and_next_worst_move_the_playhead_the_painted_frame_and_inference(qtbot, window):
    from PySide6.QtCore import QPointF
    from PySide6.QtTest import QTest

    window.open_video(DEMO_VIDEO)
    wait_idle(qtbot, window)
    plot = window.curves.plot
    qtbot.wait(50)
    vb = plot.getPlotItem().vb
    (_x0, _x1), (y0, y1) = vb.viewRange()
    point = plot.mapFromScene(vb.mapViewToScene(QPointF(75, (y0 + y1) / 2)))
    QTest.mouseClick(plot.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    assert abs(window.state.frame - 74) <= 1
    clicked = window.state.frame
    wait_frame(qtbot, window, clicked)
    assert window.session.inference.playhead() == clicked
    values = window.state.active.metrics["cc"]
    cutoff = np.sort(values[np.isfinite(values)])[int(0.1 * np.isfinite(values).sum())]
    expected = next(i for i in range(clicked + 1, len(values)) if values[i] <= cutoff)
    window.curves.better.click()                                     # "Next worst"
    assert window.state.frame == expected
    wait_frame(qtbot, window, expected)
    assert window.session.inference.playhead() == expected
    assert abs(window.curves.cursor.value() - (expected + 1)) < 1e-9


# --------------------------------------------------------------------------- trust the real paths (issue 8)


def test_missing_video_on_the_command_line_opens_with_an_error(tmp_path):
    """It used to abort (SIGABRT: the frame loader's QThread destroyed while running)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    for video in (tmp_path / "missing.mp4",):
        shot = tmp_path / f"{video.stem}.png"
        proc = subprocess.run([sys.executable, "-m", "salfom_app.main", str(video), "--screenshot", str(shot),
                               "--cache", str(tmp_path / "cache")], capture_output=True, text=True, timeout=120,
                              env=env, cwd=ROOT)
        assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])      # not SIGABRT (-6)
        assert video.name in proc.stderr and "Traceback" not in proc.stderr and "QThread" not in proc.stderr
        assert cv2.imread(str(shot)) is not None                              # the window was up and drawn


def test_missing_video_leaves_the_window_usable(qtbot, window, tmp_path):
    assert not window.open_video(tmp_path / "missing.mp4")
    assert "missing.mp4" in window.errors[-1]
    assert window.open_video(DEMO_VIDEO)                  # the same window opens the next video
    wait_frame(qtbot, window, 0)


def test_maps_folder_of_unreadable_images_is_an_error_message(qtbot, window, tmp_path):
    window.open_video(DEMO_VIDEO)
    window.cancel_all(wait=True)
    window.state.remove_layer(window.state.layer("Centre bias"))    # only the bad layer to score: faster
    folder = tmp_path / "garbage_maps"
    folder.mkdir()
    for k in range(1, 6):
        (folder / f"{k:04d}.png").write_bytes(b"not a png at all")
    assert window.add_map_folder(folder) is None
    assert "0001.png" in window.errors[-1] and "not a readable image" in window.errors[-1]
    # one good map then garbage: the layer opens, each unreadable frame is shown without its map
    cv2.imwrite(str(folder / "0001.png"), np.full((272, 480), 128, np.uint8))
    layer = window.add_map_folder(folder)
    assert layer is not None
    window.state.set_active(layer)
    window.seek(3)
    wait_frame(qtbot, window, 3)
    assert window.view.bundle.maps[layer.name] is None
    assert any("0004.png" in e for e in window.errors)
    qtbot.waitUntil(lambda: not window.busy(), timeout=60000)        # metrics report it; nothing hangs


def test_frame_loader_errors_reach_the_user_on_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    """The frame loader lives in its own thread: its failures must be shown by the GUI thread
    (a dialog built in the loader thread corrupted painting and crashed the app at random)."""
    threads = []
    show = MainWindow.report_error
    monkeypatch.setattr(MainWindow, "report_error",
                        lambda self, title, message: (threads.append(threading.current_thread()),
                                                      show(self, title, message)))
    window.open_video(DEMO_VIDEO)
    window.cancel_all(wait=True)
    folder = tmp_path / "maps"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), np.full((272, 480), 128, np.uint8))
    (folder / "0003.png").write_bytes(b"not a png at all")
    window.state.set_active(window.add_map_folder(folder))
    window.seek(2)
    qtbot.waitUntil(lambda: any("0003.png" in e for e in window.errors), timeout=10000)
    assert threads and all(t is threading.main_thread() for t in threads)


def test_checkpoint_is_remembered_only_once_loaded_and_forgotten_only_for_checkpoint_errors(qtbot, window,
                                                                                             tmp_path,
                                                                                             tiny_checkpoint):
    settings = window.settings
    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"garbage")
    window.load_checkpoint(bad)                            # no video open: loaded in the background
    assert settings.value("checkpoint") is None
    qtbot.waitUntil(lambda: any("weights.pth" in e for e in window.errors), timeout=20000)
    assert window.checkpoint is None and settings.value("checkpoint") is None
    window.load_checkpoint(tiny_checkpoint)
    qtbot.waitUntil(lambda: settings.value("checkpoint") == str(tiny_checkpoint), timeout=60000)
    window.open_video(DEMO_VIDEO)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    assert not window.open_video(broken)
    bad_gaze = tmp_path / "gaze.csv"
    bad_gaze.write_text("nothing,useful\n1,2\n")
    assert not window.open_gaze(bad_gaze)
    assert window.checkpoint == str(tiny_checkpoint) == settings.value("checkpoint")
    window.session.inference.cancel_all(wait=True)


def test_unusable_cache_is_said_and_the_layer_is_not_left_computing(qtbot, tmp_path, tiny_checkpoint):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    settings.setValue("checkpoint", str(tiny_checkpoint))
    w = MainWindow(cache_dir=str(not_a_folder), settings=settings)
    qtbot.addWidget(w)
    w.show()
    w.open_video(DEMO_VIDEO)
    qtbot.waitUntil(lambda: all(not l.running for l in w.state.layers), timeout=60000)
    assert any("cache" in e.lower() and str(not_a_folder) in e for e in w.errors), w.errors
    wait_frame(qtbot, w, 0)
    qtbot.wait(50)
    label = w.view.panes[0].label.textItem.toPlainText()
    assert "computing" not in label and "failed" in label
    assert w.checkpoint == str(tiny_checkpoint) == settings.value("checkpoint")   # not the checkpoint's fault
    w.close()


def test_damaged_video_warning_in_status_bar_and_timeline(qtbot, window, tmp_path):
    from helpers import make_video

    phone = make_video(tmp_path / "phone.mp4", n_frames=99, drop_after=(9,))     # a dropped frame
    assert window.open_video(phone)
    assert "phone.mp4" in window.statusBar().currentMessage()
    assert "1 frame missing" in window.statusBar().currentMessage()
    assert window.timeline.warning.isVisibleTo(window) and "1 frame missing" in window.timeline.warning.text()
    window.open_video(DEMO_VIDEO)                           # a sound file: the warning goes
    assert not window.timeline.warning.isVisibleTo(window)


def test_partial_checkpoint_asks_before_predicting(qtbot, window, tmp_path):
    """A UMT encoder file fills only the encoder: the app asks; Yes predicts with it anyway."""
    import torch

    from checkpoint_files import tiny_umt_state
    from salfom_core import create_model

    umt = tmp_path / "umt_tiny.pth"
    torch.save({"model": tiny_umt_state(create_model("salfom_tiny"))}, umt)
    window.open_video(DEMO_VIDEO)
    window.load_checkpoint(umt)
    qtbot.waitUntil(lambda: window.partial_question is not None, timeout=60000)
    assert "umt_tiny.pth" in window.partial_question.text() and "untrained" in window.partial_question.text()
    assert window.checkpoint == str(umt) and window.settings.value("checkpoint") is None   # asked, not remembered
    layer = next(l for l in window.state.layers if l.kind == "salfom")
    assert not layer.running and not layer.done.any()
    window.partial_question.done(QMessageBox.Yes)
    layer = next(l for l in window.state.layers if l.kind == "salfom")
    qtbot.waitUntil(lambda: layer.done.any(), timeout=60000)
    window.session.inference.cancel_all(wait=True)


def test_command_line_reproduces_frame_view_and_comparison(qtbot, window, oracle):
    from salfom_app.main import apply_view_arguments, parse_args

    args = parse_args([str(DEMO_VIDEO), "--maps", str(oracle), "--frame", "42", "--compare", "oracle"])
    window.open_video(args.video)
    window.add_map_folder(args.maps[0])
    apply_view_arguments(window, args)
    s = window.state
    assert s.frame == 41 and s.view_mode == "split" and s.compare.name == "oracle" and s.active.name == "Centre bias"
    wait_frame(qtbot, window, 41)
    assert [p.layer_name for p in window.view.panes] == ["Centre bias", "oracle"]
    assert window.timeline.frame_box.text() == "frame 42" and window.timeline.position.text().startswith("/ 150")
    # comparing with the active layer: the other one becomes active, never a layer beside itself
    apply_view_arguments(window, parse_args([str(DEMO_VIDEO), "--compare", "Centre bias"]))
    assert (s.active.name, s.compare.name) == ("oracle", "Centre bias")
    apply_view_arguments(window, parse_args([str(DEMO_VIDEO), "--view", "single", "--compare", "nope"]))
    assert "'nope'" in window.errors[-1] and "'oracle'" in window.errors[-1]
    assert s.view_mode == "single" and len(window.view.panes) == 1


class PacedPredictor:
    """A model that needs frames (so a run has a decoding thread) and takes 50 ms a batch."""

    window, input_size, key = 16, 32, "paced-test"

    def __init__(self):
        self.never = threading.Event()

    def predict(self, clips):
        self.never.wait(0.05)
        return clips[:, :, -1].mean(dim=1).numpy()


def decoders() -> list:
    return [t for t in threading.enumerate() if t.name == "salfom-decode" and t.is_alive()]


def test_cancelled_export_leaves_no_partial_file_and_inference_stops_its_decoder(qtbot, window, tmp_path):
    """A cancelled generator worker is closed at once (its cleanup runs), not at interpreter exit."""
    from salfom_core.inference.engine import EngineSettings

    window.open_video(DEMO_VIDEO)
    target = tmp_path / "out" / "overlay.mp4"
    worker = window.exporter.overlay(target)
    qtbot.waitUntil(lambda: any(p.name.startswith(".overlay") for p in target.parent.glob(".*")), timeout=20000)
    with qtbot.waitSignal(worker.finished, timeout=20000):
        worker.quit()
    assert not target.exists() and not list(target.parent.glob(".overlay*"))
    # inference of a model that decodes frames (the centre bias decodes none): 150 batches of 50 ms
    window.cancel_all(wait=True)
    window.session.inference.start("Paced", "salfom", PacedPredictor, "test", EngineSettings(batch_size=1))
    layer = window.state.layer("Paced")
    qtbot.waitUntil(lambda: bool(layer.done.any() and decoders()), timeout=20000)
    window.cancel_all(wait=True)
    assert decoders() == []                        # joined by the time the cancel returns
    qtbot.waitUntil(lambda: not window.session.inference.busy, timeout=10000)
    assert not layer.done.all()                    # stopped, not run to the end
