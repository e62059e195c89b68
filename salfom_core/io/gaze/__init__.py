"""Gaze: per-frame fixation samples from eye-tracking exports and annotation folders.

One module per format, `load_gaze` picks the reader from what a path is (its content):
- `tobii`: Tobii Pro Lab TSV export (every participant in one file);
- `eyelink`: SR Research EyeLink ASC (edf2asc), one file per participant;
- `pupil`: Pupil Labs Neon (Cloud timeseries folder) and Core (Player export folder);
- `gazepoint`: Gazepoint Analysis CSV;
- `mapped_csv`: any CSV through a column mapping (`GazeOptions.columns`);
- `plain_csv`: `frame` or `time_s`, `x`, `y`, optional `observer`; pixels or normalized 0..1;
- `smi`: raw SMI exports (one file per observer), screen geometry as parameters;
- `annotation`: DHF1K / Hollywood-2 / UCF-Sports `fixation/maps/*.mat` (variable I) or
  `fixation/*.png` read as samples (observers unknown).
`options.GazeOptions` holds every import setting; `events` detects fixations (I-VT, I-DT) where a
file has none; `tracks` is what the tracker readers share; `inspect_gaze` says what an input holds.
"""
from ...errors import GazeError
from .annotation import read_annotation_folder
from .data import FixationEvents, GazeData
from .inspection import GazeInspection
from .load import gaze_format, inspect_gaze, keep_participants, load_gaze, load_gaze_files
from .options import GazeOptions
from .plain_csv import read_csv, write_csv
from .smi import ScreenGeometry, read_smi

__all__ = ["FixationEvents", "GazeData", "GazeError", "GazeInspection", "GazeOptions", "ScreenGeometry",
           "gaze_format", "inspect_gaze", "keep_participants", "load_gaze", "load_gaze_files",
           "read_annotation_folder", "read_csv", "read_smi", "write_csv"]
