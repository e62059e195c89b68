"""Overlays show the fixations the way the view draws them (issue 14)."""
import av
import numpy as np

from salfom_core.cli import main as cli_main
from salfom_core.io.export import overlay_frame
from salfom_core.io.overlay import observer_colour

FRAME = np.full((120, 160, 3), 60, np.uint8)
MAP = np.zeros((120, 160), np.uint8)
MAP[50:70, 70:90] = 255                      # a hot square


def test_markers_change_the_frame_only_around_the_fixations_and_keep_the_peak_visible():
    xs, ys, obs = np.array([80.5, 20.0]), np.array([60.5, 100.0]), np.array([0, 3])
    plain = overlay_frame(FRAME, MAP, "jet", 1.0)
    marked = overlay_frame(FRAME, MAP, "jet", 1.0, 0.0, (xs, ys, obs))
    changed = np.any(marked != plain, axis=-1)
    yy, xx = np.mgrid[:120, :160]
    near = np.zeros_like(changed)
    for x, y in zip(xs - 1, ys - 1):
        near |= np.hypot(xx - x, yy - y) <= 7 + 4          # radius 7 (size 14), the outline, rounding
    assert changed.any() and not (changed & ~near).any()
    assert np.array_equal(marked[60, 80], plain[60, 80])     # a ring: the peak under its centre stays
    ring = marked[60, 80 + 7]
    assert np.abs(ring.astype(int) - observer_colour(0)).max() < 60      # the observer's colour on the ring
    dot = overlay_frame(FRAME, MAP, "jet", 1.0, 0.0, (xs, ys, obs), marker_style="dot")
    assert not np.array_equal(dot[60, 80], plain[60, 80])    # a dot covers it


def test_predict_overlay_with_gaze_draws_the_fixations(tmp_path):
    from helpers import make_video

    video = make_video(tmp_path / "clip.mp4", n_frames=6, size=(160, 120))
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{k},40,40,S1\n" for k in range(6)))
    runs = {}
    for name, extra in (("plain", []), ("gaze", ["--gaze", str(gaze)])):
        out = tmp_path / name
        assert cli_main(["predict", str(video), "-c", "center-bias", "-o", str(out), "--overlay", "-q",
                         "--cache", str(tmp_path / "cache"), *extra]) == 0
        with av.open(str(out / "clip_overlay.mp4")) as container:
            runs[name] = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    diff = np.abs(runs["gaze"] - runs["plain"]).sum(-1)
    assert diff[28:52, 28:52].max() > 100                    # the ring around (40, 40)
    assert diff[70:, 90:].max() < 30                         # far from it: the same frame (codec noise only)
    assert cli_main(["predict", str(video), str(video), "-c", "center-bias", "-o", str(tmp_path / "x"),
                     "--overlay", "--gaze", str(gaze)]) == 2


def test_one_marker_per_observer_at_the_median_of_its_samples():
    from salfom_core.io.overlay import one_per_observer

    xs, ys, obs = one_per_observer([10, 12, 50, 11, 7], [20, 22, 60, 21, 9], [0, 0, 1, 0, -1])
    assert xs.tolist() == [11, 50, 7] and ys.tolist() == [21, 60, 9] and obs.tolist() == [0, 1, -1]
