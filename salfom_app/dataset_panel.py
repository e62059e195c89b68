"""The dataset panel: every video of a split, each model's score per video, the protocol foot.

File > Open dataset... (or `salfom-app --dataset ROOT`) lists the videos of a DHF1K,
Hollywood-2 or UCF-Sports root (or one split / a folder of annotated video folders / a folder
of videos with their gaze beside them, `<video>_gaze.csv` or `<video>_gaze/`). Models:
the centre bias, SalFoM from the prediction cache when the window has a checkpoint (videos not
predicted yet are reported per video), and any predictions root of per-video map folders
(File > Add predictions root..., `--maps-root`). Per-video scores come from `salfom_core.evaluation.dataset_scores`, the code
`salfom evaluate` runs: computed in a background thread, the visible rows first, cached on
disk so that reopening a dataset is instant. The foot shows each model's DHF1K protocol
score (pooled over all frames of all videos: the numbers `salfom evaluate` prints) once every
video is scored. The observers column counts each video's observers from its gaze (a CSV's
observer column, SMI exports, make-dataset's gaze.csv; blank where plain annotations do not
say), in the scoring thread. Double-clicking a row opens that video at the chosen model's worst frame.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from salfom_core.evaluation.dataset_scores import CachedPredictions, DatasetScoring
from salfom_core.evaluation.sources import CenterBiasMaps, PredictionRoot
from salfom_core.evaluation.truths import dataset_truths
from salfom_core.io.observers import observer_count

from .contrast import error_html
from .state import METRIC_LABELS, METRIC_TIPS

FIRST_MODEL_COLUMN = 3        # video, frames, observers, then one column per model
FOOT_METRICS = tuple(METRIC_LABELS)     # the main window's order (its summary table) in the foot too
DIGITS = 3                              # the main window's decimals


class NumberItem(QTableWidgetItem):
    """Sorts by value (NaN and unscored last), shows a rounded number."""

    def __init__(self, value: float | None, digits: int = 3):
        text = "" if value is None else ("n/a" if value != value else f"{value:.{digits}f}")
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)

    def __lt__(self, other):
        def key(item):
            v = getattr(item, "value", None)
            return (1, 0.0) if v is None or v != v else (0, float(v))
        return key(self) < key(other)


class ScoringThread(QThread):
    """Scores the videos `scoring` lacks, the names in `priority` first (set from the GUI)."""

    loaded = Signal()                 # the cached scores are in scoring.results
    counted = Signal(object)           # video name -> observers (None: unknown)
    scored = Signal(str)              # video name: its results are in scoring.results
    progress = Signal(int, int)       # videos done, total
    failed = Signal(str)

    def __init__(self, scoring: DatasetScoring, parent=None):
        super().__init__(parent)
        self.scoring = scoring
        self.priority: list[str] = []
        self.computed = 0                 # videos scored by this thread (not from the cache)
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    def run(self) -> None:
        truths = {t.name: t for t in self.scoring.truths}
        total = len(truths)
        try:
            self.scoring.load_cached()    # file stats and JSON reads: off the GUI thread too
            self.loaded.emit()
            self.counted.emit(count_observers(self.scoring.truths))
            while not self._stop.is_set():
                todo = [n for n, t in truths.items() if self.scoring.missing(t)]
                self.progress.emit(total - len(todo), total)
                if not todo:
                    return
                wanted = [n for n in list(self.priority) if n in todo]
                name = (wanted or todo)[0]
                if self.scoring.score(truths[name], cancel=self._stop.is_set) is None:
                    return
                self.computed += 1
                self.scored.emit(name)
        except Exception as exc:     # a bad file: say which, keep the app alive
            self.failed.emit(str(exc))


def count_observers(truths) -> dict[str, int | None]:
    """Observers per video; an unreadable gaze file makes that count unknown, not an error
    (the scores say what is wrong with the ground truth)."""
    counts = {}
    for truth in truths:
        try:
            counts[truth.name] = observer_count(truth)
        except (OSError, ValueError, UnicodeDecodeError):
            counts[truth.name] = None
    return counts


class DatasetPanel(QWidget):
    open_requested = Signal(str, int)     # video folder, 0-based frame
    opened = Signal()                     # a dataset was opened
    about_to_open = Signal()              # a dataset is being opened (the window sets the checkpoint)

    def __init__(self, parent=None, cache: str | None = None, prediction_cache: str | None = None):
        super().__init__(parent)
        self.cache = cache                           # per-video scores
        self.prediction_cache = prediction_cache     # where SalFoM's maps are cached (None: the user cache)
        self.checkpoint: str | None = None           # SalFoM's maps from the prediction cache, where present
        self.root: Path | None = None
        self.truths = []
        self.roots: list[PredictionRoot] = []
        self.models: list = [CenterBiasMaps()]
        self.scoring: DatasetScoring | None = None
        self.worker: ScoringThread | None = None
        self._scoring = False             # a scoring run whose end is not handled yet
        self.errors: list[str] = []
        self.observers: dict[str, int | None] = {}     # video -> observers, once counted

        self.title = QLabel("No dataset open (File > Open dataset...)")
        self.metric = QComboBox()                    # the main window's names and order
        for key, label in METRIC_LABELS.items():
            self.metric.addItem(label, key)
            self.metric.setItemData(self.metric.count() - 1, METRIC_TIPS[key], Qt.ToolTipRole)
        self.metric.setCurrentIndex(self.metric.findData("cc"))
        self.metric.currentIndexChanged.connect(lambda _i: self._fill_scores())
        self.table = QTableWidget(0, 2)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSortingEnabled(True)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.verticalScrollBar().valueChanged.connect(lambda _v: self._update_priority())
        self.table.setMinimumHeight(60)              # the dock, not the table, decides how many rows show
        self.foot = QTableWidget(0, len(FOOT_METRICS) + 1)
        self.foot.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.foot.setHorizontalHeaderLabels(["frames", *(METRIC_LABELS[m] for m in FOOT_METRICS)])
        for col, key in enumerate(FOOT_METRICS, start=1):
            self.foot.horizontalHeaderItem(col).setToolTip(METRIC_TIPS[key])
        self.foot.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.foot.setMaximumHeight(130)
        self.foot.setMinimumHeight(60)
        self.foot_note = QLabel()
        self.bar = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.csv_button = QPushButton("Export CSV...")
        self.csv_button.clicked.connect(self._choose_csv)
        self.plot_button = QPushButton("Export plot...")
        self.plot_button.clicked.connect(self._choose_plot)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(QLabel("metric"))
        top.addWidget(self.metric)
        bottom = QHBoxLayout()
        bottom.addWidget(self.bar, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.csv_button)
        bottom.addWidget(self.plot_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel("DHF1K protocol (all frames of all videos pooled):"))
        layout.addWidget(self.foot)
        layout.addWidget(self.foot_note)
        layout.addLayout(bottom)

    # ----------------------------------------------------------------- inputs

    def open_dataset(self, root, split: str = "val", layout: str | None = None) -> bool:
        self.about_to_open.emit()
        try:
            truths = dataset_truths(root, layout, split)
            if not truths:
                raise ValueError(f"{root}: no annotated videos")
        except (ValueError, OSError) as exc:
            self._error(str(exc))
            return False
        self.root, self.truths, self.observers = Path(root), truths, {}
        self.title.setText(f"{self.root.name}: {len(truths)} videos")
        self.opened.emit()
        self._restart()
        return True

    def add_predictions_root(self, path) -> bool:
        try:
            model = PredictionRoot(path)
        except ValueError as exc:
            self._error(str(exc))
            return False
        if model.name in {m.name for m in self.models}:
            model.name = str(model.folder)
        self.roots.append(model)
        self._restart()
        return True

    def set_checkpoint(self, path: str | None) -> None:
        """Score SalFoM (this checkpoint) from the prediction cache: videos it has not predicted
        have no prediction (the panel says so per video)."""
        if path != self.checkpoint:
            self.checkpoint = path
            self._restart()

    def _error(self, message: str) -> None:
        self.errors.append(message)
        self.foot_note.setText(error_html(message))        # 4.5:1 on any theme (contrast.py)

    # ----------------------------------------------------------------- scoring

    def _restart(self) -> None:
        self.cancel(wait=True)
        salfom = [CachedPredictions(self.checkpoint, cache_root=self.prediction_cache)] if self.checkpoint else []
        self.models = [CenterBiasMaps(), *salfom, *self.roots]
        if not self.truths:
            return
        self.scoring = DatasetScoring(self.truths, self.models, cache=self.cache)
        self._fill_table()
        self.worker = ScoringThread(self.scoring, self)
        self.worker.loaded.connect(self._fill_scores)
        self.worker.counted.connect(self._fill_observers)
        self.worker.scored.connect(self._video_scored)
        self.worker.progress.connect(self._progress)
        self.worker.failed.connect(self._error)
        self.worker.finished.connect(lambda worker=self.worker: self._scoring_done(worker))
        self._scoring = True
        self._update_priority()
        self.cancel_button.setEnabled(True)
        self.worker.start()

    def cancel(self, wait: bool = False) -> None:
        if self.worker is not None:
            self.worker.cancel()
            if wait:
                self.worker.wait(30000)
        self.cancel_button.setEnabled(False)

    def busy(self) -> bool:
        """Until the scoring's end is handled here: the thread stops before its last results,
        queued to this thread, are in the table."""
        return self._scoring

    def _progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self.bar.setFormat(f"{done} of {total} videos scored")

    def _update_priority(self) -> None:
        """The rows on screen are scored first."""
        if self.worker is None:
            return
        viewport = self.table.viewport().rect()
        first = self.table.rowAt(viewport.top())
        last = self.table.rowAt(viewport.bottom())
        first = max(first, 0)
        last = self.table.rowCount() - 1 if last < 0 else last
        self.worker.priority = [self.table.item(r, 0).text() for r in range(first, last + 1)
                                if self.table.item(r, 0) is not None]

    def _video_scored(self, name: str) -> None:
        self._fill_scores(only=name)

    def _scoring_done(self, worker) -> None:
        if worker is not self.worker:        # a cancelled run ending after its replacement started
            return
        self.cancel_button.setEnabled(False)
        self._fill_scores()
        self._fill_foot()
        self._scoring = False

    # ----------------------------------------------------------------- table

    def _fill_table(self) -> None:
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(FIRST_MODEL_COLUMN + len(self.models))
        self.table.setHorizontalHeaderLabels(["video", "frames", "observers", *[m.name for m in self.models]])
        header = self.table.horizontalHeader()       # the names take the room left; numbers their own width
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setRowCount(len(self.truths))
        for row, truth in enumerate(self.truths):
            item = QTableWidgetItem(truth.name)
            self.table.setItem(row, 0, item)
            self.table.setItem(row, 1, NumberItem(float(truth.n_frames), 0))
        self.table.setSortingEnabled(True)
        self._fill_observers(self.observers)
        self._fill_scores()
        self._fill_foot()

    def _fill_observers(self, counts: dict) -> None:
        self.observers = {**self.observers, **counts}
        sorting = self.table.isSortingEnabled()
        self.table.setSortingEnabled(False)
        for truth in self.truths:
            row = self._row_of(truth.name)
            if row is None or truth.name not in self.observers:
                continue
            count = self.observers[truth.name]
            item = NumberItem(None if count is None else float(count), 0)
            if count is None:
                item.setToolTip("unknown: these annotations merge all observers into one fixation map")
            self.table.setItem(row, 2, item)
        self.table.setSortingEnabled(sorting)

    def _row_of(self, name: str) -> int | None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.text() == name:
                return row
        return None

    def _fill_scores(self, only: str | None = None) -> None:
        if self.scoring is None:
            return
        metric = self.metric.currentData()
        sorting = self.table.isSortingEnabled()
        self.table.setSortingEnabled(False)        # rows must not move while they are filled
        for truth in self.truths:
            if only is not None and truth.name != only:
                continue
            row = self._row_of(truth.name)
            for k, model in enumerate(self.models):
                scores = self.scoring.results.get((truth.name, model.name))
                item = NumberItem(None if scores is None else scores.mean(metric), DIGITS)
                if scores is not None and scores.n_skipped:
                    item.setToolTip(scores.describe())
                self.table.setItem(row, FIRST_MODEL_COLUMN + k, item)
        self.table.setSortingEnabled(sorting)

    def _fill_foot(self) -> None:
        self.foot.setRowCount(0)
        if self.scoring is None:
            return
        complete = self.scoring.complete()
        results = self.scoring.model_scores()
        self.foot.setRowCount(len(results))
        self.foot.setVerticalHeaderLabels([r.name for r in results])
        for row, result in enumerate(results):
            overall = result.scores.overall()
            self.foot.setItem(row, 0, NumberItem(float(result.scores.frame_count()), 0))
            for k, name in enumerate(FOOT_METRICS):
                self.foot.setItem(row, 1 + k, NumberItem(overall.get(name) if complete else None, DIGITS))
        if complete:
            skipped = {r.name: r.skipped() for r in results if r.skipped()}
            self.foot_note.setText("; ".join(f"{n}: skipped {', '.join(f'{v} {k}' for k, v in s.items())}"
                                             for n, s in skipped.items()))
        else:
            self.foot_note.setText("the protocol scores appear when every video is scored")

    def protocol_scores(self) -> dict[str, dict[str, float]]:
        """{model: {metric: value}} of the foot (tests compare it with `salfom evaluate`)."""
        return {r.name: r.scores.overall() for r in self.scoring.model_scores()} if self.scoring else {}

    # ----------------------------------------------------------------- actions

    def _double_clicked(self, row: int, column: int) -> None:
        item = self.table.item(row, 0)
        if item is None or self.scoring is None:
            return
        model = self.models[column - FIRST_MODEL_COLUMN] if column >= FIRST_MODEL_COLUMN else self.models[-1]
        self.open_worst(item.text(), model.name)

    def worst_frame(self, video: str, model: str) -> int | None:
        scores = self.scoring.results.get((video, model)) if self.scoring else None
        return None if scores is None else scores.worst_frame(self.metric.currentData())

    def open_worst(self, video: str, model: str) -> None:
        truth = next(t for t in self.truths if t.name == video)
        frame = self.worst_frame(video, model)
        # an annotated video folder, or the video file whose gaze lies beside it
        target = getattr(getattr(truth, "annotations", None), "root", None) or getattr(truth, "video_path", "")
        if target:
            self.open_requested.emit(str(target), 0 if frame is None else frame)

    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the dataset table", "dataset_scores.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path) -> None:
        from salfom_core.evaluation.scoreboard import videos_csv
        from salfom_core.io.atomic import atomic_write_text

        if self.scoring is not None:
            atomic_write_text(path, videos_csv(self.scoring.model_scores()))

    def _choose_plot(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the comparison plot", "comparison.png",
                                              "PNG (*.png);;SVG (*.svg)")
        if path:
            self.export_plot(path)

    def export_plot(self, path) -> None:
        from salfom_core.evaluation.scoreboard import write_plot

        if self.scoring is not None:
            try:
                write_plot(self.scoring.model_scores(), path)
            except (ValueError, OSError) as exc:
                self._error(str(exc))


class _CloseWatcher(QObject):
    """Stops the panel's scoring thread when the window closes (no QThread outlives it)."""

    def __init__(self, panel: DatasetPanel):
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Close:
            self.panel.cancel(wait=True)
        return False


