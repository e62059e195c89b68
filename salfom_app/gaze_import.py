"""File > Import gaze...: what a gaze export holds, shown and adjusted before it is imported.

`inspect_gaze` says what a file or folder holds (format, participants, stimuli, start events or
messages, the video's rectangle on the screen); the dialog shows it, lets the user choose the
participants, the stimulus and the alignment (start event or message, offset, rectangle), and
previews the result: the current frame with its samples and the per-frame sample counts over
the whole video, so a wrong offset or rectangle shows at once. The preview is `load_gaze` with
the dialog's options, run off the GUI thread (the newest settings win); Import keeps that very
reading. The options are remembered per file (QSettings), and every other way gaze reaches the
app (`--gaze`, drag and drop, the gaze beside a video) reads the file with them.

`GazeImportModel` and the functions above the dialog use no Qt (tests drive them directly).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
)
from superqt.utils import thread_worker

from salfom_core.errors import ConfigError, GazeError
from salfom_core.io.gaze import GazeInspection, GazeOptions, inspect_gaze, load_gaze
from salfom_core.io.gaze.options import check_options
from salfom_core.io.gaze.tracks import choose_stimulus

from .contrast import ERROR_STYLE, WARNING_STYLE

SETTINGS_PREFIX = "gaze_import"
ALL = None                 # GazeOptions.participants: every participant (also those a file gains later)


# --------------------------------------------------------------------- remembered settings

def settings_key(path) -> str:
    """The QSettings key of a file's options. A hash of the resolved path: QSettings reads '/' in
    a key as nested groups, and INI files mangle other characters a path may hold."""
    resolved = str(Path(path).expanduser().resolve())
    return f"{SETTINGS_PREFIX}/{hashlib.sha1(resolved.encode('utf-8')).hexdigest()[:20]}"


def options_to_dict(options: GazeOptions) -> dict:
    """The options as JSON-safe values (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(options)))


def options_from_dict(values: dict) -> GazeOptions:
    """GazeOptions from `options_to_dict`'s values; fields this version does not know are left
    out (settings written by another version must not stop a file from opening)."""
    known = {f.name: f for f in dataclasses.fields(GazeOptions)}
    defaults = GazeOptions()
    kept = {}
    for name, value in values.items():
        if name not in known:
            continue
        default = getattr(defaults, name)
        if isinstance(value, list) and (isinstance(default, tuple) or default is None):
            value = tuple(value)       # JSON has no tuples: rectangles and participant lists were tuples
        kept[name] = value
    return GazeOptions(**kept)


def remembered_options(settings, path) -> GazeOptions | None:
    """The options File > Import gaze... last imported `path` with, or None."""
    text = settings.value(settings_key(path))
    if not text:
        return None
    try:
        options = options_from_dict(json.loads(text)["options"])
        check_options(options)         # options are checked when used: a broken value forgets the file
        return options
    except (ValueError, TypeError, KeyError):
        return None                    # unreadable (another version's): as if never imported


def remember_options(settings, path, options: GazeOptions) -> None:
    resolved = str(Path(path).expanduser().resolve())
    settings.setValue(settings_key(path), json.dumps({"path": resolved, "options": options_to_dict(options)}))


# --------------------------------------------------------------------- small helpers

def is_annotation_folder(path) -> bool:
    """A benchmark's annotation folder (maps/ or fixation/ of one video), read as annotations."""
    path = Path(path)
    return path.is_dir() and ((path / "fixation").is_dir() or (path / "maps").is_dir())


def gaze_error_message(path, exc: BaseException) -> str:
    """One line naming the file and the problem, whatever the reader raised."""
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, (ValueError, OSError)):
        text = f"cannot read it ({type(exc).__name__}: {text})"      # a reader's bug still names the file
    name = Path(path).name
    return text if (str(path) in text or name in text) else f"{path}: {text}"


def fixation_origin(gaze) -> str:
    """Where a gaze layer's fixations come from: the file's own events or the detector."""
    events = gaze.events
    if events is None:
        return "Fixations: the file's fixation samples"
    parts = []
    for method in dict.fromkeys((events.method or "file").split("; ")):    # merged inputs join theirs
        kind, _, detail = method.partition(":")
        if kind == "file":
            parts.append("the file's own events" + (f" ({detail.strip()})" if detail.strip() else ""))
        elif kind == "none":
            parts.append("every sample (no detection)")
        else:
            parts.append(f"detected by {method}")      # the detector and its parameters
    return "Fixations: " + "; ".join(parts)


