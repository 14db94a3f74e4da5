"""Atomic file writes: temporary file in the same folder, flush + fsync, then rename over the target."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from unet_core.errors import WriteError

#: Errors that mean "this place does not take writes" and those that mean "no space left".
_READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG})


def write_error(exc: OSError, path: str | Path) -> WriteError:
    """The one-line :class:`WriteError` for a failed write of ``path`` (says *disk full* or *read-only*)."""
    if isinstance(exc, WriteError):
        return exc
    detail = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in _FULL_ERRNOS:
        message = f"cannot write: the disk is full ({detail})"
    elif exc.errno in _READ_ONLY_ERRNOS:
        message = f"cannot write: the folder is read-only or not yours to write ({detail})"
    else:
        message = f"cannot write ({detail})"
    return WriteError(message, path, exc)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically.

    The bytes go to a temporary file ``.<name>.<random>.tmp`` beside ``path`` which is flushed,
    fsynced and then renamed over the target with :func:`os.replace`. Parent folders are created.
    On any failure the temporary file is removed and an existing ``path`` is left untouched; an
    ``OSError`` (disk full, read-only folder, ...) becomes a :class:`WriteError` naming ``path``.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise write_error(exc, target) from exc
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        # mkstemp creates 0600 files; keep an existing file's mode, else use a normal 0644.
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise write_error(exc, target) from exc
        raise


def check_writable(path: str | Path) -> None:
    """Fail early, before long work, if ``path`` could not be written: creates its folders and a
    temporary file beside it (removed at once); a :class:`WriteError` names ``path``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        os.unlink(tmp_name)
    except OSError as exc:
        raise write_error(exc, target) from exc


#: Temporaries of :func:`atomic_write_bytes` older than this (seconds) belong to no live writer.
STALE_TEMP_AGE = 60.0
_TEMP_RANDOM = re.compile(r"[a-z0-9_]{8}")  # the random part tempfile.mkstemp puts in a name


def remove_stale_temps(path: str | Path, max_age: float = STALE_TEMP_AGE) -> int:
    """Remove ``.<name of path>.<random>.tmp`` files beside ``path`` older than ``max_age`` seconds:
    what :func:`atomic_write_bytes` leaves when its process is killed mid-write. Returns the count;
    other files, and failures to list or remove, are left alone."""
    target = Path(path)
    return remove_temps_in(target.parent, target.name, max_age)


def remove_temps_in(folder: str | Path, name: str | None = None, max_age: float = STALE_TEMP_AGE) -> int:
    """Remove :func:`atomic_write_bytes` temporaries in ``folder`` (of the file ``name``, or of any file)
    older than ``max_age`` seconds; ``max_age=0`` when the caller knows no writer is alive (the store's
    lock holder). Returns the count; failures to list or remove are left alone."""
    prefix, now, removed = f".{name}." if name else ".", time.time(), 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        entry_name = entry.name
        stem = entry_name[len(prefix):-4]
        if not (entry_name.startswith(prefix) and entry_name.endswith(".tmp")):
            continue
        random_part = stem if name else stem.rpartition(".")[2]
        if not _TEMP_RANDOM.fullmatch(random_part):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > max_age:
                os.unlink(entry.path)
                removed += 1
    return removed


def append_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Append ``text`` to ``path`` (created with its folders if missing) in one ``write`` call, for logs.

    An ``OSError`` becomes a :class:`WriteError` naming ``path``.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            _write_all(fd, text.encode(encoding))
        finally:
            os.close(fd)
    except OSError as exc:
        raise write_error(exc, target) from exc


def atomic_copy(src: str | Path, dest: str | Path) -> None:
    """Copy a file atomically (see :func:`atomic_write_bytes`): ``dest`` is the old file or the whole copy.

    A source that cannot be read is a :class:`WriteError` naming it; one that cannot be written names ``dest``.
    """
    try:
        data = Path(src).read_bytes()
    except OSError as exc:
        raise WriteError(f"cannot read {Path(src).name} to copy it ({exc.strerror or exc})", src) from exc
    atomic_write_bytes(dest, data)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding))


def json_text(obj: Any) -> str:
    """``obj`` as the project writes JSON files: indent 2, sorted keys, a trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as JSON (:func:`json_text`) to ``path`` atomically.

    The object is serialised before anything is written, so an unserialisable object
    raises ``TypeError``/``ValueError`` and leaves the file system untouched.
    """
    atomic_write_text(path, json_text(obj))
