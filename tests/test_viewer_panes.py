"""Reading the view (issue 21): each pane says the playhead's value of the selected metric for
its layer, the ground-truth map is drawn above the prediction with its own opacity and label,
and each pane has its own colour bar naming its layer and what 1.0 means."""
import re

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from test_app import grab, view_pixel, wait_frame

from salfom_app.state import Layer
from salfom_app.video_view import PARTIAL_COLOUR
from salfom_app.window import DEMO_VIDEO, MainWindow
from salfom_core.io.ground_truth import density_map
from salfom_core.io.overlay import colormap_lut

N, W, H = 150, 480, 272          # the demo clip


def off_target_maps(truth) -> dict[int, np.ndarray]:
    """A model that looks 30 px right of where the observers look: a map that correlates with
    the truth, but not perfectly (its CC is neither 0 nor 1)."""
    maps = {}
    for i in range(N):
        fix = truth.fixations(i)
        shifted = np.zeros((H, W), np.uint8)
        ys, xs = np.nonzero(fix) if fix is not None else ((), ())
        shifted[np.asarray(ys, int), np.minimum(np.asarray(xs, int) + 30, W - 1)] = 1
        maps[i] = np.round(density_map(shifted, sigma=20) * 255).astype(np.uint8) if shifted.any() else \
            np.zeros((H, W), np.uint8)
    return maps


def hand_cc(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.corrcoef(pred.astype(np.float64).ravel(), gt.astype(np.float64).ravel())[0, 1])


def hand_nss(pred: np.ndarray, fixations: np.ndarray) -> float:
    p = pred.astype(np.float64) / 255
    p = (p - p.mean()) / p.std(ddof=1)          # MATLAB's std
    return float(p[fixations > 0].mean())


def label(window, pane: int = 0) -> str:
    return window.view.panes[pane].label.toPlainText()


def open_demo_with(window, done=None, keep_centre=False, at=0):
    """The demo at frame `at` with its gaze and a layer of `off_target_maps` whose computed
    frames are `done` (default all); the centre bias is removed (nothing else to score) unless
    `keep_centre`. Frames are scored outward from the playhead: `at` first."""
    assert window.open_video(DEMO_VIDEO) and window.state.truth is not None
    window.seek(at)
    window.state.set_view(show_fixations=False)
    if not keep_centre:
        window.cancel_all(wait=True)
        window.state.remove_layer(window.state.layer("Centre bias"))
    maps = off_target_maps(window.state.truth)
    layer = Layer("shifted", "folder", N, lambda i: maps[i], source="in memory")
    layer.done[np.arange(N) if done is None else done] = True
    before = window.state.active
    window.state.add_layer(layer)
    window.state.set_active(layer, compare=before)
    return layer, maps


# ----------------------------------------------------------------- 1. the playhead's value in each pane


def test_pane_label_gives_the_playheads_value_and_follows_playhead_metric_and_scores(qtbot, window):
    computed = np.arange(0, N, 4)                                   # every 4th frame, as coarse to fine leaves it
    layer, maps = open_demo_with(window, done=computed, at=40)     # 40: a computed frame
    truth = window.state.truth
    qtbot.waitUntil(lambda: layer.scored[40], timeout=60000)
    qtbot.waitUntil(lambda: "CC 0" in label(window), timeout=5000)
    expected = hand_cc(maps[40], truth.gt_map(40))
    assert 0.05 < expected < 0.95                                   # a value that says something
    assert label(window) == f"shifted \N{EM DASH} CC {expected:.3f} at frame 41"
    # the playhead moves (the key a user presses): four frames on, the next computed frame
    for _ in range(4):
        QTest.keyClick(window, Qt.Key_Right)
    wait_frame(qtbot, window, 44)
    qtbot.waitUntil(lambda: "at frame 45" in label(window), timeout=5000)
    assert label(window) == f"shifted \N{EM DASH} CC {hand_cc(maps[44], truth.gt_map(44)):.3f} at frame 45"
    # the metric changes in the curves' box: the label follows
    box = window.curves.metric
    box.setCurrentIndex(box.findData("nss"))
    nss = hand_nss(maps[44], truth.fixations(44))
    assert label(window) == f"shifted \N{EM DASH} NSS {nss:.3f} at frame 45"
    # a frame between computed ones shows a blend: never scored, said so, lighter
    QTest.keyClick(window, Qt.Key_Right)
    qtbot.waitUntil(lambda: "at frame 46" in label(window), timeout=5000)
    assert label(window) == "shifted (interpolated) \N{EM DASH} NSS - at frame 46 (interpolated)"
    assert PARTIAL_COLOUR[1:] in window.view.panes[0].label.textItem.toHtml()
    # its exact map arrives, then its score: the same label fills in, in the normal style
    layer.done[45] = True
    layer.set(progress=(int(layer.done.sum()), N, 1.0))
    qtbot.waitUntil(lambda: re.search(r"NSS -?\d", label(window)) is not None, timeout=60000)
    assert label(window) == f"shifted \N{EM DASH} NSS {hand_nss(maps[45], truth.fixations(45)):.3f} at frame 46"
    assert PARTIAL_COLOUR[1:] not in window.view.panes[0].label.textItem.toHtml()


