"""`salfom`: predict, evaluate, train and convert gaze from the command line.

Examples:
    salfom predict clip.mp4 -c salfom_dhf1k.pth -o out/ --overlay
    salfom predict clip.mp4 -c center-bias -o out/            # the baseline, no weights
    salfom predict clip.mp4 -c salfom_dhf1k.pth -o out/ --stride 8   # 1/8 of the work, blends between
    salfom evaluate --pred out/ --data DHF1K/ --split val
    salfom evaluate --pred a/ --pred b/ --pred center-bias --data DHF1K/ --out cmp/ --plot cmp.png
    salfom evaluate --pred out/0002 --gaze gaze/ --video 0002.avi
    salfom train --config run.toml [--resume]
    salfom gaze-convert gaze/ --video 0002.avi -o gaze.csv
    salfom make-dataset 0002.avi 0003.avi --gaze gaze0002/ gaze0003.csv -o mydata/ --split train
    salfom weights install salfom_dhf1k.pth                  # then `salfom predict` needs no -c
    salfom info salfom_dhf1k.pth                              # kind, preset, parts, sha256
    salfom aoi 0002.avi --aois 0002.aois.json --gaze gaze/ --pred maps/ --pred center-bias -o aoi/ --plot aoi.png

Every subcommand's arguments are defined here; each command checks its settings and calls one
library function of its package (`inference.predict`, `evaluation.scoreboard`, `training`,
`io.gaze`, `models.weights`), which knows nothing of argparse.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from .errors import ConfigError

BASELINE = "center-bias"
SCREEN_HELP = "eye-tracker screen WxH (SMI; DHF1K: 1440x900)"


# --------------------------------------------------------------------------- option values


def parse_size(text: str, option: str) -> tuple[int, int]:
    """`WxH` with positive whole numbers, else a ConfigError naming the option."""
    parts = text.lower().split("x")
    if len(parts) == 2 and all(p.strip().isdigit() and int(p) > 0 for p in parts):
        return int(parts[0]), int(parts[1])
    raise ConfigError(f"{option} {text!r}: expected WIDTHxHEIGHT in pixels, both above 0 (e.g. 1440x900)")


def check_frame_rate(fps: float, option: str) -> float:
    """A frame rate above 0 (not NaN or infinite), else a ConfigError naming the option."""
    if not (math.isfinite(fps) and fps > 0):
        raise ConfigError(f"{option} {fps:g}: the frame rate must be a number above 0 (e.g. 30)")
    return fps


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _warn_integrity(source) -> None:
    """After the frames were read: what is wrong with the video, if anything."""
    if source.integrity_warning:
        _warn(source.integrity_warning)


def add_gaze_options(parser, screen: bool = True) -> None:
    """How to read gaze exports (Tobii, EyeLink, Pupil Labs, Gazepoint, any CSV): one set of options
    for every command that reads gaze (`gaze_options` turns them into a GazeOptions)."""
    g = parser.add_argument_group("gaze import", "how to read the gaze file (every format: see `salfom_core.io.gaze`)")
    g.add_argument("--stimulus", metavar="NAME", help="the stimulus to read: Tobii 'Presented Media name', "
                   "EyeLink VFRAME video, Gazepoint MEDIA_NAME (default: the one named like the video)")
    g.add_argument("--participants", metavar="A,B", help="only these participants (default: all)")
    g.add_argument("--start-message", metavar="REGEX", help="the message or event at the video's first frame "
                   "(EyeLink MSG text, Tobii Event); with a group of digits, e.g. 'Video_Frame: (\\d+)', every "
                   "matching message marks its frame")
    g.add_argument("--offset-ms", type=float, default=0.0, metavar="MS",
                   help="added to every sample's time (positive: the gaze moves to later frames)")
    g.add_argument("--video-rect", metavar="X,Y,W,H", help="the video on the screen in the file's pixels "
                   "(default: what the file says, else the video fitted to the screen, centred)")
    g.add_argument("--columns", metavar="ROLE=COLUMN,...", help="read any CSV: time=...,x=...,y=... and optionally "
                   "observer=, fixation=, stimulus=, frame= (instead of time)")
    g.add_argument("--time-unit", choices=("s", "ms", "us", "ns"), help="with --columns: the time column's unit "
                   "(default: from its name, else guessed from the sample interval)")
    g.add_argument("--coords", choices=("px", "norm"), help="with --columns: pixels or fractions 0..1 "
                   "(default: norm when all values lie in 0..1)")
    g.add_argument("--min-confidence", type=float, metavar="C", help="Pupil Core: drop samples below (default 0.6)")
    g.add_argument("--detect", choices=("ivt", "idt", "none"), help="find fixations with I-VT or I-DT even where "
                   "the file has its own ('none': every sample is a fixation sample); default: the file's "
                   "fixations, else I-VT")
    g.add_argument("--detect-threshold", type=float, metavar="V", help="I-VT velocity (deg/s, or px/s without "
                   "--screen-mm/--distance-mm; default 30 deg/s, 1000 px/s) or I-DT dispersion (deg or px; "
                   "default 1 deg, 35 px)")
    g.add_argument("--min-fixation-ms", type=float, metavar="MS", help="shorter detected fixations are dropped "
                   "(default 60 for I-VT, 100 for I-DT)")
    g.add_argument("--screen-mm", metavar="WxH", help="the screen's visible size in mm (thresholds in degrees)")
    g.add_argument("--distance-mm", type=float, metavar="D", help="eye to screen in mm (thresholds in degrees)")
    if screen:
        g.add_argument("--screen", default="1440x900", help=SCREEN_HELP)


def gaze_options(args, video=None):
    """The GazeOptions of `add_gaze_options`' arguments (`video`: the video the gaze belongs to, whose
    name picks the stimulus); a ConfigError names a bad value."""
    from .io.gaze.options import GazeOptions, check_options, parse_columns, parse_mm, parse_participants, parse_rect

    if (args.screen_mm is None) != (args.distance_mm is None):
        raise ConfigError("--screen-mm and --distance-mm go together (thresholds in degrees need both)")
    detect = args.detect
    threshold = args.detect_threshold
    options = GazeOptions(
        stimulus=args.stimulus, participants=parse_participants(args.participants) if args.participants else None,
        start_message=args.start_message, offset_ms=args.offset_ms,
        video_rect=parse_rect(args.video_rect) if args.video_rect else None,
        columns=parse_columns(args.columns) if args.columns else None, time_unit=args.time_unit,
        coords=args.coords, min_confidence=args.min_confidence, detect=detect,
        velocity_threshold=threshold if detect != "idt" else None,
        dispersion_threshold=threshold if detect == "idt" else None, min_fixation_ms=args.min_fixation_ms,
        screen_mm=parse_mm(args.screen_mm) if args.screen_mm else None, distance_mm=args.distance_mm,
        screen_px=parse_size(args.screen, "--screen") if getattr(args, "screen", None) else None,
        video_name=Path(video).name if video else None)
    check_options(options)          # before any file is read
    return options


def _say_gaze(gaze) -> None:
    """What reading the gaze noticed, one warning line each."""
    for line in gaze.warnings:
        _warn(line)


class _Bars:
    """tqdm bars made on first use, when the library reports a total; closed together."""

    def __init__(self, quiet: bool, unit: str = "frame"):
        self.quiet, self.unit, self.bars = quiet, unit, {}

    def _bar(self, name: str, total: int, initial: int = 0):
        if name not in self.bars:
            self.bars[name] = tqdm(total=total, initial=initial, desc=name, unit=self.unit, disable=self.quiet)
        return self.bars[name]

    def update(self, name: str, done: int, total: int, initial: int = 0) -> None:
        """`done` of `total` so far."""
        bar = self._bar(name, total, initial)
        bar.update(done - bar.n)

    def advance(self, name: str, n: int, total: int) -> None:
        """`n` more of `total`."""
        self._bar(name, total).update(n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


# --------------------------------------------------------------------------- predict


def add_predict(sub) -> None:
    p = sub.add_parser("predict", help="saliency maps for videos (PNG per frame, optional overlay MP4)")
    p.add_argument("videos", nargs="+", help="video files or frame folders")
    p.add_argument("-c", "--checkpoint",
                   help=f"SalFoM checkpoint (official DHF1K .pth or one trained here), or '{BASELINE}' "
                        "(default: the one installed by `salfom weights install`)")
    p.add_argument("--allow-partial", action="store_true",
                   help="predict even with a checkpoint that leaves parts of the model untrained (experts)")
    p.add_argument("-o", "--output", required=True, help="output folder: <output>/<video>/0001.png ...")
    p.add_argument("--overlay", action="store_true", help="also write <output>/<video>_overlay.mp4")
    p.add_argument("--gaze", help="with --overlay and one video: draw its fixations (any tracker's export)")
    p.add_argument("--colormap", default="jet", help="overlay colormap (jet, viridis, magma, cividis, ...)")
    p.add_argument("--captions", default="none", metavar="LIST",
                   help="burned into a band under the overlay's frames: any of name,frame,colorbar (the model's "
                        "name, 'frame N / total' counted from 1, the colormap from 0 to 1), 'all' or 'none' (default)")
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default: 16 on CUDA, 4 on the CPU)")
    p.add_argument("--stride", type=int, default=1, metavar="K",
                   help="compute every K-th frame and the last; the others are linear blends of the nearest "
                        "computed frames, listed in <output>/<video>/interpolated.json (default 1: all computed)")
    p.add_argument("--padding", default="repeat", choices=("repeat", "reverse"),
                   help="first 15 frames: repeat the first frame (reference) or reverse (paper)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--dtype", default="auto", help="precision, as the training config's amp: auto (bf16 on "
                   "CUDA, off elsewhere), bf16, fp16, off (float32)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of frame folders")
    p.add_argument("--cache", help="prediction cache folder (default: the user cache)")
    p.add_argument("-q", "--quiet", action="store_true")
    add_gaze_options(p)
    p.set_defaults(func=cmd_predict)


def _predictor(checkpoint: str | None, device: str, dtype: str, allow_partial: bool = False):
    from .inference.devices import resolve_device, resolve_precision
    from .inference.engine import CenterBiasPredictor, SalFoMPredictor
    from .models.weights import resolve_checkpoint

    resolve_precision(dtype, resolve_device(device))     # a bad --device or --dtype fails before any work
    if checkpoint == BASELINE:
        return CenterBiasPredictor()
    predictor = SalFoMPredictor.from_checkpoint(resolve_checkpoint(checkpoint), device, dtype, allow_partial)
    report = predictor.load_report
    if report.untrained:
        print(f"salfom predict: warning: {', '.join(report.untrained)} stay untrained (random): these maps are "
              f"not SalFoM's predictions", file=sys.stderr)
    return predictor


def cmd_predict(args) -> int:
    from .inference.distributed import current_rank, shard_indices
    from .inference.engine import EngineSettings
    from .io.outputs import output_names
    from .io.export import Captions
    from .io.overlay import colormap_lut
    from .io.paths import require_videos

    # every setting is checked before any work
    if args.stride < 1:
        raise ConfigError(f"--stride must be at least 1, not {args.stride}")
    settings = EngineSettings(padding=args.padding, batch_size=args.batch_size)
    colormap_lut(args.colormap)
    args.captions = Captions.parse(args.captions, "--captions")
    check_frame_rate(args.fps, "--fps")
    args.gaze_options = gaze_options(args, args.videos[0])
    require_videos(args.videos)         # a gaze file or a typo is refused before a model loads
    if args.gaze and (not args.overlay or len(args.videos) != 1):
        raise ValueError("--gaze draws the fixations on the overlay video: give it with --overlay and one video")
    videos, names, notes = output_names(args.videos)
    # under torchrun: this process's share of the videos (named from all of them, as one process
    # would); its device is cuda:LOCAL_RANK (`auto`/`cuda`, devices.resolve_device) or the CPU
    rank = current_rank()
    mine = shard_indices(videos, rank, args.fps)
    for note in notes if rank.rank == 0 else []:
        print(f"note: {note}", file=sys.stderr)
    predictor = _predictor(args.checkpoint, args.device, args.dtype, args.allow_partial)
    for i in mine:
        _predict_one(args, videos[i], names[i], predictor, settings, f" [rank {rank.rank}]" if rank.distributed else "")
    return 0


def _predict_one(args, video_path: Path, name: str, predictor, settings, rank_note: str) -> None:
    from .inference.predict import predict_to_folder
    from .io.export import ExportPane, write_overlay_video
    from .io.video import open_video

    out = Path(args.output)
    with open_video(video_path, fps=args.fps) as source:
        bars = _Bars(args.quiet)
        try:
            result = predict_to_folder(source, video_path, predictor, out / name, settings, args.cache, args.stride,
                                       progress=lambda done, total: bars.update(f"predict {name}", done, total),
                                       warn=_warn)
        finally:
            bars.close()
        cached = f" ({result.cached} from the cache)" if result.cached else ""
        blends = f" ({result.blends} interpolated, listed in interpolated.json)" if result.blends else ""
        stale = f" (removed {result.stale} maps of an earlier, longer run)" if result.stale else ""
        _say(f"{name}: {result.frames} maps in {result.folder}{cached}{blends}{stale}{rank_note}")
        if args.overlay:
            target = out / f"{name}_overlay.mp4"
            with tqdm(total=len(source), desc=f"overlay {name}", unit="frame", disable=args.quiet) as bar:
                pane = ExportPane(result.store.read_or_blend, _model_name(args.checkpoint), args.colormap)
                write_overlay_video(source, None, target, panes=[pane], captions=args.captions,
                                    gaze=_overlay_gaze(args.gaze, source, args.gaze_options),
                                    progress=lambda n, _t: bar.update(n - bar.n))
            _say(f"{name}: overlay video {target}")
        _warn_integrity(source)


def _model_name(checkpoint: str | None) -> str:
    """The overlay caption's name of the model: 'Centre bias' (as the app names it) or the
    checkpoint file's stem ('SalFoM' for the installed default)."""
    if checkpoint == BASELINE:
        return "Centre bias"
    return f"SalFoM ({Path(checkpoint).stem})" if checkpoint else "SalFoM"


