"""The window on a 1366x768 laptop screen (issue 21, point 4): it opens within the screen, its
minimum size fits, every named control is painted inside the window; the dataset panel is a
tab that shows its rows and speaks the window's metric names; the observer legend and the
training dialog show all of their content.

The screen is set through the offscreen platform's config file, so the layout checks run in a
child process (the test process's QApplication has the default 800x800 screen)."""
import json
import os
import subprocess
import sys
from pathlib import Path


HERE = Path(__file__).resolve().parent
SCREEN = (1366, 768)
ROOM_FOR_TITLE_AND_TASKBAR = 60       # a laptop's taskbar and the title bar take this much height at least


def run_on_laptop_screen(tmp_path, *args) -> dict:
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": SCREEN[0],
                                               "height": SCREEN[1], "logicalDpi": 96, "logicalBaseDpi": 96,
                                               "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    out = tmp_path / "layout.json"
    done = subprocess.run([sys.executable, str(Path(__file__)), str(tmp_path), str(out), *args], env=env,
                          cwd=HERE.parent, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def test_the_window_fits_a_1366x768_screen_and_shows_every_named_control(tmp_path, real_dataset):
    report = run_on_laptop_screen(tmp_path, str(real_dataset))
    room = report["available"]
    assert room == [0, 0, *SCREEN]
    x, y, width, height = report["frame"]
    assert x >= 0 and y >= 0 and x + width <= SCREEN[0] and y + height <= SCREEN[1]      # opened within it
    min_width, min_height = report["minimum"]
    assert min_width <= SCREEN[0] and min_height <= SCREEN[1] - ROOM_FOR_TITLE_AND_TASKBAR, report["minimum"]
    # the dataset tab does not raise the minimum height (the bottom dock raised it to 944 px)
    assert report["minimum_with_dataset"][1] <= SCREEN[1] - ROOM_FOR_TITLE_AND_TASKBAR
    hidden = [name for name, shown in report["controls"].items() if not shown]
    assert not hidden, f"not painted inside the window at {SCREEN}: {hidden}"
    # the dataset tab: both videos' rows shown in full, the video column stretched over the room left
    table = report["dataset_table"]
    assert table["rows_shown"] == table["rows"] == 2
    assert abs(table["video_width"] - (table["viewport_width"] - table["other_widths"])) <= 2
    assert table["viewport_width"] > 500
    assert table["video_width"] >= table["longest_name_width"]         # "Diving-Side-001" in full
    # the window's metric names, in its order, and its decimals
    assert table["metric_items"] == ["CC", "NSS", "SIM", "AUC-Judd", "sAUC", "KLD"]
    assert table["foot_headers"] == ["frames", "CC", "NSS", "SIM", "AUC-Judd", "sAUC", "KLD"]
    scores = [v for v in table["score_texts"] if v]
    assert len(scores) == 2 and all(len(v.split(".")[1]) == 3 for v in scores), table["score_texts"]
    # the observer legend: one row per observer of the demo (8), none cut, no scroll bar
    legend = report["legend"]
    assert legend["rows"] == 8 and legend["visible_rows"] == 8 and not legend["scrollbar"]
    assert legend["height"] <= legend["rows"] * legend["row_height"] + 2 * legend["frame"] + 1     # no empty band
    # the training dialog: its explanation and the output path shown in full
    dialog = report["training_dialog"]
    assert dialog["note_height"] >= dialog["note_needs"] and dialog["note_shown_in_full"]
    assert "<output>/data first" in dialog["note_text"]
    assert dialog["output_width"] >= dialog["output_text_width"]
    assert dialog["fits"]


# ----------------------------------------------------------------- the child process


def probe(tmp: Path, out: Path, dataset: str) -> None:
    from PySide6.QtCore import QRect, QSettings, Qt
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(HERE))
    app = QApplication([])
    from salfom_app.training import NewRunDialog
    from salfom_app.window import DEMO_VIDEO, MainWindow

    w = MainWindow(cache_dir=str(tmp / "cache"), settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat))
    w.show()
    assert w.open_video(DEMO_VIDEO)
    settle(app)
    report = {"available": rect(w.screen().availableGeometry()), "frame": rect(w.frameGeometry()),
              "minimum": size(w.minimumSizeHint())}
    window_rect = QRect(0, 0, w.width(), w.height())
    named = {"video view": w.view.graphics, "timeline": w.timeline, "curves plot": w.curves.plot,
             "metric choice": w.curves.metric, "summary table": w.curves.table, "next worst": w.curves.better,
             "layer list": w.layer_panel.list, "colormap": w.layer_panel.colormap,
             "opacity": w.layer_panel.opacity, "ground-truth checkbox": w.layer_panel.ground_truth,
             "fixations checkbox": w.layer_panel.fixations, "status bar": w.statusBar(), "menu bar": w.menuBar()}
    controls = {name: painted_inside(widget, w, window_rect) for name, widget in named.items()}
    legend = w.layer_panel.observers
    report["legend"] = {"rows": legend.count(), "row_height": legend.sizeHintForRow(0), "height": legend.height(),
                        "frame": legend.frameWidth(), "scrollbar": legend.verticalScrollBar().isVisible(),
                        "visible_rows": sum(legend.visualItemRect(legend.item(r)).bottom() < legend.viewport().height()
                                            for r in range(legend.count()))}
    panel = w.dataset_panel
    assert panel.open_dataset(dataset)
    import time
    deadline = time.monotonic() + 120
    while panel.busy() and time.monotonic() < deadline:     # the centre bias's scores of both videos
        settle(app, 5)
    panel.cancel(wait=True)
    settle(app)
    report["minimum_with_dataset"] = size(w.minimumSizeHint())
    controls["dataset table"] = painted_inside(panel.table, w, window_rect)
    controls["dataset foot"] = painted_inside(panel.foot, w, window_rect)
    controls["dataset metric"] = painted_inside(panel.metric, w, window_rect)
    w.resizeDocks([panel.dock], [620], Qt.Horizontal)      # a wider tab: the video column takes the room
    settle(app)
    table = panel.table
    widths = [table.columnWidth(c) for c in range(1, table.columnCount())]
    shown = sum(table.visualRect(table.model().index(r, 0)).bottom() < table.viewport().height()
                and table.visualRect(table.model().index(r, 0)).top() >= 0 for r in range(table.rowCount()))
    report["dataset_table"] = {
        "rows": table.rowCount(), "rows_shown": shown, "video_width": table.columnWidth(0),
        "longest_name_width": max(table.fontMetrics().horizontalAdvance(table.item(r, 0).text())
                                  for r in range(table.rowCount())),
        "viewport_width": table.viewport().width(), "other_widths": sum(widths), "other_column_widths": widths,
        "metric_items": [panel.metric.itemText(i) for i in range(panel.metric.count())],
        "foot_headers": [panel.foot.horizontalHeaderItem(c).text() for c in range(panel.foot.columnCount())],
        "score_texts": [table.item(r, c).text() for r in range(table.rowCount())
                        for c in range(3, table.columnCount()) if table.item(r, c) is not None]}
    report["controls"] = controls
    report["training_dialog"] = training_dialog(app, NewRunDialog, w)
    w.close()
    out.write_text(json.dumps(report))


