"""`salfom-app [VIDEO] [--gaze FILE] [--checkpoint CKPT] [--maps DIR] [--frame N] [--view single|split]
[--compare LAYER] [--dataset ROOT] [--screenshot PATH]`: a state can be reproduced from the command line
and shared."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="salfom-app", description="SalFoM Studio: the video saliency viewer. "
                                     "With no VIDEO it opens the bundled (synthetic) demo clip.")
    parser.add_argument("video", nargs="?", help="video file or frame folder")
    parser.add_argument("--gaze", help="gaze CSV, SMI export (file or folder) or annotation folder")
    parser.add_argument("--checkpoint", help="SalFoM checkpoint to predict with")
    parser.add_argument("--maps", action="append", default=[], help="a folder of maps from another model (repeatable)")
    parser.add_argument("--frame", type=int, help="open at this frame (1-based, as the timeline shows it)")
    parser.add_argument("--view", choices=("single", "split"), help="one pane, or two layers side by side "
                        "(default: split when --compare is given)")
    parser.add_argument("--compare", metavar="LAYER", help="the layer shown beside the active one, by name "
                        "(e.g. 'Centre bias', a maps folder's name)")
    parser.add_argument("--screenshot", metavar="PATH",
                        help="wait until the visible layers and metrics are computed, save the window to PATH, exit")
    parser.add_argument("--timeout", type=float, default=600, help="seconds --screenshot waits at most")
    parser.add_argument("--cache", help="prediction cache folder (default: the user cache)")
    parser.add_argument("--dataset", metavar="ROOT", help="open the dataset panel on a DHF1K / Hollywood-2 / "
                        "UCF-Sports root, a split folder, or a folder of annotated video folders")
    parser.add_argument("--split", default="val", choices=("train", "val"), help="split of --dataset")
    parser.add_argument("--maps-root", action="append", default=[],
                        help="predictions root (one maps folder per video) to compare in the dataset panel")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    configure_threads()
    from PySide6.QtWidgets import QApplication

    from .window import DEMO_VIDEO, MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SalFoM Studio")
    window = MainWindow(cache_dir=args.cache)
    window.show()
    if args.checkpoint:
        window.load_checkpoint(args.checkpoint)
    if args.dataset:
        for root in args.maps_root:
            window.dataset_panel.add_predictions_root(root)
        if not window.dataset_panel.open_dataset(args.dataset, args.split) and not args.video:
            print(f"salfom-app: {window.dataset_panel.errors[-1]}", file=sys.stderr)
            window.close()             # stops the frame loader's thread: no abort on the way out
            return 2
        if not args.video:
            window.show()
            return app.exec()
    video = args.video or DEMO_VIDEO
    # a missing or unreadable video is an error in the window, which stays open and usable
    opened = window.open_video(video, gaze=args.gaze)
    if opened:
        for folder in args.maps:
            window.add_map_folder(folder)
        apply_view_arguments(window, args)
    if args.screenshot:
        code = screenshot(app, window, Path(args.screenshot), args.timeout)
        if not opened:
            print(f"salfom-app: {window.errors[0]}", file=sys.stderr)
            return 2
        return code
    return app.exec()


def apply_view_arguments(window, args) -> None:
    """--frame, --compare and --view; a name or number that does not fit is an error message."""
    state = window.state
    if args.frame is not None:
        if not 1 <= args.frame <= state.n_frames:
            window.report_error("No such frame", f"--frame {args.frame}: the video has frames 1 to {state.n_frames}")
        state.set_frame(args.frame - 1)
    if args.compare:
        layer = state.layer(args.compare)
        if layer is None:
            window.report_error("No such layer", f"--compare {args.compare!r}: the layers are "
                                + ", ".join(repr(l.name) for l in state.layers))
        else:
            state.set_compare(layer)
    view = args.view or ("split" if args.compare else None)
    if view:
        state.set_view_mode(view)


def configure_threads() -> None:
    """Keep the GUI thread responsive while models run on the CPU: leave it a core, and let it
    take the GIL back from worker threads sooner than Python's default 5 ms."""
    import os

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    sys.setswitchinterval(0.001)


def screenshot(app, window, path: Path, timeout_s: float) -> int:
    """Process events until nothing computes and the frame is painted, then grab the window."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if not window.busy() and (window.view.bundle is not None or window.state.video is None):
            break
        time.sleep(0.02)
    else:
        print(f"salfom-app: still computing after {timeout_s:.0f} s; saving the window as it is", file=sys.stderr)
    if window.state.frame == 0:
        window.seek(window.state.n_frames // 2)       # a frame from the middle, with context on the curves
    settle = time.monotonic() + 2
    while time.monotonic() < settle and window.state.video is not None and (
            window.view.bundle is None or window.view.bundle.index != window.state.frame):
        app.processEvents()
        time.sleep(0.01)
    window.curves.redraw()
    app.processEvents()
    ok = window.grab().save(str(path))
    window.close()
    if not ok:
        print(f"salfom-app: could not write {path}", file=sys.stderr)
        return 1
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
