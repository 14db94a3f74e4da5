"""One writer per project store: an exclusive, non-blocking OS lock on ``<store>/store.lock``."""

from __future__ import annotations

import logging
import os
import sys
import weakref
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = "store.lock"


class StoreLock:
    """The exclusive lock of one store folder, held from :meth:`acquire` until :meth:`release`.

    POSIX: ``fcntl.flock`` on ``store.lock``. The lock belongs to the open file, so two opens in one
    process exclude each other as two processes do, and the operating system drops it when the
    file is closed or its process dies (``kill -9`` included): a crashed window never leaves a stale
    lock behind. Windows: ``msvcrt.locking`` on the file's first byte, also released by the OS when
    the process ends. Where the file system cannot lock at all (some network shares) the store is
    opened writable without a lock, as before, and a warning is logged.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._finalizer = weakref.finalize(self, os.close, fd)  # a store never closed still lets go

    @classmethod
    def acquire(cls, folder: Path) -> StoreLock | None:
        """Take the lock of ``folder`` if free; ``None`` while another open store (any process) holds it."""
        path = Path(folder) / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # non-inheritable: child processes do not keep it
        try:
            held = _lock(fd)
        except OSError as exc:  # no locking on this file system: one writer cannot be enforced here
            log.warning("cannot lock %s (%s); another window could overwrite this one's edits", path, exc)
            return cls(path, fd)
        if not held:
            os.close(fd)
            return None
        return cls(path, fd)

    @property
    def held(self) -> bool:
        """True until :meth:`release`."""
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up (idempotent): closing the file releases it."""
        self._fd = None
        self._finalizer()  # closes the file once


if sys.platform.startswith("win"):  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except PermissionError:  # locked by another process or another open of the file
            return False
        return True

else:
    import errno
    import fcntl

    def _lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True
