"""Interpolated display in the viewer: a blend is painted (and labelled) before a frame's own
map, the exact map replaces it without the rest of the view changing, the View switch turns
blends off, the strip shades blended frames lighter, the summary says how many are exact."""
import threading

import numpy as np
from PySide6.QtGui import QImage

from salfom_app.interpolated import (
    EXACT,
    EXACT_ARGB,
    INTERPOLATED_ARGB,
    MISSING_ARGB,
    DisplayReader,
    covered,
    exact_note,
    read_layers,
    stale,
    strip_colours,
)
from salfom_app.window import DEMO_VIDEO
from salfom_core.inference.engine import EngineSettings


def test_display_reader_strip_and_staleness_by_hand():
    maps = {0: np.full((2, 2), 0, np.uint8), 4: np.full((2, 2), 200, np.uint8)}
    exact = np.zeros(6, bool)
    exact[[0, 4]] = True
    reader = DisplayReader(maps.get, exact)
    saliency, shown = reader(1)
    assert shown == (0, 4) and saliency[0, 0] == 50
    assert reader(4)[1] == EXACT and reader(5) == (None, None)
    assert DisplayReader(maps.get, exact, interpolate=False)(1) == (None, None)
    got_maps, got_shown = read_layers({"a": reader, "plain": maps.get}, 0)
    assert got_shown == {"a": EXACT, "plain": EXACT} and got_maps["a"][0, 0] == 0
    assert covered(exact).tolist() == [False, True, True, True, False, False]
    assert strip_colours(exact).tolist() == [EXACT_ARGB] + [INTERPOLATED_ARGB] * 3 + [EXACT_ARGB, MISSING_ARGB]
    assert strip_colours(exact, interpolate=False).tolist().count(INTERPOLATED_ARGB) == 0
    assert exact_note(exact) == "2 of 6 frames exact"
    # a painted blend of 0..4 goes stale when frame 2 (nearer) or frame 1 itself is computed
    assert not stale((0, 4), exact, 1)
    exact[2] = True
    assert stale((0, 4), exact, 1) and not stale(EXACT, exact, 1)
    assert stale(None, exact, 1) and not stale(None, exact, 1, interpolate=False)


class GatedPredictor:
    """The first batch runs at once; later ones wait for `gate`. Each map is the window's last
    frame in grey, so maps differ from frame to frame as the demo's objects move."""

    window, input_size = 16, 32      # the real window: the first level decodes as one run
    key = "gated-test"

    def __init__(self, gate: threading.Event):
        self.gate, self.calls = gate, 0

    def predict(self, clips):
        self.calls += 1
        if self.calls > 1:
            self.gate.wait(30)
        return clips[:, :, -1].mean(dim=1).numpy()


