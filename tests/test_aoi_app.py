"""Areas of interest in the viewer, through its real widgets (offscreen, pytest-qt): drawn by
mouse on the view, moved at another frame (a keyframe), interpolated between, undone, saved
beside the video and reopened; tracked forward from the panel's button; their figures for gaze
and models in the panel's table, computed off the GUI thread and only for the AOI edited.

The clips are made here: a grey, lightly noisy background with (optionally) a textured 40x40
square whose top-left array corner at frame k (1-based) is (60 + 2 (k - 1), 50 + (k - 1)).
"""
import json
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from qt_helpers import make_window

SIZE = (320, 240)
N_FRAMES = 60
SQUARE = 40
RED = np.array([0xE4, 0x1A, 0x1C])         # the first AOI's colour (#e41a1c)


def square_corner(frame: int) -> tuple[int, int]:
    """0-based array (column, row) of the square's top-left pixel at a 1-based frame."""
    return 60 + 2 * (frame - 1), 50 + (frame - 1)


def make_clip(path: Path, square: bool = True) -> Path:
    w, h = SIZE
    rng = np.random.default_rng(3)
    texture = rng.integers(0, 256, (SQUARE, SQUARE, 3), dtype=np.uint8)
    background = rng.integers(95, 106, (h, w, 1), dtype=np.uint8).repeat(3, axis=2)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "1"}
        for k in range(1, N_FRAMES + 1):
            image = background.copy()
            if square:
                x, y = square_corner(k)
                image[y:y + SQUARE, x:x + SQUARE] = texture
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def open_clip(qtbot, window, path: Path) -> None:
    assert window.open_video(path)
    qtbot.waitUntil(lambda: window.view.bundle is not None, timeout=10000)
    qtbot.wait(50)


# ----------------------------------------------------------------------------- the user's hands on the view


def widget_point(window, x: float, y: float) -> QPoint:
    """Where the spec's point (x, y) is on the view's viewport (it is drawn at (x - 0.5, y - 0.5))."""
    vb = window.view.panes[0].plot.vb
    return window.view.graphics.mapFromScene(vb.mapViewToScene(QPointF(x - 0.5, y - 0.5)))


def image_point(window, point: QPoint) -> tuple[float, float]:
    """The spec's point under a viewport pixel: the inverse of widget_point."""
    vb = window.view.panes[0].plot.vb
    p = vb.mapSceneToView(window.view.graphics.mapToScene(point))
    return p.x() + 0.5, p.y() + 0.5


