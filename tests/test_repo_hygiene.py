"""The repository itself: no merge left half done (conflict markers in a tracked file)."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ("<<<<<<< ", ">>>>>>> ")


def test_no_conflict_markers_in_tracked_files():
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    found = []
    for name in listed.splitlines():
        path = ROOT / name
        if path.suffix in {".mp4", ".png", ".npy"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        found += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if line.startswith(MARKERS)]
    assert not found, found
