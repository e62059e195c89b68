"""The library's user-facing error types.

Library code raises these (never `SystemExit`); the CLI's `main` turns any `ValueError` into one
line on stderr and exit code 2, and the app shows the message. They are `ValueError`s so callers
that already catch `ValueError` for bad input keep working.
"""
from __future__ import annotations


class SalfomError(ValueError):
    """Base of the errors a user can fix: the message names the file or setting and the problem."""


class ConfigError(SalfomError):
    """A setting is invalid: a command-line option, a training config field, a preset name."""


class CacheError(SalfomError):
    """The prediction cache folder cannot be used (not creatable, not a folder, not writable).

    `path` is the folder in question, so the app can show it next to the message.
    """

    def __init__(self, path, problem: str):
        self.path = path
        super().__init__(f"{path}: cannot use as the prediction cache ({problem})")


class GazeError(SalfomError):
    """Gaze input that cannot be read at all (a bad row is only skipped): the message names the file."""


class WriteError(SalfomError):
    """An output that cannot be written (no permission, a read-only disk): the message names it,
    not the temporary file beside it."""


class DiskFullError(SalfomError):
    """A disk ran out of space, or would: the message names the folder and the space needed."""
