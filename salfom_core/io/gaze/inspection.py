"""`GazeInspection`: what a gaze export holds, before it is imported (the import dialog shows it)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class GazeInspection:
    """One read of a file or folder, summarised. Counts are the file's rows, before any frame rule."""

    path: str
    format: str                                  # e.g. "Tobii Pro Lab TSV", "EyeLink ASC"
    participants: list[str] = field(default_factory=list)
    stimuli: list[str] = field(default_factory=list)        # media / video names the file holds
    stimulus: str | None = None                  # the one an import with these options reads
    start_events: list[str] = field(default_factory=list)  # start events or messages (texts a --start-message matches)
    messages: list[str] = field(default_factory=list)       # other events or messages, one example of each kind
    starts: dict[str, float | None] = field(default_factory=dict)   # per participant: the video's start (s, file clock)
    video_rect: tuple[float, float, float, float] | None = None    # the video in the file's pixels, as the file says
    screen: tuple[float, float] | None = None    # the screen in pixels, where the file says it
    sample_counts: dict[str, int] = field(default_factory=dict)     # per participant: samples of the stimulus
    fixation_counts: dict[str, int] = field(default_factory=dict)   # of which in the file's fixations
    has_events: bool = False                     # the file has its own fixations (else a detector runs)
    notes: list[str] = field(default_factory=list)  # what an import with these options would warn or fail with


def message_kinds(texts, limit: int = 60) -> list[str]:
    """One example of each kind of message (kinds differ in more than their numbers), in order."""
    import re

    seen, out = set(), []
    for text in texts:
        kind = re.sub(r"-?\d+(\.\d+)?", "#", text)
        if kind not in seen:
            seen.add(kind)
            out.append(text)
            if len(out) >= limit:
                break
    return out
