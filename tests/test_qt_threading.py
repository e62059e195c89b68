"""The Qt binding survives the app's threading pattern: signals emitted from a worker QThread.

PySide6 6.12.0 corrupts reference counts here (the process dies with "deallocating None"
or "deallocating True"); the stress runs in a subprocess so a bad binding fails the test
instead of killing the suite.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("payload", ["object", "int"])
def test_cross_thread_signals_do_not_corrupt_memory(payload):
    script = Path(__file__).with_name("qt_signal_stress.py")
    proc = subprocess.run([sys.executable, str(script), payload], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stderr[-1500:]
