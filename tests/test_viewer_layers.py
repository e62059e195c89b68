"""Layers keep their identity (issue 21, point 3), through the real widgets: two map folders
of the same name, renaming (double-click, the menu), the new layer shown, the banner, and
one colour per layer in the app and in the exported plot."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from qt_helpers import make_window
from salfom_app.state import LAYER_PENS
from salfom_app.window import DEMO_VIDEO

N_MAPS = 40                       # maps for the demo's first 40 frames (of 150)
DEMO_SIZE = (480, 272)


@pytest.fixture()
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    yield w
    w.close()


def hot_maps(folder: Path, x: int) -> Path:
    """A maps folder, hot in a 60x60 square centred at column x and cold elsewhere."""
    folder.mkdir(parents=True)
    image = np.zeros(DEMO_SIZE[::-1], np.uint8)
    image[106:166, x - 30:x + 30] = 255
    for k in range(N_MAPS):
        cv2.imwrite(str(folder / f"{k + 1:04d}.png"), image)
    return folder


@pytest.fixture()
def two_maps(tmp_path) -> tuple[Path, Path]:
    """`mA/maps` hot on the left, `mB/maps` hot on the right: same folder name, other maps."""
    return hot_maps(tmp_path / "mA" / "maps", 80), hot_maps(tmp_path / "mB" / "maps", 400)


def rgba(widget) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format_RGBA8888)
    rows = np.array(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4)


def pixels_of(image: np.ndarray, rgb, tolerance: int = 6) -> int:
    """How many pixels are within `tolerance` of the colour `rgb` in every channel."""
    return int((np.abs(image[..., :3].astype(int) - np.array(rgb)) <= tolerance).all(axis=-1).sum())


def view_rgb(w, x: float, y: float) -> np.ndarray:
    """RGB painted at image coordinates (x, y) of the single pane."""
    from PySide6.QtCore import QPointF

    graphics = w.view.graphics
    point = graphics.mapFromScene(w.view.panes[0].plot.vb.mapViewToScene(QPointF(x, y)))
    return rgba(graphics.viewport())[point.y(), point.x(), :3].astype(int)


def redness(rgb) -> int:
    return int(rgb[0]) - int(rgb[2])


def open_demo(qtbot, w) -> None:
    assert w.open_video(DEMO_VIDEO)
    qtbot.waitUntil(lambda: not w.busy(), timeout=60000)


def panel_names(w) -> list[str]:
    return [w.layer_panel.list.item(r).text() for r in range(w.layer_panel.list.count())]


def test_two_map_folders_of_the_same_name_are_two_layers_and_the_new_one_is_shown(qtbot, window, two_maps):
    w, (a, b) = window, two_maps
    open_demo(qtbot, w)
    assert "showing the centre-bias baseline" in w.layer_panel.banner.text()
    first = w.add_map_folder(a)
    second = w.add_map_folder(b)
    assert (first.name, second.name) == ("maps", "mB/maps")
    assert [l.name for l in w.state.layers] == ["Centre bias", "maps", "mB/maps"]
    assert panel_names(w) == ["Centre bias", "maps", "mB/maps"]
    assert w.layer_panel.list.currentRow() == 2                    # the panel selects the new layer
    assert (w.state.active, w.state.compare) == (second, first)     # new one shown, the previous beside it
    assert "showing the layer 'mB/maps'" in w.layer_panel.banner.text()
    assert w.add_map_folder(b) is not None and len(w.state.layers) == 3     # the same folder again: replaced
    # the view paints mB's maps (hot on the right), not mA's (hot on the left)
    w.state.set_view(show_fixations=False)
    w.seek(5)
    qtbot.waitUntil(lambda: w.view.bundle is not None and w.view.bundle.index == 5
                    and w.view.bundle.maps.get("mB/maps") is not None, timeout=20000)
    qtbot.wait(50)
    # jet: 1.0 red, 0.0 blue, so red minus blue tells a hot square from a cold one
    assert redness(view_rgb(w, 400, 136)) - redness(view_rgb(w, 80, 136)) > 60
    w.layer_panel.list.setCurrentRow(1)                  # the panel's row: mA's maps, hot on the left
    assert w.state.active is first
    qtbot.waitUntil(lambda: w.view.bundle is not None and w.view.bundle.maps.get("maps") is not None, timeout=20000)
    qtbot.wait(50)
    assert redness(view_rgb(w, 80, 136)) - redness(view_rgb(w, 400, 136)) > 60


def double_click_rename(qtbot, w, row: int, name: str) -> None:
    """Double-click the layer's row, type the name, press Enter (the user's way)."""
    lst = w.layer_panel.list
    rect = lst.visualItemRect(lst.item(row))
    QTest.mouseClick(lst.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    QTest.mouseDClick(lst.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    qtbot.waitUntil(lambda: lst.findChild(QLineEdit) is not None and lst.findChild(QLineEdit).isVisible(),
                    timeout=5000)
    editor = lst.findChild(QLineEdit)
    editor.selectAll()
    QTest.keyClicks(editor, name)
    QTest.keyClick(editor, Qt.Key_Return)
    qtbot.wait(20)


def test_a_renamed_layer_has_its_new_name_in_list_table_curves_banner_and_exports(qtbot, window, two_maps,
                                                                                    tmp_path):
    w, (a, _b) = window, two_maps
    open_demo(qtbot, w)
    layer = w.add_map_folder(a)
    qtbot.waitUntil(lambda: not w.busy() and layer.scored[:N_MAPS].all(), timeout=60000)
    double_click_rename(qtbot, w, 1, "TinyHD")
    assert layer.name == "TinyHD" and w.state.layer("TinyHD") is layer and w.state.layer("maps") is None
    assert panel_names(w) == ["Centre bias", "TinyHD"]
    assert set(w.curves.curves) == {"Centre bias", "TinyHD"}
    assert w.curves.table.verticalHeaderItem(1).text().startswith("TinyHD (")
    assert "TinyHD" in w.curves.legend.text() and "maps" not in w.curves.legend.text()
    assert "showing the layer 'TinyHD'" in w.layer_panel.banner.text()
    rows = [line.split(",")[0] for line in w.exporter.metrics_table().splitlines()[1:]]
    assert rows.count("TinyHD") == N_MAPS and "maps" not in rows      # every scored frame, the new name
    # its curve is the same data under the new name
    x, y = w.curves.curves["TinyHD"].getData()
    assert np.array_equal(y[:N_MAPS], layer.metrics[w.state.curve_metric][:N_MAPS])
    # another layer's name is refused, said, and the list shows the name kept
    double_click_rename(qtbot, w, 1, "Centre bias")
    qtbot.waitUntil(lambda: panel_names(w) == ["Centre bias", "TinyHD"], timeout=2000)
    assert layer.name == "TinyHD" and any("already named 'Centre bias'" in e for e in w.errors)
    # the menu entry asks for the name (a dialog) and renames the selected layer
    from PySide6.QtWidgets import QInputDialog
    original = QInputDialog.getText
    QInputDialog.getText = staticmethod(lambda *args, **kw: ("Oracle", True))
    try:
        action = next(a for a in w.menu("View").actions() if a.text() == "Rename layer...")
        action.trigger()
    finally:
        QInputDialog.getText = original
    assert layer.name == "Oracle" and panel_names(w) == ["Centre bias", "Oracle"]


def test_curve_colours_are_the_layers_own_in_the_app_and_in_the_exported_plot(qtbot, window, two_maps,
                                                                               tmp_path):
    w, (a, b) = window, two_maps
    open_demo(qtbot, w)
    centre, first, second = w.state.layers[0], w.add_map_folder(a), w.add_map_folder(b)
    qtbot.waitUntil(lambda: not w.busy() and second.scored[:N_MAPS].all() and first.scored[:N_MAPS].all(),
                    timeout=60000)
    colours = [centre.colour, first.colour, second.colour]
    assert colours == LAYER_PENS[:3]                       # three layers, three distinct pens
    w.state.remove_layer(first)
    assert second.colour == LAYER_PENS[2]                  # the others keep theirs when one goes
    w.curves.redraw()
    qtbot.wait(50)
    plot = rgba(w.curves.plot)
    assert pixels_of(plot, second.colour) > 30 and pixels_of(plot, centre.colour) > 30
    assert pixels_of(plot, LAYER_PENS[1]) == 0             # the removed layer's colour is drawn nowhere
    path = tmp_path / "plot.png"
    w.exporter.plot(path)
    qtbot.waitUntil(path.exists, timeout=20000)
    exported = cv2.imread(str(path))[..., ::-1]
    assert pixels_of(exported, second.colour, 2) > 30 and pixels_of(exported, centre.colour, 2) > 30
    assert pixels_of(exported, LAYER_PENS[1], 2) == 0


def test_a_layer_renamed_while_computing_can_still_be_cancelled(qtbot, window):
    w = window
    open_demo(qtbot, w)
    layer = w.state.active

    class Job:                                # stands for the layer's inference worker
        stopped = False

        def quit(self):
            self.stopped = True

    job = Job()
    w.session.inference.workers[layer.name] = job
    layer.set(running=True)
    try:
        double_click_rename(qtbot, w, 0, "Baseline")
        assert layer.name == "Baseline" and w.session.inference.workers == {"Baseline": job}
        assert w.layer_panel.cancel.isEnabled()
        w.layer_panel.cancel.click()              # the panel's Cancel reaches the job under its new name
        assert job.stopped
    finally:
        w.session.inference.workers.clear()      # the window's close waits for real workers only
        layer.set(running=False)