def install_dataset_panel(window, cache: str | None = None) -> DatasetPanel:
    """The panel as a dock of `window`, File > Open dataset... / Add predictions root..., and
    double-click opening the video at its worst frame (through window.open_video and seek).
    The window's checkpoint (`window.checkpoint`) is scored from its prediction cache
    (`window.cache_dir`) when a dataset is opened."""
    panel = DatasetPanel(window, cache, getattr(window, "cache_dir", None))
    dock = QDockWidget("Dataset", window)
    dock.setWidget(panel)
    dock.setObjectName("dataset_dock")
    # a tab beside the layers, as tall as the window: it never raises the window's minimum
    # height (a bottom dock did, to 944 px) and shows every row that fits
    window.addDockWidget(Qt.RightDockWidgetArea, dock)
    layers = getattr(window, "layers_dock", None)
    if layers is not None:
        window.tabifyDockWidget(layers, dock)
        layers.raise_()
    dock.hide()                                   # shown when a dataset is opened

    def show_dock():
        dock.show()
        dock.raise_()

    def choose_dataset():
        folder = QFileDialog.getExistingDirectory(window, "Open dataset (DHF1K / Hollywood-2 / UCF-Sports root)")
        if folder:
            panel.open_dataset(folder)

    def follow_checkpoint():
        panel.checkpoint = getattr(window, "checkpoint", None)   # read at each open: no hook in the window

    def choose_root():
        folder = QFileDialog.getExistingDirectory(window, "Add predictions root (one maps folder per video)")
        if folder:
            panel.add_predictions_root(folder)

    def open_at(folder: str, frame: int):
        if window.open_video(folder):
            window.seek(frame)

    file_menu = next((a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File"), None)
    menu = file_menu or window.menuBar().addMenu("&Dataset")
    first = menu.actions()[0] if menu.actions() else None
    for text, slot in (("Open dataset...", choose_dataset), ("Add predictions root...", choose_root)):
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if first is not None:                     # next to the other Open items
            menu.removeAction(action)
            menu.insertAction(first, action)
    panel.open_requested.connect(open_at)
    panel.opened.connect(show_dock)
    panel.about_to_open.connect(follow_checkpoint)
    panel.dock = dock
    window.installEventFilter(_CloseWatcher(panel))
    return panel
