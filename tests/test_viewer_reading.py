"""Reading the view (issue 21): the playhead's value of each visible layer beside the curves,
the frame number box, the View modes, Help > Keyboard shortcuts, the metric tooltips, what
"Next worst" found, the strip's legend, and text colours of at least 4.5:1."""
import re

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette

from helpers import make_video
from salfom_app.contrast import contrast_ratio
from salfom_app.curves import PARTIAL_VALUE_TEXT, PLOT_BACKGROUND, VALUE_TEXT, playhead_value
from salfom_app.state import Layer
from salfom_app.window import DEMO_VIDEO
from salfom_core.evaluation.metrics import cc

N = 23          # frames of the plain test video (no gaze beside it)


def lightest(widget) -> int:
    """The brightest grey level painted where a label is, as its parent paints it (its text on
    the parent's dark ground)."""
    widget.parentWidget().layout().activate()         # rows just added have their place
    pixels = widget.parentWidget().grab(widget.geometry()).toImage()
    return max(pixels.pixelColor(x, y).lightness() for x in range(pixels.width()) for y in range(pixels.height()))


def value_label(window, name: str):
    return window.curves.values.rows[name][2]


def hand_layer(name: str, cc_values, nss_values=None, done=None) -> Layer:
    """A layer whose per-frame figures the test writes by hand (no maps behind them)."""
    layer = Layer(name, "folder", N, lambda i: None)
    layer.done[:] = True if done is None else done
    layer.metrics = {"cc": np.array(cc_values, float)}
    if nss_values is not None:
        layer.metrics["nss"] = np.array(nss_values, float)
    layer.scored[:] = ~np.isnan(layer.metrics["cc"]) | layer.done
    return layer


@pytest.fixture()
def plain(window, tmp_path):
    """The window on a video without gaze, its centre bias removed: only hand-made layers."""
    assert window.open_video(make_video(tmp_path / "v.mp4", n_frames=N))
    window.cancel_all(wait=True)
    window.state.remove_layer(window.state.layer("Centre bias"))
    return window


def test_the_playhead_value_of_each_visible_layer_is_beside_the_curves(qtbot, plain):
    w = plain
    a_cc = np.round(np.linspace(0.1, 0.9, N), 3)
    a_cc[5] = np.nan                                             # a frame without fixations: no value
    a = w.state.add_layer(hand_layer("A", a_cc, nss_values=np.arange(N) * 0.5))
    b = w.state.add_layer(hand_layer("B", np.full(N, 0.25)))
    w.seek(3)
    assert value_label(w, "A").text() == f"CC {a_cc[3]:.3f}" == "CC 0.209"
    assert value_label(w, "B").text() == "CC 0.250"
    # beside the plot, never over it; each row's swatch in its curve's colour
    assert not w.curves.plot.geometry().intersects(w.curves.values.geometry())
    assert w.curves.values.geometry().left() >= w.curves.plot.geometry().right()
    for layer in (a, b):
        swatch = w.curves.values.rows[layer.name][0].grab().toImage()
        assert swatch.pixelColor(5, 5).getRgb()[:3] == layer.colour
        assert w.curves.curves[layer.name].opts["pen"].color().getRgb()[:3] == layer.colour
    # the playhead moves (a key, as the user presses it)
    qtbot.keyClick(w, Qt.Key_Right)
    assert w.state.frame == 4 and value_label(w, "A").text() == "CC 0.245"
    qtbot.keyClick(w, Qt.Key_Right)
    assert value_label(w, "A").text() == "CC -"                  # scored, no value: final, not partial
    assert "no fixations" in value_label(w, "A").toolTip()
    # the metric changes in its box
    w.curves.metric.setCurrentIndex(w.curves.metric.findData("nss"))
    assert value_label(w, "A").text() == "NSS 2.500"
    assert value_label(w, "B").text() == "NSS -"                 # never scored for NSS
    w.curves.metric.setCurrentIndex(w.curves.metric.findData("cc"))
    # a hidden layer leaves the list and the plot; shown again, it is back
    b.set(visible=False)
    assert set(w.curves.values.rows) == {"A"} and not w.curves.curves["B"].isVisible()
    b.set(visible=True)
    assert set(w.curves.values.rows) == {"A", "B"} and w.curves.curves["B"].isVisible()
    # a final value is drawn bright, one still to come lighter (pixels of the real labels)
    assert lightest(value_label(w, "B")) >= VALUE_TEXT[0] - 15
    c = w.state.add_layer(hand_layer("C", np.full(N, np.nan), done=np.zeros(N, bool)))
    assert value_label(w, "C").text() == "CC -" and "open gaze" in value_label(w, "C").toolTip()
    assert abs(lightest(value_label(w, "C")) - PARTIAL_VALUE_TEXT[0]) <= 15
    # scores arrive: the row follows the next redraw the scorer asks for
    c.metrics = {"cc": np.full(N, 0.5)}
    c.scored[:] = True
    w.session.metrics.updated.emit()
    assert value_label(w, "C").text() == "CC 0.500"
    assert lightest(value_label(w, "C")) >= VALUE_TEXT[0] - 15


