"""Layer names that last (issue 21): a name the user gives a layer comes back with its colour and
style the next time the same source (maps folder, checkpoint, the centre bias) is added, in
another window lifetime with the settings read from disk, and never on another folder; the AOI
table, curves and exports follow a rename at once, without recomputing, a running AOI job's
results included; names the layers cannot take are refused and said. Through the real widgets."""
import csv
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit
from test_aoi_app import make_clip, open_clip, summary_of, write_inputs
from test_viewer_layers import double_click_rename, hot_maps, open_demo, panel_names, pixels_of

from qt_helpers import make_window
from salfom_app.state import LAYER_PENS
from salfom_app.window import MainWindow


def window_with_settings(qtbot, tmp_path: Path, settings_file: Path) -> MainWindow:
    """A shown main window reading `settings_file` (its own QSettings object: nothing shared in memory)."""
    w = MainWindow(cache_dir=str(tmp_path / "cache"), settings=QSettings(str(settings_file), QSettings.IniFormat))
    w.resize(1280, 860)
    qtbot.addWidget(w)
    w.show()
    return w


def next_session(qtbot, tmp_path: Path, w: MainWindow, name: str) -> MainWindow:
    """Close `w` and start another window on a copy of its settings file as it is on disk now
    (what a new process would read)."""
    w.close()
    copy = tmp_path / f"{name}.ini"
    shutil.copyfile(tmp_path / "settings.ini", copy)
    return window_with_settings(qtbot, tmp_path, copy)


@pytest.fixture()
def folders(tmp_path) -> tuple[Path, Path]:
    """`mA/maps` (hot on the left) and `mB/maps` (hot on the right): two folders of the same name."""
    return hot_maps(tmp_path / "mA" / "maps", 80), hot_maps(tmp_path / "mB" / "maps", 400)


def test_a_renamed_map_folder_is_named_coloured_and_styled_so_again_in_the_next_session(qtbot, tmp_path, folders):
    a, b = folders
    w = make_window(qtbot, tmp_path)
    open_demo(qtbot, w)
    w.add_map_folder(b)                       # mB first: mA takes the third pen
    layer = w.add_map_folder(a)
    assert (layer.name, layer.colour) == ("mA/maps", LAYER_PENS[2])
    panel = w.layer_panel
    assert panel.list.currentRow() == 2       # the new layer is the selected one: its style is edited
    panel.opacity.setValue(35)
    panel.colormap.setCurrentText("viridis")
    double_click_rename(qtbot, w, 2, "TinyHD")
    assert layer.name == "TinyHD" and (layer.opacity, layer.colormap) == (0.35, "viridis")

    w = next_session(qtbot, tmp_path, w, "second")
    open_demo(qtbot, w)
    # the same folder, reached by another path: TinyHD again, its pen (the first free one is
    # LAYER_PENS[1]: the colour is the saved one), its style, in the panel and the curves
    again = w.add_map_folder(tmp_path / "mB" / ".." / "mA" / "maps")
    assert again.name == "TinyHD" and again.colour == LAYER_PENS[2]
    assert (again.opacity, again.colormap) == (0.35, "viridis")
    assert panel_names(w) == ["Centre bias", "TinyHD"]
    assert (w.layer_panel.opacity.value(), w.layer_panel.colormap.currentText()) == (35, "viridis")
    assert "TinyHD" in w.curves.legend.text()
    # the other folder of the same name keeps its own name and never takes TinyHD's colour
    other = w.add_map_folder(b)
    assert other.name == "maps" and other.colour not in (again.colour, w.state.layers[0].colour)
    # the same folder added again in this session replaces its layer and keeps the name
    assert w.add_map_folder(a).name == "TinyHD" and sorted(panel_names(w)) == ["Centre bias", "TinyHD", "maps"]
    w.close()


