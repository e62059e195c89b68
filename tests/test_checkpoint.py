"""Checkpoint loading: the three formats, and loud, safe refusal of everything else."""
import hashlib
import os
import re

import pytest
import torch

from checkpoint_files import not_checkpoints, official_manifest, tiny_official_state, tiny_umt_state
from salfom_core import (
    CheckpointError,
    PartialCheckpointError,
    create_model,
    describe_checkpoint,
    load_model,
    load_weights,
    save_checkpoint,
)
from salfom_core.models.convert import convert_pos_embed


def assert_same_state(model, expected):
    state = model.state_dict()
    for k, v in expected.items():
        assert torch.equal(state[k], v), k


def assert_same_weights(a, b, prefix=""):
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        if k.startswith(prefix):
            assert torch.equal(sa[k], sb[k]), k


def test_the_tiny_official_fixture_carries_the_official_names():
    """The fixture's names, written out in checkpoint_files, against the official checkpoint's own
    list (the reference's manifest): salfom_tiny has encoder blocks 0-1 and Swin blocks 0-1 of
    each stage, and the entries the spec says the forward pass never reads are left out."""
    manifest = {name: shape for name, shape, _dtype in official_manifest()}
    never_read = re.compile(r"^(encoder\.fc_norm\.|encoder\.head\.|final_map\.|conv_t3_3\.|transformer_\d\.norm\."
                            r"|.*\.relative_position_index$)")      # the last: a buffer the model rebuilds
    beyond_tiny = re.compile(r"^(encoder\.blocks\.|transformer_\d\.layers\.0\.blocks\.)([2-9]|\d\d)\.")
    expected = {n for n in manifest if not never_read.match(n) and not beyond_tiny.match(n)}
    state = tiny_official_state(create_model("salfom_tiny"))
    assert set(state) - {"encoder.head.weight", "final_map.weight"} == expected
    assert len(expected) == 145
    for name, value in state.items():
        # the same kind of tensor as the official entry: its rank, and a convolution's kernel
        assert value.dim() == len(manifest[name]), name
        if value.dim() >= 4:
            assert tuple(value.shape[2:]) == tuple(manifest[name][2:]), name


def test_official_names_roundtrip_into_fresh_model():
    source = create_model("salfom_tiny")
    target = create_model("salfom_tiny")
    report = load_weights(target, {"model": tiny_official_state(source)})
    assert report.kind == "official"
    assert "encoder.head.weight" in report.ignored and "final_map.weight" in report.ignored
    assert_same_weights(source, target)


def test_studio_checkpoint_roundtrip(tmp_path):
    model = create_model("salfom_tiny").eval()
    path = tmp_path / "run" / "best.pt"
    save_checkpoint(path, model, meta={"epoch": 3, "val_cc": 0.41})
    loaded, report = load_model(path)
    assert report.kind == "studio" and report.meta == {"epoch": 3, "val_cc": 0.41}
    assert loaded.cfg.name == "salfom_tiny"
    clip = torch.randn(1, 3, 16, 224, 224)
    with torch.no_grad():
        assert torch.equal(model(clip), loaded(clip))
    assert [p.name for p in path.parent.iterdir()] == ["best.pt"]   # no temporary file left


