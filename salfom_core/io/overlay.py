"""Heatmap colouring and blending, shared by the CLI's overlay video and the app."""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ..errors import ConfigError

COLORMAPS = {"jet": cv2.COLORMAP_JET, "viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA,
             "inferno": cv2.COLORMAP_INFERNO, "cividis": cv2.COLORMAP_CIVIDIS, "turbo": cv2.COLORMAP_TURBO,
             "hot": cv2.COLORMAP_HOT}


@lru_cache(maxsize=None)
def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB lookup table of a named colormap."""
    if name not in COLORMAPS:
        raise ConfigError(f"unknown colormap {name!r}; one of {', '.join(COLORMAPS)}")
    bgr = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], COLORMAPS[name])[:, 0]
    return np.ascontiguousarray(bgr[:, ::-1])


def blend(frame: np.ndarray, saliency_u8: np.ndarray, colormap: str = "jet", opacity: float = 0.5,
          threshold: float = 0.0) -> np.ndarray:
    """The frame with the coloured map over it; opacity grows with saliency, zero below `threshold`."""
    if saliency_u8.shape != frame.shape[:2]:
        saliency_u8 = cv2.resize(saliency_u8, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
    heat = colormap_lut(colormap)[saliency_u8]
    alpha = saliency_u8.astype(np.float32) * (opacity / 255.0)
    if threshold > 0:
        alpha[saliency_u8 < threshold * 255] = 0
    alpha = alpha[..., None]
    return (frame * (1 - alpha) + heat * alpha).astype(np.uint8)


# One colour per observer, shared by the app's markers and the exported overlays.
OBSERVER_COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
                    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
                    (170, 255, 195), (128, 128, 0)]
MARKER_STYLES = ("ring", "cross", "dot")


def observer_colour(observer: int) -> tuple[int, int, int]:
    return OBSERVER_COLOURS[observer % len(OBSERVER_COLOURS)] if observer >= 0 else (255, 255, 255)


def one_per_observer(xs, ys, observers):
    """A marker per observer and frame: eye trackers give several samples per frame (DHF1K's at
    250 Hz: about eight), drawn one by one they pile into thick blots over the map. Each known
    observer's samples become their median point; samples of unknown observers (-1) stay."""
    xs, ys, observers = np.asarray(xs, float), np.asarray(ys, float), np.asarray(observers)
    known = observers >= 0
    ids = np.unique(observers[known])
    mx = [np.median(xs[observers == o]) for o in ids] + list(xs[~known])
    my = [np.median(ys[observers == o]) for o in ids] + list(ys[~known])
    return np.array(mx), np.array(my), np.concatenate([ids, observers[~known]]).astype(int)


def without_observers(fixations, hidden):
    """(x, y, observer) of a frame without the samples of the `hidden` observers (the app's
    legend unticks them: every export leaves them out too)."""
    if fixations is None or not hidden:
        return fixations
    xs, ys, obs = (np.asarray(a) for a in fixations)
    keep = ~np.isin(obs, list(hidden))
    return xs[keep], ys[keep], obs[keep]


