"""Exports describe themselves (issue 21): the layer name, the frame number and the colour bar
burned into a band under each pane of the PNG and MP4 exports (app and CLI), split view exported
side by side, and the observers the legend hides left out of every export.

Pixel checks against independent truth: the colour bar against `cv2.applyColorMap` of a ramp,
the observers' markers against their legend colours at the positions the gaze file gives.
"""
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from salfom_core.cli import main as cli_main
from salfom_core.io.export import (
    ALL_CAPTIONS,
    NO_CAPTIONS,
    PANE_GAP,
    Captions,
    ExportPane,
    compose_frame,
    overlay_frame,
)
from salfom_core.io.overlay import caption_band, caption_band_height, colour_bar_span

W, H, N_FRAMES = 480, 272, 12
GREY = 100
# observers S1 and S2 (legend rows 0 and 1) fixate far apart, the same point in every frame
OBSERVERS = {"S1": (120, 80), "S2": (360, 80)}
# their markers' colours (salfom_core.io.overlay.OBSERVER_COLOURS), written out: the legend's swatches
COLOUR_OF = {"S1": (230, 25, 75), "S2": (60, 180, 75)}
CV2_MAPS = {"jet": cv2.COLORMAP_JET, "viridis": cv2.COLORMAP_VIRIDIS, "hot": cv2.COLORMAP_HOT}


# ----------------------------------------------------------------------------- truth and pixel readers


def ramp_colours(colormap: str, n: int) -> np.ndarray:
    """(n, 3) RGB: OpenCV's own colormap of a 0..255 ramp n pixels long (the truth of a colour bar)."""
    ramp = np.linspace(0, 255, n).round().astype(np.uint8)[:, None]
    return cv2.applyColorMap(ramp, CV2_MAPS[colormap])[:, 0, ::-1].astype(int)


def bar_error(band: np.ndarray, width: int, colormap: str, row: int | None = None) -> float:
    """Mean absolute difference between the band's colour bar (its middle row) and the colormap."""
    x0, x1 = colour_bar_span(width)
    row = band.shape[0] // 2 if row is None else row
    drawn = band[row, x0:x1].astype(int)
    return float(np.abs(drawn - ramp_colours(colormap, x1 - x0))[2:-2].mean())


def text_pixels(band: np.ndarray, width: int) -> int:
    """Bright, grey (text-coloured) pixels left of the colour bar: the caption's letters."""
    x0, _x1 = colour_bar_span(width)
    left = band[:, : x0 - 30].astype(int)
    return int(((left.min(-1) > 170) & (np.ptp(left, axis=-1) < 40)).sum())


