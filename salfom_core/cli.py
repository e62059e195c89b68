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
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from .errors import ConfigError
from .options import check_frame_rate, parse_size

BASELINE = "center-bias"


def _predictor(checkpoint: str | None, device: str, dtype: str, allow_partial: bool = False):
    from .devices import resolve_device, resolve_precision
    from .engine import CenterBiasPredictor, SalFoMPredictor
    from .weights import resolve_checkpoint

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
    from .distributed import current_rank, shard_indices
    from .engine import EngineSettings, predict_video
    from .export import stale_maps, write_map_folder, write_overlay_video
    from .interpolate import write_blends
    from .outputs import output_names
    from .overlay import colormap_lut
    from .paths import require_videos
    from .plan import grid
    from .store import PredictionStore
    from .video import open_video

    # every setting is checked before any work
    if args.stride < 1:
        raise ConfigError(f"--stride must be at least 1, not {args.stride}")
    settings = EngineSettings(padding=args.padding, batch_size=args.batch_size)
    colormap_lut(args.colormap)
    check_frame_rate(args.fps, "--fps")
    require_videos(args.videos)         # a gaze file or a typo is refused before a model loads
    _check_overlay_gaze(args)
    videos, names, notes = output_names(args.videos)
    # under torchrun: this process's share of the videos (named from all of them, as one process
    # would); its device is cuda:LOCAL_RANK (`auto`/`cuda`, devices.resolve_device) or the CPU
    rank = current_rank()
    mine = shard_indices(videos, rank, args.fps)
    videos, names = [videos[i] for i in mine], [names[i] for i in mine]
    for note in notes if rank.rank == 0 else []:
        print(f"note: {note}", file=sys.stderr)
    predictor = _predictor(args.checkpoint, args.device, args.dtype, args.allow_partial)
    out = Path(args.output)
    for video_path, name in zip(videos, names):
        with open_video(video_path, fps=args.fps) as source:
            info = source.info
            store = PredictionStore.open(args.cache, source.content_key(), predictor.key, settings.cache_fields(),
                                         len(source), info.height, info.width, {"video": str(video_path)},
                                         warn=_warn)
            frames = grid(len(source), args.stride)           # every frame when the stride is 1
            cached = len(source) - len(store.missing())
            with tqdm(total=int((~store.done[frames]).sum()), desc=f"predict {name}", unit="frame",
                      disable=args.quiet) as bar:
                predict_video(source, predictor, store, settings, progress=lambda p: bar.update(p.done - bar.n),
                              frames=frames)
            folder = out / name
            stale = len(stale_maps(folder, range(len(source))))
            write_map_folder(store, folder)
            blends = write_blends(store, folder, args.stride)
            print(f"{name}: {len(source)} maps in {folder}{f' ({cached} from the cache)' if cached else ''}"
                  f"{f' ({blends} interpolated, listed in interpolated.json)' if blends else ''}"
                  f"{f' (removed {stale} maps of an earlier, longer run)' if stale else ''}"
                  f"{f' [rank {rank.rank}]' if rank.distributed else ''}", file=sys.stderr)
            if args.overlay:
                target = out / f"{name}_overlay.mp4"
                with tqdm(total=len(source), desc=f"overlay {name}", unit="frame", disable=args.quiet) as bar:
                    write_overlay_video(source, lambda i: store.read_or_blend(i)[0], target, colormap=args.colormap,
                                        gaze=_overlay_gaze(args, source),
                                        progress=lambda n, _t: bar.update(n - bar.n))
                print(f"{name}: overlay video {target}", file=sys.stderr)
            _warn_integrity(source)
    return 0


def _check_overlay_gaze(args) -> None:
    if getattr(args, "gaze", None) and (not args.overlay or len(args.videos) != 1):
        raise ValueError("--gaze draws the fixations on the overlay video: give it with --overlay and one video")


def _overlay_gaze(args, source):
    """The fixations to draw on the overlay (predict --overlay --gaze FILE), or None."""
    if not getattr(args, "gaze", None):
        return None
    from .gaze import load_gaze

    info = source.info
    return load_gaze(args.gaze, (info.width, info.height), len(source), info.fps)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _warn_integrity(source) -> None:
    """After the frames were read: what is wrong with the video, if anything."""
    if source.integrity_warning:
        _warn(source.integrity_warning)


def cmd_evaluate(args) -> int:
    from .scoreboard import run

    return run(args)


