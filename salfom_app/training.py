"""Train > New run: a form, then `salfom train` in a separate process with live curves.

"Train on" picks a dataset folder, or the open video's (or open dataset's) own gaze: the run
then builds its training data from the recordings into `<output>/data` first (make-dataset,
in the same child process: `salfom train --from-gaze`, progress in the log, cancel and
resume as for training), with the training videos as the validation split too.

The run is a child process (a crash or out-of-memory there cannot take the GUI down). Its
JSON-lines log is followed with a timer. "Stop" sends SIGTERM: the trainer finishes the step
and saves `last.pt` (the best checkpoint is kept); "Cancel" kills it; "Resume" starts it again
with --resume.
"""
from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from salfom_core.io.annotations import LAYOUTS
from salfom_core.io.atomic import atomic_write_text
from salfom_core.models import list_models
from salfom_core.models.weights import default_encoder
from salfom_core.training.config import TrainConfig
from salfom_core.training.from_gaze import DATA_FOLDER, write_sources

from .contrast import ERROR_STYLE


def _path_row(edit: QLineEdit, folder: bool, parent) -> QWidget:
    button = QPushButton("...")
    button.setFixedWidth(32)

    def browse():
        path = (QFileDialog.getExistingDirectory(parent, "Choose a folder") if folder
                else QFileDialog.getOpenFileName(parent, "Choose a checkpoint", "", "Checkpoints (*.pth *.pt)")[0])
        if path:
            edit.setText(path)

    button.clicked.connect(browse)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(button)
    return row


FOLDER_SOURCE = "a dataset folder"


