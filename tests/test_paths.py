"""One answer to "what is this path?" for the app's Open, its drag and drop, and the CLI."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from salfom_core.cli import main as cli_main
from salfom_core.io.paths import PathKind, PathKindError, classify_path
from salfom_core.io.synthetic import write_dataset


def inputs_of_each_kind(tmp_path) -> dict:
    """One input of each kind a user opens, made here: path -> the kind it is."""
    video = tmp_path / "clip.MP4"
    video.write_bytes(b"\0")
    (tmp_path / "gaze.csv").write_text("frame,x,y\n")
    (tmp_path / "best.pt").write_bytes(b"\0")
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0001.png"), np.dstack([np.full((8, 8), v, np.uint8) for v in (10, 200, 90)]))
    maps = tmp_path / "maps_tinyhd"
    maps.mkdir()
    cv2.imwrite(str(maps / "0001.png"), np.arange(64, dtype=np.uint8).reshape(8, 8))
    rgb_maps = tmp_path / "rgb_maps"              # maps saved as three equal channels
    rgb_maps.mkdir()
    cv2.imwrite(str(rgb_maps / "0001.jpg"), np.dstack([np.full((8, 8), 77, np.uint8)] * 3))
    smi = tmp_path / "smi"
    smi.mkdir()
    (smi / "subject1.txt").write_text("## SMI\n")
    data = write_dataset(tmp_path / "DHF1K", "dhf1k", {"train": 1, "val": 1}, size=(32, 24))
    annotations = tmp_path / "ann"
    (annotations / "fixation").mkdir(parents=True)
    expected = {video: PathKind.VIDEO, tmp_path / "gaze.csv": PathKind.GAZE, tmp_path / "best.pt": PathKind.CHECKPOINT,
                frames: PathKind.FRAME_FOLDER, maps: PathKind.MAPS, rgb_maps: PathKind.MAPS, smi: PathKind.GAZE,
                data: PathKind.DATASET, data / "val" / "0002": PathKind.FRAME_FOLDER, annotations: PathKind.ANNOTATIONS}
    return expected


def test_each_kind_of_input_is_recognised(tmp_path):
    for path, kind in inputs_of_each_kind(tmp_path).items():
        assert classify_path(path) is kind, path


def test_nothing_usable_is_an_error_naming_the_path(tmp_path):
    with pytest.raises(PathKindError, match="missing.mp4: no such file"):
        classify_path(tmp_path / "missing.mp4")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PathKindError, match="empty: holds no video frames"):
        classify_path(empty)
    (tmp_path / "one.png").write_bytes(b"\0")
    with pytest.raises(PathKindError, match="one.png: a single image"):
        classify_path(tmp_path / "one.png")


def test_predict_refuses_a_gaze_file_before_loading_anything(tmp_path, capsys):
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y\n")
    code = cli_main(["predict", str(gaze), "-c", "center-bias", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "gaze.csv: a gaze, not a video" in err and not (tmp_path / "out").exists()


def test_the_app_opens_a_dropped_path_by_its_kind(qtbot, tmp_path):
    """A drop, a recent file or File > Open goes to the handler of the path's kind (what each
    handler then does is tested in test_app.py): the handlers are replaced by recorders."""
    from types import SimpleNamespace

    from qt_helpers import make_window

    session = make_window(qtbot, tmp_path / "app").session
    calls = []
    for handler in ("open_video", "open_gaze", "load_checkpoint", "add_map_folder"):
        setattr(session, handler, lambda path, *_a, _name=handler, **_k: calls.append((_name, Path(path))))
    errors = []
    session.error.connect(lambda title, text: errors.append(text))
    inputs_of_each_kind(tmp_path)

    def opened(path) -> list:
        calls.clear()
        session.open_any(path)
        return calls[:]

    # what each kind of path must open, written out: the handler and the path it is given
    assert opened(tmp_path / "clip.MP4") == [("open_video", tmp_path / "clip.MP4")]
    assert opened(tmp_path / "frames") == [("open_video", tmp_path / "frames")]
    assert opened(tmp_path / "gaze.csv") == [("open_gaze", tmp_path / "gaze.csv")]
    assert opened(tmp_path / "smi") == [("open_gaze", tmp_path / "smi")]
    assert opened(tmp_path / "ann") == [("open_gaze", tmp_path / "ann")]
    assert opened(tmp_path / "best.pt") == [("load_checkpoint", tmp_path / "best.pt")]
    assert opened(tmp_path / "maps_tinyhd") == [("open_video", tmp_path / "maps_tinyhd")]   # no video: a clip
    session.state.video = SimpleNamespace(close=lambda: None)                             # a video is open
    try:
        assert opened(tmp_path / "maps_tinyhd") == [("add_map_folder", tmp_path / "maps_tinyhd")]
    finally:
        session.state.video = None
    # a dataset root and a missing path open nothing and say why
    assert opened(tmp_path / "DHF1K") == [] and "DHF1K: a dataset" in errors[-1]
    assert opened(tmp_path / "missing.mp4") == [] and "missing.mp4: no such file" in errors[-1]
