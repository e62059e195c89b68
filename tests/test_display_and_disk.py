"""Real paths, round 3 (issue 22, part): phone video upright, anamorphic video at its display
aspect, the default stream of a multi-stream file, frame folders of mixed sizes, a named pipe,
digit-like observer names, a full disk named. Every file is made by the test."""
import errno
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from salfom_core import cli
from salfom_core.errors import DiskFullError
from salfom_core.io import disk
from salfom_core.io.atomic import atomic_write_bytes
from salfom_core.io.gaze import load_gaze
from salfom_core.io.video import VideoDecodeError, open_video

ROOT = Path(__file__).resolve().parents[1]


def marked_frame(w: int = 64, h: int = 32) -> np.ndarray:
    """Black, a white square at the top-left corner and a red one at the bottom-left."""
    image = np.zeros((h, w, 3), np.uint8)
    image[:8, :8] = 255
    image[-8:, :8, 0] = 255
    return image


def write_clip(path: Path, image: np.ndarray, n: int = 3, rotation: int = 0, aspect: Fraction | None = None) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)       # as a phone stores a portrait recording
        if aspect:
            stream.codec_context.sample_aspect_ratio = aspect
        for _ in range(n):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def white_corner(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(image.min(axis=2) > 200)
    return int(rows.mean().round()), int(cols.mean().round())


# the display matrix turns the stored picture counterclockwise by its angle (FFmpeg's autorotate):
# the white top-left square then stands at these corners of the upright picture (64x32 stored)
UPRIGHT = {0: ((64, 32), (4, 4)), 90: ((32, 64), (60, 4)), 180: ((64, 32), (28, 60)), 270: ((32, 64), (4, 28))}


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_rotated_phone_clip_is_read_upright(tmp_path, rotation):
    path = write_clip(tmp_path / f"phone{rotation}.mp4", marked_frame(), rotation=rotation)
    (width, height), corner = UPRIGHT[rotation]
    with open_video(path) as video:
        assert (video.info.width, video.info.height, video.info.rotation) == (width, height, rotation)
        frame = video.read(1)
        assert frame.shape == (height, width, 3)
        assert white_corner(frame) == corner
        assert [f.shape for _, f in video.iter_frames()] == [(height, width, 3)] * 3


def test_info_says_the_rotation_and_predictions_are_upright(tmp_path, capsys):
    path = write_clip(tmp_path / "portrait.mp4", marked_frame(), rotation=90)
    assert cli.main(["info", str(path)]) == 0
    info = capsys.readouterr().out
    assert '"rotation": 90' in info and '"width": 32' in info and '"coded_size": [64, 32]' in info
    out = tmp_path / "out"
    assert cli.main(["predict", str(path), "-c", "center-bias", "-o", str(out), "--cache", str(tmp_path / "c"),
                     "-q"]) == 0
    from salfom_core.io.files import read_grey
    assert read_grey(out / "portrait" / "0001.png").shape == (64, 32)      # portrait, as shown


def test_an_anamorphic_clip_is_shown_at_its_display_aspect(tmp_path):
    path = write_clip(tmp_path / "dv.mp4", np.full((48, 72, 3), 90, np.uint8), aspect=Fraction(64, 45))
    with open_video(path) as video:
        assert (video.info.width, video.info.height) == (102, 48)         # 72 * 64/45 = 102.4
        assert video.info.coded_size == (72, 48)
        assert video.read(0).shape == (48, 102, 3)


def test_the_default_stream_is_taken_not_the_first(tmp_path):
    """An MKV whose first stream is a one-frame picture (a cover): FFmpeg plays the second."""
    path = tmp_path / "two.mkv"
    with av.open(str(path), "w") as container:
        cover = container.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 16, 16, "yuvj420p"
        main = container.add_stream("mpeg4", rate=30)
        main.width, main.height, main.pix_fmt = 64, 48, "yuv420p"
        for packet in cover.encode(av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")):
            container.mux(packet)
        for stream, frames in ((cover, []), (main, range(30))):
            for k in frames:
                image = np.full((48, 64, 3), 8 * k, np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    with open_video(path) as video:
        assert (len(video), video.info.width, video.info.stream) == (30, 64, 1)
        assert video.integrity_warning is None
        assert abs(float(video.read(20).mean()) - 160) < 6


def test_a_frame_folder_of_mixed_sizes_names_the_odd_frame(tmp_path):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), np.zeros((48, 32, 3), np.uint8))      # portrait
    cv2.imwrite(str(folder / "0002.png"), np.zeros((32, 48, 3), np.uint8))      # landscape
    with open_video(folder) as video:
        assert video.read(0).shape == (48, 32, 3)
        with pytest.raises(VideoDecodeError, match=r"0002\.png: frame 2 is 48x32 but .* first frame is 32x48"):
            video.read(1)


def test_info_on_a_named_pipe_answers_at_once(tmp_path):
    fifo = tmp_path / "stream.mp4"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "salfom_core", "info", str(fifo)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"salfom info: error: {fifo}: not a regular file (a named pipe, socket or device)"


def test_an_observer_named_with_a_digit_like_character_is_read(tmp_path):
    csv = tmp_path / "gaze.csv"
    csv.write_text("frame,x,y,observer\n0,10,10,①\n0,20,20,P2\n1,30,30,P10\n")
    gaze = load_gaze(csv, (64, 48), 2)
    assert gaze.observers == ["①", "P2", "P10"] or gaze.observers == ["P2", "P10", "①"]
    assert sorted(gaze.observer_name(int(o)) for o in gaze.observer) == ["P10", "P2", "①"]


def test_a_full_disk_names_the_folder_it_was_writing(tmp_path, monkeypatch):
    def full(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFullError, match=f"{tmp_path / 'out'}: the disk is full.*maps.json"):
        atomic_write_bytes(tmp_path / "out" / "maps.json", b"{}")
    assert not list((tmp_path / "out").iterdir())         # no temporary left behind


def test_a_job_checks_the_cache_space_first_and_says_which_folder(tmp_path, monkeypatch, capsys):
    video = write_clip(tmp_path / "clip.mp4", marked_frame(), n=5)
    cache = tmp_path / "cache"
    real = disk.shutil.disk_usage
    monkeypatch.setattr(disk.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=1000) if str(p).startswith(str(cache)) else real(p))
    assert cli.main(["predict", str(video), "-c", "center-bias", "-o", str(tmp_path / "out"), "--cache", str(cache),
                     "-q"]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith(f"salfom predict: error: {cache}") and "not enough free space" in line
    assert "it needs about 10.2 KB, 1.0 KB free" in line           # 5 frames of 64x32


def test_infinite_time_or_frame_is_a_malformed_row_not_a_traceback(tmp_path, capsys):
    by_frame = tmp_path / "frames.csv"
    by_frame.write_text("frame,x,y,observer\n0,10,10,a\ninf,20,20,a\n1e400,5,5,a\n1,30,30,a\n")
    by_time = tmp_path / "times.csv"
    by_time.write_text("time_s,x,y,observer\n0,10,10,a\n-inf,20,20,a\n0.04,30,30,a\n")
    for path, skipped in ((by_frame, 2), (by_time, 1)):
        gaze = load_gaze(path, (64, 48), 5)
        assert (len(gaze), gaze.skipped) == (2, skipped)
        assert gaze.frame.tolist() == [0, 1]
    assert cli.main(["gaze-convert", str(by_frame), "--size", "64x48", "--frames", "5",
                     "-o", str(tmp_path / "out.csv")]) == 0
    assert "(2 malformed rows skipped)" in capsys.readouterr().err


def test_units_are_guessed_per_file_and_mixed_units_name_the_first_line(tmp_path, capsys):
    fractions = tmp_path / "fractions.csv"
    fractions.write_text("# from a tracker\nframe,x,y\n0,0.5,0.5\n1,0.25,0.75\n")
    gaze = load_gaze(fractions, (64, 48), 5)
    assert gaze.x.tolist() == [32.0, 16.0] and gaze.y.tolist() == [24.0, 36.0]
    assert gaze.warnings == [f"{fractions}: every coordinate lies within 0..1: read as fractions of the frame"]
    pixels = tmp_path / "pixels.csv"            # a pixel file may touch its top-left pixel
    pixels.write_text("frame,x,y\n0,0.5,0.5\n1,40,30\n2,20,10\n")
    assert load_gaze(pixels, (64, 48), 5).x.tolist() == [0.5, 40.0, 20.0]
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("# c\nframe,x,y\n0,0.5,0.5\n# later\n1,0.2,0.3\n2,40,30\n")
    assert cli.main(["gaze-convert", str(mixed), "--size", "64x48", "--frames", "5",
                     "-o", str(tmp_path / "out.csv")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"salfom gaze-convert: error: {mixed}: mixed units: 2 of 3 samples are fractions of the frame (0..1) "
        "but line 6 is not (x 40, y 30); give every row in one unit")