def test_a_computing_layer_says_which_frames_have_no_value_yet(qtbot, window):
    """The demo with its gaze: a layer computed at every 4th frame is scored there (the values
    the metric gives for those maps); between them it shows blends, never scored; past the
    last computed frame, nothing."""
    w = window
    assert w.open_video(DEMO_VIDEO)
    centre = w.state.layer("Centre bias")
    qtbot.waitUntil(lambda: centre.done.all(), timeout=60000)
    w.cancel_all(wait=True)
    read = centre.read
    w.state.remove_layer(centre)
    computing = Layer("computing", "salfom", 150, read, running=True)
    computing.done[0:120:4] = True
    w.state.add_layer(computing)
    computing.set(progress=(int(computing.done.sum()), 150, 10.0))
    qtbot.waitUntil(lambda: computing.scored[computing.done].all() and not w.session.metrics.busy, timeout=60000)
    qtbot.wait(300)                      # the scorer's throttled redraw
    truth = w.state.truth
    w.seek(40)
    expected = cc(read(40), truth.gt_map(40))
    assert value_label(w, "computing").text() == f"CC {expected:.3f}"
    w.seek(42)
    assert value_label(w, "computing").text() == "CC - (interpolated)"
    assert "never scored" in value_label(w, "computing").toolTip()
    w.seek(130)
    assert value_label(w, "computing").text() == "CC - (not computed)"
    w.state.set_view(interpolate=False)                        # no blends shown: none to speak of
    w.seek(42)
    assert value_label(w, "computing").text() == "CC - (not computed)"
    # a computed frame waiting for its turn to be scored
    computing.done[42] = True
    text, tip, final = playhead_value(computing, "cc", 42, True, True)
    assert (text, final) == ("CC - (scoring)", False) and "frame 43" in tip


def test_the_frame_box_shows_the_playhead_and_typing_a_number_jumps_there(qtbot, plain):
    w = plain
    box = w.timeline.frame_box
    assert box.text() == "frame 1" and box.maximum() == N and box.minimum() == 1
    w.seek(6)                                           # 0-based 6: the timeline says frame 7
    assert box.text() == "frame 7" and w.timeline.position.text().startswith(f"/ {N}")
    # the user clicks into the box, types 17 and presses Enter: frame 17, 1-based as shown
    qtbot.mouseClick(box.lineEdit(), Qt.LeftButton)
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "17")
    assert w.state.frame == 6                            # not while typing ("1" is not a jump)
    qtbot.keyClick(box.lineEdit(), Qt.Key_Return)
    assert w.state.frame == 16 and box.text() == "frame 17"
    assert w.timeline.slider.value() == 16
    # the arrow keys are the playhead's again
    qtbot.keyClick(w, Qt.Key_Right)
    assert w.state.frame == 17 and box.text() == "frame 18"
    # the box's own step buttons move the playhead too
    qtbot.keyClick(box, Qt.Key_Up)
    assert w.state.frame == 18


def checked_modes(window) -> list[str]:
    return [mode for mode, action in window.view_mode_actions.items() if action.isChecked()]


def test_view_modes_are_checkable_one_at_a_time_and_follow_the_state(qtbot, window):
    w = window
    actions = {a.text(): a for a in w.menu("View").actions()}
    single, split = actions["Single view"], actions["Side by side (compare two layers)"]
    assert single.isCheckable() and split.isCheckable() and single.actionGroup() is split.actionGroup()
    assert single.actionGroup().isExclusive()
    assert checked_modes(w) == ["single"]
    split.trigger()                                       # the menu
    assert w.state.view_mode == "split" and checked_modes(w) == ["split"]
    split.trigger()                                       # ticking it again keeps it (exclusive)
    assert w.state.view_mode == "split" and checked_modes(w) == ["split"]
    w.layer_panel.split.setChecked(False)                 # the Layers panel's box
    assert w.state.view_mode == "single" and checked_modes(w) == ["single"]
    w.set_view_mode("split")                              # code (the command line's --view)
    assert checked_modes(w) == ["split"]
    single.trigger()
    assert w.state.view_mode == "single" and checked_modes(w) == ["single"] and not w.layer_panel.split.isChecked()