def grab(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format_RGBA8888)
    return np.array(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[:, :image.width() * 4]


def strip_pixel(strip, frame: int, n: int) -> int:
    image = strip.grab().toImage()
    x = int((frame + 0.5) * image.width() / n)
    return image.pixel(x, image.height() // 2) | 0xFF000000


def test_blend_is_painted_first_then_replaced_by_the_exact_map(qtbot, window):
    assert window.open_video(DEMO_VIDEO)
    window.cancel_all(wait=True)
    window.state.remove_layer(window.state.layer("Centre bias"))     # a layer of our own instead
    gate = threading.Event()
    predictor = GatedPredictor(gate)
    painted = []
    show = window.view.show_bundle

    def spy(bundle):
        show(bundle)
        pane = window.view.panes[0]
        painted.append((bundle.index, bundle.shown.get("Gated"), pane.heat.isVisible(), pane.label.toPlainText()))

    window.view.show_bundle = spy           # the view paints through its own show_bundle
    n = window.state.n_frames
    try:
        # batch 64: the first level (every 16th frame and the last: 11 frames) in one batch
        window.session.inference.start("Gated", "salfom", lambda: predictor, "test", EngineSettings(batch_size=64))
        layer = window.state.layer("Gated")
        qtbot.waitUntil(lambda: layer.done.sum() == 11, timeout=30000)
        assert np.flatnonzero(layer.done).tolist() == list(range(0, n, 16)) + [n - 1]
        window.seek(8)
        qtbot.waitUntil(lambda: painted and painted[-1][0] == 8 and painted[-1][1] == (0, 16), timeout=10000)
        pane = window.view.panes[0]
        assert "interpolated" in pane.label.toPlainText() and pane.heat.isVisible()
        # frame 8 is halfway between 0 and 16: each pixel the mean of theirs, to the nearest level
        first, last = layer.read(0).astype(float), layer.read(16).astype(float)
        assert np.abs(pane.heat.image - (first + last) / 2).max() <= 0.5 and np.abs(first - last).max() >= 10
        assert strip_pixel(window.timeline.strip, 8, n) == INTERPOLATED_ARGB
        # the summary (metrics of exact frames only, refreshed as they are scored) says how many
        qtbot.waitUntil(lambda: "11 of 150 frames scored" in window.curves.table.verticalHeaderItem(0).text(),
                        timeout=10000)
        frame_before = pane.frame.image.copy()
        heat_before = pane.heat.image.copy()
        shot_before = grab(window.view.graphics)

        # View > Interpolate off: no map for frame 8 yet, the strip shows it as missing
        window.interpolate_action.trigger()
        qtbot.waitUntil(lambda: painted[-1][0] == 8 and painted[-1][1] is None, timeout=10000)
        assert not pane.heat.isVisible() and "computing" in pane.label.toPlainText()
        assert strip_pixel(window.timeline.strip, 8, n) == MISSING_ARGB
        window.interpolate_action.trigger()
        qtbot.waitUntil(lambda: painted[-1][1] == (0, 16), timeout=10000)
        since = len(painted)

        # the exact map arrives: it replaces the blend; the frame and the heatmap stay up throughout
        gate.set()
        qtbot.waitUntil(lambda: painted[-1][0] == 8 and painted[-1][1] == EXACT, timeout=30000)
        assert all(visible for _, _, visible, _ in painted[since:])
        np.testing.assert_array_equal(pane.heat.image, layer.read(8))
        assert not np.array_equal(pane.heat.image, heat_before)           # the map changed
        changed = np.any(grab(window.view.graphics) != shot_before, axis=-1)
        assert changed.mean() > 0.01                                       # and so did the pixels on screen
        np.testing.assert_array_equal(pane.frame.image, frame_before)     # the video frame did not
        assert "interpolated" not in pane.label.toPlainText()
        assert strip_pixel(window.timeline.strip, 8, n) == EXACT_ARGB
    finally:
        gate.set()


def test_a_blend_read_before_the_last_map_arrived_is_read_again(qtbot, tmp_path):
    """The race that left `--screenshot` waiting for ever (2 runs in 6): the loader read frame 75
    as a blend, the layer's last progress signal came before that bundle was shown, and nothing
    asked for the frame again. A bundle that is stale when it arrives is read again at once."""
    from dataclasses import replace

    from qt_helpers import make_window
    from salfom_app.interpolated import EXACT
    from salfom_app.window import DEMO_VIDEO

    window = make_window(qtbot, tmp_path)
    assert window.open_video(DEMO_VIDEO)
    layer = window.state.layer("Centre bias")
    window.seek(75)
    qtbot.waitUntil(lambda: not layer.running and window.view.bundle is not None
                    and window.view.bundle.index == 75 and window.view.bundle.shown.get(layer.name) == EXACT,
                    timeout=30000)
    for late in ((72, 76), None):              # a blend, or no map: as the loader read them earlier
        # the real loader may have read this same stale reading while the layer computed, and it
        # is re-read only once per reading: start from none re-read (a race of the set-up, seen 1 in 12 runs)
        window.view._last_recheck = None
        before = window.view.requested
        old = window.view.bundle
        window.view._ready(replace(old, shown={**old.shown, layer.name: late}))
        assert window.view.requested == before + 1
        qtbot.waitUntil(lambda: window.view.bundle.shown.get(layer.name) == EXACT, timeout=10000)
