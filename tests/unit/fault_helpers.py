"""Simulated write failures for tests (full disk, read-only folders) that also work when tests run as root."""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest

_real_open = os.open
_real_io_open = io.open
_real_mkdir = os.mkdir
_real_write = os.write
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path: object, folder: Path) -> bool:
    try:
        p = Path(os.fsdecode(path)).absolute()  # type: ignore[arg-type]
    except TypeError:
        return False
    return p == folder or folder in p.parents


def deny_writes_under(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int = errno.EACCES) -> None:
    """Make ``folder`` behave as read-only (also for root, whom ``chmod`` does not stop): creating or
    opening a file for writing in it (``os.open``, ``open``, ``io.open``), or making a folder in it,
    fails with ``code`` (EACCES or EROFS)."""
    folder = Path(folder).absolute()

    def guarded_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & _WRITE_FLAGS and _inside(path, folder):
            raise OSError(code, os.strerror(code), os.fsdecode(path))
        return _real_open(path, flags, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _inside(path, folder) and Path(os.fsdecode(path)).absolute() != folder:
            raise OSError(code, os.strerror(code), os.fsdecode(path))
        return _real_mkdir(path, *args, **kwargs)

    def guarded_io_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") and _inside(file, folder):
            raise OSError(code, os.strerror(code), os.fsdecode(file))
        return _real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_io_open)
    monkeypatch.setattr(builtins, "open", guarded_io_open)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)


def fill_disk(monkeypatch: pytest.MonkeyPatch, folder: Path | None = None) -> None:
    """``os.write`` fails with ENOSPC (Maskloop's own writers write through ``os.write``): every write, or
    with ``folder`` only writes to files inside it (Linux: the descriptor's path from ``/proc/self/fd``)."""
    where = Path(folder).absolute() if folder is not None else None

    def full(fd: int, data: bytes) -> int:
        if where is not None:
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                target = ""
            if not _inside(target, where):
                return _real_write(fd, data)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)


def temp_files(folder: Path) -> list[Path]:
    """Temporary files (``*.tmp``) anywhere under ``folder``."""
    return sorted(p for p in Path(folder).rglob("*.tmp"))
