"""Installed weights (`salfom weights`, `salfom info CKPT`, predict without -c): checked, atomic,
remembered, and a removed default falls back cleanly."""
import hashlib
import json
import os

import numpy as np
import pytest
import torch

from checkpoint_files import full_size_official_file, not_checkpoints, tiny_official_state, tiny_umt_state
from helpers import make_video
from salfom_core import CheckpointError, cli, create_model, save_checkpoint
from salfom_core.models import weights
from salfom_core.models.weights import WeightsError


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("SALFOM_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def donor():
    torch.manual_seed(0)
    return create_model("salfom_tiny").eval()


def studio_file(path, donor, **meta):
    save_checkpoint(path, donor, meta=meta)
    return path


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_install_copies_checks_and_becomes_the_default(tmp_path, data_dir, donor):
    first = studio_file(tmp_path / "mine.pt", donor, epoch=3)
    official = tmp_path / "salfom_dhf1k.pth"
    torch.save({"state_dict": tiny_official_state(donor)}, official)

    entry = weights.install(first)
    assert (entry.kind, entry.role, entry.preset, entry.default) == ("studio", "predict", "salfom_tiny", True)
    assert entry.path == str(data_dir / "weights" / "studio" / "mine.pt")
    assert open(entry.path, "rb").read() == first.read_bytes()
    assert entry.sha256 == hashlib.sha256(first.read_bytes()).hexdigest() and entry.size == first.stat().st_size
    assert weights.default_checkpoint() == data_dir / "weights" / "studio" / "mine.pt"

    entry = weights.install(official)
    assert (entry.kind, entry.preset, entry.name) == ("official", "salfom_tiny", "salfom_dhf1k.pth")
    assert weights.default_checkpoint() == data_dir / "weights" / "official" / "salfom_dhf1k.pth"
    listed = weights.installed()
    assert [(w.name, w.default) for w in listed] == [("mine.pt", False), ("salfom_dhf1k.pth", True)]
    assert listed[0].parameters == sum(v.numel() for v in donor.state_dict().values())
    # what is installed loads, as the file it was installed from does
    from salfom_core import load_model
    model, report = load_model(weights.default_checkpoint())
    assert report.kind == "official" and model.cfg.name == "salfom_tiny"
    loaded = model.state_dict()
    for name, value in donor.state_dict().items():          # each official entry in its own module
        assert torch.equal(loaded[name], value), name

    # installing an installed file again copies nothing and makes it the default again
    again = weights.install(first)
    assert again.name == "mine.pt" and again.default and len(weights.installed()) == 2


def test_a_umt_file_becomes_the_training_default_never_the_prediction_one(tmp_path, data_dir, donor):
    umt = tmp_path / "l16_ptk710_ftk710_ftk400_f16_res224.pth"
    torch.save(tiny_umt_state(donor), umt)
    entry = weights.install(umt)
    assert (entry.kind, entry.role, entry.default) == ("umt", "encoder", True)
    assert entry.path == str(data_dir / "weights" / "umt" / umt.name)
    assert weights.default_encoder() == data_dir / "weights" / "umt" / umt.name
    assert weights.default_checkpoint() is None
    with pytest.raises(WeightsError, match="none installed.*salfom weights install"):
        weights.resolve_checkpoint(None)
    whole = weights.install(studio_file(tmp_path / "best.pt", donor))
    assert weights.default_checkpoint() == data_dir / "weights" / "studio" / "best.pt"
    assert weights.default_encoder() == data_dir / "weights" / "umt" / umt.name        # unchanged
    assert whole.default


def test_refused_files_are_never_installed(tmp_path, data_dir, donor):
    weights.install(studio_file(tmp_path / "good.pt", donor))
    before = files_under(data_dir)
    index = (data_dir / "weights" / "installed.json").read_text()
    bad = not_checkpoints(tmp_path / "bad")
    decoder_only = tmp_path / "decoder_only.pth"
    torch.save({k: v for k, v in tiny_official_state(donor).items() if not k.startswith("encoder.")}, decoder_only)
    resnet = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(10, 512)}, resnet)
    for path in [*bad.values(), decoder_only, resnet, tmp_path / "absent.pth"]:
        with pytest.raises((CheckpointError, WeightsError), match=path.name.replace(".", r"\.")) as err:
            weights.install(path)
        assert "not installed" in str(err.value) or "not a" in str(err.value) or "no such" in str(err.value)
        assert files_under(data_dir) == before, path
        assert (data_dir / "weights" / "installed.json").read_text() == index
    with pytest.raises(WeightsError, match=r"decoder_only\.pth.*leaves encoder.*untrained.*not installed"):
        weights.install(decoder_only)


