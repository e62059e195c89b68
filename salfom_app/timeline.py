"""The timeline: the frame slider, play controls and speed, and the strip of computed frames under it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .contrast import WARNING_STYLE
from .interpolated import EXACT_ARGB, INTERPOLATED_ARGB, MISSING_ARGB, strip_colours
from .state import Layer, ViewerState

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


class ComputedStrip(QWidget):
    """A thin bar under the timeline: which frames of the active layer are computed (green),
    and which show a blend of computed ones (lighter)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFixedHeight(6)
        self.done: np.ndarray | None = None
        self.interpolate = True

    def set_done(self, done: np.ndarray | None, interpolate: bool | None = None) -> None:
        self.done = None if done is None else done.copy()
        if interpolate is not None:
            self.interpolate = interpolate
        self.update()

    def paintEvent(self, _event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(60, 60, 60))
        if self.done is not None and len(self.done):
            row = strip_colours(self.done, self.interpolate)[None, :]
            image = QImage(row.tobytes(), len(self.done), 1, QImage.Format_ARGB32)
            painter.drawImage(self.rect(), image)
        painter.end()


STRIP_LEGEND = ((EXACT_ARGB, "computed", "the model's own map of these frames (scored in the metrics)"),
                (INTERPOLATED_ARGB, "interpolated", "a blend of the nearest computed frames is shown; never scored"),
                (MISSING_ARGB, "not computed yet", "no map yet"))


class StripLegend(QWidget):
    """What the strip's colours mean: a swatch of each (the strip's own colours) and its name."""

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.entries: dict[str, tuple[QLabel, QLabel]] = {}
        small = self.font()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        for argb, name, tip in STRIP_LEGEND:
            swatch = QLabel()
            swatch.setFixedSize(14, 8)
            # a dark rim: the grey swatch reads apart from the window's grey
            swatch.setStyleSheet(f"background: #{argb & 0xFFFFFF:06x}; border: 1px solid #202020;")
            label = QLabel(name)
            label.setFont(small)
            for widget in (swatch, label):
                widget.setToolTip(f"The strip under the timeline: {tip}")
                row.addWidget(widget)
            row.addSpacing(8)
            self.entries[name] = (swatch, label)
        row.addStretch(1)

    def set_interpolate(self, interpolate: bool) -> None:
        """Blends off: the strip shows none, the legend names none."""
        for widget in self.entries["interpolated"]:
            widget.setVisible(interpolate)


class KeyframeTicks(QWidget):
    """Ticks under the slider at the selected AOI's keyframes (filled: active, hollow: "hide
    from here"); a click on or near one jumps there."""

    jump = Signal(int)          # 0-based frame
    NEAR_PX = 6

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFixedHeight(9)
        self.keyframes: list[tuple[int, bool]] = []
        self.n_frames = 0
        self.colour = QColor(255, 255, 255)        # always there, empty or not: the view above never jumps

    def set_keyframes(self, keyframes: list[tuple[int, bool]], n_frames: int, colour: str = "#ffffff") -> None:
        self.keyframes, self.n_frames, self.colour = list(keyframes), n_frames, QColor(colour)
        self.setToolTip(f"{len(keyframes)} keyframes: click one to go there" if keyframes else "")
        self.update()

    def x_of(self, frame: int) -> float:
        return 3 + frame / max(self.n_frames - 1, 1) * (self.width() - 6)

    def paintEvent(self, _event):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        for frame, active in self.keyframes:
            x = self.x_of(frame)
            painter.setPen(QPen(self.colour, 1.5))
            painter.setBrush(self.colour if active else Qt.NoBrush)
            painter.drawRect(int(round(x)) - 2, 1, 4, self.height() - 3)
        painter.end()

    def mousePressEvent(self, event):
        if not self.keyframes:
            return
        x = event.position().x()
        frame, _active = min(self.keyframes, key=lambda k: abs(self.x_of(k[0]) - x))
        if abs(self.x_of(frame) - x) <= self.NEAR_PX:
            self.jump.emit(frame)