class NewRunDialog(QDialog):
    """The settings of a run; `config()` turns them into a TrainConfig.

    `gaze_sources`: {label: [(video, gaze), ...]} the user may train on instead of a dataset
    folder (the open video's gaze, the open dataset's videos with gaze)."""

    def __init__(self, parent=None, cuda: bool = False, gaze_sources: dict[str, list[tuple[str, str]]] | None = None):
        super().__init__(parent)
        self.setWindowTitle("New training run")
        self.gaze_sources = {k: v for k, v in (gaze_sources or {}).items() if v}
        self.source = QComboBox()
        self.source.addItems([FOLDER_SOURCE, *self.gaze_sources])
        self.source_note = QLabel()
        self.source_note.setWordWrap(True)
        self.source_note.setTextFormat(Qt.PlainText)       # "<output>/data" is text, not a tag
        self.data_root = QLineEdit()
        self.layout_box = QComboBox()
        self.layout_box.addItems(LAYOUTS)
        self.preset = QComboBox()
        self.preset.addItems(list_models())
        self.preset.setCurrentText("salfom_l16" if cuda else "salfom_tiny")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(300 if cuda else 10)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(7)
        self.lr.setRange(1e-7, 1e-1)
        self.lr.setSingleStep(1e-5)
        self.lr.setValue(1e-5 if cuda else 1e-3)
        self.umt = QLineEdit(str(default_encoder() or ""))     # installed by `salfom weights install`
        self.output = QLineEdit(str(Path.home() / "salfom-runs" / "run"))
        self.device = QComboBox()
        self.device.addItems(["auto", "cuda", "cpu"] if cuda else ["cpu", "auto"])
        form = QFormLayout()
        form.addRow("Train on", self.source)
        self.data_row = _path_row(self.data_root, True, self)
        form.addRow("Dataset root", self.data_row)
        form.addRow("Layout", self.layout_box)
        form.addRow("Preset", self.preset)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("UMT checkpoint (optional)", _path_row(self.umt, False, self))
        form.addRow("Output folder", _path_row(self.output, True, self))
        form.addRow("Device", self.device)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)          # 4.5:1 on any theme (contrast.py)
        self.error.setVisible(False)                   # no empty red box
        # paths are long: the fields are wide enough for the default output path in full
        for edit in (self.output, self.umt, self.data_root):
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance(self.output.text()) + 24)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Start")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        # the explanation spans the dialog, outside the form: a wrapped label in a form row gets
        # the height of one line and cut ("...the training data (DHF1K")
        layout.addWidget(self.source_note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.source.currentTextChanged.connect(self._source_changed)
        self._source_changed(self.source.currentText())

    def gaze_pairs(self) -> list[tuple[str, str]] | None:
        """The (video, gaze) pairs to build the training data from; None: a dataset folder."""
        return self.gaze_sources.get(self.source.currentText())

    def _source_changed(self, label: str) -> None:
        pairs = self.gaze_sources.get(label)
        self.data_row.setEnabled(pairs is None)
        self.layout_box.setEnabled(pairs is None)
        if pairs is None:
            self.source_note.setText("")
            return
        self.layout_box.setCurrentText("dhf1k")
        self.source_note.setText(f"{len(pairs)} video(s) with gaze: the training data (DHF1K layout) is built into "
                                 "<output>/data first; validation runs on the same videos, so its CC says how "
                                 "well the model fits these observers, not how it generalises.")

    def config(self, **extra) -> TrainConfig:
        pairs = self.gaze_pairs()
        output = self.output.text().strip()
        data_root = str(Path(output) / DATA_FOLDER) if pairs is not None and output else self.data_root.text().strip()
        return TrainConfig(data_root=data_root, output=output,
                           layout="dhf1k" if pairs is not None else self.layout_box.currentText(),
                           preset=self.preset.currentText(),
                           epochs=self.epochs.value(), lr=self.lr.value(), umt_checkpoint=self.umt.text().strip(),
                           device=self.device.currentText(), **extra)

    def _accept(self):
        from salfom_core.io.annotations import DatasetError, discover

        try:
            cfg = self.config()
            if not cfg.output:
                raise DatasetError("choose an output folder")
            if self.gaze_pairs() is None:          # gaze: the data is built by the run itself
                discover(cfg.data_root, cfg.layout, "train")
                discover(cfg.data_root, cfg.layout, "val")
        except (DatasetError, OSError) as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return
        self.accept()


def write_config(cfg: TrainConfig, path: Path) -> Path:
    lines = ["[train]"] + [f"{f.name} = {json.dumps(getattr(cfg, f.name))}" for f in fields(cfg)]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


class TrainingRun(QWidget):
    """A running (or finished) run: its process, live curves and controls."""

    best_checkpoint = Signal(str)     # "Load best checkpoint" pressed
    finished = Signal(int)

    def __init__(self, cfg: TrainConfig, parent=None, gaze_pairs: list[tuple[str, str]] | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Training: {cfg.output}")
        self.cfg = cfg
        self.gaze_pairs = gaze_pairs          # build the data from these first (None: cfg.data_root exists)
        self.data_stopped = False             # stopped while building that data
        self.out = Path(cfg.output)
        self.config_path = self.out / "run.toml"
        self.log_path = self.out / "log.jsonl"
        self._offset = 0
        self.steps, self.losses, self.val_epochs, self.val_cc = [], [], [], []
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._output)
        self.process.finished.connect(self._finished)
        self.status = QLabel("starting...")
        self.data_bar = QProgressBar()            # building the training data from gaze
        self.data_bar.setVisible(False)
        self.loss_plot = pg.PlotWidget(title="training loss (KL - CC)")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen((255, 170, 0)))
        self.val_plot = pg.PlotWidget(title="validation CC")
        self.val_curve = self.val_plot.plot(pen=pg.mkPen((80, 200, 255)), symbol="o", symbolSize=6)
        self.console = QPlainTextEdit()
        self.console.setReadOnly(True)
        self.console.setMaximumBlockCount(2000)
        self.stop_button = QPushButton("Stop (keep best)")
        self.cancel_button = QPushButton("Cancel")
        self.resume_button = QPushButton("Resume")
        self.load_button = QPushButton("Load best checkpoint")
        self.stop_button.clicked.connect(self.stop)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.load_button.clicked.connect(lambda: self.best_checkpoint.emit(str(self.out / "best.pt")))
        buttons = QHBoxLayout()
        for b in (self.stop_button, self.cancel_button, self.resume_button, self.load_button):
            buttons.addWidget(b)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.val_plot)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.data_bar)
        layout.addLayout(plots, 1)
        layout.addWidget(self.console)
        layout.addLayout(buttons)
        self.timer = QTimer(self)
        self.timer.setInterval(300)
        self.timer.timeout.connect(self.poll_log)
        self.resize(900, 600)
        self._buttons()

    def start(self, resume: bool = False) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        write_config(self.cfg, self.config_path)
        if self.gaze_pairs:
            sources = write_sources(self.out, self.gaze_pairs)
            args = ["-m", "salfom_core", "train", "--config", str(self.config_path), "--from-gaze", str(sources)]
        else:
            args = ["-m", "salfom_core", "train", "--config", str(self.config_path)]
        args += ["--resume"] if resume else []
        self.data_stopped = False
        self.process.start(sys.executable, args)
        self.timer.start()
        self.status.setText("running" + (" (resumed)" if resume else ""))
        self._buttons()

    def running(self) -> bool:
        return self.process.state() != QProcess.NotRunning

    def stop(self) -> None:
        if self.running():
            self.status.setText("stopping after the current step...")
            self.process.terminate()          # SIGTERM: the trainer saves last.pt and exits

    def cancel(self) -> None:
        if self.running():
            self.process.kill()
            self.status.setText("cancelled")

    def poll_log(self) -> None:
        """Read the lines the trainer appended since the last poll."""
        if not self.log_path.exists():
            return
        with open(self.log_path, encoding="utf-8") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        complete = chunk[: chunk.rfind("\n") + 1]        # a half-written last line waits
        self._offset += len(complete.encode("utf-8"))
        for line in complete.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            self._event(event)
        self.loss_curve.setData(self.steps, self.losses)
        self.val_curve.setData(self.val_epochs, self.val_cc)

    def _event(self, e: dict) -> None:
        kind = e.get("event")
        if kind == "dataset":
            self.data_bar.setVisible(True)
            self.data_bar.setRange(0, e["total"])
            self.data_bar.setValue(e["done"])
            self.data_bar.setFormat(f"{e['video']}: frame %v of %m")
            self.status.setText(f"building the training data from gaze: video {e['index'] + 1} of {e['videos']}")
        elif kind == "dataset_done":
            self.data_bar.setVisible(False)
            self.console.appendPlainText(f"training data: {e['videos']} video(s), {e['frames']} frames "
                                         f"({e['annotated']} with fixations) in {e['root']}")
        elif kind == "dataset_stopped":
            self.data_stopped = True
            self.console.appendPlainText("stopped while building the training data; Resume continues it")
        elif kind == "step":
            self.data_bar.setVisible(False)
            self.steps.append(e["step"])
            self.losses.append(e["loss"])
            self.status.setText(f"epoch {e['epoch'] + 1}/{self.cfg.epochs}, step {e['step']}, loss {e['loss']:.4f}")
        elif kind == "val":
            self.val_epochs.append(e["epoch"] + 1)
            self.val_cc.append(e["cc"])
            self.console.appendPlainText(f"validation epoch {e['epoch'] + 1}: CC {e['cc']:.4f} NSS {e['nss']:.3f} "
                                         f"SIM {e['sim']:.3f} AUC-J {e['auc_judd']:.4f}" + (" (best)" if e.get("best") else ""))
        elif kind == "end":
            self.console.appendPlainText(f"finished ({e['stopped']}); best CC {e['best_cc']:.4f}: {e['best']}")

    def _output(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self.console.appendPlainText(text.rstrip())

    def _finished(self, code: int, _status) -> None:
        self.poll_log()
        self.timer.stop()
        if code == 0 and self.data_stopped:
            self.status.setText("stopped while building the training data; Resume continues it")
        elif code == 0:
            self.status.setText("finished" if (self.out / "best.pt").exists() else "finished (no checkpoint)")
        else:
            self.status.setText(f"the training process ended with code {code}; see the output below. "
                                "The GUI is unaffected; Resume continues from the last epoch.")
        self._buttons()
        self.finished.emit(code)

    def _buttons(self) -> None:
        running = self.running()
        self.stop_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        # from gaze, Resume also continues training data that was stopped half built
        self.resume_button.setEnabled(not running and ((self.out / "last.pt").exists()
                                                       or bool(self.gaze_pairs) and self.config_path.exists()))
        self.load_button.setEnabled(not running and (self.out / "best.pt").exists())

    def shutdown(self) -> None:
        """On app exit: stop the run deliberately (SIGTERM, then kill)."""
        if self.running():
            self.process.terminate()
            if not self.process.waitForFinished(10000):
                self.process.kill()
                self.process.waitForFinished(3000)


def gaze_sources(video_path, video_gaze, truths) -> dict[str, list[tuple[str, str]]]:
    """What Train > New run can train on besides a dataset folder: the open video with its gaze,
    and the open dataset's videos that have gaze (raw gaze beside a video file, or fixation
    maps in an annotated folder, which make-dataset turns back into fixations)."""
    from salfom_core.evaluation.truths import GazeTruth, gaze_beside

    sources = {}
    if video_path is not None and video_gaze:
        sources["this video's gaze"] = [(str(video_path), str(video_gaze))]
    pairs = []
    for truth in truths or []:
        if isinstance(truth, GazeTruth) and truth.video_path:
            gaze = gaze_beside(Path(truth.video_path))
            if gaze is not None:
                pairs.append((truth.video_path, str(gaze)))
        else:
            ann = getattr(truth, "annotations", None)
            if ann is not None and ann.fixation_files:
                pairs.append((str(ann.root), str(ann.root)))
    if pairs:
        sources["this dataset's gaze"] = pairs
    return sources
