"""Time and peak memory of importing a big Tobii Pro Lab export (one JSON line per figure).

Writes a synthetic Pro Lab data export to a temporary folder: by default 1,000,000 sample rows
of 8 participants (250 Hz, about 8 minutes each, fixations, saccades and blinks, a 1.5 s
fixation cross before the video, the `VideoStimulusStart`/`End` events) in 60 columns laid out
as Pro Lab writes them (recording metadata on every row, both eyes' gaze, pupils and eye
positions, DACS and MCS coordinates, the media's geometry, the eye-movement classification).
Then converts it to the plain gaze CSV twice, each in a fresh process:

- `import`: `load_gaze` + `write_csv` in a child that imports only the gaze package: seconds
  of the conversion alone, the child's peak RSS, and its RSS before reading (the imports);
- `cli`: `salfom gaze-convert FILE --size 640x360 --frames N -o OUT` end to end (Python and torch
  start-up included): seconds and peak RSS.

    python bench/gaze_import.py [--rows 1000000] [--participants 8] [--keep DIR]

Target: the conversion under 5 s on the 2-core CPU, with memory bounded (the reader keeps a few
numbers per row, not the rows).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FPS, SIZE = 30.0, (640, 360)
TARGET_S = 5.0

HEADER = [
    "Recording timestamp [μs]", "Computer timestamp [μs]", "Sensor", "Project name", "Export date",
    "Participant name", "Recording name", "Recording date", "Recording date UTC", "Recording start time",
    "Recording start time UTC", "Recording duration [ms]", "Timeline name", "Recording Fixation filter name",
    "Recording software version", "Recording resolution height [px]", "Recording resolution width [px]",
    "Recording monitor latency [ms]", "Eyetracker timestamp [μs]", "Event", "Event value",
    "Gaze point X [DACS px]", "Gaze point Y [DACS px]", "Gaze point left X [DACS px]", "Gaze point left Y [DACS px]",
    "Gaze point right X [DACS px]", "Gaze point right Y [DACS px]", "Gaze direction left X", "Gaze direction left Y",
    "Gaze direction left Z", "Gaze direction right X", "Gaze direction right Y", "Gaze direction right Z",
    "Pupil diameter left [mm]", "Pupil diameter right [mm]", "Validity left", "Validity right",
    "Eye position left X [DACS mm]", "Eye position left Y [DACS mm]", "Eye position left Z [DACS mm]",
    "Eye position right X [DACS mm]", "Eye position right Y [DACS mm]", "Eye position right Z [DACS mm]",
    "Gaze point X [MCS norm]", "Gaze point Y [MCS norm]", "Presented Stimulus name", "Presented Media name",
    "Presented Media width [px]", "Presented Media height [px]", "Presented Media position X [DACS px]",
    "Presented Media position Y [DACS px]", "Original Media width [px]", "Original Media height [px]",
    "Eye movement type", "Gaze event duration [ms]", "Eye movement type index", "Fixation point X [DACS px]",
    "Fixation point Y [DACS px]", "Fixation point X [MCS norm]", "Fixation point Y [MCS norm]",
]
CROSS_S = 1.5


def simulate(rng: np.random.Generator, n: int):
    """Labels and screen positions of n samples: fixations (150-450 ms), saccades (40 ms), blinks."""
    labels, xs, ys = [], [], []
    x, y = 720.0, 450.0
    while sum(map(len, labels)) < n:
        length = int(rng.integers(38, 113))                   # 150-450 ms at 250 Hz
        labels.append(np.full(length, 0))
        xs.append(x + rng.normal(0, 3, length)), ys.append(y + rng.normal(0, 3, length))
        if rng.random() < 0.05:                                 # a blink
            labels.append(np.full(40, 2)), xs.append(np.full(40, np.nan)), ys.append(np.full(40, np.nan))
        nx, ny = rng.uniform(100, 1340), rng.uniform(100, 800)
        labels.append(np.full(10, 1))
        xs.append(np.linspace(x, nx, 10)), ys.append(np.linspace(y, ny, 10))
        x, y = nx, ny
    return np.concatenate(labels)[:n], np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def event_row(ts: int, name: str, recording: str, event: str, value: str = "") -> str:
    """An event row: the timestamps, the participant and the event; every other field empty."""
    fields = [""] * len(HEADER)
    fields[0], fields[1] = str(ts), str(ts + 17)
    fields[HEADER.index("Participant name")], fields[HEADER.index("Recording name")] = name, recording
    fields[HEADER.index("Event")], fields[HEADER.index("Event value")] = event, value
    return "\t".join(fields)


def participant_rows(rng, k: int, n: int) -> list[str]:
    name, recording = f"P{k + 1:02d}", f"Recording{k + 1}"
    cross = int(CROSS_S * 250)
    total = n + cross
    t = (np.arange(total) * 4000 + rng.integers(-40, 40, total)).clip(0)
    t[0] = 0
    duration_ms = int(t[-1] / 1000) + 1
    meta = (f"TX300\tBench project\t2024-03-04\t{name}\t{recording}\t2024-03-04\t2024-03-04\t10:00:00.000\t"
            f"09:00:00.000\t{duration_ms}\tTimeline1\tTobii I-VT (Fixation)\t1.217\t900\t1440\t10.0")
    labels, xs, ys = simulate(rng, total)
    labels[:cross], xs[:cross], ys[:cross] = 0, 720 + rng.normal(0, 2, cross), 450 + rng.normal(0, 2, cross)
    kinds = np.array(["Fixation", "Saccade", "EyesNotFound"])[labels]
    starts = np.flatnonzero(np.diff(np.concatenate([[-1], labels])) != 0)
    run = np.cumsum(np.isin(np.arange(total), starts)) - 1
    lengths = np.diff(np.concatenate([starts, [total]]))
    index = np.zeros(total, dtype=np.int64)
    for label in range(3):
        mine = labels[starts] == label
        index[starts[mine]] = np.arange(1, mine.sum() + 1)
    index = index[starts][run]
    event_ms = (lengths * 4)[run]
    fx = np.bincount(run, weights=np.nan_to_num(xs)) / lengths
    fy = np.bincount(run, weights=np.nan_to_num(ys)) / lengths
    rows = [event_row(0, name, recording, "RecordingStart")]
    stimulus = "\t".join(["0002", "0002.avi", "1440", "810", "0", "45", "640", "360"])
    for i in range(total):
        ts = int(t[i])
        if i == cross:
            rows.append(event_row(ts, name, recording, "VideoStimulusStart", "0002.avi"))
        blink = labels[i] == 2
        gx, gy = xs[i], ys[i]
        gaze = "\t" * 5 if blink else f"{gx:.0f}\t{gy:.0f}\t{gx - 2:.0f}\t{gy + 1:.0f}\t{gx + 2:.0f}\t{gy - 1:.0f}"
        gaze = gaze if not blink else "\t" * 5
        eyes = ("\t" * 5 if blink else "0.0812\t-0.1123\t0.9903\t0.0907\t-0.1101\t0.9899")
        pupils = "\t" if blink else "3.41\t3.38"
        validity = "Invalid\tInvalid" if blink else "Valid\tValid"
        position = "\t" * 5 if blink else "-31.2\t12.8\t612.4\t31.9\t12.5\t611.8"
        inside = i >= cross
        norm = "\t" if blink or not inside else f"{gx / 1440:.6f}\t{(gy - 45) / 810:.6f}"
        media = stimulus if inside else "\t" * 7
        fix = (f"{fx[run[i]]:.0f}\t{fy[run[i]]:.0f}\t{fx[run[i]] / 1440:.6f}\t{(fy[run[i]] - 45) / 810:.6f}"
               if labels[i] == 0 else "\t\t\t")
        rows.append(f"{ts}\t{ts + 17}\t{meta}\t{ts + 91}\t\t\t{gaze}\t{eyes}\t{pupils}\t{validity}\t{position}\t"
                    f"{norm}\t{media}\t{kinds[i]}\t{event_ms[i]}\t{index[i]}\t{fix}")
    end = int(t[-1]) + 1
    rows.append(event_row(end, name, recording, "VideoStimulusEnd", "0002.avi"))
    return rows


def write_export(path: Path, rows: int, participants: int, seed: int = 0) -> int:
    """The export; returns the longest video time in frames (for --frames)."""
    rng = np.random.default_rng(seed)
    per = rows // participants
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\t".join(HEADER) + "\n")
        for k in range(participants):
            lines = participant_rows(rng, k, per)
            assert all(line.count("\t") == len(HEADER) - 1 for line in lines[:400] + lines[-5:])
            fh.write("\n".join(lines) + "\n")
    return int(per / 250 * FPS) + 1


CHILD = """
import json, resource, sys, time
from salfom_core.io.gaze import load_gaze, write_csv
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start, cpu = time.perf_counter(), time.process_time()
gaze = load_gaze(sys.argv[1], (640, 360), int(sys.argv[2]), 30.0)
read = time.perf_counter() - start
write_csv(gaze, sys.argv[3])
total = time.perf_counter() - start
print(json.dumps({"read_s": read, "total_s": total, "cpu_s": time.process_time() - cpu, "samples": len(gaze),
                  "observers": len(gaze.observers), "rss_before_mb": before,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(argv: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB of the child, its stdout)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[:3])}...: exit {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--participants", type=int, default=8)
    ap.add_argument("--keep", help="write the export here and keep it (default: a temporary folder)")
    args = ap.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="salfom-gaze-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "prolab_export.tsv"
    frames = write_export(export, args.rows, args.participants)
    common = {"rows": args.rows, "participants": args.participants, "columns": len(HEADER),
              "file_mb": round(export.stat().st_size / 2 ** 20, 1), "cpu": platform.processor() or platform.machine(),
              "cores": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)}
    try:
        _, peak, out = run_child([sys.executable, "-c", CHILD, str(export), str(frames), str(folder / "a.csv")])
        child = json.loads(out)
        print(json.dumps({"bench": "gaze_import", "figure": "import", "seconds": round(child["total_s"], 2),
                          "cpu_s": round(child["cpu_s"], 2), "read_s": round(child["read_s"], 2),
                          "samples_out": child["samples"],
                          "peak_rss_mb": round(child["peak_rss_mb"], 1),
                          "rss_after_imports_mb": round(child["rss_before_mb"], 1), "target_s": TARGET_S, **common}))
        wall, peak, _ = run_child([sys.executable, "-m", "salfom_core", "gaze-convert", str(export),
                                   "--size", "640x360",
                                   "--frames", str(frames), "-o", str(folder / "b.csv")])
        print(json.dumps({"bench": "gaze_import", "figure": "cli", "seconds": round(wall, 2),
                          "peak_rss_mb": round(peak, 1), "note": "whole command: start-up and torch import included",
                          **common}))
    finally:
        if not args.keep:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()