def draw_fixations(image: np.ndarray, xs, ys, observers, style: str = "ring", size: int = 14,
                   opacity: float = 0.9) -> np.ndarray:
    """Fixation markers as the app draws them: a thin dark outline under the observer's colour;
    rings and crosses leave the map under their centre visible. `xs`, `ys` are benchmark
    coordinates (1-based pixel centres); `size` is the marker's diameter in pixels."""
    if style not in MARKER_STYLES:
        raise ValueError(f"marker style must be one of {MARKER_STYLES}, not {style!r}")
    if len(xs) == 0:
        return image
    xs, ys, observers = one_per_observer(xs, ys, observers)
    marks = image.copy()
    radius = max(2, size // 2)
    for x, y, o in zip(xs, ys, observers):
        centre = (int(round(x - 1)), int(round(y - 1)))
        colour = observer_colour(int(o))
        if style == "ring":
            cv2.circle(marks, centre, radius, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.circle(marks, centre, radius, colour, 2, cv2.LINE_AA)
        elif style == "cross":
            for dx, dy in ((radius, 0), (0, radius)):
                a, b = (centre[0] - dx, centre[1] - dy), (centre[0] + dx, centre[1] + dy)
                cv2.line(marks, a, b, (0, 0, 0), 3, cv2.LINE_AA)
                cv2.line(marks, a, b, colour, 2, cv2.LINE_AA)
        else:
            cv2.circle(marks, centre, max(2, radius // 2), colour, -1, cv2.LINE_AA)
            cv2.circle(marks, centre, max(2, radius // 2), (0, 0, 0), 1, cv2.LINE_AA)
    return cv2.addWeighted(marks, opacity, image, 1 - opacity, 0) if opacity < 1 else marks


# --------------------------------------------------------------------------- burned-in captions
# A dark band under the frame (never over it: every pixel of the frame stays as drawn) with the
# layer's name, the frame number and the colour bar of the map's colormap, 0 on the left, 1 on
# the right. OpenCV only, so the CLI's overlay video and the app's exports draw the same band.
# A pane narrower than TWO_ROWS_BELOW puts the colour bar on a second row: text and bar both
# stay readable on a 160-pixel clip.

BAND_RGB = (24, 24, 24)            # the band and the gap between split panes
TEXT_RGB = (240, 240, 240)         # on BAND_RGB: a contrast of about 16:1
TWO_ROWS_BELOW = 400
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def caption_scale(width: int) -> float:
    """OpenCV font scale for a pane `width` pixels wide: text about 11 px high on a 480 px
    clip, 22 px on full HD, never smaller than legible."""
    return float(np.clip(width / 1000, 0.4, 1.0))


def _row_height(width: int) -> int:
    (_w, text_h), base = cv2.getTextSize("Ag", _FONT, caption_scale(width), 1)
    height = int(round((text_h + base) * 2.0)) + 4
    return height + height % 2


def caption_band_height(width: int) -> int:
    """The band's height for a pane of this width; even, so an MP4 (yuv420p) keeps its rows."""
    return _row_height(width) * (2 if width < TWO_ROWS_BELOW else 1)


def _pad(scale: float) -> int:
    return max(4, int(round(8 * scale)))


def colour_bar_span(width: int) -> tuple[int, int]:
    """(x0, x1) of the colour bar's gradient in a band of this width, between its "0" and "1"
    labels: the right third of the band, or the whole second row of a narrow one."""
    scale = caption_scale(width)
    pad = _pad(scale)
    (one_w, _h), _b = cv2.getTextSize("1", _FONT, scale, 1)
    x1 = width - pad - one_w - pad
    if width < TWO_ROWS_BELOW:
        (zero_w, _h), _b = cv2.getTextSize("0", _FONT, scale, 1)
        return pad + zero_w + pad, x1
    return max(0, x1 - int(np.clip(width * 0.3, 40, 320))), x1


def caption_band(width: int, name: str = "", frame_label: str = "", colormap: str | None = None,
                 threshold: float = 0.0, note: str = "") -> np.ndarray:
    """(H, width, 3) RGB: the layer's `name`, its `note` ("(interpolated)") and `frame_label` on the
    left (the name cut with '...' where the text would reach the bar; the note and the frame label
    are kept whole while they fit) and, with a `colormap`, its colour bar (value v at
    x0 + v * (x1 - x0), `colour_bar_span`) labelled 0 and 1, with ticks at the "hide below"
    `threshold` when there is one."""
    band = np.empty((caption_band_height(width), width, 3), np.uint8)
    band[:] = BAND_RGB
    row = _row_height(width)
    scale = caption_scale(width)
    pad = _pad(scale)
    text_right = width - pad
    if colormap is not None:
        x0, _x1 = colour_bar_span(width)
        two_rows = width < TWO_ROWS_BELOW
        _draw_colour_bar(band[row:] if two_rows else band, width, colormap, threshold)
        if not two_rows:
            (zero_w, _h), _b = cv2.getTextSize("0", _FONT, scale, 1)
            text_right = x0 - zero_w - 3 * pad
    text = _caption_text(_ascii(name), note, frame_label, text_right - pad, scale)
    if text:
        cv2.putText(band, text, (pad, _baseline(row, scale)), _FONT, scale, TEXT_RGB, 1, cv2.LINE_AA)
    return band


def _caption_text(name: str, note: str, frame_label: str, room: int, scale: float) -> str:
    """Name, note and frame label in `room` pixels: the name is cut first (to no fewer than 8
    characters), then the note goes, then the whole line is cut."""
    for tail_note in (note, ""):
        tail = (f" {tail_note}" if name and tail_note else "") + ("   " if name and frame_label else "") + frame_label
        left = room - cv2.getTextSize(tail, _FONT, scale, 1)[0][0]
        fitted = _fit_text(name, left, scale)
        if len(fitted) >= min(len(name), 8):
            return fitted + tail
    return _fit_text(f"{name}   {frame_label}".strip(), room, scale)


def _baseline(row: int, scale: float) -> int:
    (_w, text_h), _b = cv2.getTextSize("Ag", _FONT, scale, 1)
    return (row + text_h) // 2 - 1


def _draw_colour_bar(band: np.ndarray, width: int, colormap: str, threshold: float) -> None:
    """The gradient and its 0 and 1 labels, centred in the first `_row_height` rows of `band`."""
    scale, pad, row = caption_scale(width), _pad(caption_scale(width)), _row_height(width)
    x0, x1 = colour_bar_span(width)
    (zero_w, text_h), base = cv2.getTextSize("0", _FONT, scale, 1)
    top, bottom = (row - text_h - base) // 2, (row + text_h + base) // 2
    ramp = np.linspace(0, 255, max(x1 - x0, 1)).round().astype(np.uint8)
    band[top:bottom, x0:x1] = colormap_lut(colormap)[ramp][None]
    if threshold > 0:                  # short ticks at both edges: the gradient's colours stay readable
        tick = x0 + int(round(threshold * (x1 - x0 - 1)))
        band[top:top + 3, tick] = TEXT_RGB
        band[bottom - 3:bottom, tick] = TEXT_RGB
    baseline = _baseline(row, scale)
    cv2.putText(band, "0", (x0 - pad // 2 - zero_w, baseline), _FONT, scale, TEXT_RGB, 1, cv2.LINE_AA)
    cv2.putText(band, "1", (x1 + pad // 2, baseline), _FONT, scale, TEXT_RGB, 1, cv2.LINE_AA)


def _ascii(text: str) -> str:
    """OpenCV's fonts draw ASCII only: accents dropped ("Café" -> "Cafe"), anything else '?'."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text)
    return "".join(c if ord(c) < 128 else ("" if unicodedata.combining(c) else "?") for c in plain)


def _fit_text(text: str, room: int, scale: float) -> str:
    """`text`, cut with '...' to fit `room` pixels."""
    if room <= 0:
        return ""
    if cv2.getTextSize(text, _FONT, scale, 1)[0][0] <= room:
        return text
    while text and cv2.getTextSize(text + "...", _FONT, scale, 1)[0][0] > room:
        text = text[:-1]
    return text + "..." if text else ""