def test_umt_checkpoint_initialises_encoder_only():
    donor = create_model("salfom_tiny")
    cfg = donor.cfg
    grid = cfg.grid
    pos8 = torch.randn(1, 8 * grid * grid, cfg.embed_dim)
    umt = {"backbone." + k[len("encoder."):]: v.half() for k, v in donor.state_dict().items()
           if k.startswith("encoder.") and k != "encoder.pos_embed"}
    umt = {k.replace("backbone.patch_embed.", "backbone.patch_embed.proj."): v for k, v in umt.items()}
    umt["backbone.pos_embed"] = pos8.half()
    umt["backbone.head.weight"] = torch.zeros(710, cfg.embed_dim)
    umt["backbone.fc_norm.weight"] = torch.ones(cfg.embed_dim)
    target = create_model("salfom_tiny")
    decoder_before = {k: v.clone() for k, v in target.state_dict().items() if not k.startswith("encoder.")}
    encoder_before = {k: v.clone() for k, v in target.state_dict().items() if k.startswith("encoder.")}
    # for prediction a UMT file is refused: the decoder would stay random
    with pytest.raises(PartialCheckpointError, match=r"UMT encoder.*tcfe.*dfd.*sfd.*fusion.*untrained") as refused:
        load_weights(target, {"module": umt})
    assert refused.value.untrained == ["tcfe", "dfd", "sfd", "fusion"] and refused.value.kind == "umt"
    assert_same_state(target, encoder_before)          # refused before anything was copied
    report = load_weights(target, {"module": umt}, allow_partial=True)
    assert report.kind == "umt" and report.untrained == ["tcfe", "dfd", "sfd", "fusion"]
    assert set(report.not_in_source) == set(decoder_before)
    for k, v in target.state_dict().items():
        if k == "encoder.pos_embed":
            torch.testing.assert_close(v, convert_pos_embed(pos8.half().float(), cfg))
        elif k.startswith("encoder."):
            assert torch.equal(v, donor.state_dict()[k].half().float()), k
        else:
            assert torch.equal(v, decoder_before[k]), k


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": _Exploit(marker)}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pth.*refused"):
        load_weights(create_model("salfom_tiny"), path)
    assert not marker.exists()


def test_truncated_and_empty_files(tmp_path):
    model = create_model("salfom_tiny")
    good = tmp_path / "good.pt"
    save_checkpoint(good, model)
    data = good.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt.*(truncated|corrupt)"):
        load_weights(model, cut)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.pt.*empty"):
        load_weights(model, empty)
    with pytest.raises(CheckpointError, match="no such"):
        load_weights(model, tmp_path / "absent.pt")


def test_other_architecture_is_named(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(10, 512)}, path)
    with pytest.raises(CheckpointError, match=r"resnet\.pth.*not a SalFoM or UMT checkpoint.*conv1\.weight"):
        load_weights(create_model("salfom_tiny"), path)


def test_large_official_checkpoint_into_tiny_model_names_shapes():
    state = tiny_official_state(create_model("salfom_tiny"))
    state["conv_1.weight"] = torch.zeros(512, 1024, 1, 3, 3)
    with pytest.raises(CheckpointError, match=r"shapes do not fit salfom_tiny: dfd\.convs\.0\.weight \(512, 1024"):
        load_weights(create_model("salfom_tiny"), state)


def test_missing_and_unexpected_keys_are_named():
    model = create_model("salfom_tiny")
    state = tiny_official_state(model)
    del state["conv_2D_4.weight"]
    with pytest.raises(CheckpointError, match=r"missing keys for salfom_tiny: sfd\.convs\.3\.weight"):
        load_weights(model, state)
    state = tiny_official_state(model)
    state["conv_10.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"unexpected keys.*conv_10\.weight"):
        load_weights(model, state)


def test_studio_checkpoint_of_another_preset_is_refused(tmp_path):
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, create_model("salfom_tiny"))
    with pytest.raises(CheckpointError, match=r"tiny\.pt.*preset 'salfom_tiny'"):
        load_weights(create_model("salfom_l16"), path)


def test_model_input_shape_is_checked():
    with pytest.raises(ValueError, match=r"\(B, 3, 16, 224, 224\)"):
        create_model("salfom_tiny")(torch.zeros(1, 3, 8, 224, 224))


def test_registry():
    from salfom_core import list_models
    assert {"salfom_l16", "salfom_tiny"} <= set(list_models())
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        create_model("nope")


# --------------------------------------------------------------------------- files that are not checkpoints


