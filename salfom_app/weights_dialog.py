"""Help > Get the SalFoM weights...: where the files are, a file picker, and a checked install.

The install (`salfom_core.models.weights.install`: safe loading, kind, preset, parts, then an atomic
copy) reads and copies a file of up to 1.6 GB, so it runs in a worker thread; the dialog shows
its progress and result. A whole model becomes the app's checkpoint at once (and the default
of the next start and of `salfom predict`); a UMT encoder file becomes the default
initialisation of Train > New run.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)
from superqt.utils import thread_worker

from salfom_core.models.weights import SOURCE_REPOSITORY, default_checkpoint, install, installed, weights_dir

from .contrast import ERROR_STYLE, SUCCESS_STYLE

MENU_TEXT = "Get the SalFoM weights..."
LINK = "#get-weights"
NO_CHECKPOINT_BANNER = ("No SalFoM checkpoint is loaded: showing the centre-bias baseline. "
                        f"<a href='{LINK}' style='color:#ffe08a'>Get the SalFoM weights...</a> "
                        "(official DHF1K weights), File > Load checkpoint..., or train one (Train > New run...).")

_SOURCES_HTML = f"""
<p>The weights come from the SalFoM authors' repository,
<a href='{SOURCE_REPOSITORY}'>github.com/mr17m/SalFoM---Video-Saliency-Prediction</a>.
Download them in your browser (this app downloads nothing), then install the file here.</p>
<ul>
<li><b>SalFoM trained on DHF1K</b>, for predictions: the SharePoint link in the
<a href='{SOURCE_REPOSITORY}#model-weights'>"Model weights" section</a> of its README.</li>
<li><b>UMT-L/16 encoder pretrained on Kinetics</b>, to train SalFoM from scratch:
<code>l16_ptk710_ftk710_ftk400_f16_res224.pth</code>, a direct link in the same README.</li>
</ul>
<p>Installing checks the file as loading does (safe loading: no code runs; which model and which
parts of it the file fills), copies it to the data folder and makes it the default.</p>
"""


def installed_checkpoint() -> str | None:
    """The installed default prediction checkpoint, for the app's start (never a UMT file)."""
    path = default_checkpoint()
    return str(path) if path else None


def describe_installed() -> str:
    try:
        entries = installed()
    except ValueError as exc:            # a damaged index: say so, the dialog still installs
        return str(exc)
    if not entries:
        return f"Nothing installed yet (data folder: {weights_dir()})."
    lines = [f"{'&#9733; ' if w.default else ''}{w.name}: {w.kind}, {w.role}, {w.preset}, "
             f"{w.parameters / 1e6:.1f} M parameters" for w in entries]
    return "Installed (&#9733; = default):<br>" + "<br>".join(lines)


class _Progress(QObject):
    """Carries the copy's progress from the worker thread to the GUI thread (queued signal)."""
    changed = Signal(int)


class WeightsDialog(QDialog):
    installed = Signal(object)        # the InstalledWeights of a finished install

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Get the SalFoM weights")
        self.setMinimumWidth(560)
        self.worker = None
        sources = QLabel(_SOURCES_HTML)
        sources.setWordWrap(True)
        sources.setOpenExternalLinks(True)
        sources.setTextInteractionFlags(Qt.TextBrowserInteraction)
        self.current = QLabel(describe_installed())
        self.current.setWordWrap(True)
        self.pick = QPushButton("Install a downloaded file...")
        self.pick.clicked.connect(self._choose)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self._progress = _Progress()
        self._progress.changed.connect(self._copied)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (sources, self.current, self.pick, self.progress, self.result, buttons):
            layout.addWidget(widget)

    def _choose(self):
        path, _ = QFileDialog.getOpenFileName(self, "Install SalFoM or UMT weights", "",
                                              "Checkpoints (*.pth *.pt *.ckpt *.bin);;All (*)")
        if path:
            self.install(path)

    def install(self, path) -> None:
        """Check and install `path` in a worker thread; the result shows in the dialog."""
        if self.busy():
            return
        self.pick.setEnabled(False)
        self.progress.setRange(0, 0)          # busy while checking (reading and hashing the file)
        self.progress.show()
        self.result.setStyleSheet("")
        self.result.setText(f"Checking {path} ...")
        report = self._progress.changed.emit

        def run():
            return install(path, progress=lambda done, total: report(int(100 * done / max(total, 1))))

        worker = thread_worker(run, start_thread=False, ignore_errors=True)()
        worker.returned.connect(self._done)
        worker.errored.connect(self._failed)
        worker.finished.connect(self._finished)
        self.worker = worker
        worker.start()

    def _copied(self, percent: int) -> None:
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 100)
            self.result.setText("Checked; copying into the data folder ...")
        self.progress.setValue(percent)

    def busy(self) -> bool:
        return self.worker is not None

    def _done(self, entry) -> None:
        use = ("It is now the checkpoint of the app and of `salfom predict`." if entry.role == "predict" else
               "It is now the default encoder initialisation of Train > New run (not a prediction checkpoint).")
        self.result.setStyleSheet(SUCCESS_STYLE)       # 4.5:1 on any theme (contrast.py)
        self.result.setText(f"Installed {entry.name}: {entry.kind}, {entry.preset}, "
                            f"{entry.parameters / 1e6:.1f} M parameters. {use}")
        self.current.setText(describe_installed())
        self.installed.emit(entry)

    def _failed(self, exc: BaseException) -> None:
        self.result.setStyleSheet(ERROR_STYLE)
        self.result.setText(f"Not installed: {exc}")

    def _finished(self) -> None:
        self.worker = None
        self.pick.setEnabled(True)
        self.progress.hide()


def show_weights_dialog(window) -> WeightsDialog:
    """Open (or raise) the window's weights dialog; a whole model installed is loaded at once."""
    dialog = getattr(window, "weights_dialog", None)
    if dialog is None:
        dialog = window.weights_dialog = WeightsDialog(window)
        dialog.installed.connect(lambda entry: window.load_checkpoint(entry.path) if entry.role == "predict" else
                                 window.statusBar().showMessage(f"{entry.name}: Train > New run starts from it", 20000))
    dialog.show()
    dialog.raise_()
    return dialog


def attach_weights_dialog(window) -> None:
    """Help > Get the SalFoM weights... and the banner's link."""
    add_action = getattr(window, "add_action", None)
    if add_action is not None:
        add_action("Help", MENU_TEXT, lambda: show_weights_dialog(window))
    else:
        help_menu = next((a.menu() for a in window.menuBar().actions()
                          if a.text().replace("&", "") == "Help" and isinstance(a.menu(), QMenu)), None)
        help_menu = help_menu or window.menuBar().addMenu("&Help")
        help_menu.addAction(MENU_TEXT).triggered.connect(lambda: show_weights_dialog(window))
    window.layer_panel.banner.linkActivated.connect(lambda _link: show_weights_dialog(window))
