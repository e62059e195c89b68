"""Damaged and odd video files: every decodable frame comes out, and what is wrong is said.

Each file is made here from a sound one; the truth (which frames survive) comes from the
sound file's packets, not from the reader under test.
"""
import av
import pytest

from helpers import frame_id, make_video
from salfom_core.io.video import VideoOpenError, open_video

N = 60


def ids(video) -> list[int]:
    return [frame_id(f) for _, f in video.iter_frames()]


def level_ids(n: int) -> list[int]:
    """frame_id() of frames 0..n-1 (grey levels repeat every 30 frames)."""
    return [k % 30 for k in range(n)]


def complete_packets(path, cut: int) -> int:
    """Frames of a sound file whose packet lies wholly in its first `cut` bytes."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for p in container.demux(stream) if p.size and p.pos + p.size <= cut)


@pytest.fixture(scope="module")
def sound(tmp_path_factory):
    """Sound 60-frame files with texture (realistic packet sizes), one per container."""
    folder = tmp_path_factory.mktemp("sound")
    return {ext: make_video(folder / f"clip.{ext}", n_frames=N, size=(128, 96), gop=5, texture=True)
            for ext in ("mp4", "mkv", "avi", "ts")}


def test_dropped_timestamps_keep_every_frame(tmp_path):
    # a 99-frame MP4 with one missing timestamp (a dropped frame) opened as 10 frames before
    path = make_video(tmp_path / "phone.mp4", n_frames=99, drop_after=(9,))
    with open_video(path) as video:
        assert len(video) == 99 and video.declared_frames == 99
        assert ids(video) == level_ids(99)
        assert [frame_id(video.read(k)) for k in (98, 10, 9, 50)] == [98 % 30, 10, 9, 50 % 30]
        assert video.info.fps == pytest.approx(25.0)    # the frame step, not 99 frames / 4 s
        warning = video.integrity_warning
    assert "phone.mp4" in warning and "1 frame missing from the timeline" in warning
    assert "after frame 9" in warning and "only" not in warning


def test_dropped_frame_in_avi_is_not_reported_as_a_short_file(tmp_path):
    # AVI counts the dropped frame in its header: 99 frames read of 100 slots is complete
    path = make_video(tmp_path / "webcam.avi", n_frames=99, drop_after=(40,))
    with open_video(path) as video:
        assert len(video) == 99 and ids(video) == level_ids(99)
        assert "only" not in video.integrity_warning
        assert "1 frame missing from the timeline" in video.integrity_warning


def test_sound_files_have_no_warning(sound):
    for path in sound.values():
        with open_video(path) as video:
            assert len(video) == N and ids(video) == level_ids(N)
            assert video.integrity_warning is None, video.integrity_warning


@pytest.mark.parametrize("fraction", [0.1, 0.4, 0.5])
@pytest.mark.parametrize("ext", ["avi", "mkv"])
def test_cut_file_yields_its_whole_frames_and_says_only_n_of_m(sound, tmp_path, ext, fraction):
    data = sound[ext].read_bytes()
    cut = int(len(data) * fraction)
    path = tmp_path / f"cut.{ext}"
    path.write_bytes(data[:cut])
    expected = complete_packets(sound[ext], cut)
    with open_video(path) as video:
        assert len(video) == expected and 0 < expected < N
        assert ids(video) == level_ids(expected)
        assert frame_id(video.read(expected - 1)) == (expected - 1) % 30
        assert frame_id(video.read(0)) == 0
        assert f"cut.{ext}: only {expected} of {N} frames" in video.integrity_warning


@pytest.mark.parametrize("fraction", [0.1, 0.4, 0.5])
def test_cut_transport_stream_says_truncated(sound, tmp_path, fraction):
    # MPEG-TS declares no frame count: the cut shows in the stream's last, partial packet
    data = sound["ts"].read_bytes()
    path = tmp_path / "cut.ts"
    path.write_bytes(data[:int(len(data) * fraction)])
    with open_video(path) as video:
        got = ids(video)
        warning = video.integrity_warning
    assert 0 < len(got) < N and got[0] == 0
    assert all(a < b for a, b in zip(got, got[1:]))     # whole frames only, in order, no garbage
    assert "cut.ts" in warning and "truncated" in warning


def test_corruption_in_the_middle_keeps_the_frames_around_it(sound, tmp_path):
    data = bytearray(sound["mp4"].read_bytes())
    middle, span = len(data) // 2, len(data) // 50
    data[middle:middle + span] = bytes(span)
    path = tmp_path / "bad.mp4"
    path.write_bytes(data)
    with av.open(str(sound["mp4"])) as container:     # frames whose bytes the damage hits
        hit = [p.pts for p in container.demux(container.streams.video[0])
               if p.size and p.pos < middle + span and p.pos + p.size > middle]
    with open_video(path) as video:
        assert len(video) == N
        got = ids(video)
        warning = video.integrity_warning
        lost = sorted(video.lost_frames | video.damaged_frames)
    assert lost, "the damage must be noticed"
    first_bad, last_bad = lost[0], lost[-1]
    assert got[:first_bad] == level_ids(N)[:first_bad]              # before the damage: exact
    assert got[-10:] == level_ids(N)[-10:]                          # after the next keyframes: exact
    assert len(hit) >= 1 and last_bad - first_bad < 10
    assert "bad.mp4" in warning and ("could not be decoded" in warning or "decoded with errors" in warning)


def test_zeroed_header_is_not_a_silent_frame_rate(sound, tmp_path):
    # the made clip is 25 fps; make a 30 fps one so a guessed 25 would be wrong
    sound30 = make_video(tmp_path / "clip30.avi", n_frames=N, size=(128, 96), fps=30, gop=5, texture=True)
    data = bytearray(sound30.read_bytes())
    data[:512] = bytes(512)
    path = tmp_path / "zeroed.avi"
    path.write_bytes(data)
    with open_video(path) as video:
        assert len(video) == N and ids(video) == level_ids(N)
        assert [frame_id(video.read(k)) for k in (45, 3, 44)] == [15, 3, 14]
        warning = video.integrity_warning
        fps = video.info.fps
    assert "zeroed.avi" in warning and "frame rate unknown" in warning and f"assuming {fps:g} fps" in warning


def test_mkv_missing_frames_in_the_middle_are_reported(sound, tmp_path):
    data = bytearray(sound["mkv"].read_bytes())
    middle, span = len(data) // 2, len(data) // 50
    data[middle:middle + span] = bytes(span)
    path = tmp_path / "hole.mkv"
    path.write_bytes(data)
    with open_video(path) as video:
        assert 0 < len(video) < N
        got = ids(video)
        assert got[:20] == level_ids(20) and got[-5:] == level_ids(N)[-5:]
        assert "hole.mkv" in video.integrity_warning and "missing from the timeline" in video.integrity_warning


@pytest.mark.parametrize("damage", ["cut", "zeroed header"])
def test_unreadable_mp4_says_why(sound, tmp_path, damage):
    # an MP4 written in one pass keeps its index at the end: cut, nothing can be read
    data = bytearray(sound["mp4"].read_bytes())
    if damage == "cut":
        data = data[:len(data) // 2]
    else:
        data[:512] = bytes(512)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    with pytest.raises(VideoOpenError, match=r"clip\.mp4: not a readable video .*MP4 cut short"):
        open_video(path)
