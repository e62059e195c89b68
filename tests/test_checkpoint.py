"""Checkpoint loading: the three formats, and loud, safe refusal of everything else."""
import json
import os

import pytest
import torch

from conftest import shared_path
from salfom_core import CheckpointError, create_model, load_model, load_weights, save_checkpoint
from salfom_core.models.convert import _official_name, convert_pos_embed


def tiny_official_state(model):
    """The tiny model's weights under the official checkpoint's names (plus its unused entries)."""
    manifest = json.loads(shared_path("reference", "salfom_golden", "salfom_state_dict_manifest.json").read_text())
    ours = model.state_dict()
    state = {}
    for name, _shape, _dtype in manifest:
        mapped = _official_name(name)
        if mapped in ours:
            state[name] = ours[mapped].clone()
    state["encoder.head.weight"] = torch.zeros(400, model.cfg.embed_dim)
    state["final_map.weight"] = torch.zeros(1, 2, 1, 1)
    return state


def assert_same_weights(a, b, prefix=""):
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        if k.startswith(prefix):
            assert torch.equal(sa[k], sb[k]), k


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
    report = load_weights(target, {"module": umt})
    assert report.kind == "umt"
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
