"""`salfom`: predict, evaluate, train and convert gaze from the command line.

Examples:
    salfom predict clip.mp4 -c salfom_dhf1k.pth -o out/ --overlay
    salfom predict clip.mp4 -c center-bias -o out/            # the baseline, no weights
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


BASELINE = "center-bias"


def _video_name(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


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
    from .distributed import current_rank, videos_of_rank
    from .engine import EngineSettings, predict_video
    from .export import write_map_folder, write_overlay_video
    from .store import PredictionStore
    from .video import open_video

    # under torchrun: this process's share of the videos; its device is cuda:LOCAL_RANK
    # (`auto`/`cuda`, resolved by devices.resolve_device) or the CPU
    rank = current_rank()
    videos = videos_of_rank([Path(v) for v in args.videos], rank, args.fps)
    predictor = _predictor(args.checkpoint, args.device, args.dtype, args.allow_partial)
    settings = EngineSettings(padding=args.padding, batch_size=args.batch_size)
    out = Path(args.output)
    for video_path in videos:
        with open_video(video_path, fps=args.fps) as source:
            info = source.info
            store = PredictionStore.open(args.cache, source.content_key(), predictor.key, settings.cache_fields(),
                                         len(source), info.height, info.width, {"video": str(video_path)})
            name = _video_name(video_path)
            cached = len(source) - len(store.missing())
            with tqdm(total=len(store.missing()), desc=f"predict {name}", unit="frame", disable=args.quiet) as bar:
                predict_video(source, predictor, store, settings, progress=lambda p: bar.update(p.done - bar.n))
            folder = out / name
            write_map_folder(store, folder)
            print(f"{name}: {len(source)} maps in {folder}{f' ({cached} from the cache)' if cached else ''}"
                  f"{f' [rank {rank.rank}]' if rank.distributed else ''}", file=sys.stderr)
            if args.overlay:
                target = out / f"{name}_overlay.mp4"
                with tqdm(total=len(source), desc=f"overlay {name}", unit="frame", disable=args.quiet) as bar:
                    write_overlay_video(source, store.read, target, colormap=args.colormap,
                                        progress=lambda n, _t: bar.update(n - bar.n))
                print(f"{name}: overlay video {target}", file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    from .scoreboard import run

    return run(args)


def cmd_gaze_convert(args) -> int:
    from .gaze import ScreenGeometry, load_gaze, write_csv
    from .video import open_video

    if args.video:
        with open_video(args.video) as source:
            size, n_frames, fps = (source.info.width, source.info.height), len(source), source.info.fps
    elif args.size and args.frames:
        w, h = (int(v) for v in args.size.lower().split("x"))
        size, n_frames, fps = (w, h), args.frames, args.fps
    else:
        raise SystemExit("give --video, or --size WxH and --frames N")
    sw, sh = (int(v) for v in args.screen.lower().split("x"))
    gaze = load_gaze(args.input, size, n_frames, fps, ScreenGeometry(sw, sh))
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
            print(json.dumps(source.info.__dict__))
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
    p.add_argument("--colormap", default="jet", help="overlay colormap (jet, viridis, magma, cividis, ...)")
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default: 16 on CUDA, 4 on the CPU)")
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
    p.add_argument("input", help="CSV, SMI .txt file or folder of them, or an annotation folder")
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


if __name__ == "__main__":
    sys.exit(main())