def test_a_saved_name_another_layer_holds_now_is_not_taken_from_it(qtbot, tmp_path, folders):
    a, b = folders
    w = make_window(qtbot, tmp_path)
    open_demo(qtbot, w)
    w.add_map_folder(a)
    double_click_rename(qtbot, w, 1, "Model")
    w.state.remove_layer(w.state.layer("Model"))
    w.add_map_folder(b)                       # alone now: "maps"; renamed "Model" too (a name free now)
    double_click_rename(qtbot, w, 1, "Model")
    assert panel_names(w) == ["Centre bias", "Model"]

    w = next_session(qtbot, tmp_path, w, "second")
    open_demo(qtbot, w)
    first, second = w.add_map_folder(a), w.add_map_folder(b)
    # both folders were named "Model": both layers stay, the second one numbered
    assert (first.name, second.name) == ("Model", "Model (2)") and len(w.state.layers) == 3
    assert first.source == str(a) and second.source == str(b)
    w.close()


def test_the_centre_bias_renamed_is_named_so_when_the_next_video_opens(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    open_demo(qtbot, w)
    double_click_rename(qtbot, w, 0, "Baseline")
    w = next_session(qtbot, tmp_path, w, "second")
    open_demo(qtbot, w)
    assert panel_names(w) == ["Baseline"] and w.state.active.kind == "center-bias"
    w.close()


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory) -> tuple[Path, Path]:
    """Two checkpoint files of the same name in two folders (a tiny SalFoM: it computes in seconds)."""
    import torch

    from salfom_core import create_model, save_checkpoint
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("ckpt")
    paths = root / "one" / "tiny.pt", root / "two" / "tiny.pt"
    for path in paths:
        path.parent.mkdir()
        save_checkpoint(path, create_model("salfom_tiny"))
    return paths


def test_a_salfom_layer_renamed_while_it_computes_is_named_so_for_its_checkpoint_next_time(qtbot, tmp_path,
                                                                                          tiny_checkpoints):
    from helpers import make_video

    ours, theirs = tiny_checkpoints
    clip = make_video(tmp_path / "clip.mp4", n_frames=24)

    def open_short_clip(w):
        assert w.open_video(clip)
        qtbot.waitUntil(lambda: not w.busy(), timeout=120000)

    w = make_window(qtbot, tmp_path)
    open_short_clip(w)
    w.session.run_salfom(ours)
    layer = w.state.active
    assert layer.name == "SalFoM (tiny)" and layer.running
    double_click_rename(qtbot, w, 1, "SalFoM DHF1K")
    assert layer.name == "SalFoM DHF1K"
    assert list(w.session.inference.workers) == (["SalFoM DHF1K"] if layer.running else [])
    qtbot.waitUntil(lambda: not w.busy(), timeout=120000)
    assert layer.done.all() and not layer.error and w.state.layers == [w.state.layers[0], layer]
    # the next session runs the remembered checkpoint on its own (its maps cached): named as the
    # user named it; another file of the same name gets the default name
    w = next_session(qtbot, tmp_path, w, "second")
    open_short_clip(w)
    assert panel_names(w) == ["Centre bias", "SalFoM DHF1K"] and w.state.layer("SalFoM DHF1K").done.all()
    w.session.run_salfom(theirs)
    assert panel_names(w) == ["Centre bias", "SalFoM DHF1K", "SalFoM (tiny)"]
    assert w.state.layer("SalFoM (tiny)").source == str(theirs)
    w.session.inference.cancel(w.state.layer("SalFoM (tiny)"))
    qtbot.waitUntil(lambda: not w.busy(), timeout=120000)
    w.close()


# ----------------------------------------------------------------------------- AOI figures follow a rename


def aoi_window(qtbot, tmp_path):
    """The AOI tests' clip with its gaze and the `uniform` and `inside` map folders as layers (the
    centre bias hidden), and the AOI "box" whose `inside` share is 1 and `uniform` share 1/48."""
    w = make_window(qtbot, tmp_path)
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    _gaze, uniform, inside = write_inputs(tmp_path)
    open_clip(qtbot, w, clip)
    w.add_map_folder(uniform)
    w.add_map_folder(inside)
    w.layer_panel.list.item(0).setCheckState(Qt.Unchecked)      # the centre bias hidden, in the panel
    assert not w.state.layer("Centre bias").visible
    return w