def training_dialog(app, dialog_class, window) -> dict:
    dialog = dialog_class(window, cuda=False, gaze_sources={"the open video's gaze": [("v.mp4", "g.csv")]})
    dialog.show()
    settle(app)
    dialog.source.setCurrentIndex(1)          # the user picks the gaze: the explanation appears
    settle(app)
    note, output = dialog.source_note, dialog.output
    room = dialog.screen().availableGeometry()
    return {"note_text": note.text(), "note_height": note.height(), "note_needs": note.heightForWidth(note.width()),
            "note_shown_in_full": note.contentsRect().height() >= note.heightForWidth(note.width())
            - 2 * note.margin(),
            "output_width": output.width(), "output_text_width": output.fontMetrics().horizontalAdvance(output.text()),
            "fits": dialog.width() <= room.width() and dialog.height() <= room.height()}


def painted_inside(widget, window, window_rect) -> bool:
    """Shown, not clipped away by a parent (a scroll area, a collapsed splitter), inside the window."""
    from PySide6.QtCore import QPoint

    if hasattr(widget, "viewport"):          # a plot, a view: what is painted is its viewport
        widget = widget.viewport()
    if not widget.isVisible() or widget.visibleRegion().isEmpty():
        return False
    region = widget.visibleRegion().boundingRect()
    if region.height() < min(widget.height(), 12) or region.width() < min(widget.width(), 12):
        return False                        # a sliver at the edge of a scroll area is not reachable
    top_left = widget.mapTo(window, region.topLeft())
    bottom_right = top_left + QPoint(region.width() - 1, region.height() - 1)
    return window_rect.contains(top_left) and window_rect.contains(bottom_right)


def settle(app, rounds: int = 30) -> None:
    import time
    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.01)


def rect(r) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def size(s) -> list[int]:
    return [s.width(), s.height()]


if __name__ == "__main__":
    probe(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
