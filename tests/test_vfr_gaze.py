"""Issue 22 B: gaze given by time lands on the frame that was on screen, by the video's
presentation timestamps, on variable-frame-rate videos (phones, screen recordings), on every path.

Truths: a clip written here with known frame times (the sample at the middle of frame k's display
interval belongs to frame k), and the real recordings of clip 0002 replayed against a clock whose
first frame lasts two frame periods (so every later frame starts 1/30 s later: a sample in frame
f >= 1 at a constant 30 fps is in frame f - 1 by that clock, one in frame 0 or 1 is in frame 0).
"""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import shared_path
from test_gaze_trackers import GAZEPOINT, MAPPED, smi_fixation_times

from helpers import frame_id, level, make_video
from salfom_core import cli
from salfom_core.aoi.figures import observer_figures
from salfom_core.io.frame_clock import FrameClock
from salfom_core.io.gaze import GazeOptions, load_gaze, read_csv, write_csv
from salfom_core.io.gaze.data import FixationEvents, GazeData
from salfom_core.io.video import open_video

# a phone-like timeline: frames of 20 ms and 50 ms in turn, then a 200 ms stall (ms from the start)
DURATIONS_MS = [20, 50] * 10 + [200] + [33] * 9


def starts_ms() -> np.ndarray:
    return np.concatenate([[0], np.cumsum(DURATIONS_MS)[:-1]])


