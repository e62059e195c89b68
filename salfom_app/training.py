"""Train > New run: a form, then `salfom train` in a separate process with live curves.

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
from PySide6.QtCore import QProcess, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from salfom_core.atomic import atomic_write_text
from salfom_core.datasets import LAYOUTS
from salfom_core.models import list_models
from salfom_core.train import TrainConfig
from salfom_core.weights import default_encoder


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


class NewRunDialog(QDialog):
    """The settings of a run; `config()` turns them into a TrainConfig."""

    def __init__(self, parent=None, cuda: bool = False):
        super().__init__(parent)
        self.setWindowTitle("New training run")
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
        form.addRow("Dataset root", _path_row(self.data_root, True, self))
        form.addRow("Layout", self.layout_box)
        form.addRow("Preset", self.preset)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("UMT checkpoint (optional)", _path_row(self.umt, False, self))
        form.addRow("Output folder", _path_row(self.output, True, self))
        form.addRow("Device", self.device)
        self.error = QLabel()
        self.error.setStyleSheet("color: #ff7070")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Start")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def config(self, **extra) -> TrainConfig:
        return TrainConfig(data_root=self.data_root.text().strip(), output=self.output.text().strip(),
                           layout=self.layout_box.currentText(), preset=self.preset.currentText(),
                           epochs=self.epochs.value(), lr=self.lr.value(), umt_checkpoint=self.umt.text().strip(),
                           device=self.device.currentText(), **extra)

    def _accept(self):
        from salfom_core.datasets import DatasetError, discover

        try:
            cfg = self.config()
            if not cfg.output:
                raise DatasetError("choose an output folder")
            discover(cfg.data_root, cfg.layout, "train")
            discover(cfg.data_root, cfg.layout, "val")
        except (DatasetError, OSError) as exc:
            self.error.setText(str(exc))
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

    def __init__(self, cfg: TrainConfig, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Training: {cfg.output}")
        self.cfg = cfg
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
        args = ["-m", "salfom_core.train", "--config", str(self.config_path)] + (["--resume"] if resume else [])
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
        if kind == "step":
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
        if code == 0:
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
        self.resume_button.setEnabled(not running and (self.out / "last.pt").exists())
        self.load_button.setEnabled(not running and (self.out / "best.pt").exists())

    def shutdown(self) -> None:
        """On app exit: stop the run deliberately (SIGTERM, then kill)."""
        if self.running():
            self.process.terminate()
            if not self.process.waitForFinished(10000):
                self.process.kill()
                self.process.waitForFinished(3000)