def test_help_lists_every_keyboard_shortcut_the_window_has(qtbot, plain):
    w = plain
    help_entry = next(a for a in w.menu("Help").actions() if a.text() == "Keyboard shortcuts")
    help_entry.trigger()
    rows = w.shortcuts_dialog.rows()
    assert w.shortcuts_dialog.isVisible()
    assert ("Ctrl+O", "Open video or frame folder...", "File") in rows
    assert ("Right", "Next frame", "Playhead") in rows and ("Space", "Play / pause", "Playhead") in rows
    assert ("R", "Draw rectangle", "AOIs") in rows            # added by another part of the app
    assert ("F1", "Keyboard shortcuts", "Help") in rows
    # every key is described; none is listed twice
    assert all(does and does != "(undescribed)" for _keys, does, _where in rows)
    assert len({keys for keys, _does, _where in rows}) == len(rows), sorted(rows)
    w.shortcuts_dialog.close()
    # what it lists is what the keys do: End goes to the last frame, as listed
    assert ("End", "Last frame", "Playhead") in rows
    qtbot.keyClick(w, Qt.Key_End)
    assert w.state.frame == N - 1
    # an entry added later is in the list the next time it opens: it reads the registered keys
    w.add_action("View", "Something new", lambda: None, "Ctrl+J")
    help_entry.trigger()
    assert ("Ctrl+J", "Something new", "View") in w.shortcuts_dialog.rows()


BETTER = {"CC": "higher", "NSS": "higher", "SIM": "higher", "AUC-Judd": "higher", "sAUC": "higher", "KLD": "lower"}


def test_every_metric_name_says_which_direction_is_better(plain):
    w = plain
    w.state.add_layer(hand_layer("A", np.full(N, 0.5)))
    places = {}
    for name, combo in (("metric box", w.curves.metric), ("dataset metric box", w.dataset_panel.metric)):
        places[name] = {combo.itemText(i): combo.itemData(i, Qt.ToolTipRole) for i in range(combo.count())}
    for name, table, first in (("summary table", w.curves.table, 0), ("dataset foot", w.dataset_panel.foot, 1)):
        places[name] = {table.horizontalHeaderItem(c).text(): table.horizontalHeaderItem(c).toolTip()
                        for c in range(first, table.columnCount())}
    for name, tips in places.items():
        assert set(tips) == set(BETTER), name
        for label, tip in tips.items():
            assert tip.startswith(f"{label}: ") and tip.endswith(f"; {BETTER[label]} is better"), (name, tip)
    # one text per metric, the same wherever the metric is named
    assert all(tips == places["metric box"] for tips in places.values())
    assert "correlation" in places["metric box"]["CC"] and "divergence" in places["metric box"]["KLD"]


def test_next_and_previous_worst_say_the_layer_the_bound_and_the_value_found(qtbot, plain):
    w = plain
    values = np.full(N, 0.5)
    values[[4, 12, 19]] = 0.10, 0.20, 0.15
    # the worst tenth of 23 values: the 10th percentile, 0.20 + 0.2 * (0.5 - 0.20) = 0.26 (by hand)
    a = w.state.add_layer(hand_layer("A", values))
    w.state.set_active(a)
    status = w.statusBar()
    qtbot.mouseClick(w.curves.better, Qt.LeftButton)
    assert w.state.frame == 4
    assert status.currentMessage() == "Next worst CC of A after frame 1: frame 5, CC 0.100 (worst tenth: CC <= 0.260)"
    qtbot.mouseClick(w.curves.better, Qt.LeftButton)
    assert status.currentMessage() == "Next worst CC of A after frame 5: frame 13, CC 0.200 (worst tenth: CC <= 0.260)"
    qtbot.mouseClick(w.curves.worse, Qt.LeftButton)
    assert w.state.frame == 4 and status.currentMessage().startswith("Previous worst CC of A before frame 13: frame 5,")
    w.seek(19)
    qtbot.mouseClick(w.curves.better, Qt.LeftButton)
    assert w.state.frame == 19
    assert status.currentMessage() == "Next worst CC of A after frame 20: none (worst tenth: CC <= 0.260)"
    # KLD: lower is better, its worst are the highest; of a layer scored in part, it says so
    kld = np.full(N, 1.0)
    kld[[3, 10, 15]] = 3.0, 2.5, 2.0
    kld[20:] = np.nan
    b = w.state.add_layer(hand_layer("B", np.full(N, 0.5)))
    b.metrics["kld"] = kld
    b.scored[20:] = False
    w.state.set_active(b)
    w.curves.metric.setCurrentIndex(w.curves.metric.findData("kld"))
    w.seek(0)
    # 20 values: -2.5 + 0.9 * (-2.0 + 2.5) = -2.05 of the negated values: KLD >= 2.05 (by hand)
    qtbot.mouseClick(w.curves.better, Qt.LeftButton)
    assert w.state.frame == 3
    assert status.currentMessage() == ("Next worst KLD of B after frame 1: frame 4, KLD 3.000 "
                                       "(worst tenth of 20 scored frames: KLD >= 2.050)")
    qtbot.mouseClick(w.curves.better, Qt.LeftButton)
    assert w.state.frame == 10                                # 2.0 at frame 16 is not among them


