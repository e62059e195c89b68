"""Playback: a timer on the GUI thread that steps the playhead at the video's rate times the
chosen speed (each frame held as long as its timestamps say, on a variable-frame-rate video),
and stops at the last frame."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from .state import ViewerState


class Playback(QObject):
    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        state.playing_changed.connect(self._playing_changed)
        state.speed_changed.connect(lambda _s: self.timer.setInterval(self.interval_ms()))

    def interval_ms(self, frame: int | None = None) -> int:
        """How long `frame` (default: the shown one) stays on screen, in ms at the chosen speed."""
        s = self.state
        clock = s.clock
        if clock.variable:
            k = s.frame if frame is None else frame
            seconds = float(clock.start_of(k + 1) - clock.start_of(k))
        else:
            seconds = 1 / s.fps
        return max(1, round(1000 * seconds / s.speed))

    def _playing_changed(self, playing: bool) -> None:
        if playing:
            if self.state.frame >= self.state.n_frames - 1:
                self.state.set_frame(0)          # play at the end starts over
            self.timer.start(self.interval_ms())
        else:
            self.timer.stop()

    def _tick(self) -> None:
        s = self.state
        if s.frame >= s.n_frames - 1:
            s.set_playing(False)
            return
        s.step(1)
        if s.clock.variable:
            self.timer.setInterval(self.interval_ms())