def frame_counts(gaze, n_frames: int) -> np.ndarray:
    """Samples per frame over the whole video."""
    if gaze is None or len(gaze) == 0:
        return np.zeros(n_frames, np.int64)
    return np.bincount(gaze.frame, minlength=n_frames)[:n_frames].astype(np.int64)


POINT_RADIUS = 3


def draw_points(image: np.ndarray, xs, ys, observers) -> np.ndarray:
    """Each sample as a dot in its observer's colour on a dark rim: raw points, not one marker
    per observer, so a spread that a wrong rectangle or offset causes is visible. (x, y) are
    benchmark coordinates: 1-based pixel (round(x), round(y)) holds the dot's centre."""
    import cv2

    from salfom_core.io.overlay import observer_colour

    out = np.ascontiguousarray(image.copy())
    centres = [(int(round(x)) - 1, int(round(y)) - 1) for x, y in zip(xs, ys)]
    for centre in centres:          # every rim first: a neighbour's rim never covers a dot
        cv2.circle(out, centre, POINT_RADIUS + 1, (0, 0, 0), -1, cv2.LINE_8)
    for centre, observer in zip(centres, observers):
        cv2.circle(out, centre, POINT_RADIUS, observer_colour(int(observer)), -1, cv2.LINE_8)
    return out


def default_stimulus(stimuli: list[str], video_name: str) -> str | None:
    """The stimulus the readers pick for this video (named like it, else the only one), or None."""
    try:
        return choose_stimulus("", stimuli, GazeOptions(video_name=video_name), "")
    except GazeError:
        return None


class GazeImportModel:
    """The dialog's state without Qt: the inspection, the settings the user edits, and the
    `GazeOptions` they make (the other option fields pass through from the remembered ones)."""

    def __init__(self, path, inspection: GazeInspection, video_name: str, size: tuple[int, int], n_frames: int, fps,
                 remembered: GazeOptions | None = None):
        self.path = Path(path)
        self.inspection = inspection
        self.video_name = video_name
        self.size, self.n_frames, self.fps = size, n_frames, fps
        self.base = remembered or GazeOptions()
        self.participants = list(inspection.participants)
        chosen = self.base.participants
        self.included = {p: chosen is ALL or p in chosen for p in self.participants}
        self.stimuli = list(inspection.stimuli)
        # the remembered one, else the one the reader picks for these options, else by name
        self.stimulus = next((s for s in (self.base.stimulus, inspection.stimulus) if s in self.stimuli), None) or \
            default_stimulus(self.stimuli, video_name)
        self.start_choices = self._start_choices(inspection)
        self.start_message = self.base.start_message or ""
        self.offset_ms = float(self.base.offset_ms or 0.0)
        implied = inspection.video_rect
        self.implied_rect = tuple(int(round(v)) for v in implied) if implied else None
        self.video_rect = tuple(self.base.video_rect) if self.base.video_rect else None

    @staticmethod
    def _start_choices(inspection: GazeInspection) -> list[str]:
        """Start events and messages the file holds, as patterns that match them exactly."""
        found = list(inspection.start_events) + list(inspection.messages)
        return [re.escape(text).replace("\\ ", " ") for text in dict.fromkeys(found)]   # a space needs no escape

    @property
    def format(self) -> str:
        return self.inspection.format

    def sample_count(self, participant: str) -> int | None:
        return self.inspection.sample_counts.get(participant)

    @property
    def notes(self) -> list[str]:
        """What the inspection warns of (a rectangle whose aspect is not the video's, ...)."""
        return list(self.inspection.notes)

    def fixations_text(self) -> str:
        """Where the import's fixations come from (GazeOptions.detect: None = the file's events, else I-VT)."""
        has_events = self.inspection.has_events
        detect = self.base.detect
        if detect == "none":
            return "every sample (no detection)"
        if detect is None and has_events:
            return "the file's own fixation events"
        name = {"ivt": "I-VT", "idt": "I-DT"}[detect or "ivt"]
        return f"detected by {name}" + ("" if has_events else " (the file has no fixation events)")

    def options(self) -> GazeOptions:
        """What the dialog's settings ask `load_gaze` for."""
        included = tuple(p for p in self.participants if self.included[p])
        if self.participants and not included:
            raise ConfigError("no participant ticked: tick at least one to import")
        every = len(included) == len(self.participants)
        # "the one named like the video" is kept as such, not as a name: the same export read
        # for another of its videos (a Tobii project shows several) then picks that video's media
        by_name = self.stimulus == default_stimulus(self.stimuli, self.video_name)
        return dataclasses.replace(
            self.base, participants=ALL if every else included, stimulus=None if by_name else self.stimulus,
            start_message=self.start_message.strip() or None, offset_ms=float(self.offset_ms),
            video_rect=tuple(float(v) for v in self.video_rect) if self.video_rect else None,
            video_name=self.video_name)

    def load(self, options: GazeOptions | None = None):
        """`load_gaze` of the file for the open video with these options (default: the dialog's)."""
        return load_gaze(self.path, self.size, self.n_frames, self.fps, options=options or self.options())

    def summary(self, gaze) -> str:
        counts = frame_counts(gaze, self.n_frames)
        text = (f"{len(gaze)} fixation samples of {len(gaze.observers)} observers in "
                f"{int((counts > 0).sum())} of {self.n_frames} frames")
        note = gaze.dropped_note()
        text = f"{text}; {note}" if note else text
        return "\n".join([text] + list(gaze.warnings))


