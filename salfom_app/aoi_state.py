"""The open video's areas of interest as an editing state: every edit undoable, every edit saved.

Qt-free, like `state.py`: plain signals, callbacks run in the thread that edits (the GUI
thread in the app). What an AOI is (shapes, keyframes, interpolation, checks) and the file
(`<video stem>.aois.json` beside the video, written atomically with the previous version kept
as a backup) belong to `salfom_core.aoi`; this module only keeps the history and says what
changed, so that the view redraws and the figures recompute only the AOIs an edit touched.

Frames: the editor takes the playhead's 0-based index (`ViewerState.frame`), as every widget
does; the core and the file count from 1 (AOI_SPEC.md). The conversion happens here only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from salfom_core.aoi import AOI, AoiError, AoiSet, aoi_path, read_aois, write_aois

from .state import Signal

HISTORY = 200                 # edits kept for undo


@dataclass(frozen=True)
class Edit:
    """One undoable step: the whole set before and after (a few kB), and the selection."""

    label: str
    before: dict
    after: dict
    selected_before: str | None
    selected_after: str | None


def changed_names(before: dict, after: dict) -> frozenset[str]:
    """The AOIs that differ between two snapshots (added, removed, or any field changed)."""
    a = {aoi["name"]: aoi for aoi in before["aois"]}
    b = {aoi["name"]: aoi for aoi in after["aois"]}
    return frozenset(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))


class AoiEditor:
    """The AOI set of the open video, its undo history, its selection and its file.

    Signals: `changed(names)` (a frozenset of AOI names, or None when the whole set was
    replaced: a video opened), `selection_changed(name or None)`, `history_changed()`,
    `saved(path)`, `problem(message)` (an edit refused, a file that cannot be read or
    written: one line naming the file or the AOI).
    """

    def __init__(self):
        self.aois = AoiSet()
        self.video_path: Path | None = None
        self.path: Path | None = None
        self.n_frames, self.fps = 0, 30.0
        self.selected: str | None = None
        self.blocked = ""             # why the file beside the video must not be written (it did not read)
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self.changed = Signal()
        self.selection_changed = Signal()
        self.history_changed = Signal()
        self.saved = Signal()
        self.problem = Signal()

    # ----------------------------------------------------------------- the video's file

    def open_for_video(self, video_path: Path | None, n_frames: int, fps: float = 30.0) -> bool:
        """Read `<stem>.aois.json` beside the video when there is one. A malformed file is one
        message, and the file is then never written from here (a fix by hand, then Reload);
        the user may still draw and use Save AOIs as... Returns whether the file (if any) read."""
        self.video_path = Path(video_path) if video_path is not None else None
        self.path = aoi_path(video_path) if video_path is not None else None
        self.n_frames, self.fps = n_frames, fps
        self.blocked = ""
        self._undo, self._redo = [], []
        name = Path(video_path).name if video_path is not None else ""
        aois, ok = AoiSet(name), True
        if self.path is not None and self.path.exists():
            try:
                aois = read_aois(self.path, n_frames=n_frames, fps=fps)
            except (AoiError, OSError, ValueError) as exc:
                ok = False
                self.blocked = str(exc)
        self.aois = aois
        self.selected = None
        self.changed.emit(None)
        self.selection_changed.emit(None)
        self.history_changed.emit()
        if not ok:
            self.problem.emit(f"{self.blocked} (the file is left as it is: fix it and reload the AOIs)")
        return ok

    def reload(self) -> bool:
        """Read the file again (after fixing it by hand); the history starts anew. AOIs drawn
        while the file could not be read are kept: added to what it holds (then saved)."""
        unsaved = self.aois.copy() if self.blocked else AoiSet()
        ok = self.open_for_video(self.video_path, self.n_frames, self.fps)
        if ok and len(unsaved):
            def keep(s: AoiSet) -> None:
                for aoi in unsaved:
                    aoi.name = s.unique_name(aoi.name)
                    s.insert(aoi)

            self._edit("Keep the AOIs drawn before the reload", keep)
        return ok

    def save(self) -> bool:
        """Write the file beside the video (atomically, the previous one kept as its backup)."""
        if self.path is None:
            return False
        if self.blocked:
            self.problem.emit(f"AOIs not saved: {self.blocked}; use Save AOIs as... to keep this work")
            return False
        try:
            write_aois(self.path, self.aois)
        except (OSError, AoiError) as exc:
            self.problem.emit(f"Cannot save the AOIs to {self.path}: {exc}")
            return False
        self.saved.emit(self.path)
        return True

    def save_as(self, path: Path) -> bool:
        """Write to another file, which becomes this video's AOI file for the session."""
        self.path, self.blocked = Path(path), ""
        return self.save()

    def import_file(self, path: Path) -> list[str]:
        """AOIs of another file (the spec's, or a Tobii Pro Lab AOI export) added to this set
        as one undoable edit; a name already taken gets a number. Returns the names added."""
        try:
            other = read_aois(path, n_frames=self.n_frames or None, fps=self.fps)
        except AoiError as exc:
            self.problem.emit(str(exc))
            return []
        added: list[str] = []

        def apply(s: AoiSet) -> None:
            for aoi in other:
                aoi.name = s.unique_name(aoi.name)
                s.insert(aoi)
                added.append(aoi.name)

        self._edit(f"Import {Path(path).name}", apply, select=lambda: added[0] if added else self.selected)
        return added

    # ----------------------------------------------------------------- reading

    def names(self) -> list[str]:
        return self.aois.names

    def get(self, name: str) -> AOI:
        return self.aois.get(name)

    def shape_kind(self, name: str) -> str:
        return self.aois.get(name).shape

    def colour(self, name: str) -> str:
        return self.aois.get(name).color

    def shape_at(self, name: str, index: int) -> tuple[bool, tuple | None]:
        """(active, vertices) of an AOI at the playhead's frame; where it is off, the vertices
        it last had (None before its first keyframe)."""
        aoi = self.aois.get(name)
        frame = index + 1
        return aoi.is_active(frame), aoi.last_vertices(frame)

    def keyframe_indices(self, name: str) -> list[tuple[int, bool]]:
        """(0-based frame, active) of each keyframe of an AOI."""
        return [(k.frame - 1, k.active) for k in self.aois.get(name).keyframes]

    # ----------------------------------------------------------------- selection

    def select(self, name: str | None) -> None:
        if name is not None and name not in self.aois.names:
            name = None
        if name != self.selected:
            self.selected = name
            self.selection_changed.emit(name)

    # ----------------------------------------------------------------- edits (each one undoable and saved)

    def add(self, shape: str, index: int, vertices, name: str | None = None) -> str | None:
        """A new AOI drawn at the playhead: one active keyframe there; it becomes selected."""
        added = []
        ok = self._edit(f"Draw {shape}", lambda s: added.append(s.add(shape, index + 1, vertices, name=name).name),
                        select=lambda: added[0])
        return added[0] if ok else None

    def set_shape(self, name: str, index: int, vertices) -> bool:
        """Moved or resized at the playhead: a keyframe there (made, or changed), active."""
        return self._edit(f"Move {name}", lambda s: s.get(name).set_keyframe(index + 1, vertices, active=True),
                          touched=name)

    def move(self, name: str, index: int, dx: float, dy: float) -> bool:
        return self._edit(f"Move {name}", lambda s: s.get(name).move(index + 1, dx, dy), touched=name)

    def hide_from(self, name: str, index: int) -> bool:
        """"Hide from here": an inactive keyframe at the playhead."""
        return self._edit(f"Hide {name}", lambda s: s.get(name).hide_from(index + 1), touched=name)

    def show_from(self, name: str, index: int) -> bool:
        return self._edit(f"Show {name}", lambda s: s.get(name).show_from(index + 1), touched=name)

    def remove_keyframe(self, name: str, index: int) -> bool:
        return self._edit(f"Remove keyframe of {name}", lambda s: s.get(name).remove_keyframe(index + 1),
                          touched=name)

    def apply_track(self, name: str, result) -> bool:
        """A tracking result (`salfom_core.aoi.tracking.TrackResult`): its keyframes in place of
        the AOI's between the start and the last frame followed, one undoable edit."""
        if not result.keyframes:
            return True
        return self._edit(f"Track {name}", lambda s: result.apply(s.get(name)), touched=name)

    def rename(self, name: str, new_name: str) -> bool:
        new_name = new_name.strip()
        if new_name == name:
            return True
        was_selected = self.selected == name
        return self._edit(f"Rename {name}", lambda s: s.rename(name, new_name), touched=name,
                          select=(lambda: new_name) if was_selected else None)

    def recolour(self, name: str, colour: str) -> bool:
        return self._edit(f"Colour of {name}", lambda s: s.recolor(name, colour), touched=name)

    def delete(self, name: str) -> bool:
        return self._edit(f"Delete {name}", lambda s: s.remove(name), touched=name,
                          select=(lambda: None) if self.selected == name else None)

    def _edit(self, label: str, apply: Callable[[AoiSet], object], touched: str | None = None,
              select: Callable[[], str | None] | None = None) -> bool:
        before = self.aois.snapshot()
        try:
            apply(self.aois)
        except AoiError as exc:
            self.aois.restore(before)
            self.problem.emit(str(exc))
            self.changed.emit(frozenset([touched]) if touched else frozenset())   # the view shows the state again
            return False
        after = self.aois.snapshot()
        selected_before = self.selected
        selected_after = select() if select is not None else self.selected
        if after == before:
            return True
        self._undo.append(Edit(label, before, after, selected_before, selected_after))
        del self._undo[:-HISTORY]
        self._redo.clear()
        self._after_edit(before, after, selected_after)
        return True

    def _after_edit(self, before: dict, after: dict, selected: str | None) -> None:
        self.save()
        # the selection first, so that observers of `changed` never meet a name that is gone
        previous = self.selected
        self.selected = selected if selected in self.aois.names else None
        self.changed.emit(changed_names(before, after))
        if self.selected != previous:
            self.selection_changed.emit(self.selected)
        self.history_changed.emit()

    # ----------------------------------------------------------------- history

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    def undo(self) -> bool:
        return self._replay(self._undo, self._redo, backwards=True)

    def redo(self) -> bool:
        return self._replay(self._redo, self._undo, backwards=False)

    def _replay(self, source: list, target: list, backwards: bool) -> bool:
        """Move the last edit of `source` to `target` and put the AOIs as it left them (undo:
        as they were before it)."""
        if not source:
            return False
        edit = source.pop()
        target.append(edit)
        old, new = (edit.after, edit.before) if backwards else (edit.before, edit.after)
        self.aois.restore(new)
        self._after_edit(old, new, edit.selected_before if backwards else edit.selected_after)
        return True
