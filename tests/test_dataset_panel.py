"""The app's dataset panel on a dataset made of the real clips: background scores, sorting, the
protocol foot equal to `salfom evaluate`, double-click opening the worst frame, exports, cache."""
import json
import os

import numpy as np
import pytest
from conftest import real_annotated_clips
from PySide6.QtCore import Qt

from qt_helpers import make_window
from salfom_app.dataset_panel import FIRST_MODEL_COLUMN
from salfom_core import cli


@pytest.fixture()
def dataset(tmp_path):
    """DHF1K layout of the two real annotated clips (links), and a predictions root of their GT maps."""
    clips = real_annotated_clips()
    root, pred = tmp_path / "data", tmp_path / "gt_maps"
    (root / "val").mkdir(parents=True)
    pred.mkdir()
    for name, folder in clips.items():
        os.symlink(folder, root / "val" / name)
        os.symlink(folder / "maps", pred / name)
    return root, pred


@pytest.mark.slow
def test_dataset_panel(qtbot, tmp_path, dataset):
    root, pred = dataset
    w = make_window(qtbot, tmp_path)
    w.checkpoint = None                 # only the centre bias and the predictions root (no installed weights)
    panel = w.dataset_panel
    assert panel.add_predictions_root(pred)
    assert panel.open_dataset(root)
    assert panel.dock.isVisible()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=240000)
    assert panel.scoring.complete() and not panel.errors

    # the foot is what `salfom evaluate` prints for the same models
    out = tmp_path / "cli"
    assert cli.main(["evaluate", "--pred", "center-bias", "--pred", str(pred), "--data", str(root),
                     "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "metrics_summary.json").read_text())["models"]
    foot = panel.protocol_scores()
    assert set(foot) == set(summary) == {"center-bias", "gt_maps"}
    for model, overall in summary.items():
        for metric, value in overall["overall"].items():
            assert foot[model][metric] == pytest.approx(value, abs=1e-12), (model, metric)
    foot_cc = panel.foot.item(0, 1 + 0).text()                 # row centre bias, column CC (the window's order)
    assert foot_cc == f"{summary['center-bias']['overall']['cc']:.3f}"      # and its decimals

    # sorting by the centre bias's CC column: ascending values
    table = panel.table
    table.sortItems(FIRST_MODEL_COLUMN, Qt.AscendingOrder)
    values = [table.item(r, FIRST_MODEL_COLUMN).value for r in range(table.rowCount())]
    assert values == sorted(values) and len(values) == 2
    table.sortItems(FIRST_MODEL_COLUMN, Qt.DescendingOrder)
    assert [table.item(r, FIRST_MODEL_COLUMN).value for r in range(table.rowCount())] == sorted(values, reverse=True)

    # double-click on the centre-bias cell of the UCF clip: the video opens at its worst CC frame
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "Diving-Side-001")
    worst = panel.scoring.results[("Diving-Side-001", "center-bias")].worst_frame("cc")
    frame_cc = [v["cc"] for v in panel.scoring.results[("Diving-Side-001", "center-bias")].values]
    assert worst == int(np.nanargmin(frame_cc))
    rect = table.visualItemRect(table.item(row, FIRST_MODEL_COLUMN))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=rect.center())     # a real double-click: press first
    qtbot.mouseDClick(table.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.state.video_path is not None and w.state.frame == worst, timeout=20000)
    assert w.state.video_path.name == "Diving-Side-001" and not w.errors

    # exports
    panel.export_csv(tmp_path / "table.csv")
    lines = (tmp_path / "table.csv").read_text().splitlines()
    assert lines[0].startswith("model,video,frames,skipped,auc_judd") and len(lines) == 5
    panel.export_plot(tmp_path / "cmp.svg")
    assert (tmp_path / "cmp.svg").read_text().lstrip().startswith("<?xml")
    w.close()

    # reopening the dataset is instant: every score comes from the cache, none is computed
    w2 = make_window(qtbot, tmp_path)
    w2.checkpoint = None
    w2.dataset_panel.add_predictions_root(pred)
    w2.dataset_panel.open_dataset(root)
    qtbot.waitUntil(lambda: not w2.dataset_panel.busy(), timeout=5000)
    assert w2.dataset_panel.scoring.complete() and w2.dataset_panel.worker.computed == 0
    assert w2.dataset_panel.protocol_scores() == foot
    assert w2.dataset_panel.foot.item(0, 1 + 0).text() == foot_cc
    w2.close()


def test_bad_dataset_is_a_message(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    assert not w.dataset_panel.open_dataset(tmp_path / "nowhere")
    assert "nowhere" in w.dataset_panel.errors[-1]
    assert not w.dataset_panel.add_predictions_root(tmp_path / "none")
    w.close()