def make_vfr_video(path, size=(64, 48)):
    """An MP4 whose frame k is grey at level(k) and starts at starts_ms()[k] (time base 1/1000)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        stream.options = {"crf": "1"}
        for k, pts in enumerate(starts_ms()):
            image = np.full((size[1], size[0], 3), level(k), np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = int(pts), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def middles_s() -> np.ndarray:
    return (starts_ms() + np.array(DURATIONS_MS) / 2) / 1000


@pytest.fixture()
def vfr(tmp_path):
    return make_vfr_video(tmp_path / "phone.mp4")


# --------------------------------------------------------------------------- the clock of a video


def test_a_variable_rate_video_has_its_frames_start_times(vfr):
    with open_video(vfr) as video:
        clock = video.clock
        assert clock.variable
        np.testing.assert_allclose(clock.starts, starts_ms() / 1000)
        # the frames decoded are the frames the clock times
        assert [frame_id(video.read(k)) for k in (0, 1, 20, 21)] == [0, 1, 20, 21]
        np.testing.assert_array_equal(clock.frame_at(middles_s()), np.arange(len(DURATIONS_MS)))
        # a time late in the 200 ms stall (0.70 to 0.90 s) is still frame 20 (30 fps would say 26)
        assert clock.frame_at([0.87])[0] == 20
        assert clock.frame_at([-0.001, np.nan, np.inf])[0:3].tolist() == [-1, -1, -1]


def test_info_says_the_frame_rate_is_variable(vfr, tmp_path, capsys):
    import json

    def info(path):
        assert cli.main(["info", str(path)]) == 0
        return json.loads(capsys.readouterr().out)

    assert info(vfr)["frame_rate"].startswith("variable frame rate (5 to 50 fps)")
    assert info(make_video(tmp_path / "even.mp4", fps=25))["frame_rate"] == "constant 25 fps"


def test_constant_rate_videos_keep_floor_fps_t(tmp_path):
    with open_video(make_video(tmp_path / "even.mp4", fps=25)) as video:
        assert not video.clock.variable and video.clock.fps == video.info.fps == 25
    t = np.array([0.0, 0.039999, 0.04, 1.0, 100000 * 1e-6])
    np.testing.assert_array_equal(FrameClock(25).frame_at(t), [0, 0, 1, 25, 2])
    # dropped frames: every frame a player shows counts, so after a gap frame k is no longer k / fps
    with open_video(make_video(tmp_path / "dropped.mp4", fps=25, drop_after=(4,))) as video:
        assert video.clock.variable
        assert video.clock.frame_at([5 / 25 + 0.001, 6 / 25 + 0.001]).tolist() == [4, 5]


def test_avi_and_frame_folders_are_constant(tmp_path):
    video = shared_path("data", "dhf1k_0002", "0002.avi")
    if not video.exists():
        pytest.skip("the shared clip is absent")
    with open_video(video) as source:
        assert not source.clock.variable and source.clock.fps == 30


# --------------------------------------------------------------------------- every path by time


def write_times_csv(path, times, xs, ys, observer="P1"):
    path.write_text("time_s,x,y,observer\n" + "".join(f"{float(t)!r},{x},{y},{observer}\n" for t, x, y in zip(times, xs, ys)))
    return path


def test_plain_csv_by_time_follows_the_timestamps(vfr, tmp_path):
    n = len(DURATIONS_MS)
    gaze_csv = write_times_csv(tmp_path / "g.csv", middles_s(), np.arange(n) + 10.0, np.full(n, 20.0))
    with open_video(vfr) as video:
        gaze = load_gaze(gaze_csv, (64, 48), len(video), video.clock)
    assert gaze.frame.tolist() == list(range(n))
    np.testing.assert_array_equal(gaze.x, np.arange(n) + 10.0)
    # at a constant 30 fps most of them would be off (the bug)
    wrong = read_csv(gaze_csv, (64, 48), 10 * n, 30.0)
    assert len(wrong) == n and (wrong.frame != np.arange(n)).sum() > n / 2
    # written back, a frame's time is when the clock starts it, and reads back to the same frames
    out = tmp_path / "back.csv"
    write_csv(gaze, out)
    rows = np.genfromtxt(out, delimiter=",", names=True, comments="#")
    np.testing.assert_allclose(rows["time_s"], starts_ms() / 1000)


def shifted_clock(n_frames: int) -> FrameClock:
    """30 fps except frame 0, which lasts 2/30 s."""
    return FrameClock(30.0, np.concatenate([[0.0], (np.arange(1, n_frames) + 1) / 30]))


def as_rows(gaze: GazeData) -> np.ndarray:
    rows = np.c_[gaze.frame, gaze.observer, gaze.x, gaze.y]
    return rows[np.lexsort(rows.T[::-1])]


def boundary_points() -> np.ndarray:
    """Positions (x, y) of the SMI fixation samples lying on a frame boundary (t = k/30 within 1 us):
    floating point puts those on either side of it, by either rule."""
    times = smi_fixation_times()
    near = [np.c_[x, y][np.abs(t * 30 - np.round(t * 30)) < 30e-6] for t, x, y in times.values()]
    return np.concatenate(near)


def without(rows: np.ndarray, points: np.ndarray) -> np.ndarray:
    close = np.abs(rows[:, None, 2:] - points[None, :, :]).max(axis=2).min(axis=1) < 0.01
    return rows[~close]


SHARED_BY_TIME = [("gaze", GazeOptions()), ("exports/tobii_prolab_0002.tsv", GazeOptions(video_name="0002.avi"))]


@pytest.mark.parametrize("relative, options", SHARED_BY_TIME, ids=["smi", "tobii"])
def test_real_exports_by_time_follow_the_clock(relative, options):
    path = shared_path("data", "dhf1k_0002", *relative.split("/"))
    if not path.exists():
        pytest.skip("the shared recordings are absent")
    n = 783
    # the shifted clock's last frame ends at (n + 1) / 30: what 30 fps puts in frame n is in its frame n - 1
    constant = load_gaze(path, (640, 360), n + 1, 30.0, options=options)
    shifted = load_gaze(path, (640, 360), n, shifted_clock(n), options=options)
    assert shifted.fps == 30.0 and shifted.clock.variable
    want = np.c_[np.maximum(constant.frame - 1, 0), constant.observer, constant.x, constant.y]
    got, want = as_rows(shifted), want[np.lexsort(want.T[::-1])]
    edge = boundary_points()
    np.testing.assert_array_equal(without(got, edge), without(want, edge))
    assert len(without(got, edge)) > 0.99 * len(got)


@pytest.mark.parametrize("relative", ["exports/eyelink", "exports/pupil_neon"], ids=["eyelink-vframe", "neon-world"])
def test_exports_with_their_own_frame_times_ignore_the_clock(relative):
    """EyeLink's VFRAME messages and Neon's scene-video timestamps say the frame themselves."""
    path = shared_path("data", "dhf1k_0002", *relative.split("/"))
    if not path.exists():
        pytest.skip("the shared recordings are absent")
    options = GazeOptions(video_name="0002.avi")
    constant = load_gaze(path, (640, 360), 783, 30.0, options=options)
    shifted = load_gaze(path, (640, 360), 783, shifted_clock(783), options=options)
    np.testing.assert_array_equal(as_rows(shifted), as_rows(constant))


def test_gazepoint_and_mapped_csv_follow_the_clock(tmp_path):
    gp = tmp_path / "User 0_all_gaze.csv"
    gp.write_text(GAZEPOINT)
    # clip.mp4 starts at TIME 1.00; samples at 0, 0.05 and 0.20 s: constant 30 fps frames 0, 1, 6
    options = GazeOptions(video_name="clip.mp4")
    constant = load_gaze(gp, (160, 90), 10, 30.0, options=options)
    shifted = load_gaze(gp, (160, 90), 10, shifted_clock(10), options=options)
    assert constant.frame.tolist() == [0, 1, 6] and shifted.frame.tolist() == [0, 0, 5]
    mapped = tmp_path / "lab.csv"
    mapped.write_text(MAPPED)
    columns = {"time": "t_ms", "x": "gx", "y": "gy", "observer": "subject", "fixation": "label"}
    options = GazeOptions(columns=columns)
    constant = load_gaze(mapped, (100, 50), 10, 30.0, options=options)
    shifted = load_gaze(mapped, (100, 50), 10, shifted_clock(10), options=options)
    assert constant.frame.tolist() == [0, 0, 1] and shifted.frame.tolist() == [0, 0, 0]


# --------------------------------------------------------------------------- the callers


def test_gaze_convert_places_time_by_the_videos_timestamps(vfr, tmp_path):
    n = len(DURATIONS_MS)
    gaze_csv = write_times_csv(tmp_path / "g.csv", middles_s(), np.full(n, 10.0), np.full(n, 20.0))
    out = tmp_path / "frames.csv"
    assert cli.main(["gaze-convert", str(gaze_csv), "--video", str(vfr), "-o", str(out)]) == 0
    rows = np.genfromtxt(out, delimiter=",", names=True, comments="#")
    assert rows["frame"].astype(int).tolist() == list(range(n))


def test_aoi_fixation_events_start_in_the_frame_the_clock_says():
    """AOI_SPEC: a fixation belongs to the frame it starts in; by time, that is the clock's frame,
    and an AOI's onset is when the clock starts its first frame."""
    from salfom_core.aoi.figures import AoiGeometry
    from salfom_core.aoi.keyframes import AOI, Keyframe

    n, box = 10, ((0, 0), (10, 10))
    # "second" is on in frame 2 only (1-based), "late" from frame 2 on
    second = AOI("second", "rect", [Keyframe(2, True, box), Keyframe(3, False, ())])
    late = AOI("late", "rect", [Keyframe(2, True, box)])
    # fixations at 0.05 s (30 fps: frame 2; clock: frame 1) and 0.1 s (30 fps: frame 4; clock: frame 3)
    events = FixationEvents(np.array([0, 0]), np.array([0.05, 0.1]), np.array([0.02, 0.1]), np.full(2, 5.0),
                            np.full(2, 5.0))

    def figures(aoi, fps_or_clock):
        gaze = GazeData(np.array([0]), np.array([5.0]), np.array([5.0]), np.array([0]), ["P1"], n, (20, 20),
                        fps_or_clock, events=events)
        return observer_figures(AoiGeometry(aoi, n, (20, 20)), gaze)[0]

    assert figures(second, 30.0).fixations == 1 and figures(second, shifted_clock(n)).fixations == 0
    # onset: frame 2 starts at 1/30 s at 30 fps (first hit 50 ms), at 2/30 s by the clock (first hit 100 ms)
    assert figures(late, 30.0).ttff_from_onset_ms == pytest.approx(50 - 1000 / 30)
    assert figures(late, shifted_clock(n)).ttff_from_onset_ms == pytest.approx(100 - 2000 / 30)


