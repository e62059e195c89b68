"""`salfom evaluate`: score one or several models on a dataset, and write what was scored.

Outputs (in `--out`, default the single `--pred` folder):
    metrics_summary.json   protocol scores, frames scored and skipped (per model when several)
    metrics_frames.csv     model, video, frame, the metrics: one row per scored frame
    metrics_videos.csv     model, video, frames scored / skipped, the per-video means
    --plot FILE            a bar chart comparing the models (PNG, SVG or PDF; matplotlib)

Nothing is scored silently: frames without a prediction or without fixations are counted,
named on stderr, and `--strict` turns any such gap into an error.
"""
from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from ..inference.interpolate import interpolation_warnings
from ..io.atomic import atomic_write_bytes, atomic_write_text
from . import metrics
from .scoring import ModelScores, score_models
from .sources import CenterBiasMaps, PredictionRoot
from .truths import GazeTruth, dataset_truths

BASELINE = "center-bias"
PROTOCOL = "DHF1K: mean over all frames of all videos, NaN frames dropped"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def evaluate_models(preds: list[str], *, data: str | None = None, layout: str | None = None, split: str = "val",
                    gaze: str | None = None, video: str | None = None, grid: bool = False, every: int = 1,
                    metric_names: str | None = None, seed: int = 0, strict: bool = False, jobs: int = 1,
                    out: str | None = None, plot: str | None = None,
                    progress: Callable[[int, int], object] | None = None,
                    warn: Callable[[str], None] = _stderr,
                    gaze_options=None) -> tuple[list[ModelScores], Path, list[str]]:
    """Score each of `preds` (map folders, or 'center-bias') against `data` (annotations) or
    `gaze` of `video`, and write the metrics files into `out` (default: the single prediction
    folder). Returns (results, the folder written, the names of the files written). Every
    setting is checked before any scoring; gaps and notes go to `warn`; `progress(frames, total)`
    follows the scoring. `gaze_options` (a GazeOptions) say how to read `gaze`."""
    names = _metric_names(metric_names)
    if every < 1:
        raise ConfigError(f"--every must be at least 1, not {every}")
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, not {jobs}")
    if len(preds) > 1 and not out:
        raise ConfigError("several --pred: give --out FOLDER for the metrics files")
    if out is None and preds[0] == BASELINE:
        raise ConfigError(f"--pred {BASELINE}: give --out FOLDER for the metrics files")
    if plot:
        plot_format(plot)       # a wrong suffix fails before any scoring
    truths = _truths(data, layout, split, gaze, video, grid, warn, gaze_options)
    models = [_model(p, truths, warn) for p in preds]
    for pred in preds:              # maps from `salfom predict --stride`: say they are blends
        for line in interpolation_warnings(pred):
            warn(line)
    _unique_names(models)
    total = sum(len(range(0, t.n_frames, every)) for t in truths) * len(models)
    step = (lambda n: progress(n, total)) if progress else None
    results = score_models(truths, models, every, names, seed, strict, jobs, step)
    for result in results:
        for line in coverage_lines(result, prefix=len(results) > 1):
            warn(line)
    folder = Path(out) if out else Path(preds[0])
    write_results(results, folder)
    written = ["metrics_summary.json", "metrics_frames.csv", "metrics_videos.csv"]
    if plot:
        write_plot(results, plot)
        written.append(str(plot))
    return results, folder, written


def _metric_names(option: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in option.split(",")) if option else metrics.METRICS
    unknown = set(names) - set(metrics.METRICS)
    if unknown:
        raise ConfigError(f"unknown metrics {', '.join(sorted(unknown))}; known: {', '.join(metrics.METRICS)}")
    return names


def _truths(data, layout, split, gaze, video, grid, warn, gaze_options=None):
    import dataclasses

    from ..io.gaze import GazeOptions, load_gaze
    from ..io.video import open_video

    if gaze:
        if not video:
            raise ConfigError("--gaze needs --video (for the frame count and size)")
        with open_video(video) as source:
            info, n_frames, clock = source.info, len(source), source.clock
            if source.integrity_warning:      # a damaged video: say so, with the frames it has
                warn(f"warning: {source.integrity_warning}")
        options = dataclasses.replace(gaze_options or GazeOptions(), video_name=Path(video).name)
        samples = load_gaze(gaze, (info.width, info.height), n_frames, clock, options=options)
        for line in samples.warnings:
            warn(f"warning: {line}")
        note = samples.dropped_note()
        if note:
            warn(f"{gaze}: gaze samples: {note}")
        video = Path(video)
        return [GazeTruth(video.name if video.is_dir() else video.stem, samples, grid=grid)]
    if not data:
        raise ConfigError("give --data ROOT (annotations) or --gaze PATH --video VIDEO")
    truths = dataset_truths(data, layout, split)
    if not truths:
        raise ValueError(f"{data}: no annotated videos")
    return truths


def _model(pred: str, truths, warn):
    if pred == BASELINE and not Path(pred).exists():
        return CenterBiasMaps()
    root = PredictionRoot(pred)
    if root.single and len(truths) != 1:
        raise ConfigError(f"{pred} holds the maps of one video but the data holds {len(truths)}; "
                         "point --pred at a folder of per-video folders")
    unmatched = root.unmatched(truths)
    if unmatched:
        warn(f"{pred}: {len(unmatched)} folders match no video of the data, not scored: "
             f"{', '.join(unmatched[:5])}{' ...' if len(unmatched) > 5 else ''}")
    for line in root.mismatches(truths):      # another video's maps, rotated maps, 0-based names
        warn(line)
    return root