def mouse(window, kind, point: QPoint, buttons) -> None:
    viewport = window.view.graphics.viewport()
    button = Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton
    event = QMouseEvent(kind, QPointF(point), QPointF(viewport.mapToGlobal(point)), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag(qtbot, window, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """Press, move with the left button held, release: as a hand does on the viewport."""
    mouse(window, QEvent.MouseButtonPress, start, Qt.LeftButton)
    for k in range(1, steps + 1):
        mouse(window, QEvent.MouseMove, QPoint(start.x() + (end.x() - start.x()) * k // steps,
                                               start.y() + (end.y() - start.y()) * k // steps), Qt.LeftButton)
        qtbot.wait(15)              # pyqtgraph drops moves closer than 10 ms (its mouse rate limit)
    mouse(window, QEvent.MouseButtonRelease, end, Qt.NoButton)
    qtbot.wait(20)


def click(qtbot, window, point: QPoint) -> None:
    mouse(window, QEvent.MouseButtonPress, point, Qt.LeftButton)
    mouse(window, QEvent.MouseButtonRelease, point, Qt.NoButton)
    qtbot.wait(20)


def draw_rect(qtbot, window, a, b) -> tuple[QPoint, QPoint]:
    """The Rectangle tool of the panel, then a drag from a to b (spec points); returns the two
    viewport points the mouse really used."""
    window.aoi.panel.tools["rect"].click()
    pa, pb = widget_point(window, *a), widget_point(window, *b)
    drag(qtbot, window, pa, pb)
    return pa, pb


def seek(qtbot, window, index: int) -> None:
    window.seek(index)
    qtbot.waitUntil(lambda: window.view.bundle is not None and window.view.bundle.index == index, timeout=10000)
    qtbot.wait(30)


def item_box(window, name: str) -> np.ndarray:
    """The AOI item's rectangle as drawn: its scene geometry mapped back to image coordinates
    (spec convention), [[x0, y0], [x1, y1]]."""
    roi = window.aoi.overlay.rois[name]
    vb = window.view.panes[0].plot.vb
    polygon = roi.mapToScene(roi.boundingRect())
    points = np.array([(p.x() + 0.5, p.y() + 0.5) for p in (vb.mapSceneToView(q) for q in polygon)])
    return np.array([points.min(axis=0), points.max(axis=0)])


def grab_viewport(window) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = window.view.graphics.viewport().grab().toImage().convertToFormat(QImage.Format_RGBA8888)
    rows = np.array(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4)[..., :3].astype(int)


def near_colour(shot: np.ndarray, point: QPoint, colour: np.ndarray, radius: int = 1, tolerance: int = 60) -> bool:
    """Whether a pixel within `radius` of `point` on the grabbed viewport has `colour`."""
    patch = shot[point.y() - radius: point.y() + radius + 1, point.x() - radius: point.x() + radius + 1]
    return bool((np.abs(patch - colour).max(axis=-1) <= tolerance).any())


# ----------------------------------------------------------------------------- drawing, keyframes, undo, file


def test_a_rectangle_dragged_on_the_view_is_an_aoi_saved_beside_the_video(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    open_clip(qtbot, window, clip)
    pa, pb = draw_rect(qtbot, window, (60, 50), (110, 95))
    editor = window.aoi.editor
    assert editor.names() == ["AOI"] and editor.selected == "AOI"
    aoi = editor.get("AOI")
    # where the mouse really pressed and released, read back through the view's own transform
    expected = np.array([image_point(window, pa), image_point(window, pb)])
    assert aoi.shape == "rect" and [k.frame for k in aoi.keyframes] == [1]
    assert np.allclose(aoi.keyframes[0].vertices, expected, atol=0.01)
    assert np.allclose(item_box(window, "AOI"), expected, atol=0.01)            # the item stands there
    assert not window.aoi.panel.tools["rect"].isChecked()                       # one shape per tool click
    saved = json.loads((tmp_path / "clip.aois.json").read_text())
    assert saved["video"] == "clip.mp4" and [a["name"] for a in saved["aois"]] == ["AOI"]
    assert np.allclose(saved["aois"][0]["keyframes"][0]["vertices"], expected, atol=0.01)


def test_moving_at_another_frame_makes_a_keyframe_interpolated_between_undone_and_reopened(qtbot, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    window = make_window(qtbot, tmp_path)
    open_clip(qtbot, window, clip)
    editor, overlay = window.aoi.editor, window.aoi.overlay
    draw_rect(qtbot, window, (60, 50), (110, 95))
    first = np.array(editor.get("AOI").keyframes[0].vertices)
    seek(qtbot, window, 40)                                      # frame 41
    grab_at = widget_point(window, 85, 72)                       # inside the box: its body moves it
    drag(qtbot, window, grab_at, QPoint(grab_at.x() + 90, grab_at.y() + 45))
    aoi = editor.get("AOI")
    assert [(k.frame, k.active) for k in aoi.keyframes] == [(1, True), (41, True)]
    moved = np.array(aoi.keyframes[1].vertices)
    shift = np.array(image_point(window, QPoint(grab_at.x() + 90, grab_at.y() + 45))) - image_point(window, grab_at)
    assert np.allclose(moved - first, shift, atol=0.02)         # moved by what the mouse moved, size kept
    ticks = window.timeline.keyframes
    assert ticks.keyframes == [(0, True), (40, True)]

    # frame 21 lies halfway: each vertex halfway between the two keyframes (AOI_SPEC.md)
    seek(qtbot, window, 20)
    halfway = first + (21 - 1) / (41 - 1) * (moved - first)
    assert np.allclose(item_box(window, "AOI"), halfway, atol=0.01)
    editor.select(None)                                          # outline only: no handles on the edges
    qtbot.wait(50)
    shot = grab_viewport(window)
    (x0, y0), (x1, y1) = halfway
    ys = y0 + (y1 - y0) * 0.3
    assert near_colour(shot, widget_point(window, x0, ys), RED)          # the left edge is drawn at x0 ...
    assert near_colour(shot, widget_point(window, x1, ys), RED)          # ... the right one at x1
    # a few pixels off (at least 6 screen pixels, whatever the view's zoom): no outline
    off = max(4.0, 6 / (widget_point(window, x0 + 10, ys).x() - widget_point(window, x0, ys).x()) * 10)
    assert not near_colour(shot, widget_point(window, x0 - off, ys), RED, tolerance=80)
    assert not near_colour(shot, widget_point(window, x0 + off, ys), RED, tolerance=80)

    # the timeline's tick (of the selected AOI) jumps to the keyframe
    editor.select("AOI")
    QTest.mouseClick(ticks, Qt.LeftButton, Qt.NoModifier, QPoint(round(ticks.x_of(40)), 4))
    assert window.state.frame == 40

    # undo: the keyframe goes, from the state, the view and the file; redo brings it back
    path = tmp_path / "clip.aois.json"
    editor.undo()
    assert [k.frame for k in editor.get("AOI").keyframes] == [1]
    assert [k["frame"] for k in json.loads(path.read_text())["aois"][0]["keyframes"]] == [1]
    assert np.allclose(overlay.item_vertices("AOI"), first, atol=0.01)
    assert ticks.keyframes == [(0, True)]
    editor.redo()
    assert [k.frame for k in editor.get("AOI").keyframes] == [1, 41]
    on_disk = json.loads(path.read_text())["aois"][0]["keyframes"]
    assert [k["frame"] for k in on_disk] == [1, 41]
    backup = json.loads((tmp_path / "clip.aois.json.bak").read_text())["aois"][0]["keyframes"]
    assert [k["frame"] for k in backup] == [1]                   # the previous file, kept
    window.close()

    # reopened with the video: the same AOI, interpolated the same way
    again = make_window(qtbot, tmp_path)
    open_clip(qtbot, again, clip)
    assert again.aoi.editor.names() == ["AOI"]
    assert [k.frame for k in again.aoi.editor.get("AOI").keyframes] == [1, 41]
    seek(qtbot, again, 20)
    assert np.allclose(again.aoi.overlay.item_vertices("AOI"), halfway, atol=0.02)
    assert again.errors == []
    again.close()


def test_hide_from_here_switches_the_aoi_off_until_the_video_ends(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    open_clip(qtbot, window, clip)
    draw_rect(qtbot, window, (60, 50), (110, 95))
    seek(qtbot, window, 29)
    window.aoi.panel.hide_button.click()
    aoi = window.aoi.editor.get("AOI")
    assert [(k.frame, k.active) for k in aoi.keyframes] == [(1, True), (30, False)]
    assert window.timeline.keyframes.keyframes == [(0, True), (29, False)]
    window.aoi.editor.select(None)
    seek(qtbot, window, 45)
    assert window.aoi.overlay.item_vertices("AOI") is None        # hidden where inactive
    seek(qtbot, window, 10)
    assert window.aoi.overlay.item_vertices("AOI") is not None


def test_polygon_by_clicks_rename_recolour_delete_all_undoable(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    open_clip(qtbot, window, clip)
    window.aoi.panel.tools["polygon"].click()
    corners = [(200, 150), (260, 150), (240, 210)]
    points = [widget_point(window, *c) for c in corners]
    for p in points:
        click(qtbot, window, p)
    click(qtbot, window, points[0])                              # on the first vertex: closed
    editor = window.aoi.editor
    aoi = editor.get("AOI")
    assert aoi.shape == "polygon"
    assert np.allclose(aoi.keyframes[0].vertices, [image_point(window, p) for p in points], atol=0.01)
    # dragged by its body at frame 11: a keyframe there, every vertex shifted by the mouse's move
    seek(qtbot, window, 10)
    inside = widget_point(window, 232, 170)
    drag(qtbot, window, inside, QPoint(inside.x() - 40, inside.y() + 20))
    shift = np.subtract(image_point(window, QPoint(inside.x() - 40, inside.y() + 20)), image_point(window, inside))
    first = np.array(aoi.keyframes[0].vertices)
    assert [k.frame for k in editor.get("AOI").keyframes] == [1, 11]
    assert np.allclose(editor.get("AOI").keyframes[1].vertices, first + shift, atol=0.02)
    editor.undo()
    editor.rename("AOI", "logo")
    editor.recolour("logo", "#00ff00")
    assert editor.names() == ["logo"] and editor.colour("logo") == "#00ff00"
    assert window.aoi.panel.list.item(0).text() == "logo"
    editor.delete("logo")
    assert editor.names() == []
    for _ in range(3):
        editor.undo()
    assert editor.names() == ["AOI"] and editor.colour("AOI") == "#e41a1c"
    saved = json.loads((tmp_path / "clip.aois.json").read_text())
    assert [(a["name"], a["color"]) for a in saved["aois"]] == [("AOI", "#e41a1c")]


def test_a_malformed_aoi_file_is_one_message_and_is_never_overwritten(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    path = tmp_path / "clip.aois.json"
    text = json.dumps({"version": 1, "video": "clip.mp4", "aois": [
        {"name": "logo", "color": "#e41a1c", "shape": "polygon", "keyframes": [
            {"frame": 1, "active": True, "vertices": [[10, 10], [50, 10], [30, 40]]},
            {"frame": 20, "active": True, "vertices": [[10, 10], [50, 10], [50, 40], [10, 40]]}]}]})
    path.write_text(text)
    open_clip(qtbot, window, clip)
    problems = [e for e in window.errors if "AOI" in e]
    assert len(problems) == 1 and str(path) in problems[0] and "'logo'" in problems[0]
    assert "vertex count" in problems[0]
    draw_rect(qtbot, window, (60, 50), (110, 95))                # work goes on, in memory ...
    assert window.aoi.editor.names() == ["AOI"]
    assert path.read_text() == text                              # ... and the file is left as it was
    assert not (tmp_path / "clip.aois.json.bak").exists()
    assert "not saved" in window.aoi.panel.message.text()
    fixed = json.loads(text)
    fixed["aois"][0]["keyframes"][1]["vertices"].pop()            # fixed by hand: 3 vertices, as at frame 1
    path.write_text(json.dumps(fixed))
    window.aoi.editor.reload()                                   # AOIs > Reload: the file's, and the one drawn
    assert window.aoi.editor.names() == ["logo", "AOI"]
    assert [a["name"] for a in json.loads(path.read_text())["aois"]] == ["logo", "AOI"]


# ----------------------------------------------------------------------------- tracking through the button


def test_track_forward_button_follows_a_moving_textured_square(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4")
    open_clip(qtbot, window, clip)
    x, y = square_corner(1)
    # the square covers array columns x .. x + 39, i.e. the spec's points x + 1 .. x + 40
    draw_rect(qtbot, window, (x + 1, y + 1), (x + SQUARE, y + SQUARE))
    drawn = np.array(window.aoi.editor.get("AOI").keyframes[0].vertices)
    panel = window.aoi.panel
    assert panel.track_button.isEnabled()
    qtbot.mouseClick(panel.track_button, Qt.LeftButton)
    assert panel.track_progress.isVisible()
    qtbot.waitUntil(lambda: not window.aoi.tracker.running, timeout=60000)
    qtbot.waitUntil(lambda: not panel.track_progress.isVisible(), timeout=5000)
    aoi = window.aoi.editor.get("AOI")
    frames = [k.frame for k in aoi.keyframes]
    assert frames[0] == 1 and frames[-1] == N_FRAMES and len(frames) >= N_FRAMES // 5
    true_shift = np.subtract(square_corner(N_FRAMES), square_corner(1))      # (118, 59)
    assert np.abs(np.array(aoi.vertices_at(N_FRAMES)) - (drawn + true_shift)).max() <= 3
    seek(qtbot, window, N_FRAMES - 1)
    assert np.abs(window.aoi.overlay.item_vertices("AOI") - (drawn + true_shift)).max() <= 3
    assert "to the end" in panel.track_note.text()
    seek(qtbot, window, 0)
    panel.next_key.click()                                        # keyframes every 5 frames: 1, 6, 11, ...
    assert window.state.frame == frames[1] - 1
    panel.next_key.click()
    panel.previous_key.click()
    assert window.state.frame == frames[1] - 1
    window.aoi.editor.undo()                                      # tracking is one undoable edit
    assert [k.frame for k in window.aoi.editor.get("AOI").keyframes] == [1]


# ----------------------------------------------------------------------------- figures


def write_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Gaze beside the clip, and two map folders: `uniform` (128 everywhere) and `inside`
    (255 on array rows 50..89, columns 60..99, 0 elsewhere).

    Gaze per 0-based frame i: observer a at (80, 70); b there too on even frames; c and d at
    (300, 220). An AOI [[61, 51], [100, 90]] then holds 2 of 4 samples on even frames, 1 of 3
    on odd ones."""
    import cv2

    rows = ["frame,x,y,observer"]
    for i in range(N_FRAMES):
        rows.append(f"{i},80,70,a")
        if i % 2 == 0:
            rows.append(f"{i},80,70,b")
        rows += [f"{i},300,220,c", f"{i},300,220,d"]
    (tmp_path / "clip_gaze.csv").write_text("\n".join(rows) + "\n")
    folders = []
    for name, value in (("uniform", None), ("inside", 255)):
        folder = tmp_path / name
        folder.mkdir()
        m = np.full(SIZE[::-1], 128, np.uint8) if value is None else np.zeros(SIZE[::-1], np.uint8)
        if value is not None:
            m[50:90, 60:100] = value
        for k in range(1, N_FRAMES + 1):
            cv2.imwrite(str(folder / f"{k:04d}.png"), m)
        folders.append(folder)
    return tmp_path / "clip_gaze.csv", *folders


def summary_of(window) -> dict[tuple[str, str], dict[str, str]]:
    table = window.aoi.panel.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    out = {}
    for r in range(table.rowCount()):
        row = {h: table.item(r, c).text() for c, h in enumerate(headers)}
        out[(row["AOI"], row["source"])] = row
    return out


def test_figures_for_gaze_and_models_side_by_side_and_sortable(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    _gaze, uniform, inside = write_inputs(tmp_path)
    open_clip(qtbot, window, clip)
    assert window.state.gaze is not None
    window.add_map_folder(uniform)
    window.add_map_folder(inside)
    window.state.layer("Centre bias").set(visible=False)
    window.aoi.editor.add("rect", 0, [(61, 51), (100, 90)], name="box")
    qtbot.waitUntil(lambda: not window.aoi.jobs.busy, timeout=30000)
    rows = summary_of(window)
    assert set(rows) == {("box", "gaze"), ("box", "uniform"), ("box", "inside")}
    area_share = 40 * 40 / (320 * 240)                    # the box's 1600 pixels of 76800
    gaze_share = (30 * 2 / 4 + 30 * 1 / 3) / 60
    expected = {"gaze": (gaze_share, gaze_share / area_share), "uniform": (area_share, 1.0), "inside": (1.0, 48.0)}
    for source, (share, density) in expected.items():
        row = rows[("box", source)]
        assert row["frames"] == "60"
        assert float(row["share"]) == pytest.approx(share, abs=5e-4), source
        assert float(row["density"]) == pytest.approx(density, rel=1e-3), source
    # sorted by share with a click on its header: uniform, gaze, inside
    table = window.aoi.panel.table
    share_column = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index("share")
    header = table.horizontalHeader()
    QTest.mouseClick(header.viewport(), Qt.LeftButton, Qt.NoModifier,
                     QPoint(header.sectionViewportPosition(share_column) + 5, header.height() // 2))
    order = [table.item(r, 1).text() for r in range(table.rowCount())]
    assert order in (["uniform", "gaze", "inside"], ["inside", "gaze", "uniform"])
    # the curves: the selected AOI's share per frame, one per source
    window.aoi.editor.select("box")
    qtbot.waitUntil(lambda: set(window.aoi.curves.curves) == {"gaze", "uniform", "inside"}, timeout=5000)
    frames, shares = window.aoi.curves.curves["gaze"].getData()
    assert list(frames[:4]) == [1, 2, 3, 4]
    assert np.allclose(shares[:4], [0.5, 1 / 3, 0.5, 1 / 3])
    window.seek(12)
    assert window.aoi.curves.cursor.value() == 13
    # exported: the spec's columns, the values above
    worker = window.aoi.export_csvs(tmp_path / "out")
    with qtbot.waitSignal(worker.finished, timeout=10000):
        pass
    import csv
    with open(tmp_path / "out" / "aoi_summary.csv") as fh:
        summary = list(csv.DictReader(fh))
    assert list(summary[0]) == ["aoi", "source", "frames_active", "share_mean", "density_mean", "percent_fixated",
                                "ttff_ms_mean", "fixation_ms_mean"]
    assert float(next(r for r in summary if r["source"] == "inside")["share_mean"]) == pytest.approx(1.0)
    with open(tmp_path / "out" / "aoi_frames.csv") as fh:
        frames_rows = list(csv.DictReader(fh))
    gaze_rows = [r for r in frames_rows if r["source"] == "gaze"]
    assert [(r["frame"], r["observers"]) for r in gaze_rows[:2]] == [("1", "2"), ("2", "1")]


def test_an_edit_recomputes_only_its_aoi_and_never_on_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    import salfom_app.aoi_jobs as aoi_panel

    calls = []
    real = aoi_panel.compute_figures

    def recorded(inputs, aois, **kwargs):
        calls.append(([a.name for a in aois], threading.current_thread() is threading.main_thread()))
        return real(inputs, aois, **kwargs)

    monkeypatch.setattr(aoi_panel, "compute_figures", recorded)
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    write_inputs(tmp_path)
    open_clip(qtbot, window, clip)
    qtbot.waitUntil(lambda: not window.busy(), timeout=30000)
    editor, jobs = window.aoi.editor, window.aoi.jobs
    editor.add("rect", 0, [(61, 51), (100, 90)], name="box")
    editor.add("ellipse", 0, [(150, 100), (200, 160)], name="round")
    qtbot.waitUntil(lambda: not jobs.busy, timeout=30000)
    assert sorted(names[0] for names, _gui in calls) == ["box", "round"]
    calls.clear()
    editor.set_shape("box", 30, [(81, 61), (120, 100)])            # a keyframe at frame 31
    qtbot.waitUntil(lambda: not jobs.busy, timeout=30000)
    assert calls == [(["box"], False)]                             # the edited AOI only, in a worker
    calls.clear()
    editor.rename("round", "ball")                                 # its figures do not depend on its name
    editor.recolour("ball", "#123456")
    qtbot.waitUntil(lambda: not jobs.busy, timeout=30000)
    assert {k[0] for k in summary_of(window)} == {"box", "ball"}
    editor.undo()
    editor.undo()
    editor.undo()                                                  # the move: its old figures are known
    qtbot.waitUntil(lambda: not jobs.busy, timeout=30000)
    assert calls == []
    assert {k[0] for k in summary_of(window)} == {"box", "round"}
    assert all(not gui for _names, gui in calls)


# ----------------------------------------------------------------------------- split view and exports


def test_split_view_outlines_and_the_overlay_video_export(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", square=False)
    open_clip(qtbot, window, clip)
    window.aoi.editor.add("rect", 0, [(61, 51), (140, 110)], name="box")
    window.set_view_mode("split")
    mirror = window.aoi.overlay.mirrors["box"]
    box = mirror.path().boundingRect()
    assert (box.left() + 0.5, box.top() + 0.5, box.right() + 0.5, box.bottom() + 0.5) == (61, 51, 140, 110)
    window.state.layer("Centre bias").set(visible=False)       # the frame and the outlines alone
    worker = window.aoi.export_overlay(tmp_path / "out.mp4")
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    assert (tmp_path / "out.mp4").exists(), window.errors
    with av.open(str(tmp_path / "out.mp4")) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    # the outline: the spec's x = 61 is array column 60; the box's inside and outside stay the frame's grey
    assert np.abs(frame[80, 60] - RED).max() <= 70, frame[80, 60]
    assert np.abs(frame[80, 139] - RED).max() <= 70, frame[80, 139]
    for row, col in ((80, 55), (80, 66), (80, 145)):
        assert np.abs(frame[row, col] - 100).max() <= 40, (row, col, frame[row, col])
    # exactly where: the outline of the left edge x = 61 is centred on array column 60
    from salfom_app.aoi_layer import draw_outlines
    drawn = draw_outlines(np.full((240, 320, 3), 100, np.uint8), window.aoi.editor.aois, 1)
    red = np.abs(drawn[80, 55:66].astype(int) - RED).max(axis=-1) <= 10
    assert list(np.flatnonzero(red) + 55) == [59, 60, 61]
    worker = window.aoi.export_plot(tmp_path / "aois.png")
    with qtbot.waitSignal(worker.finished, timeout=30000):
        pass
    assert (tmp_path / "aois.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_real_gaze_fixation_figures_in_the_panel_are_those_of_salfom_aoi(qtbot, window, tmp_path):
    """Clip 0002 with the 12 observers' SMI exports (fixation events): the panel's gaze row for
    an AOI around the fly holds the numbers `salfom aoi` computes for the same file."""
    from conftest import shared_path
    from salfom_core.aoi import read_aois
    from salfom_core.aoi.figures import AoiInputs, compute_figures
    from salfom_core.io.gaze import load_gaze

    clip = shared_path("data", "dhf1k_0002")
    (tmp_path / "0002.avi").symlink_to(clip / "0002.avi")
    (tmp_path / "gaze").symlink_to(clip / "gaze")               # beside the video: opened with it
    aois = {"version": 1, "video": "0002.avi", "aois": [{"name": "fly", "color": "#e41a1c", "shape": "rect",
            "keyframes": [{"frame": 1, "active": True, "vertices": [[265, 150], [350, 220]]},
                          {"frame": 300, "active": True, "vertices": [[275, 120], [350, 205]]}]}]}
    (tmp_path / "0002.aois.json").write_text(json.dumps(aois))
    open_clip(qtbot, window, tmp_path / "0002.avi")
    window.state.layer("Centre bias").set(visible=False)         # gaze alone
    qtbot.waitUntil(lambda: not window.aoi.jobs.busy and ("fly", "gaze") in summary_of(window), timeout=60000)
    row = summary_of(window)[("fly", "gaze")]
    gaze = load_gaze(clip / "gaze", (640, 360), 783, 30.0)
    expected = compute_figures(AoiInputs(783, (640, 360), 30.0, gaze), list(read_aois(tmp_path / "0002.aois.json")))
    (summary,) = expected.summary_rows()
    assert summary["percent_fixated"] > 0 and summary["ttff_ms_mean"] is not None
    assert row["% fixated"] == f"{summary['percent_fixated']:.1f}"
    assert row["TTFF ms"] == f"{summary['ttff_ms_mean']:.0f}"
    assert row["fixation ms"] == f"{summary['fixation_ms_mean']:.0f}"
    assert row["share"] == f"{summary['share_mean']:.3f}" and row["frames"] == "783"