def test_an_interrupted_install_leaves_nothing_behind(tmp_path, data_dir, donor):
    weights.install(studio_file(tmp_path / "old.pt", donor))
    before = files_under(data_dir)

    def killed(done, total):
        raise KeyboardInterrupt   # the user presses Ctrl-C, or the machine stops, mid-copy

    big = studio_file(tmp_path / "new.pt", create_model("salfom_tiny"))
    with pytest.raises(KeyboardInterrupt):
        weights.install(big, progress=killed)
    assert files_under(data_dir) == before                  # no partial file, no temporary file
    assert weights.default_checkpoint().name == "old.pt"


def test_a_killed_install_leaves_no_temporary_file_after_the_next_one(tmp_path, data_dir, donor):
    # a killed process (SIGKILL, power loss) cannot clean up: its temporary copy, as large as
    # the checkpoint (1.6 GB official), stayed in the data folder for ever
    weights.install(studio_file(tmp_path / "old.pt", donor))
    folder = data_dir / "weights" / "studio"
    killed, running = folder / ".big.pt.k1ll3d.tmp", folder / ".other.pt.w0rk1n.tmp"
    killed.write_bytes(b"\0" * 1000)
    running.write_bytes(b"\0" * 1000)          # another process's install, being written now
    hour_ago = os.path.getmtime(killed) - 3600
    os.utime(killed, (hour_ago, hour_ago))
    weights.install(studio_file(tmp_path / "new.pt", create_model("salfom_tiny")))
    assert not killed.exists() and running.exists()


def test_a_file_that_changes_while_installing_is_refused(tmp_path, data_dir, donor, monkeypatch):
    path = studio_file(tmp_path / "moving.pt", donor)
    checked = weights.check

    def check_then_change(p):
        info = checked(p)
        studio_file(path, create_model("salfom_tiny"))     # rewritten between the check and the copy
        return info

    monkeypatch.setattr(weights, "check", check_then_change)
    with pytest.raises(WeightsError, match="changed while"):
        weights.install(path)
    assert files_under(data_dir / "weights") == []


def test_same_name_different_content_gets_its_own_name(tmp_path, data_dir, donor):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = weights.install(studio_file(tmp_path / "a" / "best.pt", donor))
    second = weights.install(studio_file(tmp_path / "b" / "best.pt", create_model("salfom_tiny")))
    assert first.name == "best.pt" and second.name == f"best-{second.sha256[:8]}.pt"
    assert open(first.path, "rb").read() == (tmp_path / "a" / "best.pt").read_bytes()


def test_removing_the_default_falls_back_cleanly(tmp_path, data_dir, donor):
    older = weights.install(studio_file(tmp_path / "older.pt", donor))
    newer = weights.install(studio_file(tmp_path / "newer.pt", create_model("salfom_tiny")))
    assert weights.default_checkpoint() == __import__("pathlib").Path(newer.path)
    removed = weights.remove("newer.pt")
    assert removed.default and not os.path.exists(newer.path)
    assert weights.default_checkpoint() == __import__("pathlib").Path(older.path)
    # by sha256 prefix
    weights.remove(older.sha256[:10])
    assert weights.installed() == [] and weights.default_checkpoint() is None
    with pytest.raises(WeightsError, match="nope is not installed"):
        weights.remove("nope")
    # a default deleted by hand is no default
    kept = weights.install(studio_file(tmp_path / "kept.pt", donor))
    os.unlink(kept.path)
    assert weights.default_checkpoint() is None and weights.installed() == []
    assert weights.install(tmp_path / "kept.pt").name == "kept.pt"      # and installs again under its name


