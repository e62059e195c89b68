"""`salfom-app [VIDEO] [--gaze FILE] [--checkpoint CKPT] [--maps DIR] [--frame N] [--view single|split]
[--compare LAYER] [--dataset ROOT] [--screenshot PATH] [--size WxH]`: a state can be reproduced from the command line
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
    parser.add_argument("--gaze", help="gaze: any tracker's export (Tobii, EyeLink, Pupil Labs, Gazepoint, SMI, a "
                        "gaze CSV; file or folder), read with the settings File > Import gaze... remembered for it, "
                        "or an annotation folder")
    parser.add_argument("--checkpoint", help="SalFoM checkpoint to predict with")
    parser.add_argument("--maps", action="append", default=[], help="a folder of maps from another model (repeatable)")
    parser.add_argument("--frame", type=int, help="open at this frame (1-based, as the timeline shows it)")
    parser.add_argument("--view", choices=("single", "split"), help="one pane, or two layers side by side "
                        "(default: split when --compare is given)")
    parser.add_argument("--compare", metavar="LAYER", help="the layer shown beside the active one, by name "
                        "(e.g. 'Centre bias', a maps folder's name)")
    parser.add_argument("--screenshot", metavar="PATH",
                        help="wait until the visible layers and metrics are computed, save the window to PATH, exit")
    parser.add_argument("--size", type=window_size, default=None, metavar="WxH",
                        help="window size in pixels, e.g. 1366x768 (--screenshot: default 1280x860, "
                        "never the size the window had last time)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds --screenshot waits at most")
    parser.add_argument("--cache", help="prediction cache folder (default: the user cache)")
    parser.add_argument("--dataset", metavar="ROOT", help="open the dataset panel on a DHF1K / Hollywood-2 / "
                        "UCF-Sports root, a split folder, or a folder of annotated video folders")
    parser.add_argument("--split", default="val", choices=("train", "val"), help="split of --dataset")
    parser.add_argument("--maps-root", action="append", default=[],
                        help="predictions root (one maps folder per video) to compare in the dataset panel")
    return parser.parse_args(argv)


SCREENSHOT_SIZE = (1280, 860)


def window_size(text: str) -> tuple[int, int]:
    """'1366x768' -> (1366, 768); anything else is argparse's one-line error."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x860") from None
    if not (200 <= width <= 16384 and 200 <= height <= 16384):
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be 200 to 16384 pixels")
    return width, height


def main(argv=None) -> int:
    args = parse_args(argv)
    configure_threads()
    from PySide6.QtWidgets import QApplication

    from .window import DEMO_VIDEO, MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SalFoM Studio")
    window = MainWindow(cache_dir=args.cache)
    if args.screenshot:
        # reproducible: the size asked for (or the default), not the one saved by the last session,
        # and this run saves none for the next
        window.remember_geometry = False
        wanted = args.size or SCREENSHOT_SIZE
        window.resize(*wanted)
        if (window.width(), window.height()) != tuple(wanted):
            print(f"salfom-app: --size {wanted[0]}x{wanted[1]} is smaller than the window can be; "
                  f"using {window.width()}x{window.height()}", file=sys.stderr)
    elif args.size:
        window.resize(*args.size)
        window.fit_to_screen()
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
            if args.screenshot:
                return screenshot_dataset(app, window, Path(args.screenshot), args.timeout)
            return app.exec()
    video = args.video or DEMO_VIDEO
    # a missing or unreadable video is an error in the window, which stays open and usable
    opened = window.open_video(video, gaze=args.gaze)
    if opened:
        for folder in args.maps:
            window.add_map_folder(folder)
        apply_view_arguments(window, args)
    if args.screenshot:
        code = screenshot(app, window, Path(args.screenshot), args.timeout, frame_given=args.frame is not None)
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


def screenshot(app, window, path: Path, timeout_s: float, frame_given: bool = False) -> int:
    """Show the frame asked for (else one from the middle, with context on the curves), process
    events until what it shows is final, then grab the window and close it.

    Final: the shown frame's exact map of every visible SalFoM layer (the model computes around
    the playhead first; the rest of a long video is not waited for), the other layers (centre
    bias, map folders: quick) and their metrics complete, and the frame painted."""
    state = window.state
    if state.video is not None and not frame_given:
        window.seek(state.n_frames // 2)
    if not wait_until(app, lambda: screenshot_ready(window), time.monotonic() + timeout_s):
        print(f"salfom-app: still computing after {timeout_s:.0f} s; saving the window as it is", file=sys.stderr)
    window.curves.redraw()
    app.processEvents()
    return save_window(window, path, describe_shot(window))


def screenshot_ready(window) -> bool:
    s = window.state
    if s.video is None:
        return True
    frame, visible = s.frame, [l for l in s.layers if l.visible]
    slow = [l for l in visible if l.kind == "salfom" and l.running]
    if any(not layer.done[frame] for layer in slow):
        return False
    if any(l.running for l in visible if l not in slow):
        return False
    if not slow and window.session.metrics.busy:          # quick layers: their curves complete
        return False
    bundle = window.view.bundle
    if bundle is None or bundle.index != frame:
        return False
    from .interpolated import EXACT
    # the exact map painted, not a blend shown while the model was still on its way to the frame
    return all(bundle.shown.get(l.name) == EXACT for l in visible if l.done[frame])


def describe_shot(window) -> str:
    """What the picture holds: the frame painted and how much of each layer was computed."""
    s = window.state
    if s.video is None:
        return "no video"
    from .interpolated import EXACT

    bundle = window.view.bundle
    shown = bundle.index + 1 if bundle is not None else 0

    def painted(layer) -> str:
        kind = bundle.shown.get(layer.name) if bundle is not None else None
        return "exact map shown" if kind == EXACT else "blend shown" if kind else "no map shown"

    layers = "; ".join(f"{l.name}: {int(l.done.sum())} of {l.n_frames} frames computed, {painted(l)}"
                       for l in s.layers)
    return f"frame {shown} of {s.n_frames}" + (f"; {layers}" if layers else "")


def screenshot_dataset(app, window, path: Path, timeout_s: float) -> int:
    """`--dataset ROOT --screenshot`: wait for the panel's scores (every video), grab, exit."""
    panel = window.dataset_panel
    if not wait_until(app, lambda: not panel.busy(), time.monotonic() + timeout_s):
        print(f"salfom-app: the dataset is still being scored after {timeout_s:.0f} s; saving the window as it is",
              file=sys.stderr)
    app.processEvents()
    scored = panel.bar.value(), panel.bar.maximum()
    return save_window(window, path, f"dataset {panel.root.name}: {scored[0]} of {scored[1]} videos scored")


def wait_until(app, ready, deadline: float) -> bool:
    while time.monotonic() < deadline:
        app.processEvents()
        if ready():
            return True
        time.sleep(0.02)
    return False


def save_window(window, path: Path, what: str) -> int:
    ok = window.grab().save(str(path))
    window.close()
    if not ok:
        print(f"salfom-app: could not write {path}", file=sys.stderr)
        return 1
    print(f"saved {path} ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