def test_each_split_pane_gives_its_own_layers_value(qtbot, window):
    layer, maps = open_demo_with(window, keep_centre=True, at=30)
    centre = window.state.layer("Centre bias")
    window.set_view_mode("split")
    qtbot.waitUntil(lambda: layer.scored[30] and centre.scored[30], timeout=120000)
    qtbot.waitUntil(lambda: "CC 0" in label(window, 0) and "CC 0" in label(window, 1), timeout=5000)
    assert [p.layer for p in window.view.panes] == [layer, centre]
    gt = window.state.truth.gt_map(30)
    assert label(window, 0) == f"shifted \N{EM DASH} CC {hand_cc(maps[30], gt):.3f} at frame 31"
    assert label(window, 1) == f"Centre bias \N{EM DASH} CC {hand_cc(centre.read(30), gt):.3f} at frame 31"
    assert hand_cc(maps[30], gt) != pytest.approx(hand_cc(centre.read(30), gt), abs=0.01)


def test_pane_label_without_gaze_names_only_the_layer(qtbot, window, tmp_path):
    import shutil

    video = tmp_path / "alone.mp4"
    shutil.copy(DEMO_VIDEO, video)                                  # no demo_gaze.csv beside it
    assert window.open_video(video) and window.state.truth is None
    wait_frame(qtbot, window, 0)
    qtbot.waitUntil(lambda: window.state.active.done[0], timeout=30000)
    window.seek(1)
    window.seek(0)
    qtbot.waitUntil(lambda: label(window) == "Centre bias", timeout=10000)


# ----------------------------------------------------------------- 2. the ground truth above the prediction


def demo_observers() -> int:
    """Observers in the demo's gaze file, counted from the file itself."""
    import csv

    with open(DEMO_VIDEO.with_name("demo_gaze.csv")) as fh:
        return len({row["observer"] for row in csv.DictReader(fh)})


def test_ground_truth_is_drawn_above_the_prediction_with_its_own_opacity_and_label(qtbot, window):
    assert window.open_video(DEMO_VIDEO)
    window.state.set_view(show_fixations=False)
    window.state.layer("Centre bias").set(visible=False)
    truth = window.state.truth
    frame = 30
    gt = truth.gt_map(frame)
    y, x = np.unravel_index(int(np.argmax(gt)), gt.shape)          # the fixation peak
    # the prediction: the truth itself, opaque, in jet (its peak dark red, unlike viridis' yellow)
    prediction = np.round(gt * 255).astype(np.uint8)
    layer = Layer("model", "folder", N, lambda i: prediction, source="in memory", colormap="jet", opacity=1.0)
    layer.done[:] = True
    window.state.add_layer(layer)
    window.state.set_active(layer)
    window.seek(frame)
    panel = window.layer_panel
    panel.ground_truth.setChecked(True)
    qtbot.waitUntil(lambda: window.view.bundle is not None and window.view.bundle.index == frame
                    and window.view.bundle.gt_map is not None and window.view.bundle.maps.get("model") is not None,
                    timeout=10000)
    qtbot.wait(50)
    gt_top, jet_top = colormap_lut("viridis")[255].astype(int), colormap_lut("jet")[255].astype(int)
    assert np.abs(gt_top - jet_top).max() > 100
    panel.gt_opacity.setValue(100)                                  # the panel's own slider
    assert window.state.gt_opacity == 1.0
    qtbot.wait(50)
    assert np.abs(view_pixel(window, x + 0.5, y + 0.5) - gt_top).max() <= 12, "the GT is not on top"
    panel.gt_opacity.setValue(0)
    qtbot.wait(50)
    assert np.abs(view_pixel(window, x + 0.5, y + 0.5) - jet_top).max() <= 12, "the prediction is not seen"
    panel.gt_opacity.setValue(50)                                   # half: between the two
    qtbot.wait(50)
    half = view_pixel(window, x + 0.5, y + 0.5)
    assert np.abs(half - (gt_top + jet_top) / 2).max() <= 16
    # the label on the image says what the map is
    text = window.view.panes[0].gt_label
    assert text.isVisible()
    assert text.toPlainText() == f"Ground truth: fixation density ({demo_observers()} observers)"
    panel.ground_truth.setChecked(False)
    qtbot.waitUntil(lambda: window.view.bundle.gt_map is None, timeout=5000)
    assert not text.isVisible()


