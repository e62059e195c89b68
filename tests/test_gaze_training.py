"""salfom_core.training.from_gaze: the training data built from gaze, stopped and resumed, its val
split, and a bad sources file named in one line."""
import json

from helpers import make_video
from salfom_core import cli
from salfom_core.io.annotations import discover
from salfom_core.training.from_gaze import build_training_data, read_sources, write_sources


class Log:
    def __init__(self):
        self.events = []

    def write(self, event, **fields):
        self.events.append({"event": event, **fields})


def sources(tmp_path, n_frames=6):
    pairs = []
    for name in ("a", "b"):
        video = make_video(tmp_path / f"{name}.mp4", n_frames=n_frames, size=(64, 48))
        rows = ["frame,x,y,observer"] + [f"{k},{10 + k},{12},P1" for k in range(n_frames)]
        (tmp_path / f"{name}.csv").write_text("\n".join(rows) + "\n")
        pairs.append((str(video), str(tmp_path / f"{name}.csv")))
    return pairs


def test_stopped_build_resumes_and_links_val(tmp_path):
    pairs = sources(tmp_path)
    root, log = tmp_path / "run" / "data", Log()
    asked = []

    def stop_after_8_frames():             # make_dataset asks before each frame
        asked.append(1)
        return len(asked) > 8

    assert not build_training_data(pairs, root, log, cancel=stop_after_8_frames)
    assert len(list((root / "train" / "b" / "images").glob("*.png"))) == 2     # 6 of a, 2 of b
    assert not (root / "val").exists()                              # no val split before the data is whole
    assert build_training_data(pairs, root, log)
    done = [e for e in log.events if e["event"] == "dataset"]
    assert [(e["index"], e["done"]) for e in done][-1] == (1, 6) and done[0]["videos"] == 2
    assert log.events[-1] == {"event": "dataset_done", "videos": 2, "frames": 12, "annotated": 12, "root": str(root)}
    assert [v.name for v in discover(root, "dhf1k", "val")] == [v.name for v in discover(root, "dhf1k", "train")] \
        == ["a", "b"]
    assert build_training_data(pairs, root, Log())                   # again: nothing to do, links kept


def test_sources_round_trip_and_bad_file(tmp_path, capsys):
    pairs = [("v.mp4", "g.csv")]
    assert read_sources(write_sources(tmp_path, pairs)) == pairs
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"video": 1}))
    (tmp_path / "run.toml").write_text(f'[train]\ndata_root = "{tmp_path / "data"}"\noutput = "{tmp_path}"\n'
                                       'preset = "salfom_tiny"\n')
    assert cli.main(["train", "--config", str(tmp_path / "run.toml"), "--from-gaze", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.json" in err[0]
