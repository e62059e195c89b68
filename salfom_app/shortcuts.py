"""The playhead's keys (window-wide shortcuts) and Help > Keyboard shortcuts, the list of every
key the app has, read from the registered menu actions and shortcuts when it opens (so it
lists what the app does, whatever part added it)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QMenu, QTableWidget, QTableWidgetItem, QVBoxLayout

PLAYHEAD = "Playhead"          # the "menu" column of the window-wide keys

# key, what it does (the list's text), what it does to the state
PLAYHEAD_KEYS = (
    (Qt.Key_Space, "Play / pause", lambda s: s.set_playing(not s.playing)),
    (Qt.Key_Right, "Next frame", lambda s: s.step(1)),
    (Qt.Key_Left, "Previous frame", lambda s: s.step(-1)),
    (Qt.SHIFT | Qt.Key_Right, "Ten frames forward", lambda s: s.step(10)),
    (Qt.SHIFT | Qt.Key_Left, "Ten frames back", lambda s: s.step(-10)),
    (Qt.Key_PageDown, "Ten frames forward", lambda s: s.step(10)),
    (Qt.Key_PageUp, "Ten frames back", lambda s: s.step(-10)),
    (Qt.Key_Home, "First frame", lambda s: s.set_frame(0)),
    (Qt.Key_End, "Last frame", lambda s: s.set_frame(s.n_frames - 1)),
)


def install_playhead_keys(window) -> list[QShortcut]:
    """Window-wide shortcuts that move the playhead; each says what it does (whatsThis), which
    is the text Help > Keyboard shortcuts shows."""
    state = window.state
    shortcuts = []
    for key, text, act in PLAYHEAD_KEYS:
        shortcut = QShortcut(QKeySequence(key), window, activated=lambda act=act: act(state))
        shortcut.setWhatsThis(text)
        shortcuts.append(shortcut)
    return shortcuts


def key_text(sequences) -> str:
    return ", ".join(seq.toString(QKeySequence.NativeText) for seq in sequences if not seq.isEmpty())


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """(keys, what, where) of every key the window answers: its menus' actions with a shortcut
    (in menu order, submenus as 'File > Export'), other actions, then its QShortcuts."""
    rows, seen = [], set()

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{path} > {plain(action.text())}")
            elif action.shortcuts():
                rows.append((key_text(action.shortcuts()), plain(action.text()), path))
            seen.add(action)

    for action in window.menuBar().actions():
        if action.menu() is not None:
            walk(action.menu(), plain(action.text()))
    for action in window.findChildren(QAction):
        if action not in seen and action.shortcuts() and not action.menu():
            rows.append((key_text(action.shortcuts()), plain(action.text()), ""))
    for shortcut in window.findChildren(QShortcut):
        if shortcut.isEnabled() and not shortcut.key().isEmpty():
            rows.append((key_text([shortcut.key()]), shortcut.whatsThis() or "(undescribed)", PLAYHEAD))
    return rows


def plain(text: str) -> str:
    """A menu text without its mnemonic marks: '&File' -> 'File' ('&&' stays one '&')."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: a table of keys, what they do, and where (menu or playhead)."""

    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Does", "Menu"])
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.NoSelection)
        self.table.setFocusPolicy(Qt.NoFocus)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)     # compact rows
        for row, values in enumerate(rows):
            for col, text in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        room = window.screen().availableGeometry() if window.screen() is not None else None
        height = self.table.verticalHeader().length() + header.height() + 90
        self.resize(560, min(height, room.height() - 80) if room is not None else height)

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())]


def show_shortcuts(window) -> ShortcutsDialog:
    """Built when asked: it lists the keys registered by then (AOIs, weights...)."""
    dialog = ShortcutsDialog(window)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    window.shortcuts_dialog = dialog          # tests read it
    dialog.open()
    return dialog
