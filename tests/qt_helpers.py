"""The user's hands for Qt tests and the app benchmark: real mouse events on real widgets."""
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSlider


def slider_x(slider, value: int) -> int:
    """The x of the handle's centre when the slider shows `value`."""
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.CC_Slider, option, QStyle.SC_SliderHandle, slider)
    groove = slider.style().subControlRect(QStyle.CC_Slider, option, QStyle.SC_SliderGroove, slider)
    span = groove.width() - handle.width()
    return groove.x() + handle.width() // 2 + QStyle.sliderPositionFromValue(slider.minimum(), slider.maximum(),
                                                                             value, span)


def drag_slider(slider, value: int, steps: int = 5) -> None:
    """Press on the slider's handle, move with the button held in `steps`, release at `value`."""
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    start = slider.style().subControlRect(QStyle.CC_Slider, option, QStyle.SC_SliderHandle, slider).center()
    x = slider_x(slider, value)
    QTest.mousePress(slider, Qt.LeftButton, Qt.NoModifier, start)
    for step in range(1, steps + 1):
        point = QPoint(start.x() + (x - start.x()) * step // steps, start.y())
        event = QMouseEvent(QEvent.MouseMove, QPointF(point), QPointF(slider.mapToGlobal(point)), Qt.NoButton,
                            Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(slider, event)
    QTest.mouseRelease(slider, Qt.LeftButton, Qt.NoModifier, QPoint(x, start.y()))


def make_window(qtbot, tmp_path):
    """A shown main window with its own settings file and cache (none of the user's leak in)."""
    from salfom_app.window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(cache_dir=str(tmp_path / "cache"), settings=settings)
    w.resize(1280, 860)           # the offscreen screen is 800x800: the tests' size, not one fitted to it
    qtbot.addWidget(w)
    w.show()
    return w
