"""The CLI on odd input: damaged videos are reported, outputs never collide or go stale, and
every user error is one line with exit code 2."""
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import make_video
from salfom_core import cli
from salfom_core.errors import ConfigError
from salfom_core.io.gaze import read_csv, read_smi
from salfom_core.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cut_avi(tmp_path_factory):
    """A 60-frame AVI cut at 40 %: its header still declares 60 frames."""
    folder = tmp_path_factory.mktemp("cut")
    full = make_video(folder / "full.avi", n_frames=60, size=(128, 96), gop=5, texture=True)
    data = full.read_bytes()
    path = folder / "cut.avi"
    path.write_bytes(data[:int(len(data) * 0.4)])
    with av.open(str(full)) as container:
        whole = sum(1 for p in container.demux(container.streams.video[0])
                    if p.size and p.pos + p.size <= int(len(data) * 0.4))
    return path, whole


def predict(*args, cache):
    return cli.main(["predict", *map(str, args), "-c", "center-bias", "--cache", str(cache), "-q"])


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_info_reports_frames_read_and_declared(cut_avi, capsys):
    path, whole = cut_avi
    assert cli.main(["info", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["frames_read"], info["frames_declared"], info["frame_count"]) == (whole, 60, whole)
    assert f"only {whole} of 60 frames" in info["warning"] and "cut.avi" in info["warning"]


def test_info_decode_finds_damage_the_container_does_not_show(tmp_path, capsys):
    full = make_video(tmp_path / "full.mp4", n_frames=60, size=(128, 96), gop=5, texture=True)
    data = bytearray(full.read_bytes())
    middle, span = len(data) // 2, len(data) // 50
    data[middle:middle + span] = bytes(span)
    path = tmp_path / "bad.mp4"
    path.write_bytes(data)
    assert cli.main(["info", str(path)]) == 0
    quick = json.loads(capsys.readouterr().out)
    assert (quick["frames_read"], quick["frames_declared"], quick["warning"]) == (60, 60, None)
    assert cli.main(["info", "--decode", str(path)]) == 0
    decoded = json.loads(capsys.readouterr().out)
    assert decoded["decoded"] and re.search(r"bad\.mp4: \d+ of 60 frames could not be decoded", decoded["warning"])


def test_predict_and_evaluate_warn_about_a_damaged_video(cut_avi, tmp_path, capsys):
    path, whole = cut_avi
    assert predict(path, "-o", tmp_path / "out", cache=tmp_path / "cache") == 0
    err = capsys.readouterr().err
    assert re.search(rf"warning: .*cut\.avi.*only {whole} of 60 frames", err)
    assert len(list((tmp_path / "out" / "cut").glob("*.png"))) == whole
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y\n" + "".join(f"{k},60,40\n" for k in range(whole)))
    assert cli.main(["evaluate", "--pred", str(tmp_path / "out" / "cut"), "--gaze", str(gaze),
                     "--video", str(path), "--metrics", "nss,cc", "-q"]) == 0
    assert re.search(rf"warning: .*cut\.avi.*only {whole} of 60 frames", capsys.readouterr().err)


def test_inputs_with_the_same_name_get_their_own_folders(tmp_path, capsys):
    a = make_video((tmp_path / "x").mkdir() or tmp_path / "x" / "clip.mp4", n_frames=12)
    b = make_video((tmp_path / "y").mkdir() or tmp_path / "y" / "clip.avi", n_frames=7)
    other = make_video(tmp_path / "clip-1.mp4", n_frames=5)    # a numbered name must not collide with it
    out = tmp_path / "out"
    assert predict(a, b, other, a, "-o", out, cache=tmp_path / "cache") == 0
    err = capsys.readouterr().err
    counts = {p.name: len(list(p.glob("*.png"))) for p in out.iterdir()}
    assert counts == {"clip-2": 12, "clip-3": 7, "clip-1": 5}
    assert "'clip-2'" in err and "'clip-3'" in err and "more than once" in err


def test_a_shorter_clip_leaves_no_stale_maps(tmp_path, capsys):
    out = tmp_path / "out"
    long = make_video((tmp_path / "a").mkdir() or tmp_path / "a" / "clip.mp4", n_frames=20)
    short = make_video((tmp_path / "b").mkdir() or tmp_path / "b" / "clip.mp4", n_frames=8)
    (out / "clip").mkdir(parents=True)
    (out / "clip" / "notes.txt").write_text("mine")              # not a map: stays
    assert predict(long, "-o", out, cache=tmp_path / "cache") == 0
    assert predict(short, "-o", out, cache=tmp_path / "cache") == 0
    names = sorted(p.name for p in (out / "clip").iterdir())
    assert names == [f"{k:04d}.png" for k in range(1, 9)] + ["notes.txt"]
    assert "removed 12 maps of an earlier, longer run" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["evaluate", "--pred", "{tmp}", "--gaze", "{tmp}/g.csv", "--video", "{tmp}/v.mp4", "--every", "0"], "every"),
    (["gaze-convert", "{tmp}/g.csv", "--size", "64x48", "--frames", "5", "--screen", "0x0", "-o", "{tmp}/o.csv"],
     "0x0"),
    (["gaze-convert", "{tmp}/g.csv", "--size", "64by48", "--frames", "5", "-o", "{tmp}/o.csv"], "--size"),
    (["predict", "{tmp}/absent.mp4", "-c", "{tmp}/absent.pth", "-o", "{tmp}/out", "--colormap", "rainbow"],
     "colormap 'rainbow'"),
    # a frame folder's frame rate: 0 or NaN made an overlay fail after all the work, and
    # gaze-convert write an empty CSV with exit code 0
    (["predict", "{tmp}/frames", "-c", "center-bias", "-o", "{tmp}/out", "--fps", "0"], "--fps 0"),
    (["predict", "{tmp}/frames", "-c", "center-bias", "-o", "{tmp}/out", "--fps", "nan"], "--fps nan"),
    (["gaze-convert", "{tmp}/g.csv", "--size", "64x48", "--frames", "5", "--fps", "0", "-o", "{tmp}/o.csv"],
     "--fps 0"),
    (["gaze-convert", "{tmp}/g.csv", "--size", "64x48", "--frames", "-4", "-o", "{tmp}/o.csv"], "--frames -4"),
    (["gaze-convert", "{tmp}/g.csv", "--size", "64x48", "--frames", "0", "-o", "{tmp}/o.csv"], "--frames 0"),
])
def test_user_errors_are_one_line_and_exit_code_2(tmp_path, capsys, argv, words):
    # the files named do not exist: the setting is checked before any of them is opened
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert cli.main(argv) == 2
    line = error_line(capsys)
    assert line.startswith(f"salfom {argv[0]}: error:") and words in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "o.csv").exists()