def test_the_app_places_gaze_by_the_videos_timestamps(qtbot, window, vfr, tmp_path):
    n = len(DURATIONS_MS)
    gaze_csv = write_times_csv(tmp_path / "g.csv", middles_s(), np.arange(n) + 10.0, np.full(n, 20.0))
    assert window.open_video(vfr, gaze=str(gaze_csv))
    gaze = window.state.gaze
    assert gaze.frame.tolist() == list(range(n)) and gaze.clock.variable
    # the app's time of a frame is its timestamp: frame 20 (the 200 ms stall) starts at 0.70 s, not 20/30 s
    assert window.state.time_s(20) == pytest.approx(0.70)


def test_playback_holds_each_frame_as_long_as_its_timestamps_say(qtbot, window, vfr):
    assert window.open_video(vfr)
    playback, state = window.playback, window.state
    assert [playback.interval_ms(k) for k in (0, 1, 20, 21)] == [20, 50, 200, 33]
    state.set_speed(2.0)
    assert playback.interval_ms(20) == 100
    state.set_frame(19)
    state.set_playing(True)
    qtbot.waitUntil(lambda: state.frame == 20, timeout=2000)
    assert playback.timer.interval() == 100         # the stall frame, at double speed
    state.set_playing(False)


def test_an_overlay_video_keeps_the_frames_timestamps(vfr, tmp_path):
    from salfom_core.io.export import write_overlay_video

    out = tmp_path / "overlay.mp4"
    with open_video(vfr) as video:
        write_overlay_video(video, lambda _i: np.full((48, 64), 128, np.uint8), out)
    with open_video(out) as overlay:
        assert len(overlay) == len(DURATIONS_MS)
        np.testing.assert_allclose(overlay.clock.starts, starts_ms() / 1000, atol=1e-4)
