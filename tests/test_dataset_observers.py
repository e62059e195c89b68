"""The dataset panel's observers column: counted from each video's gaze (never by decoding the
video), blank where the annotations cannot say, sortable."""
import shutil

import pytest
from PySide6.QtCore import QSettings, Qt

from helpers import make_video
from salfom_app.dataset_panel import FIRST_MODEL_COLUMN
from salfom_app.window import MainWindow
from salfom_core.training.make_dataset import DatasetSettings, make_dataset

OBSERVERS_COLUMN = 2


def write_gaze(path, observers, n_frames=8, size=(64, 48), column=True):
    """One sample per observer and frame, inside the picture; returns the path."""
    rows = ["frame,x,y" + (",observer" if column else "")]
    for k in range(n_frames):
        for i, name in enumerate(observers):
            x, y = 10 + 5 * i + k, 12 + 3 * i
            rows.append(f"{k},{x},{y}" + (f",{name}" if column else ""))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture()
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(cache_dir=str(tmp_path / "cache"), settings=settings)
    w.checkpoint = None
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def column(panel, col):
    table = panel.table
    return {table.item(r, 0).text(): table.item(r, col).value for r in range(table.rowCount())}


def test_observers_of_videos_with_gaze_beside(qtbot, window, tmp_path):
    folder = tmp_path / "lab"
    folder.mkdir()
    truth = {"a": ["P1", "P2", "P3"], "b": ["anna"], "c": ["P1", "P2"]}
    for name, observers in truth.items():
        make_video(folder / f"{name}.mp4", n_frames=8)
        write_gaze(folder / f"{name}_gaze.csv", observers, column=name != "c")   # c: no observer column
    panel = window.dataset_panel
    assert panel.open_dataset(folder)
    qtbot.waitUntil(lambda: not panel.busy(), timeout=20000)
    assert column(panel, OBSERVERS_COLUMN) == {"a": 3.0, "b": 1.0, "c": None}     # c: unknown, not 1
    assert panel.table.horizontalHeaderItem(OBSERVERS_COLUMN).text() == "observers"
    assert panel.table.horizontalHeaderItem(FIRST_MODEL_COLUMN).text() == "center-bias"
    panel.table.sortItems(OBSERVERS_COLUMN, Qt.AscendingOrder)
    assert [panel.table.item(r, 0).text() for r in range(3)] == ["b", "a", "c"]        # unknown last
    panel.table.sortItems(OBSERVERS_COLUMN, Qt.DescendingOrder)
    assert [panel.table.item(r, 0).text() for r in range(3)] == ["c", "a", "b"]        # the reverse
    assert all(v is not None for v in column(panel, FIRST_MODEL_COLUMN).values())   # scores still in place


def test_observers_of_annotated_folders(qtbot, window, tmp_path):
    """make-dataset keeps the converted gaze (gaze.csv): its observers are counted; plain
    annotations (fixation maps merge observers) are unknown."""
    sources = tmp_path / "src"
    sources.mkdir()
    videos = [make_video(sources / f"{n}.mp4", n_frames=8) for n in ("v1", "v2")]
    gazes = [write_gaze(sources / "g1.csv", ["P1", "P2", "P3", "P4"]), write_gaze(sources / "g2.csv", ["x", "y"])]
    root = tmp_path / "data"
    make_dataset(videos, gazes, root, DatasetSettings("val"))
    shutil.copytree(root / "val" / "v2", root / "val" / "plain")
    (root / "val" / "plain" / "gaze.csv").unlink()
    panel = window.dataset_panel
    assert panel.open_dataset(root)
    qtbot.waitUntil(lambda: not panel.busy(), timeout=20000)
    assert column(panel, OBSERVERS_COLUMN) == {"v1": 4.0, "v2": 2.0, "plain": None}
    assert not panel.errors