def shares(w) -> dict[str, float]:
    return {source: float(row["share"]) for (_aoi, source), row in summary_of(w).items()}


def test_aoi_table_curves_and_exports_follow_a_layer_rename_without_recomputing(qtbot, tmp_path):
    w = aoi_window(qtbot, tmp_path)
    jobs = w.aoi.jobs
    w.aoi.editor.add("rect", 0, [(61, 51), (100, 90)], name="box")
    qtbot.waitUntil(lambda: not jobs.busy and set(shares(w)) == {"gaze", "uniform", "inside"}, timeout=30000)
    before = shares(w)
    assert before["uniform"] == pytest.approx(1 / 48, abs=5e-4)
    computed = jobs.computed
    double_click_rename(qtbot, w, 1, "Flat")             # the layer panel's row of `uniform`
    qtbot.wait(100)
    assert not jobs.busy and jobs.computed == computed   # nothing computed again
    assert shares(w) == {"gaze": before["gaze"], "Flat": before["uniform"], "inside": before["inside"]}
    curves = w.aoi.curves
    qtbot.waitUntil(lambda: set(curves.curves) == {"gaze", "Flat", "inside"}, timeout=5000)
    assert "Flat" in curves.legend.text() and "uniform" not in curves.legend.text()
    assert np.nanmean(curves.curves["Flat"].getData()[1]) == pytest.approx(1 / 48, abs=5e-4)
    worker = w.aoi.export_csvs(tmp_path / "out")
    with qtbot.waitSignal(worker.finished, timeout=10000):
        pass
    for table in ("aoi_summary.csv", "aoi_frames.csv"):
        with open(tmp_path / "out" / table, encoding="utf-8") as fh:
            sources = {row["source"] for row in csv.DictReader(fh)}
        assert sources == {"gaze", "Flat", "inside"}, table
    # the plot: Flat's curve (share 1/48 on every frame, near the axis) in the layer's own colour
    # (matplotlib's own would be drawn for a name it is not given a colour for)
    plot = tmp_path / "aois.png"
    worker = w.aoi.export_plot(plot)
    with qtbot.waitSignal(worker.finished, timeout=20000):
        pass
    assert pixels_of(cv2.imread(str(plot))[..., ::-1], w.state.layer("Flat").colour, 30) > 500
    w.close()


def test_an_aoi_job_running_through_a_rename_lands_under_the_new_name(qtbot, tmp_path, monkeypatch):
    import salfom_app.aoi_jobs as aoi_jobs

    w = aoi_window(qtbot, tmp_path)
    qtbot.waitUntil(lambda: not w.busy(), timeout=30000)
    release, calls = threading.Event(), []
    real = aoi_jobs.compute_figures

    def held(inputs, aois, **kwargs):            # the worker waits until the rename is done
        calls.append([m.name for m in inputs.models])
        release.wait(20)
        return real(inputs, aois, **kwargs)

    monkeypatch.setattr(aoi_jobs, "compute_figures", held)
    jobs = w.aoi.jobs
    w.aoi.editor.add("rect", 0, [(61, 51), (100, 90)], name="box")
    qtbot.waitUntil(lambda: bool(calls), timeout=5000)        # the worker is computing
    double_click_rename(qtbot, w, 2, "Oracle")
    release.set()
    qtbot.waitUntil(lambda: not jobs.busy, timeout=30000)
    assert calls == [["uniform", "inside"]]               # computed once, under the names it started with
    assert shares(w) == pytest.approx({"gaze": shares(w)["gaze"], "uniform": 1 / 48, "Oracle": 1.0}, abs=5e-4)
    w.close()


# ----------------------------------------------------------------------------- renaming as a user would


