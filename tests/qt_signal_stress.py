"""Stress for test_qt_threading: 20000 signals from a worker QThread, each answered in the GUI thread.

    python qt_signal_stress.py object|int
"""
import sys
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot


class Worker(QObject):
    ready = Signal(object)
    ready_int = Signal(int)
    wake = Signal()

    def __init__(self, payload: str):
        super().__init__()
        self.payload = payload
        self.thread = QThread()
        self.moveToThread(self.thread)
        self.wake.connect(self.work)
        self.thread.start()

    @Slot()
    def work(self):
        if self.payload == "object":
            self.ready.emit({"index": 1, "image": np.zeros((360, 640, 3), np.uint8), "maps": {"x": None}})
        else:
            self.ready_int.emit(1)


def main() -> int:
    app = QCoreApplication([])
    worker = Worker(sys.argv[1])
    received = []
    worker.ready.connect(lambda _bundle: received.append(1))
    worker.ready_int.connect(lambda _index: received.append(1))
    start = time.time()
    for _ in range(20000):
        worker.wake.emit()
        app.processEvents()
    while len(received) < 20000 and time.time() - start < 60:
        app.processEvents()
    worker.thread.quit()
    worker.thread.wait()
    print("ok" if len(received) == 20000 else "lost signals", len(received))
    return 0


if __name__ == "__main__":
    sys.exit(main())