def near_colour(image: np.ndarray, centre, colour, radius: int = 12, tolerance: int = 60) -> int:
    """Pixels within `radius` of `centre` (x, y; 1-based benchmark coordinates) whose colour is
    within `tolerance` of `colour` in every channel."""
    x, y = int(centre[0]) - 1, int(centre[1]) - 1
    patch = image[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1, :3].astype(int)
    return int((np.abs(patch - np.array(colour)).max(-1) <= tolerance).sum())


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def read_png(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


# ----------------------------------------------------------------------------- the core drawing (no Qt)


FRAME = np.full((H, W, 3), GREY, np.uint8)
MAP = np.zeros((H, W), np.uint8)
MAP[100:170, 200:280] = 255


def test_the_caption_band_is_under_the_frame_with_text_and_the_layers_colour_bar():
    pane = ExportPane(lambda i: (MAP, True), "TinyHD", "viridis", 0.8, 0.0)
    image = compose_frame(FRAME, 60, 150, [pane], captions=ALL_CAPTIONS)
    band_h = caption_band_height(W)
    assert image.shape == (H + band_h, W, 3) and band_h >= 20
    # the frame is untouched: the band is below it, never over it
    assert np.array_equal(image[:H], overlay_frame(FRAME, MAP, "viridis", 0.8))
    band = image[H:]
    assert text_pixels(band, W) > 40                              # the name and the frame number
    assert bar_error(band, W, "viridis") <= 2                     # the layer's colormap, 0 on the left
    assert bar_error(band, W, "jet") > 30                         # (the check tells colormaps apart)
    assert bar_error(band[:, ::-1], W, "viridis") > 30            # ... and directions
    # the frame number is 1-based, as the app counts: index 60 is "frame 61 / 150"
    assert np.array_equal(band, caption_band(W, "TinyHD", "frame 61 / 150", "viridis"))
    assert not np.array_equal(band, caption_band(W, "TinyHD", "frame 60 / 150", "viridis"))


def test_captions_are_optional_each_on_its_own():
    pane = ExportPane(lambda i: (MAP, True), "TinyHD", "jet", 0.8)
    assert np.array_equal(compose_frame(FRAME, 0, 12, [pane], captions=NO_CAPTIONS), overlay_frame(FRAME, MAP, "jet", 0.8))
    bar_only = compose_frame(FRAME, 0, 12, [pane], captions=Captions(colour_bar=True))[H:]
    assert text_pixels(bar_only, W) == 0 and bar_error(bar_only, W, "jet") <= 2
    text_only = compose_frame(FRAME, 0, 12, [pane], captions=Captions(name=True))[H:]
    x0, x1 = colour_bar_span(W)
    assert text_pixels(text_only, W) > 20 and np.ptp(text_only[:, x0:x1]) == 0      # no bar: the plain band


def test_the_caption_marks_a_blend_a_missing_map_and_a_hidden_layer_as_the_view_does():
    def band(pane):
        return compose_frame(FRAME, 0, 12, [pane], captions=ALL_CAPTIONS)[H:]

    exact = band(ExportPane(lambda i: (MAP, True), "M", "jet"))
    assert np.array_equal(exact, caption_band(W, "M", "frame 1 / 12", "jet"))
    assert np.array_equal(band(ExportPane(lambda i: (MAP, False), "M", "jet")),
                          caption_band(W, "M", "frame 1 / 12", "jet", note="(interpolated)"))
    assert np.array_equal(band(ExportPane(lambda i: (None, False), "M", "jet")),
                          caption_band(W, "M", "frame 1 / 12", "jet", note="(not computed)"))
    hidden = band(ExportPane(lambda i: (MAP, True), "M", "jet", shows_map=False))
    assert np.array_equal(hidden, caption_band(W, "M", "frame 1 / 12", None, note="(hidden)"))    # no colour bar
    assert text_pixels(hidden, W) > text_pixels(exact, W)                  # the note is drawn


def test_side_by_side_panes_each_with_its_caption_and_colour_bar():
    left = ExportPane(lambda i: (MAP, True), "A", "viridis", 0.8)
    right = ExportPane(lambda i: (MAP, True), "B", "hot", 0.8)
    image = compose_frame(FRAME, 3, 12, [left, right], captions=ALL_CAPTIONS)
    assert image.shape[:2] == (H + caption_band_height(W), 2 * W + PANE_GAP)
    assert np.array_equal(image[:H, W + PANE_GAP:], overlay_frame(FRAME, MAP, "hot", 0.8))
    assert bar_error(image[H:, :W], W, "viridis") <= 2 and bar_error(image[H:, W + PANE_GAP:], W, "hot") <= 2


def test_a_narrow_clip_puts_the_colour_bar_on_a_second_row():
    frame = np.full((120, 160, 3), GREY, np.uint8)
    image = compose_frame(frame, 0, 6, [ExportPane(lambda i: (None, False), "Centre bias", "hot")],
                          captions=ALL_CAPTIONS)
    band = image[120:]
    rows = band.shape[0] // 2
    assert text_pixels(band[:rows], 160) > 20                     # the text on the first row, whole
    assert bar_error(band[rows:], 160, "hot") <= 2                # the bar on the second


def test_predict_overlay_burns_in_the_captions_the_cli_asks_for(tmp_path):
    from helpers import make_video

    video = make_video(tmp_path / "clip.mp4", n_frames=4, size=(W, H))
    out = tmp_path / "out"
    assert cli_main(["predict", str(video), "-c", "center-bias", "-o", str(out), "--overlay", "-q",
                     "--cache", str(tmp_path / "cache"), "--captions", "all", "--colormap", "viridis"]) == 0
    frames = decoded_frames(out / "clip_overlay.mp4")
    assert frames[0].shape[:2] == (H + caption_band_height(W), W)
    band = frames[0][H:]
    assert text_pixels(band, W) > 40 and bar_error(band, W, "viridis") <= 12      # H.264: a little codec noise
    assert cli_main(["predict", str(video), "-c", "center-bias", "-o", str(tmp_path / "plain"), "--overlay", "-q",
                     "--cache", str(tmp_path / "cache")]) == 0
    assert decoded_frames(tmp_path / "plain" / "clip_overlay.mp4")[0].shape[:2] == (H, W)    # default: none


def test_pad_to_even_repeats_the_last_column_and_row():
    from salfom_core.io.export import pad_to_even

    image = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)     # 5 wide, 3 tall
    padded = pad_to_even(image)
    assert padded.shape == (4, 6, 3)
    assert (padded[:3, :5] == image).all()
    assert (padded[:3, 5] == image[:, 4]).all() and (padded[3, :5] == image[2]).all()
    assert (padded[3, 5] == image[2, 4]).all()
    even = np.zeros((4, 6, 3), np.uint8)
    assert pad_to_even(even).shape == (4, 6, 3)