def cmd_gaze_convert(args) -> int:
    from .gaze import ScreenGeometry, load_gaze_files, write_csv
    from .video import open_video

    screen = ScreenGeometry(*parse_size(args.screen, "--screen"))
    check_frame_rate(args.fps, "--fps")
    if args.frames is not None and args.frames < 1:
        raise ConfigError(f"--frames {args.frames}: the video's frame count must be at least 1")
    if args.video:
        with open_video(args.video) as source:
            size, n_frames, fps = (source.info.width, source.info.height), len(source), source.info.fps
            _warn_integrity(source)
    elif args.size and args.frames is not None:
        size, n_frames, fps = parse_size(args.size, "--size"), args.frames, args.fps
    else:
        raise ConfigError("give --video, or --size WxH and --frames N")
    gaze = load_gaze_files(args.input, size, n_frames, fps, screen)
    write_csv(gaze, args.output)
    note = gaze.dropped_note()
    print(f"{len(gaze)} fixation samples of {len(gaze.observers) or 'unknown'} observers -> {args.output}"
          f"{f' ({note})' if note else ''}", file=sys.stderr)
    return 0


def cmd_info(args) -> int:
    from .video import open_video
    from .weights import cmd_info_checkpoint, looks_like_checkpoint

    for path in args.videos:
        if looks_like_checkpoint(path):
            cmd_info_checkpoint(path)
            continue
        with open_video(path) as source:
            if args.decode:
                source.scan()
            print(json.dumps({**source.info.__dict__, "frames_read": len(source), "decoded": args.decode,
                              "frames_declared": source.declared_frames,
                              "warning": source.integrity_warning}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import make_dataset, scoreboard, train

    parser = argparse.ArgumentParser(prog="salfom", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="saliency maps for videos (PNG per frame, optional overlay MP4)")
    p.add_argument("videos", nargs="+", help="video files or frame folders")
    p.add_argument("-c", "--checkpoint",
                   help=f"SalFoM checkpoint (official DHF1K .pth or one trained here), or '{BASELINE}' "
                        "(default: the one installed by `salfom weights install`)")
    p.add_argument("--allow-partial", action="store_true",
                   help="predict even with a checkpoint that leaves parts of the model untrained (experts)")
    p.add_argument("-o", "--output", required=True, help="output folder: <output>/<video>/0001.png ...")
    p.add_argument("--overlay", action="store_true", help="also write <output>/<video>_overlay.mp4")
    p.add_argument("--gaze", help="with --overlay and one video: draw its fixations (CSV, SMI, annotation folder)")
    p.add_argument("--colormap", default="jet", help="overlay colormap (jet, viridis, magma, cividis, ...)")
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
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="the six metrics by the DHF1K protocol, one or several models")
    scoreboard.add_arguments(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train or fine-tune SalFoM (KL + CC, Adam)",
                       description=train.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_arguments(p)
    p.set_defaults(func=train.run)

    p = sub.add_parser("gaze-convert", help="write any supported gaze input as the plain CSV")
    p.add_argument("input", nargs="+", help="CSV, SMI .txt files (one per observer) or a folder of them, "
                   "or an annotation folder; several are merged into one CSV")
    p.add_argument("-o", "--output", required=True, help="CSV to write")
    p.add_argument("--video", help="the video (size, frame count and fps)")
    p.add_argument("--size", help="WxH of the video, without --video")
    p.add_argument("--frames", type=int, help="frame count, without --video")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--screen", default="1440x900", help="eye-tracker screen WxH (SMI; DHF1K: 1440x900)")
    p.set_defaults(func=cmd_gaze_convert)

    p = sub.add_parser("make-dataset", help="a DHF1K-layout dataset from videos and raw gaze",
                       description=make_dataset.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    make_dataset.add_arguments(p)
    p.set_defaults(func=make_dataset.run)

    p = sub.add_parser("info", help="video or checkpoint metadata as JSON")
    p.add_argument("videos", nargs="+", metavar="VIDEO_OR_CHECKPOINT")
    p.add_argument("--decode", action="store_true",
                   help="decode every frame of a video, to find damage its container does not show (slower)")
    p.set_defaults(func=cmd_info)

    from .weights import add_arguments as add_weights_arguments
    add_weights_arguments(sub)
    return parser


def main(argv=None) -> int:
    import torch

    from .checkpoint import CheckpointError
    from .devices import DeviceOutOfMemory
    from .gaze import GazeError
    from .video import VideoError

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
