"""The viewer's numbers (issue 21, point 1): the app's per-frame metrics and summary are
`salfom evaluate`'s for the same maps and gaze, whatever order the frames are scored in, and a
summary of the frames scored so far says so until it is final."""
import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from qt_helpers import make_window
from salfom_app.curves import PARTIAL_TEXT
from salfom_app.state import Layer
from salfom_app.window import DEMO_VIDEO
from salfom_core import cli
from salfom_core.io.ground_truth import density_map
from salfom_core.io.synthetic import object_track

DEMO_GAZE = DEMO_VIDEO.with_name("demo_gaze.csv")
KEYS = ("cc", "nss", "sim", "auc_judd", "auc_shuffled", "kld")
HEADERS = {"CC": "cc", "NSS": "nss", "SIM": "sim", "AUC-Judd": "auc_judd", "sAUC": "auc_shuffled", "KLD": "kld"}


@pytest.fixture(scope="module")
def maps(tmp_path_factory) -> Path:
    """A second model for the demo: blobs near its objects, 4 px off (not the truth itself)."""
    folder = tmp_path_factory.mktemp("maps") / "near"
    folder.mkdir()
    track = object_track(150, (480, 272), 7, n_objects=2)
    for k in range(150):
        fix = np.zeros((272, 480), np.uint8)
        for x, y in track[k]:
            fix[min(int(y) + 4, 271), min(int(x) + 4, 479)] = 1
        cv2.imwrite(str(folder / f"{k + 1:04d}.png"), np.round(density_map(fix, sigma=14) * 255).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def cli_scores(maps, tmp_path_factory) -> dict:
    return evaluate_with_cli([maps], tmp_path_factory.mktemp("cli"))


def evaluate_with_cli(folders, out: Path) -> dict:
    """`salfom evaluate` of map folders on the demo's gaze:
    {model: {"frames": {0-based frame: {metric: value}}, "overall": {metric: value}}}."""
    preds = [arg for folder in folders for arg in ("--pred", str(folder))]
    assert cli.main(["evaluate", *preds, "--gaze", str(DEMO_GAZE), "--video", str(DEMO_VIDEO), "--out", str(out),
                     "-q"]) == 0
    summary = json.loads((out / "metrics_summary.json").read_text())
    models = summary["models"] if "models" in summary else {Path(folders[0]).name: summary}   # one model: flat
    scores = {name: {"frames": {}, "overall": value["overall"]} for name, value in models.items()}
    with open(out / "metrics_frames.csv") as fh:
        for row in csv.DictReader(fh):
            scores[row["model"]]["frames"][int(row["frame"]) - 1] = {k: float(row[k]) for k in KEYS}
    return scores


def dump_maps(layer, folder: Path) -> Path:
    """A layer's maps as the app holds them (the centre bias from its cache), as PNGs: the
    CLI then scores exactly the app's inputs."""
    folder.mkdir(parents=True)
    for i in range(layer.n_frames):
        cv2.imwrite(str(folder / f"{i + 1:04d}.png"), layer.read(i))
    return folder


def table_values(window) -> dict:
    """{row header: {metric: text}} of the summary table as shown."""
    table = window.curves.table
    headers = [HEADERS[table.horizontalHeaderItem(c).text()] for c in range(table.columnCount())]
    return {table.verticalHeaderItem(r).text(): {key: table.item(r, c) for c, key in enumerate(headers)}
            for r in range(table.rowCount())}


def open_scored(qtbot, tmp_path, maps, seek_first: int | None):
    """The demo with its gaze and the maps, scored to the end; `seek_first` moves the playhead
    before the maps are added (their frames are then scored outward from there)."""
    w = make_window(qtbot, tmp_path)
    assert w.open_video(DEMO_VIDEO)
    assert w.state.truth is not None                     # demo_gaze.csv beside the video
    if seek_first is not None:
        w.seek(seek_first)
    w.add_map_folder(maps)
    qtbot.waitUntil(lambda: not w.busy(), timeout=120000)
    qtbot.wait(50)
    return w


@pytest.mark.slow     # about 30 s: two opens of the demo scored to the end on 2 cores
def test_two_opens_in_different_orders_give_the_clis_numbers(qtbot, tmp_path, maps, cli_scores, monkeypatch):
    from salfom_app.jobs import ScoringQueue

    orders, per_frame, tables = [], [], []
    for k, seek_first in enumerate((None, 140)):
        order = []
        take = ScoringQueue.take

        def recording(queue, chunk, take=take, order=order):
            task = take(queue, chunk)
            if task is not None:
                order.append((task[0].name, tuple(task[2])))
            return task
        monkeypatch.setattr(ScoringQueue, "take", recording)
        w = open_scored(qtbot, tmp_path / f"open{k}", maps, seek_first)
        monkeypatch.setattr(ScoringQueue, "take", take)
        orders.append(order)
        per_frame.append({l.name: {m: l.metrics[m].copy() for m in KEYS} for l in w.state.layers})
        tables.append({h: {m: i.text() for m, i in row.items()} for h, row in table_values(w).items()})
        if k == 0:
            centre = dump_maps(w.state.layer("Centre bias"), tmp_path / "centre")
        w.close()
    assert orders[0] != orders[1]                       # the frames were scored in other orders
    cli_scores = {**cli_scores, "Centre bias": evaluate_with_cli([centre], tmp_path / "cli")["centre"]}
    names = {"Centre bias": "Centre bias", maps.name: maps.name}
    for layer, values in per_frame[1].items():
        for metric in KEYS:
            np.testing.assert_array_equal(values[metric], per_frame[0][layer][metric], err_msg=f"{layer} {metric}")
            truth = cli_scores[names[layer]]
            scored = sorted(truth["frames"])
            assert np.isnan(np.delete(values[metric], scored)).all()      # the CLI's skipped frames
            np.testing.assert_allclose(values[metric][scored], [truth["frames"][i][metric] for i in scored],
                                       rtol=0, atol=1e-9, err_msg=f"{layer} {metric}")
    for table in tables:
        assert set(table) == {f"{layer} (all 150 frames scored)" for layer in names}
        for header, row in table.items():
            overall = cli_scores[names[header.split(" (")[0]]]["overall"]
            assert {m: row[m] for m in KEYS} == {m: f"{overall[m]:.3f}" for m in KEYS}, header


def test_a_computing_layer_fills_in_and_its_partial_summary_is_marked(qtbot, tmp_path, maps, cli_scores):
    """A layer whose maps arrive in two halves: after the first, its curve and row hold the
    CLI's values of those frames, lighter, saying how many; after the second, the final."""
    w = make_window(qtbot, tmp_path)
    assert w.open_video(DEMO_VIDEO)
    folder = w.add_map_folder(maps)
    read = folder.read
    w.state.remove_layer(folder)
    w.state.remove_layer(w.state.layer("Centre bias"))
    w.session.inference.cancel_all(wait=True)
    computing = Layer("computing", "salfom", 150, read, running=True)
    first = np.arange(0, 150, 2)                        # every other frame exact, as coarse-to-fine leaves it
    computing.done[first] = True
    w.state.add_layer(computing)
    computing.set(progress=(len(first), 150, 10.0))
    truth = cli_scores[maps.name]["frames"]
    qtbot.waitUntil(lambda: computing.scored[first].all() and not w.session.metrics.busy, timeout=60000)
    w.curves.redraw()
    (header, row), = table_values(w).items()
    assert header == "computing (75 of 150 frames scored)"
    expected = {m: np.mean([truth[i][m] for i in first if i in truth]) for m in KEYS}
    for metric, item in row.items():
        assert item.text() == f"{expected[metric]:.3f}"
        assert item.foreground().color().getRgb()[:3] == PARTIAL_TEXT and item.font().italic()
    label = {"cc": "CC", "kld": "KLD"}
    for metric in ("cc", "kld"):
        assert row[metric].toolTip() == f"{label[metric]} {expected[metric]:.3f} (75 of 150 frames scored)"
    x, y = w.curves.curves["computing"].getData()
    assert np.isfinite(y).sum() == sum(i in truth for i in first)          # the curve has what is scored
    np.testing.assert_allclose(y[first], [truth[i]["cc"] for i in first], atol=1e-9)
    # the rest arrives: the same row becomes final, in the normal style
    computing.done[:] = True
    computing.set(progress=(150, 150, 0.0), running=False)
    qtbot.waitUntil(lambda: computing.scores_final and not w.session.metrics.busy, timeout=60000)
    w.curves.redraw()
    (header, row), = table_values(w).items()
    assert header == "computing (all 150 frames scored)"
    overall = cli_scores[maps.name]["overall"]
    for metric, item in row.items():
        assert item.text() == f"{overall[metric]:.3f}"
        assert item.foreground().color().getRgb()[:3] != PARTIAL_TEXT and not item.font().italic()
    w.close()
