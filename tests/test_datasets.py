"""Training sampler and validation clips in the DHF1K and Hollywood-2/UCF layouts."""
import pytest
import torch

from salfom_core.io.annotations import DatasetError
from salfom_core.io.synthetic import write_dataset
from salfom_core.training.datasets import TrainClips, ValClips


@pytest.mark.parametrize("layout, names", [("dhf1k", ["0001", "0002"]), ("ucf", ["Action-001", "Action-002"])])
def test_layouts(tmp_path, layout, names):
    root = write_dataset(tmp_path / layout, layout, {"train": 2, "val": 1})
    train = TrainClips(root, layout)
    assert [v.name for v in train.videos] == names
    clip, target = train[0]
    assert clip.shape == (3, 16, 224, 224) and target.shape == (224, 224)
    assert target.max() == pytest.approx(1.0) and target.min() >= 0
    # a new random start each epoch, the same start for the same epoch (any worker, any rank)
    starts = set()
    for epoch in range(6):
        train.set_epoch(epoch)
        first = train[0][1]
        assert torch.equal(first, train[0][1])
        starts.add(first.argmax().item())
    assert len(starts) > 1
    val = ValClips(root, layout, stride=8)
    assert [item[1] for item in val.items] == [15, 23, 31, 39]
    item = val[0]
    assert item["gt"].shape == (96, 128) and item["fixations"].sum() > 0 and item["frame"] == 15


def test_missing_split_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"val.*missing"):
        ValClips(tmp_path, "dhf1k")
