"""User-facing error types: one-line messages that name the offending file."""

from __future__ import annotations

from pathlib import Path


class MaskloopError(Exception):
    """An error a user can act on; ``str(err)`` is one line and names the file involved."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        text = " ".join(str(message).split())  # always one line
        if self.path is not None and str(self.path) not in text:
            text = f"{self.path}: {text}"
        super().__init__(text)


class DataError(MaskloopError):
    """A dataset folder, image or mask that cannot be used (missing, unreadable, wrong size or ids)."""


class CheckpointError(MaskloopError):
    """A file that is not a valid Maskloop checkpoint."""


class UnreadableFileError(DataError):
    """A file that cannot be read or decoded at all (missing, empty, truncated, corrupt).

    In folders such items are skipped and counted; other :class:`DataError` cases (mismatched
    sizes, class ids out of range) mean the data and the model disagree and stop the command.
    """


class WriteError(MaskloopError, OSError):
    """An output file could not be written (disk full, read-only folder, ...); nothing was half-written.

    Also an :class:`OSError` carrying the cause's ``errno``/``strerror``/``filename``, so code that
    handles failed writes as ``OSError`` keeps working; ``str(err)`` stays the one-line message.
    """

    def __init__(self, message: str, path: str | Path, cause: OSError | None = None) -> None:
        super().__init__(message, path)
        self.errno = cause.errno if cause is not None else None
        self.strerror = cause.strerror if cause is not None else None
        self.filename = str(path)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
