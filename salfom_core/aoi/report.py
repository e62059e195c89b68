"""`salfom aoi`: a video, its AOIs, gaze and models in; the three AOI tables and a plot out.

Models (`preds`) are folders of numbered maps (named by the folder, as `salfom evaluate`
names them), `center-bias` (the baseline, computed), or a SalFoM checkpoint, whose maps come
from the prediction cache (computed there first when missing; named by the file's stem).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConfigError
from ..evaluation.sources import CenterBiasMaps, MapFolder
from .aoi_file import read_aois
from .figures import AoiFigures, AoiInputs, MapSource, compute_figures, require_events, write_csvs, write_plot
from .keyframes import AoiSet

BASELINE = "center-bias"


@dataclass
class AoiReport:
    figures: AoiFigures
    aois: AoiSet
    folder: Path
    written: list[str]


def aoi_report(video: str | os.PathLike, aois: str | os.PathLike, out: str | os.PathLike, *,
               gaze: str | os.PathLike | Sequence[str | os.PathLike] | None = None, preds: Sequence[str] = (),
               plot: str | os.PathLike | None = None, screen: tuple[int, int] = (1440, 900),
               cache: str | os.PathLike | None = None, device: str = "auto", dtype: str = "auto",
               progress: Callable[[str, int, int], object] | None = None,
               warn: Callable[[str], None] = lambda _line: None, gaze_options=None) -> AoiReport:
    """Compute and write the figures of the AOIs in `aois` on `video`. Every setting and input
    is checked before any map is read; `progress(stage, done, total)` follows the prediction
    of a checkpoint (stage `predict NAME`) and the figures (stage `figures`). `gaze_options` (a
    GazeOptions) say how to read `gaze`: stimulus, alignment, a fixation detector..."""
    from ..io.gaze import ScreenGeometry, load_gaze_files
    from ..io.video import open_video

    if plot:
        from ..evaluation.scoreboard import plot_format

        plot_format(plot)                 # a wrong suffix fails before any work
    if not gaze and not preds:
        raise ConfigError("nothing to measure the AOIs with: give --gaze and/or --pred")
    _check_unique(preds)
    with open_video(video) as source:
        info, n_frames = source.info, len(source)
        if source.integrity_warning:
            warn(f"warning: {source.integrity_warning}")
        size = (info.width, info.height)
        aoi_set = read_aois(aois, n_frames=n_frames, fps=source.clock)
        if not len(aoi_set):
            raise ConfigError(f"{aois}: the file holds no AOIs")
        if aoi_set.video and aoi_set.video != Path(video).name:
            warn(f"warning: {aois} was drawn on {aoi_set.video}, not {Path(video).name}")
        _check_in_picture(aoi_set, aois, n_frames, size, warn)
        samples = None
        if gaze:
            samples = load_gaze_files(gaze, size, n_frames, source.clock, ScreenGeometry(*screen), options=gaze_options)
            require_events(samples)
            note = samples.dropped_note()
            for line in [*getattr(samples, "warnings", []), *([f"gaze: {note}"] if note else [])]:
                warn(line)
        models = [_model(p, source, video, cache, device, dtype, progress, warn) for p in preds]
    _name_uniquely(models, preds)
    inputs = AoiInputs(n_frames, size, info.fps, samples, models)
    figures = compute_figures(inputs, list(aoi_set),
                              progress=(lambda done, total: progress("figures", done, total)) if progress else None)
    folder = Path(out)
    written = [p.name for p in write_csvs(figures, folder)]
    if plot:
        write_plot(figures, plot)
        written.append(str(plot))
    return AoiReport(figures, aoi_set, folder, written)


def _check_in_picture(aoi_set: AoiSet, path, n_frames: int, size: tuple[int, int], warn) -> None:
    """A warning naming each AOI that covers no pixel of the picture in any frame (its share is
    0 throughout); an error when every AOI is such: the tables would measure nothing."""
    outside = [a for a in aoi_set if a.outside_picture(n_frames, size)]
    lines = [f"{path}: AOI {a.name!r} lies wholly outside the {size[0]}x{size[1]} picture in every frame "
             f"(x {_span(a.extent()[:2])}, y {_span(a.extent()[2:])})" for a in outside]
    why = "drawn in screen pixels, or on another video?"
    if outside and len(outside) == len(aoi_set):
        raise ConfigError(f"{lines[0]}: {why}" if len(lines) == 1 else
                          f"{path}: all {len(lines)} AOIs lie wholly outside the {size[0]}x{size[1]} picture "
                          f"in every frame ({', '.join(repr(a.name) for a in outside[:5])}"
                          f"{', ...' if len(outside) > 5 else ''}): {why}")
    for line in lines:
        warn(f"warning: {line}: its share is 0 in every frame ({why})")


def _span(bounds) -> str:
    return f"{bounds[0]:g} to {bounds[1]:g}"


def _check_unique(preds: Sequence[str]) -> None:
    seen = set()
    for p in preds:
        key = p if p == BASELINE else os.path.realpath(p)
        if key in seen:
            raise ConfigError(f"--pred {p} is given twice")
        seen.add(key)


def _model(pred: str, source, video, cache, device: str, dtype: str, progress, warn) -> MapSource:
    from ..models.weights import looks_like_checkpoint

    path = Path(pred)
    if pred == BASELINE and not path.exists():
        baseline = CenterBiasMaps()
        shape = (source.info.height, source.info.width)
        return MapSource(BASELINE, lambda _i: baseline.map(shape), constant=True)
    if path.is_dir():
        folder = MapFolder(path)
        if folder.n_frames < len(source):
            warn(f"{path}: maps for {len(folder.files)} of the video's {len(source)} frames; "
                 "frames without a map have no share")
        return MapSource(path.name or str(path), folder.read)
    if path.is_file() and looks_like_checkpoint(path):
        return _checkpoint_maps(path, source, video, cache, device, dtype, progress, warn)
    raise ConfigError(f"--pred {pred}: not a folder of maps, a checkpoint file, or '{BASELINE}'")


def _checkpoint_maps(path: Path, source, video, cache, device: str, dtype: str, progress, warn) -> MapSource:
    """The checkpoint's maps of this video through the prediction cache (computed there first
    where missing, exactly as `salfom predict` would)."""
    from ..inference.engine import EngineSettings, predict_video
    from ..inference.model_cache import cached_salfom_predictor
    from ..inference.predict import open_store

    predictor = cached_salfom_predictor(path, device, dtype)
    settings = EngineSettings()
    store = open_store(source, video, predictor, settings, cache, warn)
    missing = len(store.missing())
    if missing:
        stage = f"predict {path.stem}"
        predict_video(source, predictor, store, settings,
                      progress=(lambda p: progress(stage, p.done, p.total)) if progress else None)
    return MapSource(path.stem, store.read)


def _name_uniquely(models: list[MapSource], preds: Sequence[str]) -> None:
    """Models are named by their folder (or checkpoint stem); two of one name by their paths."""
    names = [m.name for m in models]
    for m, pred in zip(models, preds):
        if names.count(m.name) > 1:
            m.name = str(pred)


def summary_table(report: AoiReport) -> str:
    """The summary as aligned text for the terminal."""
    rows = report.figures.summary_rows()
    head = f"{'aoi':<16}{'source':<18}{'frames':>7}{'share':>8}{'density':>9}{'fixated %':>10}{'ttff ms':>9}"
    lines = [head]
    for r in rows:
        lines.append(f"{str(r['aoi'])[:15]:<16}{str(r['source'])[:17]:<18}{r['frames_active']:>7}"
                     f"{_short(r['share_mean'], 3):>8}{_short(r['density_mean'], 2):>9}"
                     f"{_short(r['percent_fixated'], 0):>10}{_short(r['ttff_ms_mean'], 0):>9}")
    return "\n".join(lines)


def _short(value, digits: int) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.{digits}f}"


__all__ = ["AoiReport", "aoi_report", "summary_table"]
