"""The AOI panel: the open video's areas of interest and their figures for gaze and every visible
model side by side.

- The list: draw (rectangle, ellipse, polygon), rename (double-click), recolour, delete,
  "Hide from here" / "Show from here", jump between the selected AOI's keyframes, undo/redo.
- Track forward from the playhead (`aoi_jobs.AoiTracker`), with progress and cancel.
- The table: per AOI and source (gaze, each visible model) the summary figures of AOI_SPEC.md,
  sortable.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .aoi_layer import AoiOverlay
from .aoi_state import AoiEditor
from .contrast import WARNING_STYLE
from .dataset_panel import NumberItem
from .state import ViewerState

SUMMARY_COLUMNS = (("aoi", "AOI"), ("source", "source"), ("frames_active", "frames"), ("share_mean", "share"),
                   ("density_mean", "density"), ("percent_fixated", "% fixated"), ("ttff_ms_mean", "TTFF ms"),
                   ("fixation_ms_mean", "fixation ms"))


def colour_icon(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class AoiPanel(QWidget):
    """The AOIs of the open video and what can be done to them (see the module's doc)."""

    track_requested = Signal(str, float)        # AOI name, minimum match score
    track_cancel = Signal()
    export_requested = Signal(str)              # "csv", "plot", "overlay"

    def __init__(self, state: ViewerState, editor: AoiEditor, overlay: AoiOverlay, parent=None):
        super().__init__(parent)
        self.state = state
        self.editor = editor
        self.overlay = overlay
        self._filling = False
        self.message = QLabel()           # the last problem (a refused edit, a file that cannot be read)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(WARNING_STYLE)      # 4.5:1 on any theme (contrast.py)
        self.message.setVisible(False)
        aois_box = QGroupBox("Areas of interest")
        column = QVBoxLayout(aois_box)
        column.addLayout(self._drawing_tools())
        column.addWidget(self._aoi_list())
        column.addLayout(self._aoi_buttons())
        column.addLayout(self._tracking_row())
        column.addWidget(self.track_note)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(aois_box)
        layout.addWidget(self._figures_box(), 1)
        editor.changed.connect(lambda _names: self._fill_list())
        editor.selection_changed.connect(self._selection_changed)
        editor.history_changed.connect(self._history_changed)
        editor.problem.connect(self.show_problem)
        overlay.tool_changed.connect(self._tool_changed)
        state.frame_changed.connect(lambda _f: self._update_buttons())
        self._fill_list()
        self._history_changed()

    def _drawing_tools(self):
        """Rectangle, ellipse and polygon tools; undo and redo."""
        self.tools: dict[str, QToolButton] = {}
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Draw"))
        for tool, text in (("rect", "Rectangle"), ("ellipse", "Ellipse"), ("polygon", "Polygon")):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.clicked.connect(lambda on, tool=tool: self.overlay.set_tool(tool if on else None))
            self.tools[tool] = button
            tools.addWidget(button)
        tools.addStretch(1)
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.clicked.connect(self.editor.undo)
        self.redo_button = QToolButton()
        self.redo_button.setText("Redo")
        self.redo_button.clicked.connect(self.editor.redo)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.redo_button)
        return tools

    def _aoi_list(self):
        """The AOIs, renamed in place (double-click or F2)."""
        self.list = QListWidget()
        self.list.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemChanged.connect(self._item_renamed)
        self.list.setMaximumHeight(130)
        return self.list

    def _aoi_buttons(self):
        """Colour, delete, hide/show from here, keyframe jumps and removal."""
        self.colour_button = QPushButton("Colour...")
        self.colour_button.clicked.connect(self._choose_colour)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(lambda: self._on_selected(self.editor.delete))
        self.hide_button = QPushButton("Hide from here")
        self.hide_button.clicked.connect(self._at_playhead(self.editor.hide_from))
        self.show_button = QPushButton("Show from here")
        self.show_button.clicked.connect(self._at_playhead(self.editor.show_from))
        self.previous_key = QPushButton("\u25c0 Keyframe")
        self.previous_key.clicked.connect(lambda: self.jump_keyframe(-1))
        self.next_key = QPushButton("Keyframe \u25b6")
        self.next_key.clicked.connect(lambda: self.jump_keyframe(+1))
        self.remove_key = QPushButton("Remove keyframe")
        self.remove_key.clicked.connect(self._at_playhead(self.editor.remove_keyframe))
        buttons = QGridLayout()
        for k, button in enumerate((self.colour_button, self.delete_button, self.hide_button, self.show_button,
                                    self.previous_key, self.next_key, self.remove_key)):
            buttons.addWidget(button, k // 3, k % 3)
        return buttons

    def _at_playhead(self, edit):
        """A slot applying `edit(name, frame)` to the selected AOI at the playhead's frame."""
        return lambda: self._on_selected(lambda name: edit(name, self.state.frame))

    def _tracking_row(self):
        """Track forward, its minimum score, progress and cancel (the note goes below the row)."""
        self.track_button = QPushButton("Track forward")
        self.track_button.setToolTip("Follow the selected AOI's content from this frame on (template matching); "
                                     "stops where the match falls under the minimum score")
        self.track_button.clicked.connect(self._track)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.05, 0.99)
        self.min_score.setSingleStep(0.05)
        self.min_score.setValue(0.6)
        self.min_score.setToolTip("Tracking stops where the match score falls under this")
        self.track_progress = QProgressBar()
        self.track_progress.setVisible(False)
        self.track_stop = QPushButton("Cancel")
        self.track_stop.setVisible(False)
        self.track_stop.clicked.connect(self.track_cancel.emit)
        self.track_note = QLabel()
        self.track_note.setWordWrap(True)
        track_row = QHBoxLayout()
        track_row.addWidget(self.track_button)
        track_row.addWidget(QLabel("min score"))
        track_row.addWidget(self.min_score)
        track_row.addWidget(self.track_progress, 1)
        track_row.addWidget(self.track_stop)
        return track_row

    def _figures_box(self):
        """The summary table (sortable), its note and the exports."""
        self.table = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.table.setHorizontalHeaderLabels([label for _key, label in SUMMARY_COLUMNS])
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)   # the AOIs' order until a click
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.figures_note = QLabel()
        self.figures_note.setWordWrap(True)
        exports = QHBoxLayout()
        choices = (("csv", "Export CSVs..."), ("plot", "Export plot..."), ("overlay", "Export overlay video..."))
        for what, text in choices:
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, what=what: self.export_requested.emit(what))
            exports.addWidget(button)
        figures_box = QGroupBox("Figures (AOI_SPEC.md)")
        figures = QVBoxLayout(figures_box)
        figures.addWidget(self.table, 1)
        figures.addWidget(self.figures_note)
        figures.addLayout(exports)
        return figures_box

    # ----------------------------------------------------------------- the list

    def _fill_list(self) -> None:
        self._filling = True
        try:
            self.list.clear()
            for name in self.editor.names():
                item = QListWidgetItem(colour_icon(self.editor.colour(name)), name)
                item.setData(Qt.UserRole, name)
                item.setFlags(item.flags() | Qt.ItemIsEditable)
                item.setToolTip(f"{self.editor.shape_kind(name)}, {len(self.editor.keyframe_indices(name))} keyframes")
                self.list.addItem(item)
                if name == self.editor.selected:
                    self.list.setCurrentItem(item)
        finally:
            self._filling = False
        self._update_buttons()

    def _current_changed(self, current, _previous) -> None:
        if not self._filling:
            self.editor.select(current.data(Qt.UserRole) if current is not None else None)

    def _selection_changed(self, name) -> None:
        self._filling = True
        try:
            for row in range(self.list.count()):
                item = self.list.item(row)
                if item.data(Qt.UserRole) == name:
                    self.list.setCurrentItem(item)
                    break
            else:
                self.list.setCurrentItem(None)
        finally:
            self._filling = False
        self._update_buttons()

    def _item_renamed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        old, new = item.data(Qt.UserRole), item.text()
        if not self.editor.rename(old, new):
            self._fill_list()               # refused (a name taken, empty): the list shows the state

    def _on_selected(self, action) -> None:
        if self.editor.selected is not None:
            action(self.editor.selected)

    def _choose_colour(self) -> None:
        name = self.editor.selected
        if name is None:
            return
        colour = QColorDialog.getColor(QColor(self.editor.colour(name)), self, f"Colour of {name}")
        if colour.isValid():
            self.editor.recolour(name, colour.name())

    def rename_selected(self) -> None:
        name = self.editor.selected
        if name is not None:
            new, ok = QInputDialog.getText(self, "Rename AOI", "Name:", text=name)
            if ok:
                self.editor.rename(name, new)

    def jump_keyframe(self, direction: int) -> None:
        """The playhead to the selected AOI's next (+1) or previous (-1) keyframe."""
        name = self.editor.selected
        if name is None:
            return
        frames = [f for f, _active in self.editor.keyframe_indices(name)]
        here = self.state.frame
        ahead = [f for f in frames if f > here] if direction > 0 else [f for f in frames if f < here][::-1]
        if ahead:
            self.state.set_frame(ahead[0])

    def _update_buttons(self) -> None:
        name = self.editor.selected
        has = name is not None
        for button in (self.colour_button, self.delete_button, self.track_button):
            button.setEnabled(has)
        active = has and self.editor.shape_at(name, self.state.frame)[0]
        keys = dict(self.editor.keyframe_indices(name)) if has else {}
        self.hide_button.setEnabled(has and active)
        self.show_button.setEnabled(has and not active and self.editor.shape_at(name, self.state.frame)[1] is not None)
        self.remove_key.setEnabled(has and self.state.frame in keys and len(keys) > 1)
        self.previous_key.setEnabled(has and any(f < self.state.frame for f in keys))
        self.next_key.setEnabled(has and any(f > self.state.frame for f in keys))

    def _history_changed(self) -> None:
        self.undo_button.setEnabled(self.editor.can_undo)
        self.redo_button.setEnabled(self.editor.can_redo)
        self.undo_button.setToolTip(f"Undo {self.editor.undo_label()}" if self.editor.can_undo else "")
        self.redo_button.setToolTip(f"Redo {self.editor.redo_label()}" if self.editor.can_redo else "")

    def _tool_changed(self, tool) -> None:
        for name, button in self.tools.items():
            button.setChecked(name == tool)

    def show_problem(self, message: str) -> None:
        self.message.setText(message)
        self.message.setToolTip(message)
        self.message.setVisible(bool(message))

    # ----------------------------------------------------------------- tracking

    def _track(self) -> None:
        if self.editor.selected is not None:
            self.track_requested.emit(self.editor.selected, float(self.min_score.value()))

    def tracking(self, running: bool, note: str = "") -> None:
        self.track_button.setEnabled(not running and self.editor.selected is not None)
        self.track_progress.setVisible(running)
        self.track_stop.setVisible(running)
        if running:
            self.track_progress.setValue(0)
        self.track_note.setText(note)

    def track_step(self, done: int, total: int) -> None:
        self.track_progress.setMaximum(max(total, 1))
        self.track_progress.setValue(done)

    # ----------------------------------------------------------------- figures

    def show_summary(self, rows: list[dict], note: str = "") -> None:
        """The summary rows (dicts with SUMMARY_COLUMNS' keys), numbers sortable by value."""
        sorting = self.table.isSortingEnabled()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (key, _label) in enumerate(SUMMARY_COLUMNS):
                value = row.get(key)
                if key in ("aoi", "source"):
                    item = QTableWidgetItem(str(value))
                else:
                    digits = 0 if key in ("frames_active", "ttff_ms_mean", "fixation_ms_mean") else (
                        1 if key == "percent_fixated" else 3)
                    item = NumberItem(_number(value), digits)       # blank: no value (no hit, no events)
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(sorting)
        self.figures_note.setText(note)


def _number(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
