"""Checkpoint files in the three formats, made in the test (the official and UMT layouts by
their names, our own by save_checkpoint), and files that are not checkpoints at all."""
import json

import numpy as np
import torch
from conftest import shared_path

# salfom_tiny's modules under the official checkpoint's names, written out here (not made by the
# converter under test): the reference implementation's names as the spec and the official
# manifest give them, numbered from 1 where it numbers from 1 (transformer_N, conv_N,
# conv_tN_M, conv_2D_N); the parameter names inside each module are the same in both.
TINY_OFFICIAL_MODULES = {
    "encoder.patch_embed.proj": "encoder.patch_embed",
    "encoder.blocks.0": "encoder.blocks.0",
    "encoder.blocks.1": "encoder.blocks.1",
    "transformer_1.patch_embed.proj": "tcfe.stages.0.patch_embed",
    "transformer_1.layers.0.blocks.0": "tcfe.stages.0.blocks.0",
    "transformer_1.layers.0.blocks.1": "tcfe.stages.0.blocks.1",
    "transformer_2.patch_embed.proj": "tcfe.stages.1.patch_embed",
    "transformer_2.layers.0.blocks.0": "tcfe.stages.1.blocks.0",
    "transformer_2.layers.0.blocks.1": "tcfe.stages.1.blocks.1",
    "transformer_3.patch_embed.proj": "tcfe.stages.2.patch_embed",
    "transformer_3.layers.0.blocks.0": "tcfe.stages.2.blocks.0",
    "transformer_3.layers.0.blocks.1": "tcfe.stages.2.blocks.1",
    "conv_1": "dfd.convs.0", "conv_2": "dfd.convs.1", "conv_3": "dfd.convs.2",
    "conv_4": "dfd.convs.3", "conv_5": "dfd.convs.4", "conv_6": "dfd.convs.5",
    "conv_7": "fusion.convs.0", "conv_8": "fusion.convs.1", "conv_9": "fusion.convs.2",
    "conv_t1_1": "sfd.time_collapse.0", "conv_t1_2": "sfd.time_collapse.1",
    "conv_t1_3": "sfd.time_collapse.2", "conv_t1_4": "sfd.time_collapse.3",
    "conv_t2_1": "sfd.from_dfd_coarse.0", "conv_t2_2": "sfd.from_dfd_coarse.1", "conv_t2_3": "sfd.from_dfd_coarse.2",
    "conv_t3_1": "sfd.from_dfd_fine.0", "conv_t3_2": "sfd.from_dfd_fine.1",
    "conv_2D_1": "sfd.convs.0", "conv_2D_2": "sfd.convs.1", "conv_2D_3": "sfd.convs.2",
    "conv_2D_4": "sfd.convs.3", "conv_2D_5": "sfd.convs.4", "conv_2D_6": "sfd.convs.5",
    "conv_2D_7": "sfd.convs.6", "conv_2D_8": "sfd.convs.7", "conv_2D_9": "sfd.convs.8",
}


def official_manifest() -> list:
    return json.loads(shared_path("reference", "salfom_golden", "salfom_state_dict_manifest.json").read_text())


def official_name(ours: str) -> str:
    """The official checkpoint's name of one of salfom_tiny's entries (from the table above)."""
    if ours == "encoder.pos_embed":
        return ours
    found = [official + ours[len(module):] for official, module in TINY_OFFICIAL_MODULES.items()
             if ours.startswith(module + ".")]
    assert len(found) == 1, (ours, found)
    return found[0]


def tiny_official_state(model):
    """The tiny model's weights under the official checkpoint's names (plus its unused entries)."""
    state = {official_name(name): value.clone() for name, value in model.state_dict().items()}
    state["encoder.head.weight"] = torch.zeros(400, model.cfg.embed_dim)
    state["final_map.weight"] = torch.zeros(1, 2, 1, 1)
    return state


def tiny_umt_state(model, pos_frames: int = 8):
    """The tiny model's encoder as a UMT classification checkpoint has it: `backbone.` names,
    `patch_embed.proj`, float16, an 8-frame pos_embed and a Kinetics head."""
    cfg = model.cfg
    umt = {"backbone." + k[len("encoder."):]: v.half() for k, v in model.state_dict().items()
           if k.startswith("encoder.") and k != "encoder.pos_embed"}
    umt = {k.replace("backbone.patch_embed.", "backbone.patch_embed.proj."): v for k, v in umt.items()}
    umt["backbone.pos_embed"] = torch.randn(1, pos_frames * cfg.grid * cfg.grid, cfg.embed_dim).half()
    umt["backbone.head.weight"] = torch.zeros(710, cfg.embed_dim)
    umt["backbone.fc_norm.weight"] = torch.ones(cfg.embed_dim)
    return umt


def full_size_official_file(path, filled: bool = False):
    """Every entry of the official DHF1K checkpoint under its official name and full shape (the
    reference's manifest; 1.6 GB on disk), written as TMFI-Net's trainer saves it. Installing and
    describing read names and shapes only, so the values are zeros unless `filled` (the golden
    fill rule: 35 s more on a 2-core CPU)."""
    if filled:
        from fill_rule import official_state_dict
        state = official_state_dict(official_manifest())
    else:
        state = {name: torch.zeros(shape) for name, shape, _dtype in official_manifest()
                 if not name.endswith("relative_position_index")}
    torch.save({"state_dict": state}, path)
    return path


def not_checkpoints(folder) -> dict:
    """Files a user might pick by mistake: name -> path."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["text"] = folder / "notes.pth"
    files["text"].write_text("hello, these are not weights\n")
    files["random"] = folder / "random.pth"
    files["random"].write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    files["png"] = folder / "image.pth"
    cv2.imwrite(str(folder / "image.png"), np.zeros((8, 8, 3), np.uint8))
    files["png"].write_bytes((folder / "image.png").read_bytes())
    files["html"] = folder / "download.pth"
    files["html"].write_text("<!DOCTYPE html><html><body>Sign in to SharePoint</body></html>")
    files["empty"] = folder / "empty.pth"
    files["empty"].write_bytes(b"")
    # starts like a pickle (0x80), then garbage: reaches the unpickler
    files["pickle_garbage"] = folder / "garbage.pth"
    files["pickle_garbage"].write_bytes(b"\x80\x02" + bytes(range(256)) * 4)
    # a zip archive that torch did not write
    import zipfile
    files["zip"] = folder / "archive.pth"
    with zipfile.ZipFile(files["zip"], "w") as z:
        z.writestr("readme.txt", "not a checkpoint")
    return files
