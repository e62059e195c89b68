"""What the eye sees (issue 14), checked by pixels: split panes fill the view, fixation markers
leave the heatmap's peak visible, the colour bar shows the overlay as drawn."""
import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings
from test_app import grab, oracle, peak, view_pixel, wait_frame  # noqa: F401  (fixtures and helpers)

from salfom_app.window import DEMO_VIDEO, MainWindow
from salfom_core.io.gaze import GazeData


@pytest.fixture()
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(cache_dir=str(tmp_path / "cache"), settings=settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    w.close()


def test_split_panes_share_the_views_width(qtbot, window):
    from conftest import shared_path

    video = shared_path("data", "dhf1k_0002", "0002.avi")          # 640x360: 16:9
    window.open_video(video)
    window.set_view_mode("split")
    window.state.set_view(show_fixations=False)
    for layer in window.state.layers:
        layer.set(visible=False)                                    # the frame alone is painted
    wait_frame(qtbot, window, 0)
    frame = cv2.resize(window.state.video.read(0), (64, 36), interpolation=cv2.INTER_AREA).astype(int)

    def painted_frames():
        """(left, right, top, bottom) of each run of screen columns that show the frame."""
        shot = grab(window.view.graphics.viewport())[..., :3].astype(int)
        background = shot[0, 0]                                     # the view's margin
        image = np.abs(shot - background).sum(-1) > 30
        columns = np.flatnonzero(image.mean(axis=0) > 0.5)
        runs = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1) if len(columns) else []
        found = []
        for run in runs:
            rows = np.flatnonzero(image[:, run].mean(axis=1) > 0.5)
            if len(run) < 40 or not len(rows):
                continue                                            # the colour bar
            crop = shot[rows[0]:rows[-1] + 1, run[0]:run[-1] + 1].astype(np.uint8)
            small = cv2.resize(crop, (64, 36), interpolation=cv2.INTER_AREA).astype(int)
            if np.abs(small - frame).mean() < 12:                   # this run shows the video's frame
                found.append((run[0], run[-1] + 1, rows[0], rows[-1] + 1))
        return found, shot.shape[1]

    qtbot.waitUntil(lambda: len(painted_frames()[0]) == 2, timeout=10000)
    (left, right), width = painted_frames()
    for x0, x1, _y0, _y1 in (left, right):
        assert x1 - x0 >= 0.45 * width, (x0, x1, width)
    assert left[1] <= right[0]                                      # side by side, not overlapping


def test_default_fixation_marker_leaves_the_peak_visible(qtbot, window, oracle):  # noqa: F811
    window.open_video(DEMO_VIDEO)
    layer = window.add_map_folder(oracle)
    window.state.set_active(layer)
    layer.set(opacity=1.0, colormap="jet")
    truth = cv2.imread(str(oracle / "0051.png"), cv2.IMREAD_GRAYSCALE)
    x, y = peak(truth)
    # one observer fixating exactly the peak (benchmark coordinates are 1-based pixel centres)
    gaze = GazeData(np.array([50]), np.array([x + 1.0]), np.array([y + 1.0]), np.array([0]), ["S1"], 150, (480, 272))
    window.state.set_truth(gaze, window.state.truth, "one fixation")
    window.seek(50)
    wait_frame(qtbot, window, 50)
    qtbot.wait(50)
    assert window.state.marker_style == "ring" and len(window.view.panes[0].dots.data) == 1
    from salfom_core.io.overlay import colormap_lut
    expected = colormap_lut("jet")[truth[y, x]].astype(int)
    assert np.abs(view_pixel(window, x + 0.5, y + 0.5) - expected).max() <= 12   # the peak's colour, not the marker's
    # the cursor there reads the map's value and the fixation, in the status bar
    from PySide6.QtCore import QPointF
    scene = window.view.panes[0].plot.vb.mapViewToScene(QPointF(x + 0.5, y + 0.5))
    text = window.view.readout(scene)
    assert f"oracle: {truth[y, x] / 255:.2f}" in text and "fixation: S1" in text
    window.set_view_mode("split")                   # both panes' layers
    assert window.state.compare.name == "Centre bias"
    qtbot.wait(50)
    scene = window.view.panes[0].plot.vb.mapViewToScene(QPointF(x + 0.5, y + 0.5))
    assert "Centre bias: " in window.view.readout(scene) and "oracle: " in window.view.readout(scene)
    window.set_view_mode("single")
    # a filled dot hides it: the test can tell
    window.layer_panel.marker_style.setCurrentText("dot")
    qtbot.wait(50)
    assert np.abs(view_pixel(window, x + 0.5, y + 0.5) - expected).max() > 30


