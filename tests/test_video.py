"""Video reading: metadata, exact random access, frame folders, and clear errors."""
import cv2
import numpy as np
import pytest
from conftest import shared_path

from helpers import frame_id, make_video
from salfom_core.io.video import FrameFolder, VideoOpenError, open_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("v") / "clip.mp4", n_frames=30)


def test_metadata_and_sequential_order(clip):
    with open_video(clip) as video:
        assert (video.info.frame_count, video.info.width, video.info.height, video.info.fps) == (30, 64, 48, 25.0)
        assert [frame_id(f) for _, f in video.iter_frames()] == list(range(30))


def test_random_access_is_exact_in_any_order(clip):
    with open_video(clip) as video:
        order = [17, 3, 29, 0, 11, 12, 13, 9, 22, 21, 20]
        assert [frame_id(video.read(k)) for k in order] == order
        assert [frame_id(f) for _, f in video.iter_frames(25, 28)] == [25, 26, 27]
        with pytest.raises(IndexError, match="frame 30 out of range"):
            video.read(30)


def test_real_dhf1k_video_random_access_matches_sequential():
    path = shared_path("data", "dhf1k_0002", "0002.avi")
    with open_video(path) as video:
        assert (video.info.frame_count, video.info.width, video.info.height) == (783, 640, 360)
        assert video.info.fps == pytest.approx(30.0)
        sequential = {i: f for i, f in video.iter_frames() if i in (0, 250, 251, 500, 782)}
        for k in (500, 251, 0, 782, 250):
            np.testing.assert_array_equal(video.read(k), sequential[k])


def test_frame_folder_with_mixed_extensions(tmp_path):
    images = tmp_path / "v" / "images"
    images.mkdir(parents=True)
    for k in range(1, 13):
        ext = ".jpg" if k == 11 else ".png"
        cv2.imwrite(str(images / f"{k:04d}{ext}"), np.full((24, 32, 3), 10 * k, np.uint8))
    with open_video(tmp_path / "v") as video:
        assert isinstance(video, FrameFolder) and len(video) == 12
        assert (video.info.width, video.info.height) == (32, 24)
        assert video.read(10).mean() == pytest.approx(110, abs=2)   # 0011.jpg sorts after 0010.png
        assert [i for i, _ in video.iter_frames(9, 12)] == [9, 10, 11]


def test_bad_files_raise_typed_errors_naming_them(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoOpenError, match=r"empty\.mp4.*empty"):
        open_video(empty)
    text = tmp_path / "notes.avi"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoOpenError, match=r"notes\.avi"):
        open_video(text)
    with pytest.raises(VideoOpenError, match="no such file"):
        open_video(tmp_path / "absent.mp4")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(VideoOpenError, match="no images"):
        open_video(tmp_path / "nothing")


def test_video_broken_midway_yields_the_frames_before_the_break(tmp_path):
    # MPEG-TS survives truncation: the container keeps no index at the end
    full = make_video(tmp_path / "full.ts", n_frames=60, size=(64, 48), gop=5)
    data = full.read_bytes()
    cut = tmp_path / "cut.ts"
    cut.write_bytes(data[: len(data) // 2])
    with open_video(cut) as video:
        got = [frame_id(frame) for _, frame in video.iter_frames()]
        assert "cut.ts" in video.integrity_warning and "truncated" in video.integrity_warning
    # whole frames only, in order; B-frames whose reference was cut off are missing
    assert 20 < len(got) < 60 and got[:20] == list(range(20))
    assert all(a < b for a, b in zip(got, got[1:]))