def test_ground_truth_opacity_comes_back_in_a_new_session(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    first = MainWindow(cache_dir=str(tmp_path / "cache"), settings=settings)
    qtbot.addWidget(first)
    assert first.state.gt_opacity == 0.7                            # the default
    first.layer_panel.gt_opacity.setValue(35)
    first.close()
    second = MainWindow(cache_dir=str(tmp_path / "cache"), settings=settings)
    qtbot.addWidget(second)
    assert second.state.gt_opacity == pytest.approx(0.35)
    assert second.layer_panel.gt_opacity.value() == 35
    second.close()


def test_real_clip_ground_truth_label_counts_its_observers(qtbot, window):
    from conftest import shared_path

    folder = shared_path("data", "dhf1k_0002")
    observers = len(list((folder / "gaze").glob("P*_Trail002.txt")))
    assert window.open_video(folder / "0002.avi", gaze=str(folder / "gaze"))
    window.state.set_view(show_ground_truth=True)
    window.seek(391)
    wait_frame(qtbot, window, 391)
    qtbot.waitUntil(lambda: window.view.bundle.gt_map is not None, timeout=10000)
    assert window.view.panes[0].gt_label.toPlainText() == f"Ground truth: fixation density ({observers} observers)"


# ----------------------------------------------------------------- 3. one colour bar per pane


def bar_titles(window) -> list[str]:
    """Each bar's title as drawn on its axis."""
    return [bar.plot.getAxis("right").labelText for bar in window.view.colorbars]


def test_each_split_pane_has_its_colour_bar_naming_its_layer_and_what_one_means(qtbot, window, tmp_path):
    assert window.open_video(DEMO_VIDEO)
    folder = tmp_path / "tinymodel"
    folder.mkdir()
    blob = np.zeros((H, W), np.uint8)
    cv2.circle(blob, (100, 100), 30, 200, -1)
    for k in range(N):
        cv2.imwrite(str(folder / f"{k + 1:04d}.png"), blob)
    maps = window.add_map_folder(folder)
    centre = window.state.layer("Centre bias")
    assert (window.state.active, window.state.compare) == (maps, centre)     # the new layer shown, the old beside
    assert len(window.view.colorbars) == 1
    assert bar_titles(window) == ["tinymodel: 1.0 = 255 in its images"]
    window.layer_panel.split.setChecked(True)
    assert len(window.view.colorbars) == 2
    assert bar_titles(window) == ["tinymodel: 1.0 = 255 in its images",
                                  "Centre bias: 1.0 = the frame's most salient point"]
    wait_frame(qtbot, window, 0)
    qtbot.wait(50)
    # each bar stands at the right of its own pane: [pane | bar | pane | bar]
    left, right = (p.plot.sceneBoundingRect() for p in window.view.panes)
    bar0, bar1 = (b.plot.sceneBoundingRect() for b in window.view.colorbars)
    assert left.right() <= bar0.left() + 1 and bar0.right() <= right.left() + 1 and right.right() <= bar1.left() + 1
    # each bar draws its own layer's colours: the second pane's layer turns viridis, only its bar follows
    centre.set(colormap="viridis", opacity=1.0)
    shot = grab(window.view.graphics.viewport())
    from PySide6.QtCore import QPointF

    def bar_top(k):
        vb = window.view.colorbars[k].plot.vb
        p = window.view.graphics.mapFromScene(vb.mapViewToScene(QPointF(0.5, 0.99)))
        return shot[p.y(), p.x(), :3].astype(int)
    assert np.abs(bar_top(1) - colormap_lut("viridis")[252]).max() <= 12
    assert np.abs(bar_top(0) - colormap_lut("viridis")[252]).max() > 100        # still the first layer's jet
    assert bar_top(0)[0] > 2 * bar_top(0)[1]                                      # dark red, half transparent
    # the right pane shows another layer (the panel's "Compare with"): its bar follows
    combo = window.layer_panel.compare
    combo.setCurrentIndex(window.state.layers.index(maps))
    assert [p.layer for p in window.view.panes] == [centre, maps]
    assert bar_titles(window) == ["Centre bias: 1.0 = the frame's most salient point",
                                  "tinymodel: 1.0 = 255 in its images"]
    # a rename in the layer list (edited in place): the bar takes the new name
    row = window.state.layers.index(maps)
    window.layer_panel.list.item(row).setText("Blob model")
    assert maps.name == "Blob model"
    assert bar_titles(window)[1] == "Blob model: 1.0 = 255 in its images"
    window.layer_panel.split.setChecked(False)
    assert len(window.view.colorbars) == 1 and bar_titles(window) == [
        "Centre bias: 1.0 = the frame's most salient point"]