def _unique_names(models) -> None:
    """Models are named by their folder; two folders of the same name are named by their paths."""
    seen = {}
    for m in models:
        seen.setdefault(m.name, []).append(m)
    for same in seen.values():
        if len(same) > 1:
            for m in same:
                m.name = str(getattr(m, "folder", m.name))
    if len({m.name for m in models}) != len(models):
        raise ConfigError("the same predictions are given twice with --pred")


# --------------------------------------------------------------------------- what was scored


def coverage_lines(result: ModelScores, prefix: bool = False) -> list[str]:
    """One line per video with a gap, then the model's total when anything was skipped."""
    head = f"{result.name}: " if prefix else ""
    lines = [head + v.describe() for v in result.videos if v.n_skipped]
    skipped = result.skipped()
    if skipped:
        scored = result.scores.frame_count()
        total = scored + sum(skipped.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in skipped.items())
        lines.append(f"{head}all: {scored} of {total} frames scored; skipped: {reasons}")
    return lines


def format_video_table(result: ModelScores) -> str:
    names = result.metric_names
    header = f"{'video':<20}{'frames':>8}" + "".join(f"{n:>13}" for n in names)
    lines = [header, "-" * len(header)]
    for video in result.videos:
        lines.append(f"{video.name[:20]:<20}{len(video.frames):>8}" + "".join(f"{video.mean(n):>13.4f}" for n in names))
    overall = result.scores.overall()
    lines.append("-" * len(header))
    lines.append(f"{'all':<20}{result.scores.frame_count():>8}" + "".join(f"{overall[n]:>13.4f}" for n in names))
    return "\n".join(lines)


def format_models_table(results: list[ModelScores]) -> str:
    names = results[0].metric_names
    header = f"{'model':<24}{'frames':>8}" + "".join(f"{n:>13}" for n in names)
    lines = [header, "-" * len(header)]
    for result in results:
        overall = result.scores.overall()
        lines.append(f"{result.name[-24:]:<24}{result.scores.frame_count():>8}"
                     + "".join(f"{overall[n]:>13.4f}" for n in names))
    return "\n".join(lines)


def model_summary(result: ModelScores) -> dict:
    """Protocol scores; `per_video` holds the videos with scored frames, `skipped_per_video`
    every video with a gap (a video with no scored frame at all appears only there)."""
    per_video = {v.name: {**{n: v.mean(n) for n in result.metric_names}, "frames": len(v.frames)}
                 for v in result.videos if v.frames}
    gaps = {v.name: {reason: len(f) for reason, f in v.skipped.items()} for v in result.videos if v.n_skipped}
    return {"protocol": PROTOCOL, "frames": result.scores.frame_count(), "skipped": result.skipped(),
            "overall": result.scores.overall(), "per_video": per_video, "skipped_per_video": gaps}


def write_results(results: list[ModelScores], out: Path) -> None:
    """metrics_summary.json, metrics_frames.csv and metrics_videos.csv, each atomically."""
    if len(results) == 1:
        summary = model_summary(results[0])
    else:
        summary = {"protocol": PROTOCOL, "models": {r.name: model_summary(r) for r in results}}
    atomic_write_text(out / "metrics_summary.json", json.dumps(_finite(summary), indent=1))
    names = list(results[0].metric_names)
    frames = [{"model": r.name, **row} for r in results for row in r.rows()]
    atomic_write_text(out / "metrics_frames.csv", _csv(["model", "video", "frame", *names], frames))
    atomic_write_text(out / "metrics_videos.csv", videos_csv(results))


def videos_csv(results: list[ModelScores]) -> str:
    """model, video, frames, skipped, then the per-video means: the dataset table as CSV."""
    names = list(results[0].metric_names)
    rows = [{"model": r.name, "video": v.name, "frames": len(v.frames), "skipped": v.n_skipped,
             **{n: v.mean(n) for n in names}} for r in results for v in r.videos]
    return _csv(["model", "video", "frames", "skipped", *names], rows)


def _csv(fields: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _finite(obj):
    """JSON has no NaN: write null."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def plot_format(path: str | Path) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ConfigError(f"{path}: the plot is written as .png, .svg or .pdf")
    return fmt


def write_plot(results: list[ModelScores], path: str | Path) -> None:
    """One bar panel per metric, one bar per model; the format follows the suffix."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError("--plot needs matplotlib (pip install matplotlib)") from None
    path = Path(path)
    fmt = plot_format(path)
    names = results[0].metric_names
    fig = Figure(figsize=(2.2 * len(names) + 1, 3.4), layout="constrained")
    FigureCanvasAgg(fig)     # a canvas of its own: no pyplot state, whatever backend an app uses
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    colours = [f"C{k}" for k in range(len(results))]
    for ax, metric in zip(axes, names):
        values = [r.scores.overall()[metric] for r in results]
        ax.bar(range(len(results)), [0 if math.isnan(v) else v for v in values], color=colours)
        ax.set_title(metric + (" (lower is better)" if metric == "kld" else ""), fontsize=9)
        ax.set_xticks([])
        for k, v in enumerate(values):
            ax.annotate("n/a" if math.isnan(v) else f"{v:.3f}", (k, 0 if math.isnan(v) else v),
                        ha="center", va="bottom", fontsize=7)
    fig.legend(list(axes[0].patches), [r.name for r in results], loc="outside lower center", ncols=min(len(results), 4), fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    atomic_write_bytes(path, buf.getvalue())