def test_double_clicking_a_layer_that_is_not_the_selected_one_renames_it(qtbot, tmp_path, folders):
    """The first click selects the row (the view shows that layer); the double-click's editor
    must survive it (the list was rebuilt under the click, and the editor never opened)."""
    a, b = folders
    w = make_window(qtbot, tmp_path)
    open_demo(qtbot, w)
    first = w.add_map_folder(a)
    w.add_map_folder(b)
    assert w.layer_panel.list.currentRow() == 2
    double_click_rename(qtbot, w, 1, "Left")
    assert first.name == "Left" and w.state.active is first and panel_names(w) == ["Centre bias", "Left", "mB/maps"]
    w.close()


def test_names_the_layers_cannot_take_are_refused_and_said(qtbot, tmp_path):
    """Empty (spaces only), "gaze" (the AOI figures' name for the gaze: a layer of that name took
    its rows, its curve and its fixation figures), longer than the table and legend can show.
    The list shows the name kept, the error says why; a unicode name is taken, and kept."""
    w = make_window(qtbot, tmp_path)
    open_demo(qtbot, w)
    layer = w.state.active
    for name, why in (("   ", "a layer needs a name"), ("gaze", "'gaze' names the gaze"),
                      ("x" * 61, "at most 60 characters")):
        double_click_rename(qtbot, w, 0, name)
        qtbot.waitUntil(lambda: panel_names(w) == ["Centre bias"], timeout=2000)
        assert layer.name == "Centre bias" and why in w.errors[-1], name
    lst = w.layer_panel.list                            # the user's double-click; QTest types ASCII only:
    QTest.mouseClick(lst.viewport(), Qt.LeftButton, Qt.NoModifier, lst.visualItemRect(lst.item(0)).center())
    QTest.mouseDClick(lst.viewport(), Qt.LeftButton, Qt.NoModifier, lst.visualItemRect(lst.item(0)).center())

    def editor():
        return next((e for e in lst.findChildren(QLineEdit) if e.isVisible()), None)

    qtbot.waitUntil(lambda: editor() is not None, timeout=5000)
    editor = editor()                                   # the accented text comes as an input method gives it
    editor.selectAll()
    editor.insert("Modèle ✓ ")
    QTest.keyClicks(editor, "y" * 51)                   # 60 characters: taken
    QTest.keyClick(editor, Qt.Key_Return)
    qtbot.wait(20)
    assert layer.name == "Modèle ✓ " + "y" * 51 and len(layer.name) == 60, w.errors[-1:]
    w = next_session(qtbot, tmp_path, w, "second")
    open_demo(qtbot, w)
    assert panel_names(w) == ["Modèle ✓ " + "y" * 51]
    w.close()


def test_the_oldest_saved_layers_go_first_when_the_settings_are_full(qtbot, tmp_path):
    """A thousand sources are remembered; a new name pushes out the least recently changed one
    (the settings keep their keys sorted: the record's time says which, never its place)."""
    from salfom_app.session import SAVED_LAYERS, SAVED_LAYERS_KEPT

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    old = {f"folder:/data/m{k:04d}": {"name": f"model {k}", "saved_at": 1000.0 + k} for k in range(SAVED_LAYERS_KEPT)}
    old["folder:/data/m0000"]["saved_at"] = 5000.0        # sorted first by path, changed last
    settings.setValue(SAVED_LAYERS, old)
    settings.sync()
    w = make_window(qtbot, tmp_path)
    open_demo(qtbot, w)
    double_click_rename(qtbot, w, 0, "Baseline")
    saved = w.settings.value(SAVED_LAYERS)
    assert len(saved) == SAVED_LAYERS_KEPT and saved["center-bias"]["name"] == "Baseline"
    assert "folder:/data/m0001" not in saved                # the oldest went
    assert saved["folder:/data/m0000"]["name"] == "model 0" and "folder:/data/m0002" in saved
    w.close()
