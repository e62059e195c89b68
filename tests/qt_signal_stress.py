"""Stress for test_qt_threading: 20000 signals from a worker QThread, each answered in the GUI thread."""
import sys, threading, time
import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
app = QCoreApplication([])
class Worker(QObject):
    ready = Signal(object)
    ready_int = Signal(int)
    wake = Signal()
    def __init__(self, mode):
        super().__init__(); self.mode = mode
        self.t = QThread(); self.moveToThread(self.t); self.wake.connect(self.work); self.t.start()
    @Slot()
    def work(self):
        payload = {"i": 1, "a": np.zeros((360, 640, 3), np.uint8), "maps": {"x": None}}
        if self.mode == "object":
            self.ready.emit(payload)
        else:
            self.ready_int.emit(1)
w = Worker(sys.argv[1])
got = []
w.ready.connect(lambda b: got.append(1))
w.ready_int.connect(lambda b: got.append(1))
t0 = time.time()
for k in range(20000):
    w.wake.emit()
    app.processEvents()
while len(got) < 20000 and time.time() - t0 < 60:
    app.processEvents()
print("ok", sys.argv[1], len(got), round(time.time() - t0, 1))
w.t.quit(); w.t.wait()
