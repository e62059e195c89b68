"""Train > New run on the open video's own gaze: the run builds a DHF1K-layout dataset into its
folder (in the child process), then trains on it; the dataset's gaze is offered too."""
import json

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog

from helpers import make_video
from salfom_app.training import FOLDER_SOURCE, NewRunDialog
from salfom_app.window import MainWindow
from salfom_core.io.annotations import discover

SIZE = (64, 48)


def write_gaze(path, n_frames, observers=("P1", "P2")):
    """Samples at integer pixels (1-based, as the DHF1K rule reads them), none in the last frame;
    returns {frame: set of (row, col)} 0-based fixated pixels."""
    rows, truth = ["frame,x,y,observer"], {}
    for k in range(n_frames - 1):
        for i, name in enumerate(observers):
            x, y = 8 + 20 * i + k, 10 + 15 * i
            rows.append(f"{k},{x},{y},{name}")
            truth.setdefault(k, set()).add((y - 1, x - 1))
    path.write_text("\n".join(rows) + "\n")
    return truth


@pytest.fixture()
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(cache_dir=str(tmp_path / "cache"), settings=settings)
    w.checkpoint = None                       # the centre bias only (no installed weights)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


@pytest.mark.slow
def test_new_run_from_the_videos_gaze_builds_the_dataset_and_trains(qtbot, window, tmp_path):
    n = 12
    (tmp_path / "lab").mkdir()
    video = make_video(tmp_path / "lab" / "clip.mp4", n_frames=n, size=SIZE)
    fixated = write_gaze(tmp_path / "lab" / "clip_gaze.csv", n)
    assert window.open_video(video) and window.session.gaze_path.endswith("clip_gaze.csv")

    dialog = NewRunDialog(window, gaze_sources=window.training_gaze_sources())
    labels = [dialog.source.itemText(i) for i in range(dialog.source.count())]
    assert labels == [FOLDER_SOURCE, "this video's gaze"]
    dialog.source.setCurrentText("this video's gaze")
    assert not dialog.data_row.isEnabled()
    run_folder = tmp_path / "run"
    dialog.output.setText(str(run_folder))
    dialog.preset.setCurrentText("salfom_tiny")
    dialog.epochs.setValue(1)
    dialog.device.setCurrentText("cpu")
    dialog._accept()                          # Start: no dataset folder needed
    assert dialog.result() == QDialog.Accepted, dialog.error.text()
    cfg = dialog.config(max_steps_per_epoch=2, max_val_clips=1, val_stride=8, num_workers=0)
    assert cfg.data_root == str(run_folder / "data") and cfg.layout == "dhf1k"

    run = window.start_training(cfg, dialog.gaze_pairs())
    with qtbot.waitSignal(run.finished, timeout=240000) as finished:
        pass
    assert finished.args[0] == 0, run.console.toPlainText()

    # the DHF1K layout in the run folder: every frame, and fixation maps holding exactly the gaze
    folder = run_folder / "data" / "train" / "clip"
    assert len(list((folder / "images").glob("*.png"))) == n
    for k in range(n):
        fix = cv2.imread(str(folder / "fixation" / f"{k + 1:04d}.png"), cv2.IMREAD_GRAYSCALE)
        if k not in fixated:
            assert fix is None and not (folder / "maps" / f"{k + 1:04d}.png").exists()
            continue
        assert {tuple(p) for p in np.argwhere(fix > 127)} == fixated[k], k
        gt = cv2.imread(str(folder / "maps" / f"{k + 1:04d}.png"), cv2.IMREAD_GRAYSCALE)
        assert gt.max() == 255 and all(gt[r, c] > 200 for r, c in fixated[k])
    train, val = discover(run_folder / "data", "dhf1k", "train"), discover(run_folder / "data", "dhf1k", "val")
    assert [v.name for v in train] == [v.name for v in val] == ["clip"]       # val: the same video

    # the run trained on it: data progress, then steps, followed live in the run's window
    events = [json.loads(line) for line in (run_folder / "log.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds.index("dataset") < kinds.index("dataset_done") < kinds.index("step")
    assert [e["done"] for e in events if e["event"] == "dataset"] == list(range(1, n + 1))
    assert len(run.losses) == 1 and np.isfinite(run.losses).all()          # one video: one clip an epoch
    assert (run_folder / "best.pt").exists() and run.load_button.isEnabled()
    run.close()


def test_new_run_offers_the_open_datasets_gaze(qtbot, window, tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    for name in ("a", "b"):
        make_video(lab / f"{name}.mp4", n_frames=6, size=SIZE)
        write_gaze(lab / f"{name}_gaze.csv", 6)
    make_video(lab / "no_gaze.mp4", n_frames=6, size=SIZE)
    assert window.dataset_panel.open_dataset(lab)
    sources = window.training_gaze_sources()
    assert sources == {"this dataset's gaze": [(str(lab / "a.mp4"), str(lab / "a_gaze.csv")),
                                               (str(lab / "b.mp4"), str(lab / "b_gaze.csv"))]}
    dialog = NewRunDialog(window, gaze_sources=sources)
    dialog.source.setCurrentText("this dataset's gaze")
    dialog.output.setText(str(tmp_path / "run"))
    assert dialog.gaze_pairs() == sources["this dataset's gaze"]
    assert dialog.config().data_root == str(tmp_path / "run" / "data")
    dialog.source.setCurrentText(FOLDER_SOURCE)              # back to a folder: the folder is checked again
    dialog.data_root.setText(str(tmp_path / "nowhere"))
    dialog._accept()
    assert dialog.result() != QDialog.Accepted and "nowhere" in dialog.error.text()
    window.dataset_panel.cancel(wait=True)


def test_run_stopped_while_building_data_says_so_and_can_resume(qtbot, tmp_path):
    from salfom_app.training import TrainingRun
    from salfom_core.training.config import TrainConfig

    cfg = TrainConfig(data_root=str(tmp_path / "run" / "data"), output=str(tmp_path / "run"), preset="salfom_tiny")
    run = TrainingRun(cfg, gaze_pairs=[("v.mp4", "g.csv")])
    qtbot.addWidget(run)
    run.out.mkdir()
    run.config_path.write_text("")
    run._event({"event": "dataset", "video": "v", "index": 0, "videos": 1, "done": 3, "total": 10})
    assert run.data_bar.value() == 3 and run.data_bar.maximum() == 10 and "video 1 of 1" in run.status.text()
    run._event({"event": "dataset_stopped"})
    run._finished(0, None)
    assert "Resume continues" in run.status.text() and run.resume_button.isEnabled()   # no last.pt needed
