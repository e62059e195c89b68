"""`salfom evaluate` never scores a subset silently; several models in one run."""
import csv
import json
import math
import shutil

import cv2
import numpy as np
import pytest

from salfom_core import cli
from salfom_core.evaluation.scoring import EvaluationGapError, score_model
from salfom_core.evaluation.sources import MapFolder
from salfom_core.evaluation.truths import AnnotationTruth, GazeTruth
from salfom_core.io.annotations import find_annotations
from salfom_core.io.gaze import read_csv, write_csv
from salfom_core.io.synthetic import write_annotated_video, write_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A DHF1K val split of two 40-frame videos, with 'predictions' = the GT maps themselves."""
    root = write_dataset(tmp_path_factory.mktemp("data") / "dhf1k", "dhf1k", {"val": 2})
    return root


def copy_maps(dataset, target, drop=()):
    """A predictions root holding each video's GT maps, without the 1-based frames in `drop`."""
    for video in sorted((dataset / "val").iterdir()):
        out = target / video.name
        out.mkdir(parents=True)
        for png in sorted((video / "maps").glob("*.png")):
            if int(png.stem) not in drop:
                shutil.copy(png, out / png.name)
    return target


def summary_of(folder):
    return json.loads((folder / "metrics_summary.json").read_text())


def test_missing_prediction_frames_are_reported_and_not_counted(dataset, tmp_path, capsys):
    pred = copy_maps(dataset, tmp_path / "pred", drop={5, 6, 7, 40})
    assert cli.main(["evaluate", "--pred", str(pred), "--data", str(dataset), "-q"]) == 0
    err = capsys.readouterr().err
    summary = summary_of(pred)
    assert summary["frames"] == 2 * 36                       # the frames scored, nothing else
    assert summary["skipped"] == {"no prediction": 8}
    assert summary["per_video"]["0001"]["frames"] == 36
    assert "0001: 36 of 40 frames scored; 4 skipped: no prediction (frames 5-7, 40)" in err
    with open(pred / "metrics_frames.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 72 and "5" not in {r["frame"] for r in rows if r["video"] == "0001"}


def test_strict_makes_a_gap_an_error(dataset, tmp_path, capsys):
    pred = copy_maps(dataset, tmp_path / "pred", drop={12})
    assert cli.main(["evaluate", "--pred", str(pred), "--data", str(dataset), "-q", "--strict"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "0001" in err and "frame 12" in err and "no prediction" in err
    assert not (pred / "metrics_summary.json").exists()
    complete = copy_maps(dataset, tmp_path / "complete")
    assert cli.main(["evaluate", "--pred", str(complete), "--data", str(dataset), "-q", "--strict"]) == 0
    assert summary_of(complete)["frames"] == 80 and summary_of(complete)["skipped"] == {}


def test_a_video_without_prediction_folder_is_reported(dataset, tmp_path, capsys):
    pred = copy_maps(dataset, tmp_path / "pred")
    shutil.rmtree(pred / "0002")
    assert cli.main(["evaluate", "--pred", str(pred), "--data", str(dataset), "-q"]) == 0
    err = capsys.readouterr().err
    assert "0002: 0 of 40 frames scored; 40 skipped: no prediction" in err
    summary = summary_of(pred)
    assert summary["frames"] == 40 and list(summary["per_video"]) == ["0001"]
    assert summary["skipped_per_video"] == {"0002": {"no prediction": 40}}
    assert cli.main(["evaluate", "--pred", str(pred), "--data", str(dataset), "-q", "--strict"]) == 2


def _gaze_video(tmp_path, n_frames=20, covered=10):
    """A 20-frame annotated video; gaze CSV (from its fixation maps) for the first `covered` frames only."""
    folder = tmp_path / "clip"
    write_annotated_video(folder, n_frames, (64, 48), seed=3)
    ann = find_annotations(folder)
    lines = ["frame,x,y,observer"]
    for k in range(covered):
        rows, cols = np.nonzero(ann.fixations(k))
        lines += [f"{k},{c + 1},{r + 1},o{j % 3}" for j, (r, c) in enumerate(zip(rows, cols))]
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("\n".join(lines) + "\n")
    return folder, gaze


def test_gaze_covering_some_frames_scores_only_those(tmp_path, capsys):
    folder, gaze_csv = _gaze_video(tmp_path)
    gaze = read_csv(gaze_csv, (64, 48), 20)
    truth = GazeTruth("clip", gaze)
    result = score_model("maps", [(truth, MapFolder(folder / "maps").read)])
    assert result.scores.frame_count() == 10
    assert result.skipped() == {"no fixation": 10}
    assert [v.frames for v in result.videos] == [list(range(10))]
    with pytest.raises(EvaluationGapError, match=r"clip: frame 11 has no fixation"):
        score_model("maps", [(truth, MapFolder(folder / "maps").read)], strict=True)


def test_a_prediction_on_exactly_the_written_gaze_scores_what_a_hand_computation_says(tmp_path):
    # frame 4's prediction is 255 on exactly the n pixels whose gaze the test wrote, 0 on the other
    # N - n: with p = n / N its NSS is (1 - p) / sqrt(p (1 - p) N / (N - 1)) (sample std), its AUC-Judd 1
    folder, gaze_csv = _gaze_video(tmp_path)
    rows, cols = np.nonzero(find_annotations(folder).fixations(3))      # written as x = col + 1, y = row + 1
    pred = tmp_path / "pred"
    shutil.copytree(folder / "maps", pred)
    on_gaze = np.zeros((48, 64), np.uint8)
    on_gaze[rows, cols] = 255
    cv2.imwrite(str(pred / "0004.png"), on_gaze)
    n, total = len(set(zip(rows, cols))), 48 * 64
    share = n / total
    truth = GazeTruth("clip", read_csv(gaze_csv, (64, 48), 20))
    values = score_model("maps", [(truth, MapFolder(pred).read)]).videos[0].values[3]
    assert 3 <= n <= 40
    assert values["nss"] == pytest.approx((1 - share) / math.sqrt(share * (1 - share) * total / (total - 1)), rel=1e-9)
    assert values["auc_judd"] == pytest.approx(1.0, abs=1e-12)


def test_gaze_cli_reports_no_fixation_frames(tmp_path, capsys):
    folder, gaze_csv = _gaze_video(tmp_path)
    video = tmp_path / "frames"
    shutil.copytree(folder / "images", video)
    assert cli.main(["evaluate", "--pred", str(folder / "maps"), "--gaze", str(gaze_csv), "--video", str(video),
                     "--out", str(tmp_path / "out"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "frames: 10 of 20 frames scored; 10 skipped: no fixation (frames 11-20)" in err
    assert summary_of(tmp_path / "out")["frames"] == 10


def test_gaze_outside_the_picture_is_dropped_and_counted(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("frame,x,y,observer\n0,10,20,a\n0,-5,20,b\n1,1e12,5,a\n1,30,40,a\n2,50,-0.5,b\n"
                    "3,100,80,a\n")
    gaze = read_csv(path, (100, 80), n_frames=5)
    assert gaze.outside == 3                                  # x=-5, x=1e12, y=-0.5
    assert len(gaze) == 3                                     # the frame's edge (x=W, y=H) is inside
    assert gaze.x.max() <= 100 and gaze.x.min() >= 0
    assert gaze.observers_per_frame().tolist() == [1, 1, 0, 1, 0]   # b's only samples were outside
    out = tmp_path / "again.csv"
    write_csv(gaze, out)
    assert "1e+12" not in out.read_text() and "-5" not in out.read_text()


def test_gaze_convert_and_evaluate_say_how_many_samples_were_outside(tmp_path, capsys):
    folder, gaze_csv = _gaze_video(tmp_path, covered=20)
    with open(gaze_csv, "a") as fh:
        fh.write("0,-5,10,o1\n1,1e12,10,o1\n")
    assert cli.main(["gaze-convert", str(gaze_csv), "--size", "64x48", "--frames", "20",
                     "-o", str(tmp_path / "c.csv")]) == 0
    assert "2 outside the picture dropped" in capsys.readouterr().err
    assert cli.main(["evaluate", "--pred", str(folder / "maps"), "--gaze", str(gaze_csv), "--video",
                     str(folder / "images"), "--out", str(tmp_path / "o"), "-q"]) == 0
    assert "gaze samples: 2 outside the picture dropped" in capsys.readouterr().err


def test_multi_model_rows_equal_single_model_runs(dataset, tmp_path, capsys):
    a = copy_maps(dataset, tmp_path / "gt_maps")
    b = tmp_path / "centre"
    assert cli.main(["predict", str(dataset / "val" / "0001"), str(dataset / "val" / "0002"), "-c", "center-bias",
                     "-o", str(b), "--cache", str(tmp_path / "cache"), "-q"]) == 0
    singles = {}
    for pred in (a, b):
        assert cli.main(["evaluate", "--pred", str(pred), "--data", str(dataset), "-q"]) == 0
        singles[pred.name] = summary_of(pred)["overall"]
    out = tmp_path / "cmp"
    plot = tmp_path / "cmp.png"
    capsys.readouterr()
    assert cli.main(["evaluate", "--pred", str(a), "--pred", str(b), "--pred", "center-bias", "--data", str(dataset),
                     "--out", str(out), "--plot", str(plot), "-q"]) == 0
    table = capsys.readouterr().out
    summary = summary_of(out)
    assert list(summary["models"]) == ["gt_maps", "centre", "center-bias"]
    for name, overall in singles.items():
        for metric, value in overall.items():
            assert summary["models"][name]["overall"][metric] == pytest.approx(value, abs=1e-12), (name, metric)
    # the on-the-fly centre bias equals the predicted centre-bias maps
    assert summary["models"]["center-bias"]["overall"] == summary["models"]["centre"]["overall"]
    # a predicted map equal to the GT map: CC 1
    assert summary["models"]["gt_maps"]["overall"]["cc"] == pytest.approx(1.0, abs=1e-9)
    assert [line.split()[0] for line in table.splitlines()[2:5]] == ["gt_maps", "centre", "center-bias"]
    with open(out / "metrics_frames.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * 80 and {r["model"] for r in rows} == {"gt_maps", "centre", "center-bias"}
    with open(out / "metrics_videos.csv") as fh:
        videos = list(csv.DictReader(fh))
    assert [(v["model"], v["video"]) for v in videos][:2] == [("gt_maps", "0001"), ("gt_maps", "0002")]
    assert len(videos) == 6 and all(v["frames"] == "40" for v in videos)
    per_video_cc = np.mean([float(r["cc"]) for r in rows if r["model"] == "centre" and r["video"] == "0002"])
    assert float(videos[3]["cc"]) == pytest.approx(per_video_cc)
    assert plot.stat().st_size > 1000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_several_preds_need_out(dataset, tmp_path, capsys):
    a = copy_maps(dataset, tmp_path / "a")
    assert cli.main(["evaluate", "--pred", str(a), "--pred", "center-bias", "--data", str(dataset), "-q"]) == 2
    assert "--out" in capsys.readouterr().err
    assert cli.main(["evaluate", "--pred", str(a), "--data", str(dataset), "--plot", str(tmp_path / "p.jpg"),
                     "-q"]) == 2
    assert "p.jpg: the plot is written as .png, .svg or .pdf" in capsys.readouterr().err
    assert not (a / "metrics_summary.json").exists()              # refused before any work


def test_worst_frame_is_the_lowest_cc(dataset, tmp_path):
    pred = copy_maps(dataset, tmp_path / "pred")
    video = dataset / "val" / "0001"
    # spoil frame 9 (0-based 8): an inverted map
    import cv2
    png = pred / "0001" / "0009.png"
    cv2.imwrite(str(png), 255 - cv2.imread(str(png), cv2.IMREAD_GRAYSCALE))
    truth = AnnotationTruth("0001", find_annotations(video))
    result = score_model("m", [(truth, MapFolder(pred / "0001").read)], metric_names=("cc", "kld"))
    assert result.videos[0].worst_frame("cc") == 8 and result.videos[0].worst_frame("kld") == 8
    assert not math.isnan(result.videos[0].mean("cc"))


@pytest.mark.slow
def test_jobs_give_the_same_numbers(dataset, tmp_path):
    pred = copy_maps(dataset, tmp_path / "pred", drop={3})
    one, two = tmp_path / "one", tmp_path / "two"
    for out, jobs in ((one, "1"), (two, "2")):
        assert cli.main(["evaluate", "--pred", str(pred), "--pred", "center-bias", "--data", str(dataset),
                         "--out", str(out), "--jobs", jobs, "-q"]) == 0
    assert summary_of(one) == summary_of(two)
    assert (one / "metrics_frames.csv").read_text() == (two / "metrics_frames.csv").read_text()


def test_a_folder_of_videos_with_gaze_beside_them(tmp_path, capsys):
    from helpers import make_video

    folder = tmp_path / "lab"
    folder.mkdir()
    for name, n in (("a", 12), ("b", 8)):
        make_video(folder / f"{name}.mp4", n_frames=n, size=(64, 48))
    (folder / "a_gaze.csv").write_text("frame,x,y,observer\n" + "".join(f"{k},32,24,p\n" for k in range(12)))
    (folder / "b_gaze.csv").write_text("frame,x,y,observer\n0,10,10,p\n1,50,40,p\n")
    make_video(folder / "c.mp4", n_frames=5, size=(64, 48))             # no gaze: not part of the data
    assert cli.main(["evaluate", "--pred", "center-bias", "--data", str(folder), "--out", str(tmp_path / "o"),
                     "-q"]) == 0
    summary = summary_of(tmp_path / "o")
    assert summary["frames"] == 14 and summary["skipped_per_video"] == {"b": {"no fixation": 6}}
    assert summary["per_video"]["a"]["nss"] > 1            # every fixation at the centre