# --------------------------------------------------------------------- the dialog (Qt)


PREVIEW_DELAY_MS = 150          # edits closer together than this make one preview load
PREVIEW_WIDTH = 480             # the preview's width on screen; the pixmap keeps the video's size


def _load_for_preview(generation: int, model: GazeImportModel, options: GazeOptions):
    """Runs in a worker thread; an error comes back as its message (a result, not a traceback)."""
    try:
        return generation, options, model.load(options), ""
    except Exception as exc:
        return generation, options, None, gaze_error_message(model.path, exc)


class GazeImportDialog(QDialog):
    """Shows what a gaze export holds and previews it under the settings; Import emits the gaze."""

    imported = Signal(object, object)        # GazeData, GazeOptions
    preview_shown = Signal(object)           # GazeOptions: the preview now shows their reading

    def __init__(self, model: GazeImportModel, read_frame, frame: int = 0, parent=None):
        super().__init__(parent)
        self.model = model
        self.read_frame = read_frame                 # frame index -> RGB image of the open video
        self.setWindowTitle(f"Import gaze - {model.path.name}")
        self.frame = int(min(max(frame, 0), model.n_frames - 1))
        self.gaze = None                             # the preview's reading under `shown_options`
        self.shown_options: GazeOptions | None = None
        self.error = ""                              # the preview's error under the current settings
        self.counts = np.zeros(model.n_frames, np.int64)
        self.preview_image: np.ndarray | None = None  # what the preview shows (RGB, video size)
        self.previews = 0                            # loads finished (tests wait on it)
        self._generation = 0                         # bumped by every edit: the newest settings win
        self._shown_generation = -1                  # the edit whose reading is on screen
        self._worker = None
        self._import_requested = False
        self._closed = False
        self._debounce = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._debounce.timeout.connect(self._start_preview)
        found = self._found_group()
        alignment = self._alignment_group()
        preview = self._preview_group()
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.AcceptRole)
        self.buttons.accepted.connect(self.request_import)
        self.buttons.rejected.connect(self.reject)
        left = QVBoxLayout()
        left.addWidget(found, 1)
        left.addWidget(alignment)
        columns = QHBoxLayout()
        columns.addLayout(left)
        columns.addWidget(preview, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.buttons)
        self._show_frame()
        self.settings_changed()

    # ----------------------------------------------------------------- building

    def _found_group(self) -> QGroupBox:
        m = self.model
        self.format_label = QLabel(m.format)
        self.participants = QListWidget()
        for name in m.participants:
            count = m.sample_count(name)
            item = QListWidgetItem(name if count is None else f"{name} ({count} samples)")
            item.setData(Qt.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if m.included[name] else Qt.Unchecked)
            self.participants.addItem(item)
        self.participants.itemChanged.connect(self._participant_toggled)
        self.stimulus = QComboBox()
        self.stimulus.addItems(m.stimuli)
        if m.stimulus is None and m.stimuli:
            self.stimulus.insertItem(0, f"(none is named {m.video_name}: choose)")
            self.stimulus.setCurrentIndex(0)
        elif m.stimulus:
            self.stimulus.setCurrentText(m.stimulus)
        self.stimulus.currentTextChanged.connect(self._stimulus_chosen)
        group = QGroupBox("Found")
        form = QFormLayout(group)
        self.fixations_label = QLabel(m.fixations_text())
        self.notes = QLabel("\n".join(m.notes))
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet(WARNING_STYLE)        # 4.5:1 on any theme (contrast.py)
        self.notes.setVisible(bool(m.notes))
        form.addRow("Format", self.format_label)
        form.addRow("Fixations", self.fixations_label)
        form.addRow("Participants (tick to include)", self.participants)
        if m.stimuli:
            form.addRow("Stimulus", self.stimulus)
        form.addRow(self.notes)
        return group

    def _alignment_group(self) -> QGroupBox:
        m = self.model
        self.start = QComboBox()
        self.start.setEditable(True)
        self.start.addItem("")                           # the file's own start (VFRAME, VideoStimulusStart)
        self.start.addItems(m.start_choices)
        self.start.setCurrentText(m.start_message)
        self.start.lineEdit().setPlaceholderText("the file's own frame or start events")
        self.start.setToolTip("A regular expression matching the message or event at the video's first frame; "
                              "empty: the file's own video-frame or stimulus-start events")
        self.start.currentTextChanged.connect(self._start_edited)
        self.offset = QDoubleSpinBox()
        self.offset.setRange(-600000, 600000)
        self.offset.setDecimals(1)
        self.offset.setSuffix(" ms")
        self.offset.setValue(m.offset_ms)
        self.offset.setToolTip("Added to every sample's time: a positive offset moves the gaze to later frames")
        self.offset.valueChanged.connect(self._offset_edited)
        self.rect_auto = QCheckBox("from the file" + (f" ({', '.join(map(str, m.implied_rect))})"
                                                      if m.implied_rect else ""))
        self.rect_auto.setChecked(m.video_rect is None)
        self.rect_auto.toggled.connect(self._rect_edited)
        self.rect = []
        shown = m.video_rect or m.implied_rect or (0, 0, *m.size)
        rect_row = QHBoxLayout()
        for label, value in zip("XYWH", shown):
            box = QSpinBox()
            box.setRange(-100000, 100000)
            box.setValue(int(value))
            box.setPrefix(f"{label} ")
            box.valueChanged.connect(self._rect_edited)
            self.rect.append(box)
            rect_row.addWidget(box)
        self._enable_rect()
        group = QGroupBox("Alignment")
        form = QFormLayout(group)
        form.addRow("Start message or event", self.start)
        form.addRow("Offset", self.offset)
        form.addRow("Video on the screen", self.rect_auto)
        form.addRow("X, Y, W, H (screen px)", rect_row)
        return group

    def _preview_group(self) -> QGroupBox:
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setMinimumWidth(PREVIEW_WIDTH)
        self.frame_box = QSpinBox()
        self.frame_box.setRange(1, self.model.n_frames)
        self.frame_box.setValue(self.frame + 1)
        self.frame_box.setPrefix("frame ")
        self.frame_box.valueChanged.connect(lambda v: self.set_frame(v - 1))
        self.strip = pg.PlotWidget()
        self.strip.setFixedHeight(90)
        self.strip.setMenuEnabled(False)
        self.strip.setMouseEnabled(False, False)
        self.strip.hideButtons()
        self.strip.getAxis("left").setLabel("samples")
        self.strip_curve = pg.PlotDataItem(np.arange(self.model.n_frames + 1), self.counts, stepMode="center",
                                           fillLevel=0, brush=(90, 160, 255, 160), pen=(90, 160, 255))
        self.strip.addItem(self.strip_curve)
        self.strip_cursor = pg.InfiniteLine(self.frame + 0.5, pen=pg.mkPen((255, 200, 0), width=1))
        self.strip.addItem(self.strip_cursor)
        self.strip.scene().sigMouseClicked.connect(self._strip_clicked)
        self.status = QLabel("reading...")
        self.status.setWordWrap(True)
        group = QGroupBox("Preview")
        column = QVBoxLayout(group)
        column.addWidget(self.preview, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Samples per frame, whole video; click to preview a frame"), 1)
        row.addWidget(self.frame_box)
        column.addLayout(row)
        column.addWidget(self.strip)
        column.addWidget(self.status)
        return group

    # ----------------------------------------------------------------- edits

    def _participant_toggled(self, item: QListWidgetItem) -> None:
        self.model.included[item.data(Qt.UserRole)] = item.checkState() == Qt.Checked
        self.settings_changed()

    def _stimulus_chosen(self, text: str) -> None:
        if text in self.model.stimuli:
            self.model.stimulus = text
            self.settings_changed()

    def _start_edited(self, text: str) -> None:
        self.model.start_message = text
        self.settings_changed()

    def _offset_edited(self, value: float) -> None:
        self.model.offset_ms = float(value)
        self.settings_changed()

    def _rect_edited(self, *_):
        self._enable_rect()
        self.model.video_rect = None if self.rect_auto.isChecked() else tuple(b.value() for b in self.rect)
        self.settings_changed()

    def _enable_rect(self) -> None:
        for box in self.rect:
            box.setEnabled(not self.rect_auto.isChecked())

    def set_frame(self, frame: int) -> None:
        frame = int(min(max(frame, 0), self.model.n_frames - 1))
        if frame != self.frame:
            self.frame = frame
            self.frame_box.blockSignals(True)
            self.frame_box.setValue(frame + 1)
            self.frame_box.blockSignals(False)
            self.strip_cursor.setValue(frame + 0.5)
            self._show_frame()

    def _strip_clicked(self, event) -> None:
        if event.button() == Qt.LeftButton:
            point = self.strip.getPlotItem().vb.mapSceneToView(event.scenePos())
            self.set_frame(int(np.floor(point.x())))

    # ----------------------------------------------------------------- the preview, off the GUI thread

    def settings_changed(self) -> None:
        """Any edit: the preview loads again (once, after the edits stop for PREVIEW_DELAY_MS)."""
        self._generation += 1
        self.status.setText("reading...")
        self._debounce.start()

    def _start_preview(self) -> None:
        if self._closed or self._worker is not None:
            return                     # one load at a time (2 cores); its return starts the newest
        try:
            options = self.model.options()
        except ValueError as exc:      # a setting the options refuse (a regex being typed): say so, read nothing
            self._preview_loaded((self._generation, None, None, str(exc)))
            return
        worker = thread_worker(_load_for_preview, start_thread=False)(self._generation, self.model, options)
        worker.returned.connect(self._preview_loaded)
        worker.finished.connect(self._worker_finished)
        self._worker = worker
        worker.start()

    def _worker_finished(self) -> None:
        self._worker = None
        if not self._closed and self._generation != self._shown_generation and not self._debounce.isActive():
            self._start_preview()      # settings changed while it read: read the newest

    def preview_current(self) -> bool:
        """The preview shows the current settings (no edit waits for its reading)."""
        return self._generation == self._shown_generation and not self._debounce.isActive()

    def _preview_loaded(self, result) -> None:
        generation, options, gaze, error = result
        if self._closed or generation != self._generation:
            return                     # older settings than the ones on screen: never shown
        self._shown_generation = generation
        self.gaze, self.shown_options, self.error = gaze, options, error
        self.counts = frame_counts(gaze, self.model.n_frames)
        self.strip_curve.setData(np.arange(self.model.n_frames + 1), self.counts)
        self.status.setText(error or self.model.summary(gaze))
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.import_button.setEnabled(not error)
        self.previews += 1
        self._show_frame()
        self.preview_shown.emit(options)
        if self._import_requested:
            self._finish_import()

    def _show_frame(self) -> None:
        try:
            image = self.read_frame(self.frame)
        except Exception:              # a frame that does not decode: the points on black still tell
            w, h = self.model.size
            image = np.zeros((h, w, 3), np.uint8)
        if self.gaze is not None:
            image = draw_points(image, *self.gaze.for_frame(self.frame))
        self.preview_image = np.ascontiguousarray(image[..., :3])
        h, w = self.preview_image.shape[:2]
        qimage = QImage(self.preview_image.data, w, h, 3 * w, QImage.Format_RGB888).copy()
        # one size on screen whatever the video's: a 64x48 clip grows, a 4K one shrinks
        self.preview_scale = PREVIEW_WIDTH / w
        self.preview.setPixmap(QPixmap.fromImage(qimage).scaled(PREVIEW_WIDTH, int(round(h * self.preview_scale)),
                                                                Qt.IgnoreAspectRatio, Qt.SmoothTransformation))

    # ----------------------------------------------------------------- import

    def request_import(self) -> None:
        """Import the gaze of the current settings: the preview's reading, once it is current."""
        self._import_requested = True
        if self._generation == self._shown_generation:
            self._finish_import()
        else:
            self.status.setText("reading... (imports when done)")

    def _finish_import(self) -> None:
        self._import_requested = False
        if self.error or self.gaze is None:
            return                     # the error is on screen; the user changes a setting or cancels
        self.imported.emit(self.gaze, self.shown_options)
        self.accept()

    def keyPressEvent(self, event) -> None:
        # Return after typing an offset or a rectangle applies it (the preview follows); a dialog
        # would press its default button, and a half-checked import is not what the user meant
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.focusWidget() is not self.import_button:
            event.accept()
            return
        super().keyPressEvent(event)

    def done(self, code: int) -> None:
        self._closed = True
        self._debounce.stop()
        super().done(code)


# --------------------------------------------------------------------- the File menu's entries

def choose_and_import_gaze(window, folder: bool = False) -> None:
    """File > Import gaze... (a file) or Import gaze folder... (EyeLink, Pupil, SMI exports; an
    annotation folder opens at once, it has nothing to choose)."""
    if folder:
        path = QFileDialog.getExistingDirectory(window, "Import gaze folder or annotation folder")
    else:
        path, _ = QFileDialog.getOpenFileName(window, "Import gaze", "", "Gaze exports (*.tsv *.csv *.asc *.txt);;"
                                                                          "All files (*)")
    if path:
        import_gaze(window, path)


def import_gaze(window, path) -> None:
    """Inspect `path` off the GUI thread, then show the import dialog (`window.gaze_import_dialog`)."""
    importer = getattr(window, "gaze_importer", None)
    if importer is None:
        importer = window.gaze_importer = GazeImporter(window)
    importer.start(path)


class GazeImporter(QObject):
    """Inspects a file in a worker thread, then opens the dialog on it; Import sets the gaze.

    A QObject of the GUI thread, so the worker's results arrive in its slots on that thread."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.dialog: GazeImportDialog | None = None
        self._worker = None
        self._path = None

    def start(self, path) -> None:
        w = self.window
        if w.state.video is None:
            w.report_error("No video", "Open a video before its gaze.")
            return
        if is_annotation_folder(path):
            w.session.open_gaze(path)
            return
        # the remembered settings, for the open video (its name picks a Tobii file's stimulus)
        remembered = remembered_options(w.settings, path) or GazeOptions()
        self._path = str(path)
        self._remembered = dataclasses.replace(remembered, video_name=w.state.video_path.name)
        w.gaze_import_dialog = self.dialog = None
        w.statusBar().showMessage(f"Reading {Path(path).name}...")
        self._worker = thread_worker(_inspect, start_thread=False)(self._path, self._remembered)
        self._worker.returned.connect(self._inspected)
        self._worker.start()

    def _inspected(self, result) -> None:
        inspection, error = result
        w, state = self.window, self.window.state
        w.statusBar().clearMessage()
        if error:
            w.report_error("Cannot read gaze", error)
            return
        if state.video is None:
            return                     # the video was closed meanwhile
        info = state.video.info
        # the frame count the session reads other gaze with, so an import equals a drop of the file
        model = GazeImportModel(self._path, inspection, state.video_path.name, (info.width, info.height),
                                info.frame_count, state.clock, self._remembered)
        dialog = GazeImportDialog(model, state.video.read, state.frame, w)
        dialog.imported.connect(self._imported)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        w.gaze_import_dialog = self.dialog = dialog      # tests drive it
        dialog.open()

    def _imported(self, gaze, options) -> None:
        path = self.dialog.model.path if self.dialog is not None else Path(self._path)
        remember_options(self.window.settings, path, options)
        self.window.session.use_gaze(path, gaze)


def _inspect(path, remembered):
    """Runs in a worker thread; an error comes back as its message."""
    try:
        return inspect_gaze(path, options=remembered), ""
    except Exception as exc:
        return None, gaze_error_message(path, exc)