def test_marker_settings_come_back_in_a_new_session(qtbot, tmp_path):
    path = str(tmp_path / "markers.ini")
    first = MainWindow(cache_dir=str(tmp_path / "cache"), settings=QSettings(path, QSettings.IniFormat))
    qtbot.addWidget(first)
    first.layer_panel.marker_style.setCurrentText("cross")
    first.layer_panel.marker_size.setValue(22)
    first.layer_panel.marker_opacity.setValue(40)
    first.close()
    second = MainWindow(cache_dir=str(tmp_path / "cache"), settings=QSettings(path, QSettings.IniFormat))
    qtbot.addWidget(second)
    s = second.state
    assert (s.marker_style, s.marker_size, s.marker_opacity) == ("cross", 22, 0.4)
    assert second.layer_panel.marker_style.currentText() == "cross" and second.layer_panel.marker_size.value() == 22
    second.close()


def test_colour_bar_shows_the_transparent_ramp_and_the_cutoff(qtbot, window):
    window.open_video(DEMO_VIDEO)
    layer = window.state.active
    layer.set(colormap="jet", opacity=1.0, threshold=0.0)
    bar = window.view.colorbar
    from salfom_core.io.overlay import colormap_lut
    lut = colormap_lut("jet").astype(int)
    ramp = bar.ramp[:, 0].astype(int)               # row k: value k/255
    assert np.abs(ramp[0] - bar.BACKGROUND).max() <= 1          # value 0: fully transparent
    assert np.abs(ramp[255] - lut[255]).max() <= 1              # value 1: the colormap's colour, opaque
    assert np.abs(ramp[128] - lut[128]).max() > 40              # half-way: half blended
    layer.set(threshold=0.4)
    ramp = bar.ramp[:, 0].astype(int)
    assert np.abs(ramp[int(0.39 * 255)] - bar.BACKGROUND).max() <= 1 and bar.cutoff.isVisible()
    assert bar.cutoff.value() == pytest.approx(0.4)
    # on screen: the top of the bar is the colormap's top colour, the bottom the dark background
    from PySide6.QtCore import QPointF
    from test_app import grab
    shot = grab(window.view.graphics.viewport())
    vb = bar.plot.vb
    for value, colour in ((0.98, lut[250]), (0.02, bar.BACKGROUND)):
        p = window.view.graphics.mapFromScene(vb.mapViewToScene(QPointF(0.5, value)))
        assert np.abs(shot[p.y(), p.x(), :3].astype(int) - colour).max() <= 12, value


def test_observer_legend_hides_one_observer(qtbot, window):
    from PySide6.QtCore import Qt

    window.open_video(DEMO_VIDEO)
    legend = window.layer_panel.observers
    assert legend.count() == 8 and legend.item(0).text() == "S1"
    frame = next(i for i in range(150) if 0 in window.state.gaze.for_frame(i)[2])
    window.seek(frame)
    wait_frame(qtbot, window, frame)
    observers = window.state.gaze.for_frame(frame)[2]
    total = len(np.unique(observers))                   # one marker per observer and frame
    s1 = int(0 in observers)
    assert len(window.view.panes[0].dots.data) == total
    legend.item(0).setCheckState(Qt.Unchecked)
    assert window.state.hidden_observers == frozenset({0})
    assert len(window.view.panes[0].dots.data) == total - s1 and s1 > 0
    legend.item(0).setCheckState(Qt.Checked)
    assert len(window.view.panes[0].dots.data) == total