def _overlay_gaze(gaze: str | None, source, options=None):
    """The fixations to draw on the overlay (predict --overlay --gaze FILE), or None."""
    if not gaze:
        return None
    from .io.gaze import load_gaze

    info = source.info
    samples = load_gaze(gaze, (info.width, info.height), len(source), source.clock, options=options)
    _say_gaze(samples)
    return samples


# --------------------------------------------------------------------------- evaluate


def add_evaluate(sub) -> None:
    from .evaluation.metrics import METRICS

    p = sub.add_parser("evaluate", help="the six metrics by the DHF1K protocol, one or several models")
    p.add_argument("--pred", required=True, action="append",
                   help="maps folder of one video, a folder of per-video folders, or 'center-bias'; "
                        "repeat to compare several models in one run")
    p.add_argument("--data", help="dataset root (DHF1K / Hollywood-2 / UCF layout) or one annotated video folder")
    p.add_argument("--layout", choices=("dhf1k", "hollywood", "ucf"), help="dataset layout (default: detect)")
    p.add_argument("--split", default="val", choices=("train", "val"), help="which split of --data")
    p.add_argument("--gaze", help="raw gaze instead of annotations (any tracker's export, see gaze-convert)")
    p.add_argument("--video", help="the video the gaze belongs to (with --gaze)")
    p.add_argument("--grid", action="store_true", help="DHF1K's grid quirk for fixation maps from gaze")
    p.add_argument("--every", type=int, default=1, help="score every N-th frame")
    p.add_argument("--metrics", help=f"comma-separated subset of {','.join(METRICS)}")
    p.add_argument("--seed", type=int, default=0, help="seed of the AUC jitter and the sAUC draws")
    p.add_argument("--strict", action="store_true",
                   help="fail (exit 2) when any frame lacks a prediction or fixations instead of skipping it")
    p.add_argument("-j", "--jobs", type=int, default=1,
                   help="score videos in this many processes (same numbers; each video has its own random streams)")
    p.add_argument("--out", help="folder for the metrics files (default: --pred; required with several)")
    p.add_argument("--plot", help="write a comparison figure of the models (.png, .svg or .pdf)")
    p.add_argument("-q", "--quiet", action="store_true")
    add_gaze_options(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from .evaluation.scoreboard import evaluate_models, format_models_table, format_video_table

    bars = _Bars(args.quiet)
    try:
        results, out, written = evaluate_models(
            args.pred, data=args.data, layout=args.layout, split=args.split, gaze=args.gaze, video=args.video,
            grid=args.grid, every=args.every, metric_names=args.metrics, seed=args.seed, strict=args.strict,
            jobs=args.jobs, out=args.out, plot=args.plot, warn=_say, gaze_options=gaze_options(args, args.video),
            progress=lambda n, total: bars.advance("evaluate", n, total))
    finally:
        bars.close()
    print(format_models_table(results) if len(results) > 1 else format_video_table(results[0]))
    _say(f"wrote {', '.join(written)} in {out}")
    return 0


# --------------------------------------------------------------------------- train


def add_train(sub) -> None:
    from .training import loop

    p = sub.add_parser("train", help="train or fine-tune SalFoM (KL + CC, Adam)",
                       description=loop.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="TOML file with the settings of TrainConfig "
                   "(top level or under [train]); see README")
    p.add_argument("--resume", action="store_true", help="continue from <output>/last.pt if it exists")
    p.add_argument("--output", help="override the output folder")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (under torchrun: auto or cuda)")
    p.add_argument("--epochs", type=int, help="override the number of epochs")
    p.add_argument("--batch-size", type=int, help="override the clips per step (per process)")
    p.add_argument("--from-gaze", metavar="SOURCES_JSON",
                   help="first build the config's data_root from these videos and their raw gaze (the app's "
                        "Train > New run on a video's gaze); --resume continues the data, then the training")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from .inference.distributed import current_rank
    from .training import TrainConfig, train, train_from_gaze

    if args.from_gaze:
        result = train_from_gaze(args.config, args.from_gaze, resume=args.resume)
        if result is None:
            _say("stopped while building the training data; --resume continues it")
            return 0
    else:
        cfg = TrainConfig.from_toml(args.config, output=args.output, device=args.device, epochs=args.epochs,
                                    batch_size=args.batch_size)
        result = train(cfg, resume=args.resume)
    if current_rank().rank == 0:
        print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- gaze, datasets


def add_gaze_convert(sub) -> None:
    p = sub.add_parser("gaze-convert", help="write any supported gaze input as the plain CSV")
    p.add_argument("input", nargs="+", help="gaze exports: Tobii Pro Lab TSV, EyeLink ASC, Pupil Labs Neon/Core "
                   "folder, Gazepoint CSV, SMI .txt, a gaze CSV (any CSV with --columns), a folder of them, or an "
                   "annotation folder; several are merged into one CSV")
    p.add_argument("-o", "--output", required=True, help="CSV to write")
    p.add_argument("--video", help="the video (size, frame count and fps)")
    p.add_argument("--size", help="WxH of the video, without --video")
    p.add_argument("--frames", type=int, help="frame count, without --video")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--screen", default="1440x900", help=SCREEN_HELP)
    add_gaze_options(p, screen=False)
    p.set_defaults(func=cmd_gaze_convert)


def cmd_gaze_convert(args) -> int:
    from .io.gaze import ScreenGeometry, load_gaze_files, write_csv
    from .io.video import open_video

    screen = ScreenGeometry(*parse_size(args.screen, "--screen"))
    options = gaze_options(args, args.video)
    check_frame_rate(args.fps, "--fps")
    if args.frames is not None and args.frames < 1:
        raise ConfigError(f"--frames {args.frames}: the video's frame count must be at least 1")
    if args.video:
        with open_video(args.video) as source:
            size, n_frames, fps = (source.info.width, source.info.height), len(source), source.clock
            _warn_integrity(source)
    elif args.size and args.frames is not None:
        size, n_frames, fps = parse_size(args.size, "--size"), args.frames, args.fps
    else:
        raise ConfigError("give --video, or --size WxH and --frames N")
    gaze = load_gaze_files(args.input, size, n_frames, fps, screen, options)
    _say_gaze(gaze)
    write_csv(gaze, args.output)
    if gaze.events is not None and gaze.events.method != "file":
        _say(f"fixations: {gaze.events.method}")
    note = gaze.dropped_note()
    _say(f"{len(gaze)} fixation samples of {len(gaze.observers) or 'unknown'} observers -> {args.output}"
         f"{f' ({note})' if note else ''}")
    return 0


def add_make_dataset(sub) -> None:
    from .io.annotations import SPLITS
    from .training import make_dataset

    p = sub.add_parser("make-dataset", help="a DHF1K-layout dataset from videos and raw gaze",
                       description=make_dataset.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("videos", nargs="+", help="video files or frame folders")
    p.add_argument("--gaze", nargs="+", required=True,
                   help="raw gaze, one per video in the same order (any tracker's export or a folder of them, "
                        "an annotation folder)")
    p.add_argument("-o", "--output", required=True, help="dataset root: <output>/<split>/<video>/...")
    p.add_argument("--split", default="train", choices=tuple(SPLITS["dhf1k"]), help="which split to write")
    p.add_argument("--image-format", default="png", choices=make_dataset.IMAGE_FORMATS,
                   help="format of the frame images")
    p.add_argument("--grid", action="store_true", help="DHF1K's grid quirk for the fixation maps")
    p.add_argument("--screen", default="1440x900", help=SCREEN_HELP)
    p.add_argument("-q", "--quiet", action="store_true")
    add_gaze_options(p, screen=False)
    p.set_defaults(func=cmd_make_dataset)


def _options_if_set(options):
    """None for the default options (a dataset made before they existed keeps its manifest)."""
    from .io.gaze.options import GazeOptions

    defaults = GazeOptions(screen_px=options.screen_px)
    return None if options == defaults else options


def cmd_make_dataset(args) -> int:
    from .training.make_dataset import DatasetSettings, make_dataset

    settings = DatasetSettings(args.split, args.image_format, args.grid, parse_size(args.screen, "--screen"),
                               gaze=_options_if_set(gaze_options(args)))
    bars = _Bars(args.quiet)
    try:
        reports = make_dataset(args.videos, args.gaze, args.output, settings,
                               lambda name, done, total: bars.update(name, done, total, initial=done - 1))
    finally:
        bars.close()
    for r in reports:
        resumed = "" if r.written in (0, r.frames) else f" ({r.written} written now, the rest before)"
        state = "already complete" if r.written == 0 else f"{r.frames} frames{resumed}"
        note = f"; gaze: {r.gaze_note}" if r.gaze_note else ""
        _say(f"{r.name}: {state}, {r.annotated} with fixations -> {r.folder}{note}")
    return 0


# --------------------------------------------------------------------------- info, weights


def add_info(sub) -> None:
    p = sub.add_parser("info", help="video or checkpoint metadata as JSON")
    p.add_argument("videos", nargs="+", metavar="VIDEO_OR_CHECKPOINT")
    p.add_argument("--decode", action="store_true",
                   help="decode every frame of a video, to find damage its container does not show (slower)")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    from .io.video import open_video
    from .models.checkpoint import describe_checkpoint
    from .models.weights import looks_like_checkpoint

    for path in args.videos:
        if looks_like_checkpoint(path):
            info = describe_checkpoint(path)
            print(json.dumps({**asdict(info), "role": info.role}))
            continue
        with open_video(path) as source:
            if args.decode:
                source.scan()
            print(json.dumps({**source.info.__dict__, "frames_read": len(source), "decoded": args.decode,
                              "frames_declared": source.declared_frames, "frame_rate": source.clock.describe(),
                              "warning": source.integrity_warning}))
    return 0


def add_weights(sub) -> None:
    from .models import weights

    epilog = (f"Where to get the weights ({weights.SOURCE_REPOSITORY}):\n" +
              "\n".join(f"  {what}: {where}" for what, where in weights.SOURCES.values()))
    p = sub.add_parser("weights", help="install, list or remove the SalFoM / UMT weights",
                       description=weights.__doc__, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    ops = p.add_subparsers(dest="weights_command", required=True)
    q = ops.add_parser("install", help="check a downloaded checkpoint, copy it to the data folder, make it the default")
    q.add_argument("file")
    q.add_argument("--no-default", action="store_true", help="install without making it the default")
    q.set_defaults(func=cmd_weights_install)
    q = ops.add_parser("list", help="installed weights (the defaults are marked *)")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_weights_list)
    q = ops.add_parser("remove", help="delete an installed file (by name or sha256 prefix)")
    q.add_argument("name")
    q.set_defaults(func=cmd_weights_remove)


def cmd_weights_install(args) -> int:
    from .models.weights import install

    entry = install(args.file, make_default=not args.no_default)
    use = ("the default checkpoint of `salfom predict` and the app" if entry.role == "predict"
           else "the default encoder initialisation of a new training run (not a prediction checkpoint)")
    _say(f"installed {entry.name} ({entry.kind}, {entry.preset}, {entry.parameters / 1e6:.1f} M parameters) "
         f"as {entry.path}" + (f"; {use}" if entry.default else ""))
    return 0


def cmd_weights_list(args) -> int:
    from .models.weights import installed, weights_dir

    entries = installed()
    if args.json:
        for w in entries:
            print(json.dumps(asdict(w)))
        return 0
    if not entries:
        print(f"no weights installed (in {weights_dir()}); `salfom weights install FILE` installs one")
        return 0
    print(f"  {'name':<44}{'kind':<10}{'role':<9}{'preset':<13}{'params':>9}{'size':>10}  {'sha256':<14}"
          f"{'installed':<27}source")
    for w in entries:
        print(f"{'*' if w.default else ' '} {w.name:<44}{w.kind:<10}{w.role:<9}{w.preset:<13}"
              f"{w.parameters / 1e6:>8.1f}M{w.size / 2 ** 20:>8.1f}MB  {w.sha256[:12]:<14}{w.installed:<27}"
              f"{Path(w.source).name}")
    return 0


def cmd_weights_remove(args) -> int:
    from .models.weights import default_path, remove

    removed = remove(args.name)
    after = default_path(removed.role)
    left = (f"; the default {removed.role} weights are now {after.name}" if removed.default and after
            else "; no default left" if removed.default else "")
    _say(f"removed {removed.name}{left}")
    return 0


# --------------------------------------------------------------------------- areas of interest


def add_aoi(sub) -> None:
    from .aoi import report

    p = sub.add_parser("aoi", help="areas of interest: gaze and models per AOI (three CSVs, a plot)",
                       description=report.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("video", help="the video the AOIs were drawn on")
    p.add_argument("--aois", required=True, help="the AOI file (<stem>.aois.json) or a Tobii Pro Lab AOI export (.json)")
    p.add_argument("--gaze", nargs="+", help="gaze with fixation events (SMI files or folder, any format the project reads)")
    p.add_argument("--pred", action="append", default=[],
                   help=f"a folder of maps, a SalFoM checkpoint (predicted through the cache) or '{BASELINE}'; repeat")
    p.add_argument("-o", "--output", required=True, help="folder for aoi_observers.csv, aoi_frames.csv, aoi_summary.csv")
    p.add_argument("--plot", help="each AOI's share over time, gaze and models (.png, .svg or .pdf)")
    add_gaze_options(p)          # --screen among them
    p.add_argument("--device", default="auto", help="for a checkpoint: auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--dtype", default="auto", help="for a checkpoint: auto, bf16, fp16, off")
    p.add_argument("--cache", help="prediction cache folder (default: the user cache)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_aoi)


def cmd_aoi(args) -> int:
    from .aoi.report import aoi_report, summary_table

    bars = _Bars(args.quiet)
    try:
        result = aoi_report(args.video, args.aois, args.output, gaze=args.gaze, preds=args.pred, plot=args.plot,
                            screen=parse_size(args.screen, "--screen"), cache=args.cache, device=args.device,
                            dtype=args.dtype, progress=bars.update, warn=_say,
                            gaze_options=gaze_options(args, args.video))
    finally:
        bars.close()
    print(summary_table(result))
    _say(f"wrote {', '.join(result.written)} in {result.folder}")
    return 0


# --------------------------------------------------------------------------- the command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salfom", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_predict, add_evaluate, add_train, add_gaze_convert, add_make_dataset, add_info, add_weights,
                add_aoi):
        add(sub)
    return parser


def main(argv=None) -> int:
    import torch

    from .errors import GazeError
    from .inference.devices import DeviceOutOfMemory
    from .io.video import VideoError
    from .models.checkpoint import CheckpointError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CheckpointError, VideoError, GazeError, ValueError, OSError, DeviceOutOfMemory) as exc:
        print(f"salfom {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except torch.OutOfMemoryError:
        print(f"salfom {args.command}: error: out of memory; try a smaller --batch-size", file=sys.stderr)
        return 2
    except KeyboardInterrupt:       # Ctrl-C: a cancel, not a crash
        resumes = "; the same command resumes from the maps already in the cache" if args.command == "predict" else ""
        print(f"salfom {args.command}: interrupted{resumes}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