def test_training_config_errors_are_library_exceptions(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('[train]\ndata_root = "x"\nepocs = 3\n')
    with pytest.raises(ConfigError, match=r"run\.toml: unknown settings epocs"):
        TrainConfig.from_toml(config)
    assert cli.main(["train", "--config", str(config)]) == 2
    assert "unknown settings epocs" in error_line(capsys)


def test_the_library_never_raises_system_exit():
    offenders = []
    for path in sorted((ROOT / "salfom_core").rglob("*.py")):
        lines = path.read_text().splitlines()
        for n, line in enumerate(lines):
            code = line.split("#")[0]
            entry_point = n > 0 and lines[n - 1].startswith("if __name__ ==")
            if re.search(r"raise SystemExit|\bsys\.exit\(|parser\.error\(|^\s*exit\(", code) and not entry_point:
                offenders.append(f"{path.name}:{n + 1}: {line.strip()}")
    assert offenders == []


def test_gaze_convert_merges_several_inputs(tmp_path, capsys):
    first, second = tmp_path / "P1.csv", tmp_path / "P2.csv"
    # y differs from x, has fractions and lies off the middle: a flipped or rounded y shows
    first.write_text("frame,x,y\n0,10,5.25\n1,11,40.5\n")
    second.write_text("frame,x,y,observer\n1,20,3.75,ann\n2,21,30.125,ann\n3,22,12,bob\n")
    out = tmp_path / "all.csv"
    assert cli.main(["gaze-convert", str(first), str(second), str(first), "--size", "64x48", "--frames", "5",
                     "-o", str(out)]) == 0
    merged = read_csv(out, (64, 48), 5)
    assert merged.observers == ["ann", "bob", "P1"]
    rows = sorted(zip(merged.frame.tolist(), (merged.observer_name(int(o)) for o in merged.observer),
                      merged.x.tolist(), merged.y.tolist()))
    assert rows == [(0, "P1", 10, 5.25), (1, "P1", 11, 40.5), (1, "ann", 20, 3.75), (2, "ann", 21, 30.125),
                    (3, "bob", 22, 12)]


def test_gaze_convert_several_smi_files_equals_their_folder(tmp_path):
    from conftest import shared_path

    folder = shared_path("data", "dhf1k_0002", "gaze")
    video = shared_path("data", "dhf1k_0002", "0002.avi")
    files = sorted(folder.glob("*.txt"))[:3]
    assert len(files) == 3
    (tmp_path / "three").mkdir()
    for f in files:
        (tmp_path / "three" / f.name).write_bytes(f.read_bytes())
    by_files, by_folder = tmp_path / "a.csv", tmp_path / "b.csv"
    assert cli.main(["gaze-convert", *map(str, files), "--video", str(video), "-o", str(by_files)]) == 0
    assert cli.main(["gaze-convert", str(tmp_path / "three"), "--video", str(video), "-o", str(by_folder)]) == 0
    assert by_files.read_text() == by_folder.read_text() and len(by_files.read_text().splitlines()) > 100
    # and what was written is what the SMI reader reads from the files: every sample in x, y, frame, observer
    written, read = read_csv(by_files, (640, 360), 783), read_smi(files, (640, 360), 783)
    assert written.observers == read.observers == ["P01", "P02", "P03"]
    np.testing.assert_array_equal(written.frame, read.frame)
    np.testing.assert_array_equal(written.observer, read.observer)
    np.testing.assert_allclose(np.c_[written.x, written.y], np.c_[read.x, read.y], atol=5e-4)   # 3 decimals


def test_ctrl_c_is_one_line_saying_the_cache_resumes(tmp_path, capsys, monkeypatch):
    # Ctrl-C printed a KeyboardInterrupt traceback from inside the model
    from salfom_core.inference import predict as pipeline

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "predict_video", interrupted)
    video = make_video(tmp_path / "clip.mp4", n_frames=3)
    assert predict(video, "-o", tmp_path / "out", cache=tmp_path / "cache") == 130
    line = error_line(capsys)
    assert line.startswith("salfom predict: interrupted") and "resume" in line


