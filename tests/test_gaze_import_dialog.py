"""File > Import gaze...: the dialog driven through its widgets (pytest-qt, offscreen).

The expected points, counts and pixels are worked out by hand from the files the tests write
(a Tobii Pro Lab TSV) or from the README's rules applied to the raw lines of the real EyeLink
files, never from the reader under test.
"""
import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from conftest import shared_path
from helpers import level, make_video
from salfom_app.gaze_import import POINT_RADIUS, import_gaze
from salfom_core.io.gaze import load_gaze
from salfom_core.io.gaze.options import GazeOptions
from salfom_core.io.overlay import observer_colour

FPS, N_FRAMES, SIZE = 30, 30, (64, 48)

TOBII_COLUMNS = ["Recording timestamp [μs]", "Participant name", "Recording name", "Recording duration [ms]",
                 "Presented Stimulus name", "Presented Media name", "Presented Media width [px]",
                 "Presented Media height [px]", "Presented Media position X [DACS px]",
                 "Presented Media position Y [DACS px]", "Original Media width [px]", "Original Media height [px]",
                 "Gaze point X [DACS px]", "Gaze point Y [DACS px]", "Gaze point X [MCS norm]",
                 "Gaze point Y [MCS norm]", "Validity left", "Validity right", "Eye movement type",
                 "Gaze event duration [ms]", "Eye movement type index", "Fixation point X [MCS norm]",
                 "Fixation point Y [MCS norm]", "Event", "Event value"]
# where each participant looks, per stimulus (MCS norm: fractions of the 64x48 media)
LOOKS = {("A", "clip.mp4"): (0.25, 0.25), ("B", "clip.mp4"): (0.75, 0.75),
         ("A", "other.mp4"): (0.5, 0.5), ("B", "other.mp4"): (0.5, 0.5)}
FRAMES = {"A": range(0, 20), "B": range(5, 25)}      # the frames each participant has a sample in


