"""On-disk prediction store: one folder per (video content, predictor, settings).

Layout of a store folder:
    meta.json   what was predicted, frame count and size, the map form, whether it is complete
    model.u16   the model's own maps, one record per frame (`MapForm`): the map's min and max
    or          (float32), then the map at the model's size, min-max scaled to 16 bits
    model.f32   ("model-u16": SalFoM's 224x224, 98 KiB a frame whatever the video's
                resolution) or as it is when its float32 fits in 100 KiB ("model-f32": the
                centre bias's 64x64, 16 KiB); resized to the video, blurred and scaled to 8
                bits (the spec's post-processing) when read
    maps.u8     or (N, H, W) uint8 maps at the video's size, post-processed when written
                ("video-u8"), for videos so small that this is the smaller form (SalFoM on
                320x180: 56 KiB a frame)
    done.npy    (N,) bool: frames whose maps are written: the record of exact frames (computed
                by the model); blends for the frames between them are derived on reading
                (`read_or_blend`), never stored

`read` returns the 8-bit map at the video's size in every form: from "model-f32" the same
bytes as post-processing at once; from "model-u16" within one level of 255 of them, because
post-processing commutes with the 16-bit scaling (resize and blur are weighted means, min-max
undoes any scaling) and the 16-bit rounding is ~1e-5 of the range. Entries of the format
before forms (maps.u8 at any size, no form in meta.json) are read as "video-u8"; where a
model form is the one wanted they are recomputed with a note, never read as something else.

A frame is marked done only after its map is flushed, and `done.npy` is replaced
atomically, so a killed run resumes with exactly the frames it had finished. Frames are
read one at a time through the memory map, never the whole video.

A damaged entry (unreadable `meta.json` or `done.npy`, a map file of the wrong size) is
discarded with a one-line warning and computed again; temporary files a killed write left
behind are removed. A complete entry in a read-only cache is read as it is. A cache folder
that cannot be used raises `CacheError` naming it; a job checks the free space its entry
still needs before it starts (`DiskFullError` naming the folder and the bytes).
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import CacheError
from ..io.atomic import atomic_write_bytes, atomic_write_text, remove_stale_temporaries
from ..io.disk import human_bytes, naming_full_disk, require_free_space
from ..models.preprocess import postprocess_to_uint8

VIDEO_U8, MODEL_F32, MODEL_U16 = "video-u8", "model-f32", "model-u16"
MODEL_KINDS = (MODEL_F32, MODEL_U16)
MAP_FILES = {VIDEO_U8: "maps.u8", MODEL_F32: "model.f32", MODEL_U16: "model.u16"}
# a model's map is kept as it is (float32) up to this size, else scaled to 16 bits
EXACT_RECORD_LIMIT = 100 * 1024
# removal order of a discarded entry: done.npy first, so that a removal cut short never leaves
# a record of finished frames beside maps that are going
ENTRY_FILES = ("done.npy", *MAP_FILES.values(), "meta.json")
# post-processed maps kept for reading again: the two sides of a blend are read for every frame
# between them (playback through interpolated frames), and one map costs ~10 ms at 1080p
RECENT_MAPS = 4

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MapForm:
    """How an entry keeps each frame's map: `VIDEO_U8`, 8-bit at the video's size (post-processed
    when written: the only form before); or the model's own (h, w) map with its min and max,
    post-processed (`blur` or not) when read: `MODEL_F32` as it is, `MODEL_U16` min-max scaled
    to 16 bits (for maps whose float32 would pass `EXACT_RECORD_LIMIT`, SalFoM's 224x224)."""

    kind: str = VIDEO_U8
    model_size: tuple[int, int] | None = None       # (h, w) of the model's maps, model kinds only
    blur: bool = True

    @classmethod
    def smaller(cls, height: int, width: int, model_size: tuple[int, int] | None, blur: bool = True) -> "MapForm":
        """The form that keeps a video of height x width in fewer bytes: the model's maps for all
        but the smallest videos, so the bytes per frame do not grow with the resolution (SalFoM's
        224x224 in 16 bits: 98 KiB a frame, against 2 MB for 8-bit maps at 1080p)."""
        if not model_size:
            return cls()
        size = (int(model_size[0]), int(model_size[1]))
        model = cls(MODEL_F32, size, bool(blur))
        if model.record_bytes(height, width) > EXACT_RECORD_LIMIT:
            model = cls(MODEL_U16, size, bool(blur))
        return model if model.record_bytes(height, width) < height * width else cls()

    def record_dtype(self, height: int, width: int) -> np.dtype:
        if self.kind == VIDEO_U8:
            return np.dtype((np.uint8, (height, width)))
        values = "<f4" if self.kind == MODEL_F32 else "<u2"
        return np.dtype([("lo", "<f4"), ("hi", "<f4"), ("q", values, self.model_size)])

    def record_bytes(self, height: int, width: int) -> int:
        return self.record_dtype(height, width).itemsize

    @property
    def file_name(self) -> str:
        return MAP_FILES[self.kind]

    def describe(self, height: int, width: int) -> str:
        if self.kind == VIDEO_U8:
            return f"8-bit maps at {width}x{height}"
        bits = "float32" if self.kind == MODEL_F32 else "16-bit"
        return f"the model's {self.model_size[1]}x{self.model_size[0]} maps ({bits})"

    def to_meta(self) -> dict:
        if self.kind == VIDEO_U8:
            return {"kind": VIDEO_U8}
        return {"kind": self.kind, "height": self.model_size[0], "width": self.model_size[1], "blur": self.blur}

    @classmethod
    def from_meta(cls, recorded: dict | None) -> "MapForm":
        """The form meta.json records; no record: the format before forms, 8-bit at the video's
        size. A kind this version does not know raises `UnknownForm`."""
        if recorded is None or recorded.get("kind") == VIDEO_U8:
            return cls()
        if recorded.get("kind") not in MODEL_KINDS:
            raise UnknownForm(recorded.get("kind"))
        return cls(recorded["kind"], (int(recorded["height"]), int(recorded["width"])), bool(recorded["blur"]))


class UnknownForm(ValueError):
    """meta.json names a map form this version cannot read (a newer version wrote it)."""


def default_cache_dir() -> Path:
    """$SALFOM_CACHE_DIR, else the platform's user cache folder."""
    env = os.environ.get("SALFOM_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("salfom-studio", appauthor=False)) / "predictions"


def store_key(video_key: str, predictor_key: str, settings: dict) -> str:
    blob = json.dumps({"video": video_key, "predictor": predictor_key, "settings": settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def usable_cache_root(root: Path) -> Path:
    """`root`, created if needed; a `CacheError` naming it when it cannot be a cache folder."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CacheError(root, "it is a file, not a folder") from None
    except OSError as exc:
        raise CacheError(root, exc.strerror or str(exc)) from None
    if not root.is_dir():
        raise CacheError(root, "it is not a folder")
    return root


class PredictionStore:
    """`warn` receives one line per damaged entry discarded (default: the `logging` warning);
    the same lines are kept in `notes` for a caller that shows them later.

    `form` (`MapForm`): how a new entry keeps its maps, and the form an existing entry must have
    (one of another form is computed again, or read as it is from a read-only cache); None:
    the entry's own form, and 8-bit maps at the video's size for a new one. `write` takes what
    the form keeps (an 8-bit map at the video's size, or the model's float map); `read` always
    returns the 8-bit map at the video's size."""

    def __init__(self, folder: Path, n_frames: int, height: int, width: int, meta: dict | None = None,
                 warn: Callable[[str], None] | None = None, replace_other_geometry: bool = False,
                 form: MapForm | None = None):
        self.folder = Path(folder)
        self.n_frames, self.height, self.width = n_frames, height, width
        self.notes: list[str] = []
        self._warn = warn or log.warning
        self._work = threading.local()           # post-processing buffers, one set per reading thread
        self._recent: OrderedDict[int, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        usable_cache_root(self.folder)
        self.writable = os.access(self.folder, os.W_OK | os.X_OK)
        if self.writable:
            self._remove_stale_temp_files()
        self.form = self._settle_form(form, replace_other_geometry)
        self.meta = {**(meta or {}), "n_frames": n_frames, "height": height, "width": width,
                     "format": self.form.to_meta()}
        self.done, self._records = self._open_entry()

    @classmethod
    def open(cls, root: Path | None, video_key: str, predictor_key: str, settings: dict,
             n_frames: int, height: int, width: int, meta: dict | None = None,
             warn: Callable[[str], None] | None = None, form: MapForm | None = None) -> "PredictionStore":
        """The cache entry of (video, predictor, settings) under `root` (default: the user cache).

        An entry of another frame count or size was made by an older reader of the same file:
        it is replaced.
        """
        root = usable_cache_root(Path(root) if root else default_cache_dir())
        key = store_key(video_key, predictor_key, settings)
        if not (root / key).exists() and not os.access(root, os.W_OK | os.X_OK):
            raise CacheError(root, "it is read-only and holds no predictions for this video yet")
        return cls(root / key, n_frames, height, width,
                   {**(meta or {}), "video_key": video_key, "predictor": predictor_key, "settings": settings},
                   warn=warn, replace_other_geometry=True, form=form)

    # ------------------------------------------------------------------ opening

    def _settle_form(self, wanted: MapForm | None, replace_other_geometry: bool) -> MapForm:
        """The entry's form once what is in the folder has been checked: a damaged entry, or
        one of another geometry or form, is discarded (with a note) and the wanted form used."""
        problem, recorded = self._problem()
        if problem is None and recorded is not None and wanted is not None and recorded != wanted:
            if not self.writable:
                return recorded                   # read-only: read what is there, in its own form
            problem = self._other_form_note(recorded, wanted)
        if problem and problem.startswith("holds") and not replace_other_geometry:
            raise ValueError(f"{self.folder}: store {problem}")
        if problem and not self.writable:
            raise CacheError(self.folder, f"the entry is damaged ({problem}) and the folder is read-only")
        if problem:
            self._discard(problem)
            recorded = None
        return wanted or recorded or MapForm()

    def _other_form_note(self, recorded: MapForm, wanted: MapForm) -> str:
        h, w = self.height, self.width
        old = "the format before the compact cache" if recorded.kind == VIDEO_U8 else "another form"
        return (f"keeps {recorded.describe(h, w)} ({old}, {human_bytes(recorded.record_bytes(h, w))} a frame), "
                f"not {wanted.describe(h, w)} ({human_bytes(wanted.record_bytes(h, w))} a frame)")

    def _open_entry(self):
        records_path, done_path = self.folder / self.form.file_name, self.folder / "done.npy"
        record = self.form.record_dtype(self.height, self.width)
        if records_path.exists():
            done = np.load(done_path) if done_path.exists() else np.zeros(self.n_frames, bool)
            if not self.writable and not done.all():
                raise CacheError(self.folder, "the folder is read-only and its predictions are incomplete")
            if not done.all():
                self._require_space(records_path)
            records = np.memmap(records_path, dtype=record, mode="r+" if self.writable else "r",
                                shape=(self.n_frames,))
        else:
            done = np.zeros(self.n_frames, bool)
            self._require_space(records_path)
            self._write_meta_of(done)             # the form is on record before any map is
            records = np.memmap(records_path, dtype=record, mode="w+", shape=(self.n_frames,))
        if not (self.folder / "meta.json").exists():
            self._write_meta_of(done)
        return done, records

    def _require_space(self, records_path: Path) -> None:
        """Stop before the job when the disk lacks what the entry still needs: the map file is
        sparse, so a resumed entry needs only the part not yet written (where the system says
        which blocks a file holds)."""
        record_bytes = self.form.record_bytes(self.height, self.width)
        needed = self.n_frames * record_bytes
        if records_path.exists():
            held = getattr(records_path.stat(), "st_blocks", None)
            if held is None:
                return
            needed = max(0, needed - held * 512)
        require_free_space(self.folder, needed,
                           f"the predictions of {self.n_frames} frames of {self.width}x{self.height} as "
                           f"{self.form.describe(self.height, self.width)} ({human_bytes(record_bytes)} a frame; "
                           "the prediction cache; --cache chooses another folder)")

    def _problem(self) -> tuple[str | None, MapForm | None]:
        """(what is wrong with the files already in the folder or None, the form they hold or
        None when there is no entry)."""
        meta_path, done_path = self.folder / "meta.json", self.folder / "done.npy"
        recorded = None
        if meta_path.exists():
            try:
                old = json.loads(meta_path.read_text())
                geometry = tuple(int(old[k]) for k in ("n_frames", "height", "width"))
                recorded = MapForm.from_meta(old.get("format"))
            except UnknownForm as exc:
                return f"keeps maps in a form this version does not know ({exc}; made by a newer version?)", None
            except (OSError, ValueError, TypeError, KeyError) as exc:
                return f"meta.json unreadable: {type(exc).__name__}", None
            if geometry != (self.n_frames, self.height, self.width):
                return (f"holds {geometry[0]} frames of {geometry[2]}x{geometry[1]}, "
                        f"not {self.n_frames} of {self.width}x{self.height}"), recorded
        elif any((self.folder / MAP_FILES[kind]).exists() for kind in MODEL_KINDS):
            return "model maps without meta.json", None
        elif (self.folder / MAP_FILES[VIDEO_U8]).exists() or done_path.exists():
            recorded = MapForm()                  # the format before meta.json recorded a form
        if recorded is None:
            return None, None
        records_path = self.folder / recorded.file_name
        expected = self.n_frames * recorded.record_bytes(self.height, self.width)
        if records_path.exists() and records_path.stat().st_size != expected:
            return f"{records_path.name} has {records_path.stat().st_size} bytes, not {expected}", recorded
        if done_path.exists():
            if not records_path.exists():
                return f"done.npy without {records_path.name}", recorded
            try:
                done = np.load(done_path)
            except (OSError, ValueError, EOFError) as exc:
                return f"done.npy unreadable: {type(exc).__name__}", recorded
            if done.dtype != bool or done.shape != (self.n_frames,):
                return f"done.npy holds {done.dtype} {done.shape}, not bool ({self.n_frames},)", recorded
        return None, recorded

    def _discard(self, problem: str) -> None:
        note = f"{self.folder}: damaged cache entry ({problem}); discarded, computing it again"
        if problem.startswith("holds"):
            note = f"{self.folder}: cache entry {problem} (made by an older version?); computing it again"
        elif problem.startswith("keeps"):
            note = f"{self.folder}: cache entry {problem}; computing it again"
        self.notes.append(note)
        self._warn(note)
        for name in ENTRY_FILES:
            (self.folder / name).unlink(missing_ok=True)

    def _remove_stale_temp_files(self) -> None:
        """`atomic_write` temporaries (`.done.npy.XXXX.tmp`) of a write that was killed."""
        remove_stale_temporaries(self.folder)

    # ------------------------------------------------------------------ use

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    @property
    def keeps_model_maps(self) -> bool:
        """Whether `write` takes the model's own maps (post-processed when read)."""
        return self.form.kind in MODEL_KINDS

    def missing(self) -> np.ndarray:
        return np.flatnonzero(~self.done)

    def write(self, index: int, saliency: np.ndarray) -> None:
        """Store frame `index`'s map: an 8-bit map at the video's size ("video-u8"), or the
        model's float map at its own size (the model kinds).

        Where the system has `os.pwrite`, one write() of the whole record into the page cache
        the memory map shares: filling a fresh memory-mapped file faults once per 4 KiB page
        (5 ms per 1080p map measured on a 2-core CPU, 0.6 ms with pwrite)."""
        record = self._encode(saliency)
        with self._recent_lock:
            self._recent.pop(int(index), None)
        with naming_full_disk(self.folder, "a map into the prediction cache"):
            if hasattr(os, "pwrite"):
                self._pwrite(index, record)
            else:
                self._records[index] = record[0]

    def _encode(self, saliency: np.ndarray) -> np.ndarray:
        """One record (a 1-element array of the form's record type) holding `saliency`."""
        data = np.asarray(saliency)
        record = np.zeros(1, self.form.record_dtype(self.height, self.width))
        if self.form.kind == VIDEO_U8:
            if data.shape != (self.height, self.width):
                raise ValueError(f"{self.folder}: a map of {data.shape}, not the video's ({self.height}, {self.width})")
            record[0] = data                      # cast as the memory map would
            return record
        if data.shape != self.form.model_size:
            raise ValueError(f"{self.folder}: the model gave a map of {data.shape}, not the {self.form.model_size} "
                             "this entry keeps (the predictor's output_size)")
        lo, hi = float(data.min()), float(data.max())
        record["lo"], record["hi"] = lo, hi
        if self.form.kind == MODEL_F32:
            record["q"][0] = data
        elif hi > lo:        # float64: the scaling adds no rounding of its own to the 16-bit step
            record["q"][0] = np.rint((data.astype(np.float64) - lo) * (65535.0 / (hi - lo)))
        return record

    def _pwrite(self, index: int, record: np.ndarray) -> None:
        fd = os.open(self.folder / self.form.file_name, os.O_WRONLY)
        try:
            offset = int(index) * self.form.record_bytes(self.height, self.width)
            os.pwrite(fd, memoryview(record.reshape(-1).view(np.uint8)), offset)
        finally:
            os.close(fd)
        self._written_by_pwrite = True

    def mark_ready(self, indices) -> None:
        """Written maps this process may read at once; they become durable at the next `commit`
        (the engine commits about once a second rather than after every batch)."""
        self.done[np.asarray(list(indices), dtype=np.int64)] = True

    def commit(self, indices) -> None:
        """Flush written maps, then mark them done (atomically)."""
        with naming_full_disk(self.folder, "the prediction cache"):
            self._flush()
        self.done[np.asarray(list(indices), dtype=np.int64)] = True
        buf = io.BytesIO()
        np.save(buf, self.done)
        atomic_write_bytes(self.folder / "done.npy", buf.getvalue())
        if self.complete:
            self._write_meta()

    def _flush(self) -> None:
        self._records.flush()
        if getattr(self, "_written_by_pwrite", False):      # msync need not cover write()s everywhere
            fd = os.open(self.folder / self.form.file_name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._written_by_pwrite = False

    def read(self, index: int) -> np.ndarray | None:
        """The uint8 map of frame `index` at the video's size, or None when it is not computed
        yet. Safe to call from several threads at once."""
        if not self.done[index]:
            return None
        if self.form.kind == VIDEO_U8:
            return np.array(self._records[index])
        index = int(index)
        with self._recent_lock:
            kept = self._recent.get(index)
            if kept is not None:
                self._recent.move_to_end(index)
                return kept.copy()
        work = self._work.__dict__           # this thread's buffers
        # float32 maps: the bytes of the post-processing at once; 16-bit ones are within one level
        # anyway, so their 8-bit scaling may take the faster fused pass
        saliency = postprocess_to_uint8(self._records["q"][index], (self.width, self.height), self.form.blur, work,
                                        fused=self.form.kind == MODEL_U16)
        with self._recent_lock:
            self._recent[index] = saliency
            while len(self._recent) > RECENT_MAPS:
                self._recent.popitem(last=False)
        return saliency.copy()

    def read_model_map(self, index: int) -> np.ndarray | None:
        """The model's own float32 map of frame `index` (exact in "model-f32", within 1/65535 of
        its range in "model-u16"), for an entry that keeps them; None when not computed yet."""
        if not self.keeps_model_maps:
            raise ValueError(f"{self.folder}: this entry keeps 8-bit maps at the video's size, not the model's")
        if not self.done[index]:
            return None
        record = self._records[index]
        if self.form.kind == MODEL_F32:
            return np.array(record["q"])
        lo, hi = float(record["lo"]), float(record["hi"])
        return (lo + record["q"].astype(np.float64) * ((hi - lo) / 65535.0)).astype(np.float32)

    @property
    def exact(self) -> np.ndarray:
        """(N,) bool: frames whose maps the model computed (a copy; `done` is the record)."""
        return self.done.copy()

    def read_or_blend(self, index: int) -> tuple[np.ndarray | None, bool]:
        """(map, is_exact): the computed map, else the blend of the nearest computed frames on
        both sides (is_exact False), else (None, False)."""
        from .interpolate import map_or_blend

        return map_or_blend(self.read, self.done, index)

    def _write_meta(self) -> None:
        self._write_meta_of(self.done)

    def _write_meta_of(self, done: np.ndarray) -> None:
        if self.writable:
            atomic_write_text(self.folder / "meta.json",
                              json.dumps({**self.meta, "complete": bool(done.all())}, indent=1))