def test_an_output_path_of_the_wrong_kind_is_named_and_nothing_is_left_behind(tmp_path):
    from salfom_core.io.atomic import atomic_write_bytes, make_folder

    taken = tmp_path / "taken"
    (taken / "inside").mkdir(parents=True)
    with pytest.raises(ConfigError) as caught:
        atomic_write_bytes(taken, b"data")          # a folder where a file goes
    assert str(caught.value).startswith(f"{taken}: is a folder") and "Errno" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]        # no temporary file left
    assert [p.name for p in taken.iterdir()] == ["inside"]
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for target in (notes / "x.csv", notes / "deeper" / "x.csv"):      # a file where a folder goes
        with pytest.raises(ConfigError) as caught:
            atomic_write_bytes(target, b"data")
        assert str(caught.value).startswith(f"{notes}: is a file") and "Errno" not in str(caught.value)
    with pytest.raises(ConfigError, match=f"^{notes}: is a file"):
        make_folder(notes)
    assert notes.read_text() == "mine"


def test_a_training_run_whose_output_is_a_file_is_one_line_naming_it(tmp_path, capsys):
    from salfom_core.io.synthetic import write_dataset

    data = write_dataset(tmp_path / "dhf1k", "dhf1k", {"train": 1, "val": 1})
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    config = tmp_path / "run.toml"
    config.write_text(f'[train]\ndata_root = "{data}"\noutput = "{notes}"\npreset = "salfom_tiny"\n'
                      'epochs = 1\nnum_workers = 0\ndevice = "cpu"\n')
    assert cli.main(["train", "--config", str(config)]) == 2
    line = error_line(capsys)
    assert line.startswith(f"salfom train: error: {notes}: is a file") and "Errno" not in line, line
    assert notes.read_text() == "mine"


def test_predict_names_a_folder_given_as_dot_or_dotdot_after_the_folder(tmp_path, monkeypatch):
    from salfom_core.io.outputs import output_names, video_name

    frames = tmp_path / "trial_07" / "frames"
    frames.mkdir(parents=True)
    clip = tmp_path / "trial_07" / "clip.mp4"
    clip.write_bytes(b"")
    monkeypatch.chdir(frames)
    assert [video_name(Path(p)) for p in (".", "./", "..", "../frames/.", "../clip.mp4")] == \
        ["frames", "frames", "trial_07", "frames", "clip"]
    # `.` and the same folder by its name are one input, predicted once
    videos, names, notes = output_names([Path("."), frames])
    assert names == ["frames"] and len(videos) == 1 and "more than once" in notes[0]


def test_an_output_that_cannot_be_written_is_named_not_its_temporary_file(tmp_path, monkeypatch, capsys):
    """Permission denied or a read-only disk: the message named `.x.csv.h30l56vj.tmp` beside it."""
    import errno
    import tempfile

    from salfom_core import cli

    def refused(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".out.csv.abc123.tmp"))

    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y\n0,10,10\n")
    monkeypatch.setattr(tempfile, "mkstemp", refused)
    code = cli.main(["gaze-convert", str(gaze), "--size", "64x48", "--frames", "2", "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"salfom gaze-convert: error: {tmp_path / 'out.csv'}: cannot write (Permission denied)"