class Timeline(QWidget):
    """Slider, frame and time, play/pause, speed, and the computed-frames strip."""

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.play = QPushButton("Play")
        self.play.setFocusPolicy(Qt.NoFocus)
        self.play.clicked.connect(lambda: state.set_playing(not state.playing))
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setFocusPolicy(Qt.NoFocus)      # arrow keys belong to the window's shortcuts
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderPressed.connect(lambda: state.set_playing(False))   # dragging pauses
        # the frame number, 1-based as everywhere the app names a frame: typing one jumps there
        self.frame_box = QSpinBox()
        self.frame_box.setPrefix("frame ")
        self.frame_box.setRange(1, 1)
        self.frame_box.setKeyboardTracking(False)        # "391" jumps once, on Enter, not to 3 and 39 first
        self.frame_box.setToolTip("The frame shown: type a number and press Enter to go there")
        self.frame_box.valueChanged.connect(lambda value: state.set_frame(value - 1))
        # Enter done: the arrow keys and Space go back to the playhead
        self.frame_box.editingFinished.connect(self.frame_box.clearFocus)
        self.position = QLabel("-")
        self.position.setMinimumWidth(120)
        self.speed = QComboBox()
        self.speed.setFocusPolicy(Qt.NoFocus)
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}x", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.currentIndexChanged.connect(lambda i: state.set_speed(SPEEDS[i]))
        self.strip = ComputedStrip()
        self.strip_legend = StripLegend()
        self.keyframes = KeyframeTicks()          # the selected AOI's keyframes (aoi_tools.py fills it)
        self.keyframes.jump.connect(state.set_frame)
        self.warning = QLabel()             # a damaged video: only part of it decodes
        self.warning.setStyleSheet(WARNING_STYLE)      # readable on any theme (contrast.py)
        self.warning.setWordWrap(True)
        self.warning.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.play)
        column = QVBoxLayout()
        column.setSpacing(1)
        column.addWidget(self.slider)
        column.addWidget(self.strip)
        column.addWidget(self.keyframes)
        column.addWidget(self.strip_legend)
        row.addLayout(column, 1)
        row.addWidget(self.frame_box)
        row.addWidget(self.position)
        row.addWidget(self.speed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addLayout(row)
        layout.addWidget(self.warning)
        self._observed: Layer | None = None
        state.video_changed.connect(self._video_changed)
        state.frame_changed.connect(self._frame_changed)
        state.playing_changed.connect(lambda p: self.play.setText("Pause" if p else "Play"))
        state.speed_changed.connect(self._speed_changed)
        state.layers_changed.connect(self._observe_active)
        state.view_changed.connect(lambda what: self._observe_active() if {"active", "interpolate"} & set(what)
                                   else None)

    def set_warning(self, text: str | None) -> None:
        self.warning.setText(f"\u26a0 {text}" if text else "")
        self.warning.setToolTip(text or "")
        self.warning.setVisible(bool(text))

    def _speed_changed(self, speed: float) -> None:
        if speed in SPEEDS and self.speed.currentIndex() != SPEEDS.index(speed):
            self.speed.blockSignals(True)
            self.speed.setCurrentIndex(SPEEDS.index(speed))
            self.speed.blockSignals(False)

    def _observe_active(self) -> None:
        """The computed-frames strip follows the active layer."""
        if self._observed is not None:
            self._observed.changed.disconnect(self._active_progress)
        self._observed = self.state.active
        if self._observed is not None:
            self._observed.changed.connect(self._active_progress)
        self.strip.set_done(self._observed.done if self._observed is not None else None, self.state.interpolate)
        self.strip_legend.set_interpolate(self.state.interpolate)

    def _active_progress(self, layer: Layer, what) -> None:
        if "progress" in what or "read" in what:
            self.strip.set_done(layer.done)

    def _video_changed(self):
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, self.state.n_frames - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.frame_box.blockSignals(True)
        self.frame_box.setRange(1, max(1, self.state.n_frames))
        self.frame_box.blockSignals(False)
        self._frame_changed(0)

    def _slider_moved(self, value: int):
        self.state.set_frame(value)

    def _frame_changed(self, frame: int):
        if self.slider.value() != frame:
            self.slider.blockSignals(True)
            self.slider.setValue(frame)
            self.slider.blockSignals(False)
        if self.frame_box.value() != frame + 1:
            self.frame_box.blockSignals(True)
            self.frame_box.setValue(frame + 1)
            self.frame_box.blockSignals(False)
        n = self.state.n_frames
        self.position.setText(f"/ {n}   {self.state.time_s(frame):6.2f} s" if n else "-")
