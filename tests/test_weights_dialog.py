"""The app and the installed weights: Help > Get the SalFoM weights..., the banner's link, and a
start that uses the installed checkpoint (offscreen, pytest-qt)."""
import threading

import pytest
import torch

from checkpoint_files import not_checkpoints, tiny_umt_state
from qt_helpers import make_window
from salfom_app import weights_dialog
from salfom_app.window import DEMO_VIDEO
from salfom_core import create_model, save_checkpoint
from salfom_core.models import weights


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SALFOM_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def tiny_checkpoint(path):
    save_checkpoint(path, create_model("salfom_tiny"), meta={"epoch": 1})
    return path


def menu_texts(window, title="Help"):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == title)
    return [a.text() for a in menu.actions()]


def test_without_weights_the_banner_links_to_the_dialog(qtbot, tmp_path, data_dir):
    w = make_window(qtbot, tmp_path)
    try:
        assert w.checkpoint is None
        banner = w.layer_panel.banner
        assert banner.isVisible() and weights_dialog.MENU_TEXT in banner.text()
        assert weights_dialog.MENU_TEXT in menu_texts(w)
        banner.linkActivated.emit(weights_dialog.LINK)
        assert w.weights_dialog.isVisible()
        assert "github.com/mr17m/SalFoM---Video-Saliency-Prediction" in weights_dialog._SOURCES_HTML
        assert "l16_ptk710_ftk710_ftk400_f16_res224.pth" in weights_dialog._SOURCES_HTML
    finally:
        w.close()


def test_installing_in_the_dialog_checks_in_a_worker_and_loads_the_model(qtbot, tmp_path, data_dir, monkeypatch):
    w = make_window(qtbot, tmp_path)
    try:
        dialog = weights_dialog.show_weights_dialog(w)
        # a file that is not a checkpoint: the result says so, nothing is installed
        dialog.install(not_checkpoints(tmp_path / "bad")["png"])
        qtbot.waitUntil(lambda: not dialog.busy(), timeout=10000)
        assert dialog.result.text().startswith("Not installed:") and "a PNG image" in dialog.result.text()
        assert weights.installed() == [] and w.checkpoint is None

        # the install runs off the GUI thread: the GUI returns while it is still copying
        release = threading.Event()
        real_install = weights_dialog.install

        def slow_install(path, progress=None):
            assert release.wait(10)
            return real_install(path, progress=progress)

        monkeypatch.setattr(weights_dialog, "install", slow_install)
        good = tiny_checkpoint(tmp_path / "mine.pt")
        dialog.install(good)
        assert dialog.busy() and not dialog.pick.isEnabled()
        qtbot.wait(50)                            # the GUI thread runs while the worker waits
        release.set()
        qtbot.waitUntil(lambda: not dialog.busy(), timeout=10000)
        assert dialog.result.text().startswith("Installed mine.pt"), dialog.result.text()
        installed_path = str(data_dir / "weights" / "studio" / "mine.pt")
        assert w.checkpoint == installed_path and not w.layer_panel.banner.isVisible()
    finally:
        w.close()


def test_the_next_start_opens_the_demo_with_the_installed_checkpoint_computing(qtbot, tmp_path, data_dir):
    entry = weights.install(tiny_checkpoint(tmp_path / "best.pt"))
    w = make_window(qtbot, tmp_path)
    try:
        assert w.checkpoint == entry.path and not w.layer_panel.banner.isVisible()
        assert w.open_video(DEMO_VIDEO)
        qtbot.waitUntil(lambda: any(layer.kind == "salfom" for layer in w.state.layers), timeout=10000)
        layer = next(layer for layer in w.state.layers if layer.kind == "salfom")
        assert "best" in layer.name
        qtbot.waitUntil(lambda: layer.done.any(), timeout=60000)     # it computes: the first maps arrive
        w.cancel_all(wait=True)
    finally:
        w.close()


def test_a_umt_file_prefills_new_training_runs_and_is_not_a_prediction_checkpoint(qtbot, tmp_path, data_dir):
    from salfom_app.training import NewRunDialog

    umt = tmp_path / "l16_ptk710_ftk710_ftk400_f16_res224.pth"
    torch.save(tiny_umt_state(create_model("salfom_tiny")), umt)
    w = make_window(qtbot, tmp_path)
    try:
        dialog = weights_dialog.show_weights_dialog(w)
        dialog.install(umt)
        qtbot.waitUntil(lambda: not dialog.busy(), timeout=10000)
        assert "Train > New run" in dialog.result.text()
        assert w.checkpoint is None and w.layer_panel.banner.isVisible()
        run = NewRunDialog(w)
        assert run.umt.text() == str(data_dir / "weights" / "umt" / umt.name)
        run.close()
    finally:
        w.close()