def tobii_tsv(path: Path) -> Path:
    """Two participants, each shown clip.mp4 then other.mp4: one Fixation sample in the middle
    of each frame of FRAMES, at LOOKS (video pixel x = 64 * norm, y = 48 * norm)."""
    rows = []

    def row(t_us, who, **cells):
        values = {"Recording timestamp [μs]": str(t_us), "Participant name": who, "Recording name": f"Rec{who}",
                  "Recording duration [ms]": "4000", **cells}
        rows.append("\t".join(values.get(c, "") for c in TOBII_COLUMNS))

    for who in ("A", "B"):
        row(0, who, Event="RecordingStart")
        for k, media in enumerate(("clip.mp4", "other.mp4")):
            start = 1_000_000 + 1_500_000 * k
            row(start, who, Event="VideoStimulusStart", **{"Event value": media})
            nx, ny = LOOKS[(who, media)]
            for index, frame in enumerate(FRAMES[who]):
                row(start + round((frame + 0.5) * 1e6 / FPS), who, **{
                    "Presented Stimulus name": Path(media).stem, "Presented Media name": media,
                    "Presented Media width [px]": "64", "Presented Media height [px]": "48",
                    "Presented Media position X [DACS px]": "0", "Presented Media position Y [DACS px]": "0",
                    "Original Media width [px]": "64", "Original Media height [px]": "48",
                    "Gaze point X [DACS px]": str(round(64 * nx)), "Gaze point Y [DACS px]": str(round(48 * ny)),
                    "Gaze point X [MCS norm]": f"{nx:.6f}", "Gaze point Y [MCS norm]": f"{ny:.6f}",
                    "Validity left": "Valid", "Validity right": "Valid", "Eye movement type": "Fixation",
                    "Gaze event duration [ms]": "1000", "Eye movement type index": "1",
                    "Fixation point X [MCS norm]": f"{nx:.6f}", "Fixation point Y [MCS norm]": f"{ny:.6f}"})
            row(start + 1_000_000, who, Event="VideoStimulusEnd", **{"Event value": media})
    path.write_text("\t".join(TOBII_COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def clip(tmp_path):
    return make_video(tmp_path / "clip.mp4", n_frames=N_FRAMES, size=SIZE, fps=FPS)


def open_dialog(qtbot, window, path):
    """File > Import gaze... on `path`; returns the dialog once its first preview is shown."""
    window.gaze_import_dialog = None
    import_gaze(window, path)
    qtbot.waitUntil(lambda: window.gaze_import_dialog is not None, timeout=30000)
    dialog = window.gaze_import_dialog
    wait_preview(qtbot, dialog)
    return dialog


def wait_preview(qtbot, dialog, timeout=60000):
    """Until the preview shows the current settings (edits restart it; the newest wins)."""
    qtbot.waitUntil(lambda: dialog.previews > 0 and dialog.preview_current(), timeout=timeout)


def closed(dialog) -> bool:
    """The dialog was closed (it deletes itself on closing)."""
    import shiboken6

    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def type_into(qtbot, box, text: str) -> None:
    """Select the spin box's text and type `text` key by key, as a user does."""
    box.setFocus()
    box.lineEdit().selectAll()
    QTest.keyClicks(box.lineEdit(), text)
    QTest.keyClick(box.lineEdit(), Qt.Key_Return)


def untick(qtbot, dialog, name: str) -> None:
    item = next(dialog.participants.item(r) for r in range(dialog.participants.count())
                if dialog.participants.item(r).data(Qt.UserRole) == name)
    dialog.participants.scrollToItem(item)
    rect = dialog.participants.visualItemRect(item)
    # the tick box sits at the item's left edge
    QTest.mouseClick(dialog.participants.viewport(), Qt.LeftButton, Qt.NoModifier,
                     QPoint(rect.left() + 10, rect.center().y()))
    assert item.checkState() == Qt.Unchecked, f"{name} is still ticked"


def shown_pixel(dialog, x: float, y: float) -> np.ndarray:
    """RGB that the preview label shows at benchmark coordinates (x, y) of the video."""
    from PySide6.QtGui import QImage

    image = dialog.preview.pixmap().toImage().convertToFormat(QImage.Format_RGB888)
    s = dialog.preview_scale
    col, row = int((round(x) - 0.5) * s), int((round(y) - 0.5) * s)
    ptr = image.constBits()
    rows = np.array(ptr, dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[row, 3 * col: 3 * col + 3].astype(int)


def is_colour(pixel, colour, tol=40) -> bool:
    return int(np.abs(np.asarray(pixel) - np.asarray(colour)).max()) <= tol


# --------------------------------------------------------------------- Tobii: participants, stimulus, offset


def test_tobii_dialog_shows_the_file_and_imports_what_the_settings_say(qtbot, window, clip, tmp_path):
    tsv = tobii_tsv(tmp_path / "lab.tsv")
    assert window.open_video(clip)
    window.seek(8)
    dialog = open_dialog(qtbot, window, tsv)
    assert "tobii" in dialog.format_label.text().lower()
    names = [dialog.participants.item(r).data(Qt.UserRole) for r in range(dialog.participants.count())]
    assert names == ["A", "B"]
    assert dialog.stimulus.currentText() == "clip.mp4"        # the media named like the video
    assert sorted(dialog.model.stimuli) == ["clip.mp4", "other.mp4"]
    # frame 8 (the app's playhead): both look, A at (16, 12), B at (48, 36); counts 1 in 0-4, 2 in 5-19, 1 in 20-24
    assert dialog.frame == 8
    assert is_colour(shown_pixel(dialog, 16, 12), observer_colour(0))
    assert is_colour(shown_pixel(dialog, 48, 36), observer_colour(1))
    expected = np.zeros(N_FRAMES, int)
    expected[0:20] += 1
    expected[5:25] += 1
    np.testing.assert_array_equal(dialog.counts, expected)
    np.testing.assert_array_equal(dialog.strip_curve.getData()[1], expected)      # what the strip draws

    untick(qtbot, dialog, "B")
    type_into(qtbot, dialog.offset, "100")       # 100 ms later: three frames at 30 fps
    wait_preview(qtbot, dialog)
    only_a = np.zeros(N_FRAMES, int)
    only_a[3:23] = 1
    np.testing.assert_array_equal(dialog.counts, only_a)
    np.testing.assert_array_equal(dialog.strip_curve.getData()[1], only_a)
    grey = level(8)
    assert is_colour(shown_pixel(dialog, 16, 12), observer_colour(0))            # A's frame 5 sample, now in 8
    assert is_colour(shown_pixel(dialog, 48, 36), (grey, grey, grey), tol=12)   # B left out: the bare frame
    dialog.set_frame(1)                                                           # before A's first sample now
    assert is_colour(shown_pixel(dialog, 16, 12), (level(1),) * 3, tol=12)

    QTest.mouseClick(dialog.import_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=20000)
    options = GazeOptions(stimulus="clip.mp4", participants=("A",), offset_ms=100.0)
    expected_gaze = load_gaze(tsv, SIZE, N_FRAMES, FPS, options=options)
    got = window.state.gaze
    assert got.observers == expected_gaze.observers == ["A"]
    for name in ("frame", "x", "y", "observer"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected_gaze, name))
    np.testing.assert_array_equal(got.frame, np.arange(3, 23))
    np.testing.assert_allclose(got.x, 16.0)
    np.testing.assert_allclose(got.y, 12.0)
    assert "own events" in window.layer_panel.observers.toolTip()

    again = open_dialog(qtbot, window, tsv)          # remembered for this file
    states = {again.participants.item(r).data(Qt.UserRole): again.participants.item(r).checkState()
              for r in range(again.participants.count())}
    assert states == {"A": Qt.Checked, "B": Qt.Unchecked}
    assert again.offset.value() == 100.0 and again.stimulus.currentText() == "clip.mp4"
    np.testing.assert_array_equal(again.counts, only_a)
    again.reject()
    # the same export dropped on another of its videos: that video's media, the remembered A and offset
    other = make_video(tmp_path / "other.mp4", n_frames=N_FRAMES, size=SIZE, fps=FPS)
    assert window.open_video(other)
    window.open_any(str(tsv))
    assert window.state.gaze.observers == ["A"]
    np.testing.assert_array_equal(window.state.gaze.frame, np.arange(3, 23))
    np.testing.assert_allclose(window.state.gaze.x, 32.0)                  # other.mp4's (0.5, 0.5)


def test_a_start_message_and_offset_typed_in_realign_the_samples(qtbot, window, clip, tmp_path):
    """RecordingStart is 1 s before VideoStimulusStart: from it, -1000 ms gives the same frames,
    and a pattern that is no regular expression is said, not read."""
    tsv = tobii_tsv(tmp_path / "lab.tsv")
    assert window.open_video(clip)
    dialog = open_dialog(qtbot, window, tsv)
    both = dialog.counts.copy()
    dialog.start.setFocus()
    dialog.start.lineEdit().selectAll()
    QTest.keyClicks(dialog.start.lineEdit(), "Recording(")
    wait_preview(qtbot, dialog)
    assert "not a regular expression" in dialog.status.text() and not dialog.import_button.isEnabled()
    QTest.keyClick(dialog.start.lineEdit(), Qt.Key_Backspace)            # "Recording": RecordingStart
    type_into(qtbot, dialog.offset, "-1000")
    wait_preview(qtbot, dialog)
    assert dialog.shown_options.start_message == "Recording" and dialog.shown_options.offset_ms == -1000
    np.testing.assert_array_equal(dialog.counts, both)
    type_into(qtbot, dialog.offset, "-900")                               # 100 ms late: 3 frames later
    wait_preview(qtbot, dialog)
    np.testing.assert_array_equal(dialog.counts[3:], both[:-3])
    dialog.reject()


def test_other_ways_in_use_the_remembered_settings(qtbot, window, clip, tmp_path):
    tsv = tobii_tsv(tmp_path / "lab.tsv")
    assert window.open_video(clip)
    dialog = open_dialog(qtbot, window, tsv)
    dialog.stimulus.setCurrentText("other.mp4")
    untick(qtbot, dialog, "A")
    wait_preview(qtbot, dialog)
    QTest.mouseClick(dialog.import_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.session.gaze_path == str(tsv), timeout=20000)
    window.state.set_truth(None)
    window.open_any(str(tsv))                      # a drop: no dialog, the remembered settings
    gaze = window.state.gaze
    assert gaze.observers == ["B"]
    np.testing.assert_array_equal(gaze.frame, np.arange(5, 25))
    np.testing.assert_allclose(gaze.x, 32.0)       # other.mp4's (0.5, 0.5)


def test_a_file_that_cannot_be_read_is_one_message_and_no_dialog(qtbot, window, clip, tmp_path):
    bad = tmp_path / "lab.tsv"
    bad.write_text("Recording timestamp [μs]\tParticipant name\n0\tA\n", encoding="utf-8")
    assert window.open_video(clip)
    import_gaze(window, bad)
    qtbot.waitUntil(lambda: any("lab.tsv" in e for e in window.errors), timeout=20000)
    assert window.gaze_import_dialog is None
    message = next(e for e in window.errors if "lab.tsv" in e)
    assert message.startswith("Cannot read gaze: ") and "Traceback" not in message
    assert len(message.splitlines()) == 1 and "Presented Media name" in message      # the missing column


# --------------------------------------------------------------------- EyeLink: the video's rectangle


def read_asc(asc: Path):
    """(VFRAME time of each 0-based frame, EFIX intervals, samples (t, xs, ys)) from the raw lines."""
    vframes, fixations, samples = {}, [], []
    for line in asc.read_text().splitlines():
        m = re.match(r"MSG\s+(\d+)\s+!V VFRAME (\d+)", line)
        if m:
            vframes[int(m.group(2)) - 1] = int(m.group(1))
        elif line.startswith("EFIX"):
            parts = line.split()
            fixations.append((int(parts[2]), int(parts[3])))
        elif line[:1].isdigit():
            parts = line.split()
            if parts[1] != "." and parts[2] != ".":
                samples.append((int(parts[0]), float(parts[1]), float(parts[2])))
    return vframes, fixations, samples


def eyelink_truth(asc, frame: int, rect) -> list[tuple[float, float]]:
    """Video points of the fixation samples in 0-based `frame`, by the README's rules: the frame
    of the last VFRAME at or before a sample, samples inside an EFIX (start and end inclusive),
    screen (xs, ys) -> ((xs - X) * 640 / W, (ys - Y) * 360 / H); `asc` is read_asc's result."""
    vframes, fixations, samples = asc
    start = vframes[frame]
    end = vframes.get(frame + 1, start + 1000 / 30)          # the last frame lasts one frame period
    x, y, w, h = rect
    return [((xs - x) * 640 / w, (ys - y) * 360 / h) for t, xs, ys in samples
            if start <= t < end and any(a <= t <= b for a, b in fixations)]


def eyelink_counts(asc, rect, n_frames: int) -> np.ndarray:
    """eyelink_truth's sample count of every frame at once, inside the picture (640x360)."""
    vframes, fixations, samples = asc
    starts = np.array([vframes[k] for k in range(n_frames)], dtype=float)
    t, xs, ys = (np.array(c, dtype=float) for c in zip(*samples))
    frame = np.searchsorted(starts, t, side="right") - 1
    in_fix = np.zeros(len(t), bool)
    for a, b in fixations:
        in_fix |= (t >= a) & (t <= b)
    x, y, w, h = rect
    vx, vy = (xs - x) * 640 / w, (ys - y) * 360 / h
    keep = (frame >= 0) & (t < starts[-1] + 1000 / 30) & in_fix & (vx >= 0) & (vx <= 640) & (vy >= 0) & (vy <= 360)
    return np.bincount(frame[keep], minlength=n_frames)


def test_eyelink_rectangle_moves_the_points(qtbot, window, tmp_path):
    folder = shared_path("data", "dhf1k_0002", "exports", "eyelink")
    video = shared_path("data", "dhf1k_0002", "0002.avi")
    asc = read_asc(folder / "P01.asc")
    rect = (90, 45, 1440, 810)
    frame = next(k for k in range(300, 783) if len(eyelink_truth(asc, k, rect)) >= 3)   # P01 fixates in it
    assert window.open_video(video)
    window.cancel_all(wait=True)                     # the centre bias need not compute for this test
    window.seek(frame)
    dialog = open_dialog(qtbot, window, folder)
    assert "eyelink" in dialog.format_label.text().lower()
    names = [dialog.participants.item(r).data(Qt.UserRole) for r in range(dialog.participants.count())]
    assert names == [f"P{k:02d}" for k in range(1, 13)]
    assert dialog.model.implied_rect == (0, 45, 1440, 810)         # VFRAME's corner, the video centred
    for name in names[1:]:                                          # P01 alone: its dots are its own
        untick(qtbot, dialog, name)
    QTest.mouseClick(dialog.rect_auto, Qt.LeftButton)                # the rectangle by hand
    assert not dialog.rect_auto.isChecked()
    type_into(qtbot, dialog.rect[0], "90")                          # 90 px right: 40 video px left
    wait_preview(qtbot, dialog)
    points = eyelink_truth(asc, frame, rect)
    shown = dialog.gaze.for_frame(frame)
    assert len(shown[0]) == len(points) > 0
    np.testing.assert_allclose(sorted(zip(shown[0], shown[1])), sorted(points), atol=0.06)
    # a dot with no other dot within its rim: the observer's colour at its centre
    apart = [p for p in points if all(q == p or np.hypot(p[0] - q[0], p[1] - q[1]) > 2 * POINT_RADIUS + 3
                                      for q in points)] or points[-1:]
    assert is_colour(shown_pixel(dialog, *apart[0]), observer_colour(0))
    # where the file's own rectangle puts that sample (40 px right), the bare frame shows
    image = window.state.video.read(frame)
    x0, y0 = (int(round(v)) - 1 for v in (apart[0][0] + 40, apart[0][1]))
    if all(np.hypot(p[0] - x0 - 1, p[1] - y0 - 1) > 2 * POINT_RADIUS + 3 for p in points):
        assert np.array_equal(dialog.preview_image[y0, x0], image[y0, x0])
    # the strip: P01's fixation samples in each frame of the whole video, from the raw lines
    np.testing.assert_array_equal(dialog.counts, eyelink_counts(asc, rect, 783))
    np.testing.assert_array_equal(dialog.strip_curve.getData()[1], dialog.counts)

    QTest.mouseClick(dialog.import_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=30000)
    expected = load_gaze(folder, (640, 360), 783, 30.0, options=GazeOptions(participants=("P01",), video_rect=rect))
    for name in ("frame", "x", "y", "observer"):
        np.testing.assert_array_equal(getattr(window.state.gaze, name), getattr(expected, name))
    again = open_dialog(qtbot, window, folder)
    assert not again.rect_auto.isChecked() and [b.value() for b in again.rect] == list(rect)
    again.reject()


# --------------------------------------------------------------------- the preview's reading


def test_a_reading_overtaken_by_an_edit_is_never_shown(qtbot, window, clip, tmp_path):
    """Newest settings win: a load still running when the user edits again is discarded."""
    import threading

    tsv = tobii_tsv(tmp_path / "lab.tsv")
    assert window.open_video(clip)
    dialog = open_dialog(qtbot, window, tsv)
    shown = []
    dialog.preview_shown.connect(lambda options: shown.append(options.offset_ms))
    gate = threading.Event()
    read = dialog.model.load
    dialog.model.load = lambda options=None: (gate.wait(20), read(options))[1]
    dialog.offset.setValue(500)
    qtbot.waitUntil(lambda: dialog._worker is not None, timeout=5000)     # reading the 500 ms settings
    dialog.offset.setValue(100)
    qtbot.wait(3 * 150)                                                    # its own load waits its turn
    gate.set()
    wait_preview(qtbot, dialog)
    assert shown == [100.0]
    only_b_and_a = np.zeros(N_FRAMES, int)
    only_b_and_a[3:23] += 1
    only_b_and_a[8:28] += 1
    np.testing.assert_array_equal(dialog.counts, only_b_and_a)
    dialog.reject()


def test_import_clicked_while_reading_imports_the_newest_settings(qtbot, window, clip, tmp_path):
    import threading

    tsv = tobii_tsv(tmp_path / "lab.tsv")
    assert window.open_video(clip)
    dialog = open_dialog(qtbot, window, tsv)                # offset 0 on screen
    gate = threading.Event()
    read = dialog.model.load
    dialog.model.load = lambda options=None: (gate.wait(20), read(options))[1]
    type_into(qtbot, dialog.offset, "100")
    qtbot.waitUntil(lambda: dialog._worker is not None, timeout=5000)
    QTest.mouseClick(dialog.import_button, Qt.LeftButton)
    qtbot.wait(200)
    assert dialog.isVisible() and window.state.gaze is None     # waits for the reading of 100 ms
    gate.set()
    qtbot.waitUntil(lambda: closed(dialog), timeout=20000)
    np.testing.assert_array_equal(np.sort(window.state.gaze.frame), np.sort(np.r_[3:23, 8:28]))


# --------------------------------------------------------------------- every other way in, every format


def test_drops_and_gaze_beside_read_every_real_export(qtbot, window, tmp_path):
    """A drop (open_any), `--gaze` (open_video's gaze) and the gaze beside a video, for each export
    of the shared sample: the observers it holds, and where its fixations came from."""
    exports = shared_path("data", "dhf1k_0002", "exports")
    video = shared_path("data", "dhf1k_0002", "0002.avi")
    assert window.open_video(video)
    window.cancel_all(wait=True)
    twelve = [f"P{k:02d}" for k in range(1, 13)]
    for path, observers, origin in ((exports / "tobii_prolab_0002.tsv", twelve, "Tobii Pro Lab Eye movement type"),
                                    (exports / "eyelink", twelve, "EyeLink EFIX"),
                                    (exports / "eyelink" / "P03.asc", ["P03"], "EyeLink EFIX"),
                                    (exports / "pupil_neon", ["P01", "P02"], "Pupil Neon"),
                                    (exports / "pupil_neon" / "P02", ["P02"], "Pupil Neon")):
        window.state.set_truth(None)
        window.open_any(str(path))
        assert window.state.gaze is not None, (path, window.errors[-1:])
        assert window.state.gaze.observers == observers, path
        assert len(window.state.gaze) > 1000 * len(observers), path
        assert origin in window.layer_panel.observers.toolTip(), path
    # --gaze with settings remembered from an import: P01 and P05 only, 90 px to the right
    from salfom_app.gaze_import import remember_options

    remember_options(window.settings, exports / "eyelink", GazeOptions(participants=("P01", "P05"),
                                                                       video_rect=(90, 45, 1440, 810)))
    assert window.open_video(video, gaze=str(exports / "eyelink"))
    window.cancel_all(wait=True)
    gaze = window.state.gaze
    assert gaze.observers == ["P01", "P05"]
    asc = read_asc(exports / "eyelink" / "P01.asc")
    np.testing.assert_array_equal(np.bincount(gaze.frame[gaze.observer == 0], minlength=783),
                                  eyelink_counts(asc, (90, 45, 1440, 810), 783))
    # beside a video: `<stem>_gaze.tsv` (links to the shared files)
    folder = tmp_path / "beside"
    folder.mkdir()
    (folder / "0002.avi").symlink_to(video)
    (folder / "0002_gaze.tsv").symlink_to(exports / "tobii_prolab_0002.tsv")
    assert window.open_video(folder / "0002.avi")
    window.cancel_all(wait=True)
    assert window.state.gaze is not None and window.state.gaze.observers == twelve
    assert window.session.gaze_path == str(folder / "0002_gaze.tsv")


def test_a_bad_drop_is_one_line_naming_the_file(qtbot, window, clip, tmp_path):
    assert window.open_video(clip)
    cut = tmp_path / "lab.tsv"
    cut.write_text("\t".join(TOBII_COLUMNS) + "\n0\tA\tRecA", encoding="utf-8")      # no stimulus, no samples
    binary = tmp_path / "P01.edf"
    binary.write_bytes(b"SR_RESEARCH\x00\x01\x02" * 20)
    for path in (cut, binary):
        before = len(window.errors)
        window.open_any(str(path))
        assert len(window.errors) == before + 1, path
        message = window.errors[-1]
        assert path.name in message and "Traceback" not in message and len(message.splitlines()) == 1, message


# --------------------------------------------------------------------- the Qt-free parts


def test_remembered_options_survive_the_settings_file_field_by_field(tmp_path):
    from PySide6.QtCore import QSettings

    from salfom_app.gaze_import import remember_options, remembered_options, settings_key

    options = GazeOptions(stimulus="b.avi", participants=("P01", "P 02"), start_message=r"SYNC\s+\d+",
                          offset_ms=-12.5, video_rect=(10.0, 20.0, 1200.0, 675.0),
                          columns={"time": "t", "x": "gx", "y": "gy"}, time_unit="ms", coords="norm",
                          min_confidence=0.8, detect="idt", dispersion_threshold=1.5, min_fixation_ms=80.0,
                          screen_mm=(531.0, 299.0), distance_mm=650.0, screen_px=(1920, 1080), video_name="b.avi")
    path = tmp_path / "odd [name] = 1.tsv"
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    remember_options(settings, path, options)
    settings.sync()
    again = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)        # a new session reads the file
    assert remembered_options(again, path) == options
    assert remembered_options(again, tmp_path / "other.tsv") is None
    # another version's settings: an unknown field is dropped, a broken value forgets the file
    again.setValue(settings_key(path), '{"path": "x", "options": {"offset_ms": 40, "from_the_future": 1}}')
    assert remembered_options(again, path) == GazeOptions(offset_ms=40)
    again.setValue(settings_key(path), '{"options": {"video_rect": [0, 0, -1, 5]}}')
    assert remembered_options(again, path) is None


def test_messages_and_tooltips_say_where_things_came_from(tmp_path):
    from types import SimpleNamespace

    from salfom_app.gaze_import import fixation_origin, gaze_error_message
    from salfom_core.io.gaze import FixationEvents

    path = tmp_path / "P01.asc"
    assert gaze_error_message(path, KeyError("gx")) == f"{path}: cannot read it (KeyError: 'gx')"
    assert gaze_error_message(path, ValueError(f"{path}: no EFIX")) == f"{path}: no EFIX"
    assert gaze_error_message(path, ValueError("no EFIX")) == f"{path}: no EFIX"

    def origin(method):
        events = FixationEvents(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), method=method)
        return fixation_origin(SimpleNamespace(events=events))

    assert origin("file: EyeLink EFIX") == "Fixations: the file's own events (EyeLink EFIX)"
    assert origin("I-VT: velocity 30 deg/s, min 60 ms") == "Fixations: detected by I-VT: velocity 30 deg/s, min 60 ms"
    assert origin("file; I-DT: dispersion 1 deg") == \
        "Fixations: the file's own events; detected by I-DT: dispersion 1 deg"
    assert fixation_origin(SimpleNamespace(events=None)) == "Fixations: the file's fixation samples"


def test_the_legend_names_the_detector_a_drop_used(qtbot, window, clip, tmp_path):
    from salfom_app.gaze_import import remember_options

    tsv = tobii_tsv(tmp_path / "lab.tsv")
    assert window.open_video(clip)
    remember_options(window.settings, tsv, GazeOptions(detect="ivt"))
    window.open_any(str(tsv))
    tip = window.layer_panel.observers.toolTip()
    assert "lab.tsv" in tip and "detected by I-VT" in tip, tip
    assert tip == window.layer_panel.fixations.toolTip()