def strip_pixel(strip, frame: int) -> int:
    image = strip.grab().toImage()
    return image.pixel(int((frame + 0.5) * image.width() / N), image.height() // 2) & 0xFFFFFF


def swatch_pixel(swatch) -> int:
    image = swatch.grab().toImage()
    return image.pixel(image.width() // 2, image.height() // 2) & 0xFFFFFF


def test_the_strip_has_a_legend_in_its_own_colours(qtbot, plain):
    w = plain
    done = np.zeros(N, bool)
    done[[0, 8]] = True                          # 1-7 lie between computed frames: blends; 9- nothing
    layer = w.state.add_layer(hand_layer("A", np.full(N, 0.5), done=done))
    w.state.set_active(layer)
    legend, strip = w.timeline.strip_legend, w.timeline.strip
    assert legend.isVisible() and not legend.geometry().intersects(strip.geometry())
    names = {label.text(): swatch for swatch, label in legend.entries.values()}
    assert list(names) == ["computed", "interpolated", "not computed yet"]
    assert swatch_pixel(names["computed"]) == strip_pixel(strip, 0) == strip_pixel(strip, 8)
    assert swatch_pixel(names["interpolated"]) == strip_pixel(strip, 4)
    assert swatch_pixel(names["not computed yet"]) == strip_pixel(strip, 15)
    assert len({strip_pixel(strip, f) for f in (0, 4, 15)}) == 3          # three colours, one each
    # blends off: the strip shows none and the legend names none
    w.state.set_view(interpolate=False)
    assert strip_pixel(strip, 4) == swatch_pixel(names["not computed yet"])
    assert not names["interpolated"].isVisible() and names["computed"].isVisible()
    w.state.set_view(interpolate=True)
    assert names["interpolated"].isVisible()


# ----------------------------------------------------------------- text contrast (WCAG 2, AA: 4.5:1)


def painted(widget) -> np.ndarray:
    """(h, w, 3) RGB of a widget as it paints itself."""
    image = widget.grab().toImage().convertToFormat(QImage.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def painted_contrast(widget, ground=None) -> tuple[float, tuple, tuple]:
    """(ratio, text colour, ground colour) of a label as painted: its ground is the colour most
    of it is painted in (or `ground`, the parent's, for a label on a painted parent), its text
    the pixel farthest in contrast from it (antialiasing only lowers what this measures)."""
    pixels = painted(widget).reshape(-1, 3) if ground is None else painted_in_parent(widget).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    bg = tuple(int(c) for c in colours[counts.argmax()])
    ratios = [contrast_ratio(c, bg) for c in colours]
    fg = tuple(int(c) for c in colours[int(np.argmax(ratios))])
    return max(ratios), fg, bg


def painted_in_parent(widget) -> np.ndarray:
    widget.parentWidget().layout().activate()
    image = widget.parentWidget().grab(widget.geometry()).toImage().convertToFormat(QImage.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def style_colour(css: str, prop: str) -> tuple:
    """The colour a style sheet or an HTML style attribute gives `prop` ('color', 'background')."""
    found = re.search(rf"(?<![-\w]){prop}\s*:\s*(#[0-9a-fA-F]{{3,6}})", css)
    assert found, (prop, css)
    return QColor(found.group(1)).getRgb()[:3]


def test_every_text_colour_the_app_sets_reads_at_4_5_to_1(qtbot, window, tmp_path):
    from types import SimpleNamespace

    from salfom_app.training import NewRunDialog
    from salfom_app.weights_dialog import WeightsDialog

    w = window
    assert w.open_video(DEMO_VIDEO)
    centre = w.state.layer("Centre bias")
    qtbot.waitUntil(lambda: centre.done.all(), timeout=60000)
    w.cancel_all(wait=True)
    w.state.remove_layer(centre)                     # one layer to score: a faster test
    computing = Layer("computing", "salfom", 150, centre.read, running=True)
    computing.done[0:120:4] = True
    w.state.add_layer(computing)
    computing.set(progress=(int(computing.done.sum()), 150, 10.0))
    qtbot.waitUntil(lambda: computing.scored[computing.done].all() and not w.session.metrics.busy, timeout=60000)
    w.curves.redraw()
    measured = {}
    # the summary table: a partial figure (grey, italic) on the table's ground
    table = w.curves.table
    row = next(r for r in range(table.rowCount()) if table.verticalHeaderItem(r).text().startswith("computing"))
    item = table.item(row, 0)
    assert item.font().italic()
    measured["partial summary figure"] = contrast_ratio(item.foreground().color().getRgb(),
                                                        table.palette().color(QPalette.Base).getRgb())
    # the playhead values beside the curves: the name, a final value, a value still to come
    _swatch, name, value = w.curves.values.rows["computing"]
    measured["layer name"] = painted_contrast(name, PLOT_BACKGROUND)[0]
    for frame, shown in ((40, "CC "), (42, "CC - (interpolated)")):
        w.seek(frame)
        assert value.text().startswith(shown)
        measured[f"value at frame {frame + 1} ({value.text()})"] = painted_contrast(value, PLOT_BACKGROUND)[0]
    measured["curves hint"] = painted_contrast(w.curves.hint)[0]
    for axis in ("left", "bottom"):
        measured[f"plot axis {axis}"] = contrast_ratio(w.curves.plot.getAxis(axis).textPen().color().getRgb(),
                                                      w.curves.plot.backgroundBrush().color().getRgb())
    # the strip's legend
    for name, (_swatch, label) in w.timeline.strip_legend.entries.items():
        measured[f"strip legend {name}"] = painted_contrast(label)[0]
    # warnings: a damaged video on the timeline, a refused AOI edit
    w.timeline.set_warning("only 120 of 300 frames decode")
    measured["timeline warning"] = painted_contrast(w.timeline.warning)[0]
    w.aoi.panel.show_problem("an AOI needs a name")
    w.aoi.panel.message.resize(w.aoi.panel.message.sizeHint())
    measured["AOI problem"] = painted_contrast(w.aoi.panel.message)[0]
    # the no-checkpoint banner and its link
    banner = w.layer_panel.banner
    measured["banner"] = painted_contrast(banner)[0]
    measured["banner link"] = contrast_ratio(style_colour(banner.text(), "color"),
                                             style_colour(banner.styleSheet(), "background"))
    # the dataset panel's error note (rich text: its span's colours)
    w.dataset_panel._error("cannot read /x/y: no such folder")
    note = w.dataset_panel.foot_note.text()
    measured["dataset error"] = contrast_ratio(style_colour(note, "color"), style_colour(note, "background-color"))
    # dialogs: the training dialog's refusal, the weights dialog's outcome
    dialog = NewRunDialog(w, cuda=False, gaze_sources={})
    qtbot.addWidget(dialog)
    dialog.show()
    dialog._accept()                                     # no output folder: refused, said
    assert dialog.error.isVisible() and dialog.error.text()
    measured["training refusal"] = painted_contrast(dialog.error)[0]
    weights = WeightsDialog(w)
    qtbot.addWidget(weights)
    weights.show()
    weights._failed(ValueError("not a checkpoint"))
    measured["weights not installed"] = painted_contrast(weights.result)[0]
    weights._done(SimpleNamespace(role="predict", name="salfom.pth", kind="salfom", preset="salfom_l16",
                                  parameters=4e8))
    measured["weights installed"] = painted_contrast(weights.result)[0]
    low = {name: round(ratio, 2) for name, ratio in measured.items() if ratio < 4.5}
    assert not low, f"under 4.5:1: {low}"


def test_the_contrast_ratio_is_wcags():
    """Values from the WCAG 2 definition, worked by hand: black on white 21:1, a colour on
    itself 1:1, mid grey #777777 on white 4.48:1 (the well-known just-failing grey)."""
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((90, 74, 18), (90, 74, 18)) == pytest.approx(1.0)
    assert contrast_ratio((0x77, 0x77, 0x77), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio((255, 255, 255), (0x77, 0x77, 0x77)) == contrast_ratio((0x77,) * 3, (255,) * 3)
    # a dark grey on black: the linear part of the sRGB curve, (10 / 255 / 12.92 + 0.05) / 0.05
    assert contrast_ratio((10, 10, 10), (0, 0, 0)) == pytest.approx(1.060706, abs=1e-5)
    # pure green on black: (0.7152 + 0.05) / 0.05
    assert contrast_ratio((0, 255, 0), (0, 0, 0)) == pytest.approx(15.304, abs=1e-3)