@pytest.mark.parametrize("which, looks_like", [
    ("text", "a text file"), ("random", "unrecognised binary data"), ("png", "a PNG image"),
    ("html", "an HTML/XML page"), ("empty", "the file is empty"), ("pickle_garbage", "unreadable as PyTorch data"),
    ("zip", "unreadable as PyTorch data")])
def test_a_file_that_is_not_a_checkpoint_says_so(tmp_path, which, looks_like):
    path = not_checkpoints(tmp_path)[which]
    for attempt in (lambda: load_weights(create_model("salfom_tiny"), path), lambda: load_model(path),
                    lambda: describe_checkpoint(path)):
        with pytest.raises(CheckpointError) as err:
            attempt()
        assert str(err.value).startswith(f"{path}: not a checkpoint: {looks_like}")


# --------------------------------------------------------------------------- partial checkpoints


def test_decoder_only_official_file_is_refused_naming_the_encoder(tmp_path):
    donor = create_model("salfom_tiny")
    decoder = {k: v for k, v in tiny_official_state(donor).items() if not k.startswith("encoder.")}
    path = tmp_path / "decoder_only.pth"
    torch.save(decoder, path)
    target = create_model("salfom_tiny")
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(PartialCheckpointError, match=r"decoder_only\.pth: an official SalFoM checkpoint that "
                                                     r"leaves encoder \(UMT encoder\) untrained") as err:
        load_weights(target, path)
    assert err.value.untrained == ["encoder"]
    assert_same_state(target, before)
    report = load_weights(target, path, allow_partial=True)
    assert report.untrained == ["encoder"]
    assert_same_weights(donor, target, prefix="dfd.")
    assert_same_state(target, {k: v for k, v in before.items() if k.startswith("encoder.")})


def test_bare_state_dict_of_our_names_loads_whole_or_refuses_as_partial(tmp_path):
    donor = create_model("salfom_tiny")
    whole = tmp_path / "whole.pt"
    torch.save(donor.state_dict(), whole)      # what torch.save(model.state_dict()) writes
    model, report = load_model(whole)
    assert report.kind == "studio" and report.untrained == [] and model.cfg.name == "salfom_tiny"
    assert_same_weights(donor, model)
    encoder_only = tmp_path / "encoder_only.pt"
    torch.save({k: v for k, v in donor.state_dict().items() if k.startswith(("encoder.", "tcfe."))}, encoder_only)
    with pytest.raises(PartialCheckpointError, match="dfd.*sfd.*fusion.*untrained") as err:
        load_model(encoder_only)
    assert err.value.untrained == ["dfd", "sfd", "fusion"]


def test_load_model_refuses_a_umt_file_unless_allowed_and_finds_its_preset(tmp_path):
    donor = create_model("salfom_tiny")
    path = tmp_path / "umt_tiny.pth"
    torch.save({"model": tiny_umt_state(donor)}, path)
    with pytest.raises(PartialCheckpointError, match=r"umt_tiny\.pth: a UMT encoder checkpoint.*untrained") as err:
        load_model(path)
    assert err.value.untrained == ["tcfe", "dfd", "sfd", "fusion"]
    model, report = load_model(path, allow_partial=True)
    assert model.cfg.name == "salfom_tiny" and report.kind == "umt"
    # an official-format file of the tiny preset is recognised by its shapes (it used to be built as salfom_l16)
    official = tmp_path / "official_tiny.pth"
    torch.save({"state_dict": tiny_official_state(donor)}, official)
    model, report = load_model(official)
    assert model.cfg.name == "salfom_tiny" and report.kind == "official"
    assert_same_weights(donor, model)


def test_training_still_initialises_its_encoder_from_a_umt_file(tmp_path):
    from salfom_core.training.config import TrainConfig
    from salfom_core.training.loop import JsonLog, build_model

    donor = create_model("salfom_tiny")
    path = tmp_path / "umt_tiny.pth"
    torch.save(tiny_umt_state(donor), path)
    log_path = tmp_path / "log.jsonl"
    log = JsonLog(log_path)
    model = build_model(TrainConfig(data_root=str(tmp_path), preset="salfom_tiny", umt_checkpoint=str(path)), log)
    log.close()
    for k, v in model.state_dict().items():
        if k.startswith("encoder.blocks."):
            assert torch.equal(v, donor.state_dict()[k].half().float()), k
    assert '"kind": "umt"' in log_path.read_text()


