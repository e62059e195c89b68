"""Areas of interest (AOIs) that move with the video, and what gaze and models give them.

AOI_SPEC.md (in the shared folder) is the contract. One module per job:
- `shapes`: rect / ellipse / polygon, the inside test and the pixels of a map they cover;
- `keyframes`: an AOI's keyframes, its shape and state at any frame, an editable `AoiSet`;
- `aoi_file`: the `<stem>.aois.json` file read and written (atomically, with a backup), and
  Tobii Pro Lab's AOI export imported;
- `tracking`: follow an AOI's content forward through the video (template matching);
- `figures`: the per-observer, per-frame and per-AOI figures for gaze and any number of models;
- `report`: what `salfom aoi` runs: a video, its AOIs, gaze and models in, three CSVs and a plot out.
"""
from .aoi_file import aoi_path, backup_path, read_aois, write_aois
from .keyframes import AOI, PALETTE, AoiError, AoiSet, Keyframe
from .shapes import SHAPES, contains, full_mask, region

__all__ = ["AOI", "AoiError", "AoiSet", "Keyframe", "PALETTE", "SHAPES", "aoi_path", "backup_path", "contains",
           "full_mask", "read_aois", "region", "write_aois"]
