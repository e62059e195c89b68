"""Per-frame metrics cached with the predictions (issue 21, point 2): a reopen shows the curves
and scores at once, scoring nothing; other gaze or other maps are scored afresh."""
import csv

import numpy as np
import pytest

import salfom_app.workers as workers
from qt_helpers import make_window
from salfom_app.window import DEMO_VIDEO
from test_viewer_numbers import KEYS, maps  # noqa: F401  (the maps fixture)

DEMO_GAZE = DEMO_VIDEO.with_name("demo_gaze.csv")


@pytest.fixture()
def scored_frames(monkeypatch) -> list:
    """Every (read, frame) the metrics worker scores, whichever window asks."""
    seen = []
    score = workers.score_frames

    def counting(truth, read, frames, *args, **kwargs):
        frames = list(frames)
        seen.extend((read, f) for f in frames)
        return score(truth, read, frames, *args, **kwargs)
    monkeypatch.setattr(workers, "score_frames", counting)
    return seen


def open_demo(qtbot, tmp_path, maps, gaze=None):
    w = make_window(qtbot, tmp_path)          # the same tmp_path: the same caches
    assert w.open_video(DEMO_VIDEO)
    if gaze is not None:
        assert w.open_gaze(gaze)
    w.add_map_folder(maps)
    return w


def metrics_of(w) -> dict:
    return {l.name: {m: l.metrics[m].copy() for m in KEYS} for l in w.state.layers}


@pytest.mark.slow     # about 20 s: the first open scores the demo's two layers
def test_reopen_shows_cached_curves_and_scores_without_scoring(qtbot, tmp_path, maps, scored_frames):
    first = open_demo(qtbot, tmp_path, maps)
    qtbot.waitUntil(lambda: not first.busy(), timeout=120000)
    expected = metrics_of(first)
    assert len(scored_frames) == 2 * 150
    first.close()
    scored_frames.clear()
    again = open_demo(qtbot, tmp_path, maps)
    # at once: the centre bias from its cache entry, the folder as it is added
    qtbot.waitUntil(lambda: len(again.state.layers) == 2 and all(l.scores_final for l in again.state.layers),
                    timeout=3000)
    qtbot.waitUntil(lambda: not again.busy(), timeout=30000)
    assert scored_frames == []
    for name, values in metrics_of(again).items():
        for metric in KEYS:
            np.testing.assert_array_equal(values[metric], expected[name][metric], err_msg=f"{name} {metric}")
    again.curves.redraw()
    x, y = again.curves.curves[maps.name].getData()
    np.testing.assert_array_equal(y, expected[maps.name][again.state.curve_metric])
    again.close()

    # other gaze (observer 0's samples left out): the cached numbers are not theirs
    scored_frames.clear()
    with open(DEMO_GAZE) as fh:
        rows = list(csv.reader(fh))
    fewer = tmp_path / "fewer_gaze.csv"
    observer = rows[0].index("observer") if "observer" in rows[0] else None
    assert observer is not None, rows[0]
    first_observer = rows[1][observer]
    with open(fewer, "w", newline="") as fh:
        csv.writer(fh).writerows([rows[0]] + [r for r in rows[1:] if r[observer] != first_observer])
    other = open_demo(qtbot, tmp_path, maps, gaze=fewer)
    qtbot.waitUntil(lambda: not other.busy(), timeout=120000)
    assert len(scored_frames) == 2 * 150
    assert not np.array_equal(other.state.layer(maps.name).metrics["cc"], expected[maps.name]["cc"])
    other.close()


def test_changed_map_files_are_scored_again(qtbot, tmp_path, maps, scored_frames):
    import shutil

    folder = tmp_path / "near"
    shutil.copytree(maps, folder)
    first = open_demo(qtbot, tmp_path, folder)
    first.session.inference.cancel_all(wait=True)
    first.state.remove_layer(first.state.layer("Centre bias"))
    qtbot.waitUntil(lambda: not first.busy(), timeout=120000)
    first.close()
    scored_frames.clear()
    (folder / "0150.png").unlink()                 # the folder changed: its maps are other maps
    again = open_demo(qtbot, tmp_path, folder)
    again.session.inference.cancel_all(wait=True)
    again.state.remove_layer(again.state.layer("Centre bias"))
    qtbot.waitUntil(lambda: not again.busy(), timeout=120000)
    read = again.state.layer("near").read_values          # what the scoring reads (a bound method: ==)
    assert sorted(f for r, f in scored_frames if r == read) == list(range(149))
    again.close()