def test_damaged_index_is_an_error_for_list_and_none_for_the_default(tmp_path, data_dir, capsys):
    (data_dir / "weights").mkdir(parents=True)
    (data_dir / "weights" / "installed.json").write_text("{garbage")
    assert weights.default_checkpoint() is None
    assert cli.main(["weights", "list"]) == 2
    assert "installed.json" in capsys.readouterr().err
    # predict without -c named the damaged list, not "none installed" (which sent the user to install again
    # into the same broken list)
    video = make_video(tmp_path / "clip.mp4", n_frames=3)
    assert cli.main(["predict", str(video), "-o", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
                     "-q"]) == 2
    err = capsys.readouterr().err
    assert "installed.json" in err and "unreadable" in err and "none installed" not in err


def test_cli_weights_info_and_predict_without_checkpoint(tmp_path, data_dir, donor, capsys):
    video = make_video(tmp_path / "clip.mp4", n_frames=3)
    cache = str(tmp_path / "cache")
    assert cli.main(["predict", str(video), "-o", str(tmp_path / "none"), "--cache", cache, "-q"]) == 2
    assert "none installed" in capsys.readouterr().err

    ckpt = studio_file(tmp_path / "best.pt", donor, epoch=4)
    assert cli.main(["info", str(ckpt)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["kind"], info["preset"], info["role"], info["training"]) == \
        ("studio", "salfom_tiny", "predict", {"epoch": 4, "resumable": False})
    assert info["sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()

    assert cli.main(["weights", "install", str(ckpt)]) == 0
    assert "default checkpoint" in capsys.readouterr().err
    assert cli.main(["weights", "list"]) == 0
    listing = capsys.readouterr().out
    assert "* best.pt" in listing and "studio" in listing and "salfom_tiny" in listing

    assert cli.main(["predict", str(video), "-o", str(tmp_path / "default"), "--cache", cache, "-q"]) == 0
    assert cli.main(["predict", str(video), "-c", str(ckpt), "-o", str(tmp_path / "given"), "--cache",
                     str(tmp_path / "cache2"), "-q"]) == 0
    maps = sorted((tmp_path / "default" / "clip").glob("*.png"))
    assert len(maps) == 3
    import cv2
    for m in maps:
        np.testing.assert_array_equal(cv2.imread(str(m)), cv2.imread(str(tmp_path / "given" / "clip" / m.name)))

    assert cli.main(["weights", "remove", "best.pt"]) == 0
    assert "no default left" in capsys.readouterr().err
    assert cli.main(["predict", str(video), "-o", str(tmp_path / "again"), "--cache", cache, "-q"]) == 2


def test_cli_predict_refuses_a_partial_checkpoint_unless_allowed(tmp_path, donor, capsys):
    video = make_video(tmp_path / "clip.mp4", n_frames=2)
    umt = tmp_path / "umt.pth"
    torch.save(tiny_umt_state(donor), umt)
    args = ["predict", str(video), "-c", str(umt), "-o", str(tmp_path / "out"), "--cache", str(tmp_path / "c"), "-q"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "umt.pth" in err and "tcfe" in err and "untrained" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert cli.main(args + ["--allow-partial"]) == 0
    assert "warning: tcfe, dfd, sfd, fusion stay untrained" in capsys.readouterr().err
    assert len(list((tmp_path / "out" / "clip").glob("*.png"))) == 2


@pytest.mark.slow
def test_full_size_official_weights_are_accepted_as_salfom_l16(tmp_path):
    # what `install` checks, on a file of the official checkpoint's size; the copy itself is
    # tested on tiny files above (copying 1.6 GB more would test nothing more)
    path = full_size_official_file(tmp_path / "salfom_dhf1k.pth")
    info = weights.check(path)
    assert (info.kind, info.role, info.preset) == ("official", "predict", "salfom_l16")
    assert info.fills == ["encoder", "tcfe", "dfd", "sfd", "fusion"]
    with torch.device("meta"):
        n = sum(v.numel() for v in create_model("salfom_l16").state_dict().values())
    assert info.parameters == n and info.size == path.stat().st_size
