"""salfom_core imports no Qt, and its model and benchmarks work where PyAV is absent (the GPU machine)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKED = """
import sys
for name in ("PySide6", "av", "pyqtgraph", "superqt"):
    sys.modules[name] = None          # any import of them now raises ImportError
import salfom_core, salfom_core.engine, salfom_core.train, salfom_core.cli, salfom_core.evaluate
from salfom_core import create_model
import torch
model = create_model("salfom_tiny").eval()
with torch.no_grad():
    assert model(torch.zeros(1, 3, 16, 224, 224)).shape == (1, 224, 224)
sys.argv = ["infer"]
sys.path.insert(0, "bench")
import common
assert common.window_flops("salfom_tiny") > 0
print("ok")
"""


def test_core_needs_neither_qt_nor_pyav():
    proc = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