@pytest.mark.parametrize("size", [(1, 9), (9, 1), (1, 1), (5, 3)])
def test_an_odd_sized_video_exports_every_pixel_of_its_picture(tmp_path, size):
    """yuv420p needs even sizes: an odd size is padded by its last column or row (trimming it
    lost a column, and all of a one-pixel-wide video). Bare frames: the colours come back."""
    from salfom_core.io.export import write_overlay_video
    from salfom_core.io.video import open_video

    w, h = size
    frames = tmp_path / "frames"
    frames.mkdir()
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]          # RGB, one per frame
    for k, rgb in enumerate(colours):
        cv2.imwrite(str(frames / f"{k + 1:04d}.png"), np.full((h, w, 3), rgb[::-1], np.uint8))
    with open_video(frames) as source:
        write_overlay_video(source, None, tmp_path / "o.mp4", fps=25.0)
    decoded = decoded_frames(tmp_path / "o.mp4")
    assert len(decoded) == len(colours)
    for frame, rgb in zip(decoded, colours):
        assert frame.shape[:2] == (h + h % 2, w + w % 2)
        assert np.abs(frame.astype(int) - rgb).max() <= 12, frame.reshape(-1, 3)     # H.264 noise only


def test_a_wrong_captions_option_is_one_line_naming_it(tmp_path, capsys):
    assert cli_main(["predict", str(tmp_path / "x.mp4"), "-c", "center-bias", "-o", str(tmp_path),
                     "--captions", "name,title"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--captions" in err[0] and "title" in err[0], err


# ----------------------------------------------------------------------------- the app


def make_clip(folder: Path) -> tuple[Path, Path, Path]:
    """A grey clip, its gaze (S1 and S2 fixating far apart) and a maps folder hot in the middle."""
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "clip.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "1"}
        for _k in range(N_FRAMES):
            for packet in stream.encode(av.VideoFrame.from_ndarray(FRAME, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    gaze = folder / "clip_gaze.csv"
    gaze.write_text("frame,x,y,observer\n" + "".join(f"{k},{x},{y},{name}\n" for k in range(N_FRAMES)
                                                     for name, (x, y) in OBSERVERS.items()))
    maps = folder / "model_maps"
    maps.mkdir()
    for k in range(N_FRAMES):
        cv2.imwrite(str(maps / f"{k + 1:04d}.png"), MAP)
    return video, gaze, maps


@pytest.fixture()
def clip_window(qtbot, window, tmp_path):
    """The window on the clip with its gaze, the maps layer active (viridis) and the centre bias
    to compare (hot), every map computed and the first frame painted."""
    video, gaze, maps = make_clip(tmp_path / "clip")
    assert window.open_video(video, gaze=str(gaze)), window.errors
    layer = window.add_map_folder(maps)
    qtbot.waitUntil(lambda: not window.busy() and window.state.layer("Centre bias") is not None
                    and window.state.layer("Centre bias").done.all(), timeout=60000)
    window.state.set_active(layer, compare=window.state.layer("Centre bias"))
    layer.set(colormap="viridis", opacity=0.8)
    window.state.layer("Centre bias").set(colormap="hot", opacity=0.8)
    window.seek(4)
    qtbot.waitUntil(lambda: window.view.bundle is not None and window.view.bundle.index == 4
                    and window.view.bundle.maps.get(layer.name) is not None, timeout=10000)
    return window


def export_png(qtbot, window, path: Path) -> np.ndarray:
    worker = window.exporter.frame(path)
    assert worker is not None, window.errors
    with qtbot.waitSignal(worker.finished, timeout=20000):
        pass
    return read_png(path)


def export_mp4(qtbot, window, path: Path, aoi: bool = False) -> list[np.ndarray]:
    worker = window.aoi.export_overlay(path) if aoi else window.exporter.overlay(path)
    assert worker is not None, window.errors
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    assert path.exists(), window.errors
    return decoded_frames(path)


def untick_observer(window, row: int) -> None:
    """The user unticks an observer in the legend of the Layers panel."""
    item = window.layer_panel.observers.item(row)
    item.setCheckState(Qt.Unchecked)


def test_png_and_mp4_carry_the_layer_name_frame_number_and_colour_bar(qtbot, clip_window, tmp_path):
    window = clip_window
    band_h = caption_band_height(W)
    png = export_png(qtbot, window, tmp_path / "frame.png")
    assert png.shape == (H + band_h, W, 3)
    assert text_pixels(png[H:], W) > 40 and bar_error(png[H:], W, "viridis") <= 2
    # the band is the app's name, the 1-based frame the timeline shows, the layer's colormap
    assert window.timeline.frame_box.text() == "frame 5" and window.timeline.position.text().startswith("/ 12")
    assert np.array_equal(png[H:], caption_band(W, "model_maps", "frame 5 / 12", "viridis"))
    frames = export_mp4(qtbot, window, tmp_path / "overlay.mp4")
    assert len(frames) == N_FRAMES and frames[0].shape == (H + band_h, W, 3)
    assert text_pixels(frames[7][H:], W) > 40 and bar_error(frames[7][H:], W, "viridis") <= 12
    # each frame says its own number: the frame label's pixels differ from frame to frame
    x0, _x1 = colour_bar_span(W)
    label = slice(0, x0 - 30)
    changed = np.abs(frames[7][H:, label].astype(int) - frames[8][H:, label].astype(int)).max()
    assert changed > 100
    assert np.abs(frames[7][:H].astype(int) - png[:H].astype(int)).mean() < 4      # the frame: what the view shows


def test_captions_follow_the_file_export_menu_and_are_remembered(qtbot, clip_window, tmp_path):
    window = clip_window
    actions = window.caption_actions
    assert all(a.isCheckable() and a.isChecked() for a in actions.values())      # all on by default
    actions["name"].trigger()
    actions["frame"].trigger()
    actions["colour_bar"].trigger()
    png = export_png(qtbot, window, tmp_path / "bare.png")
    assert png.shape == (H, W, 3)                                                 # no band at all
    actions["colour_bar"].trigger()
    png = export_png(qtbot, window, tmp_path / "bar.png")
    assert text_pixels(png[H:], W) == 0 and bar_error(png[H:], W, "viridis") <= 2
    # remembered: a new window with the same settings starts with the colour bar only
    from salfom_app.window import MainWindow
    again = MainWindow(cache_dir=str(tmp_path / "cache2"), settings=window.settings)
    qtbot.addWidget(again)
    try:
        assert [a.isChecked() for a in again.caption_actions.values()] == [False, False, True]
        assert again.exporter.captions == Captions(colour_bar=True)
    finally:
        again.close()


def test_split_view_exports_both_panes_side_by_side_each_with_its_caption(qtbot, clip_window, tmp_path):
    window = clip_window
    window.set_view_mode("split")
    qtbot.waitUntil(lambda: len(window.view.panes) == 2, timeout=5000)
    band_h = caption_band_height(W)
    png = export_png(qtbot, window, tmp_path / "split.png")
    assert png.shape == (H + band_h, 2 * W + PANE_GAP, 3)
    left, right = png[H:, :W], png[H:, W + PANE_GAP:]
    assert bar_error(left, W, "viridis") <= 2 and bar_error(right, W, "hot") <= 2
    assert np.array_equal(left, caption_band(W, "model_maps", "frame 5 / 12", "viridis"))
    assert np.array_equal(right, caption_band(W, "Centre bias", "frame 5 / 12", "hot"))
    # the panes: the maps layer hot in the middle on the left, the centre bias on the right
    assert np.abs(png[135, 240].astype(int) - png[135, W + PANE_GAP + 240].astype(int)).max() > 30
    frames = export_mp4(qtbot, window, tmp_path / "split.mp4")
    assert frames[0].shape == (H + band_h, 2 * W + PANE_GAP, 3)
    assert bar_error(frames[4][H:, :W], W, "viridis") <= 12 and bar_error(frames[4][H:, W + PANE_GAP:], W, "hot") <= 12
    assert np.abs(frames[4].astype(int) - png.astype(int)).mean() < 4       # the video's frame 5 is the PNG


def test_hidden_observers_stay_hidden_in_every_export(qtbot, clip_window, tmp_path):
    window = clip_window
    for layer in window.state.layers:
        layer.set(visible=False)                  # the frame and the markers alone: no map colours
    qtbot.waitUntil(lambda: window.view.bundle is not None and all(m is None for m in window.view.bundle.maps.values()),
                    timeout=10000)
    # both shown: each marker's colour at its observer's point (the check can see them)
    png = export_png(qtbot, window, tmp_path / "both.png")
    for name in OBSERVERS:
        assert near_colour(png, OBSERVERS[name], COLOUR_OF[name]) > 10, name
    assert [window.layer_panel.observers.item(r).text() for r in range(2)] == ["S1", "S2"]
    untick_observer(window, 0)
    assert window.state.hidden_observers == frozenset({0})
    qtbot.wait(50)

    def hidden_s1(image: np.ndarray, label: str) -> None:
        assert near_colour(image, OBSERVERS["S1"], COLOUR_OF["S1"]) == 0, label
        assert near_colour(image, OBSERVERS["S2"], COLOUR_OF["S2"]) > 10, label

    hidden_s1(export_png(qtbot, window, tmp_path / "one.png"), "PNG")
    frames = export_mp4(qtbot, window, tmp_path / "one.mp4")
    for k in (0, 6, N_FRAMES - 1):
        hidden_s1(frames[k], f"MP4 frame {k + 1}")
    # the AOI overlay video (it draws the fixations too)
    window.aoi.editor.add("rect", 0, [(200, 150), (300, 250)], name="box")
    frames = export_mp4(qtbot, window, tmp_path / "aoi.mp4", aoi=True)
    hidden_s1(frames[3], "AOI overlay")
    # split view: both panes leave S1 out
    window.set_view_mode("split")
    qtbot.waitUntil(lambda: len(window.view.panes) == 2, timeout=5000)
    png = export_png(qtbot, window, tmp_path / "split.png")
    hidden_s1(png[:, :W], "split PNG, left")
    hidden_s1(png[:, W + PANE_GAP:], "split PNG, right")
    frames = export_mp4(qtbot, window, tmp_path / "split.mp4")
    hidden_s1(frames[2][:, W + PANE_GAP:], "split MP4, right")
