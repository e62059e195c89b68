"""The menu bar's own entries (File, Predict, View, Train, Help) and the file dialogs they open.
Other parts of the app (weights, dataset panel, AOIs) add theirs with `window.add_action`."""
from __future__ import annotations

from PySide6.QtGui import QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from salfom_core.io.paths import VIDEO_SUFFIXES

from .gaze_import import choose_and_import_gaze
from .shortcuts import show_shortcuts

MENUS = ("&File", "&Predict", "&View", "&Train", "&Help")      # menu bar order; add_action creates others


def build_menus(window) -> None:
    """The menu bar's own entries (other parts add theirs with `window.add_action`)."""
    for title in MENUS:
        window.menu(title)
    a, s, ex = window.add_action, window.session, window.exporter
    a("File", "Open video or frame folder...", lambda: choose_video(window), QKeySequence.Open)
    # gaze: shown (format, participants, alignment, a preview) before it is imported (gaze_import.py)
    a("File", "Import gaze...", lambda: choose_and_import_gaze(window))
    a("File", "Import gaze folder (EyeLink, Pupil, SMI) or annotation folder...",
      lambda: choose_and_import_gaze(window, folder=True))
    a("File", "Add maps folder as a layer...",
      lambda: choose_folder(window, "Folder of saliency maps (0001.png ...)", s.add_map_folder))
    a("File", "Load checkpoint...",
      lambda: choose_file(window, "Load SalFoM checkpoint", "Checkpoints (*.pth *.pt)", s.load_checkpoint))
    window.recent_menu = window.menu("File").addMenu("Open recent")
    fill_recent(window)
    window.menu("File").addSeparator()
    export = window.menu("File").addMenu("Export")
    a(export, "Overlay video (MP4)...", lambda: choose_export(window, 
        "overlay", f"{video_stem(window)}_{window.state.active.kind if window.state.active else 'map'}_overlay.mp4",
        "MP4 (*.mp4)", ex.overlay))
    a(export, "Current frame (PNG)...", lambda: choose_export(window, 
        "frame", f"frame_{window.state.frame + 1:04d}.png", "PNG (*.png)", ex.frame))
    a(export, "Per-frame metrics (CSV)...", lambda: choose_export(window, "metrics", "metrics.csv", "CSV (*.csv)",
                                                                        ex.metrics_csv))
    a(export, "Metric plot (PNG)...", lambda: choose_export(window, "plot", "metrics.png", "PNG (*.png)", ex.plot))
    add_caption_entries(window, export)
    window.menu("File").addSeparator()
    a("File", "Quit", window.close, QKeySequence.Quit)
    a("Predict", "Centre-bias baseline", s.run_center_bias)
    a("Predict", "SalFoM (loaded checkpoint)", lambda: s.run_salfom())
    a("Predict", "Cancel all predictions", lambda: s.inference.cancel_all())
    add_view_modes(window)
    window.menu("View").addSeparator()
    window.interpolate_action = a("View", "Interpolate between computed frames",
                                lambda on: window.state.set_view(interpolate=bool(on)))
    window.interpolate_action.setCheckable(True)
    window.interpolate_action.setChecked(window.state.interpolate)
    window.menu("View").addSeparator()
    a("View", "Rename layer...", lambda: window.layer_panel.rename_selected())
    a("Train", "New run...", window.new_training_run)
    a("Help", "Keyboard shortcuts", lambda: show_shortcuts(window), QKeySequence.HelpContents)
    a("Help", "About", lambda: QMessageBox.about(
        window, "SalFoM Studio", "SalFoM Studio: video saliency prediction with SalFoM (ICPR 2024)."))


def add_caption_entries(window, export) -> None:
    """File > Export's checkable captions, burned into the PNG and MP4 exports (remembered)."""
    export.addSeparator()
    window.caption_actions = {}
    for key, text in (("name", "Burn in the layer name"), ("frame", "Burn in the frame number"),
                      ("colour_bar", "Burn in the colour bar")):
        action = window.add_action(export, text, lambda on, key=key: window.exporter.set_captions(**{key: bool(on)}))
        action.setCheckable(True)
        action.setChecked(getattr(window.exporter.captions, key))
        window.caption_actions[key] = action


def add_view_modes(window) -> None:
    """View > Single view / Side by side: checkable, one at a time, and ticked as the state says
    whatever changed the mode (the Layers panel's box, the command line, a restored setting)."""
    group = QActionGroup(window)
    group.setExclusive(True)
    window.view_mode_actions = {}
    for mode, text in (("single", "Single view"), ("split", "Side by side (compare two layers)")):
        action = window.add_action("View", text, lambda _on=False, mode=mode: window.set_view_mode(mode))
        action.setCheckable(True)
        action.setActionGroup(group)
        window.view_mode_actions[mode] = action

    def show_mode(what=("view_mode",)) -> None:
        if "view_mode" in what:
            window.view_mode_actions[window.state.view_mode].setChecked(True)
    window.state.view_changed.connect(show_mode)
    show_mode()


def choose_video(window) -> None:
    choose_file(window, "Open video", "Videos (*" + " *".join(VIDEO_SUFFIXES) + ")", window.session.open_any)


def choose_file(window, title: str, filters: str, then) -> None:
    path, _ = QFileDialog.getOpenFileName(window, title, "", f"{filters};;All files (*)")
    if path:
        then(path)


def choose_folder(window, title: str, then) -> None:
    path = QFileDialog.getExistingDirectory(window, title)
    if path:
        then(path)


def video_stem(window) -> str:
    return window.state.video_path.stem if window.state.video_path else "salfom"


def choose_export(window, what: str, name: str, filters: str, then) -> None:
    default = window.exporter.default_folder() / name
    path, _ = QFileDialog.getSaveFileName(window, f"Export {what}", str(default), filters)
    if path:
        then(path)


def fill_recent(window) -> None:
    """File > Open recent, from the settings."""
    window.recent_menu.clear()
    for p in window.settings.value("recent") or []:
        action = window.recent_menu.addAction(p)
        action.triggered.connect(lambda _=False, p=p: window.session.open_any(p))
