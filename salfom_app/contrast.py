"""Readable text: the WCAG 2 contrast ratio, and the styles of the app's coloured messages.

A message coloured on the window's own background (amber on light grey) is unreadable on one
theme or the other; each style here brings its background, at least 4.5:1 (WCAG AA) against
its text whatever the theme (tests/test_viewer_reading.py measures the painted widgets)."""
from __future__ import annotations

import html

WCAG_AA = 4.5                 # normal-size text

# a problem to know about (a damaged video, a refused edit, notes on a gaze file): the banner's colours
WARNING_STYLE = "color: #fff3c4; background: #5a4a12; padding: 2px 4px; border-radius: 3px;"
# something failed (a file not installed, a setting refused)
ERROR_STYLE = "color: #ffffff; background: #9b1c1c; padding: 2px 4px; border-radius: 3px;"
# something done (a checkpoint installed)
SUCCESS_STYLE = "color: #ffffff; background: #2e6b34; padding: 2px 4px; border-radius: 3px;"


def error_html(text: str) -> str:
    """`text` in the error colours, for a rich-text label that also shows other texts."""
    return f"<span style='color: #ffffff; background-color: #9b1c1c'>&nbsp;{html.escape(text)}&nbsp;</span>"


def relative_luminance(rgb) -> float:
    """WCAG 2's relative luminance of an sRGB colour (0-255 channels)."""
    def linear(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in tuple(rgb)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground, background) -> float:
    """(L1 + 0.05) / (L2 + 0.05), the lighter over the darker: 1 (none) to 21 (black on white)."""
    a, b = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)