# --------------------------------------------------------------------------- describing without loading


def test_describe_each_format(tmp_path):
    donor = create_model("salfom_tiny")
    n_params = sum(v.numel() for v in donor.state_dict().values())
    n_encoder = sum(v.numel() for k, v in donor.state_dict().items() if k.startswith("encoder."))

    official = tmp_path / "official.pth"
    torch.save({"state_dict": tiny_official_state(donor)}, official)
    info = describe_checkpoint(official)
    assert (info.kind, info.preset, info.role) == ("official", "salfom_tiny", "predict")
    assert info.fills == ["encoder", "tcfe", "dfd", "sfd", "fusion"] and info.untrained == []
    assert info.parameters == n_params and info.ignored == 2          # the Kinetics head and final_map
    assert info.sha256 == hashlib.sha256(official.read_bytes()).hexdigest()
    assert info.size == official.stat().st_size and info.training == {}

    umt = tmp_path / "umt.pth"
    torch.save(tiny_umt_state(donor), umt)
    info = describe_checkpoint(umt)
    assert (info.kind, info.preset, info.role, info.fills) == ("umt", "salfom_tiny", "encoder", ["encoder"])
    assert info.parameters == n_encoder and info.untrained == ["tcfe", "dfd", "sfd", "fusion"]

    last = tmp_path / "last.pt"
    save_checkpoint(last, donor, meta={"val_cc": 0.41}, extra={"optimizer": {"state": {}, "param_groups": []},
                                                               "epoch": 7, "step": 96, "best_cc": 0.43})
    info = describe_checkpoint(last)
    assert (info.kind, info.preset, info.role) == ("studio", "salfom_tiny", "predict")
    assert info.training == {"val_cc": 0.41, "epoch": 7, "step": 96, "best_cc": 0.43, "resumable": True}


class Compiled(torch.nn.Module):
    """What torch.compile returns, as far as names go: the model under `_orig_mod` (no compile cost)."""

    def __init__(self, model):
        super().__init__()
        self._orig_mod = model
        self.cfg = model.cfg


def test_checkpoints_of_a_compiled_model_load(tmp_path):
    torch.manual_seed(3)
    source = create_model("salfom_tiny")
    compiled = Compiled(source)
    assert next(iter(compiled.state_dict())).startswith("_orig_mod.")
    save_checkpoint(tmp_path / "compiled.pt", compiled)
    model, report = load_model(tmp_path / "compiled.pt")
    assert report.kind == "studio"
    assert_same_weights(source, model)


@pytest.mark.parametrize("damage", ["umt without a block", "official without a tensor"])
def test_a_damaged_small_file_names_its_own_preset(tmp_path, damage):
    # Their classifier heads (710 and 400 wide) made the large preset look likelier, and the
    # error said "shapes do not fit salfom_l16": a preset whose shapes never fitted the file.
    model = create_model("salfom_tiny")
    if damage == "umt without a block":
        state = {k: v for k, v in tiny_umt_state(model).items() if not k.startswith("backbone.blocks.1.")}
        expected = "missing keys for salfom_tiny: encoder.blocks.1."
    else:
        state = tiny_official_state(model)
        del state["conv_2D_6.weight"]
        expected = "missing keys for salfom_tiny"
    path = tmp_path / "damaged.pth"
    torch.save({"model": state}, path)
    for call in (lambda: load_model(path, allow_partial=True), lambda: describe_checkpoint(path)):
        with pytest.raises(CheckpointError) as info:
            call()
        assert expected in str(info.value) and "salfom_l16" not in str(info.value)
