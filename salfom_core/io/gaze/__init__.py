"""Gaze: per-frame fixation samples from eye-tracking exports and annotation folders.

One module per format, `load_gaze` picks the reader from what a path is:
- `plain_csv`: `frame` or `time_s`, `x`, `y`, optional `observer`; pixels or normalized 0..1;
- `smi`: raw SMI exports (one file per observer), screen geometry as parameters;
- `annotation`: DHF1K / Hollywood-2 / UCF-Sports `fixation/maps/*.mat` (variable I) or
  `fixation/*.png` read as samples (observers unknown).
"""
from ...errors import GazeError
from .annotation import read_annotation_folder
from .data import FixationEvents, GazeData
from .load import load_gaze, load_gaze_files
from .plain_csv import read_csv, write_csv
from .smi import ScreenGeometry, read_smi

__all__ = ["FixationEvents", "GazeData", "GazeError", "ScreenGeometry", "load_gaze", "load_gaze_files", "read_annotation_folder",
           "read_csv", "read_smi", "write_csv"]
