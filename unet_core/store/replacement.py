"""Replacing many store files as one change: new contents are staged, a plan file commits them, a crash
after the commit is finished at the next open and one before it leaves every file as it was."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from unet_core.fsutil import atomic_write_bytes, atomic_write_json, write_error
from unet_core.store.files import StoreError

PREFIX = ".replace-"
PLAN_NAME = "plan.json"


class Replacement:
    """New contents for files of a store folder, written aside (:meth:`stage`) and put in place together
    (:meth:`commit`). Until the commit nothing in the store changes; :meth:`discard` forgets it all."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        try:
            self.folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=self.root))
        except OSError as exc:
            raise StoreError(f"cannot create a staging folder ({exc.strerror or exc})", self.root) from exc
        self._targets: list[str] = []

    def stage(self, target: Path, data: bytes) -> None:
        """Stage ``data`` as the new content of ``target`` (a path inside the store)."""
        rel = Path(target).absolute().relative_to(self.root.absolute())
        if allowed_target(self.root, rel.as_posix()) is None:
            raise ValueError(f"{target} is not a store file a replacement may rewrite")
        path = self.folder / str(len(self._targets))
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise StoreError(str(write_error(exc, path)), path) from exc
        self._targets.append(rel.as_posix())

    def __len__(self) -> int:
        return len(self._targets)

    def commit(self) -> None:
        """Write the plan (the moment the change is made), then move every staged file over its target."""
        plan = self.folder / PLAN_NAME
        sync_folders([self.folder])  # the staged files' names are on disk before the plan that names them
        try:
            atomic_write_json(plan, {"targets": self._targets})
        except OSError as exc:
            raise StoreError(str(write_error(exc, plan)), plan) from exc
        finish(self.folder)

    def discard(self) -> None:
        """Forget the staged files; the store is as it was."""
        shutil.rmtree(self.folder, ignore_errors=True)


MAX_PLAN_BYTES = 64 << 20
"""A plan larger than this is not one of ours (a million stems of 60 characters)."""

REPLACEABLE = ("corrections", "imported", "predictions", "models")
"""The store folders whose files a replacement may replace (and ``classes.json`` at its root)."""


def allowed_target(root: Path, rel: object) -> Path | None:
    """The store file a plan's entry names, or ``None`` when it names anything else: not a relative path, out
    of the store, through a link, or outside the folders a replacement rewrites. A plan is read from disk, so
    it is checked like any file: a copied store must not write over the user's files."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        return None
    parts = PurePosixPath(rel).parts
    if PurePosixPath(rel).is_absolute() or ".." in parts or "." in parts:
        return None
    if not (parts == ("classes.json",) or (len(parts) >= 2 and parts[0] in REPLACEABLE)):
        return None
    target = root.joinpath(*parts)
    base = root.resolve()
    if target.parent.resolve() != base.joinpath(*parts[:-1]) or target.is_symlink():
        return None  # a folder on the way is a link
    return target


def finish(folder: Path) -> None:
    """Put a committed replacement's staged files in place (each move atomic; files already moved are
    skipped, so finishing twice is harmless) and remove its folder; an uncommitted one, or one whose plan is
    not ours (unreadable, too large, malformed), is only removed. Entries naming anything but a store file a
    replacement rewrites are skipped (:func:`allowed_target`)."""
    plan = folder / PLAN_NAME
    root = folder.parent
    targets: list[object] = []
    try:
        if plan.is_file() and not plan.is_symlink() and plan.stat().st_size <= MAX_PLAN_BYTES:
            loaded = json.loads(plan.read_text(encoding="utf-8")).get("targets")
            targets = loaded if isinstance(loaded, list) else []
    except (OSError, ValueError, AttributeError, RecursionError):
        targets = []  # not a plan we wrote (ours are written whole, atomically): nothing of it is applied
    moved: set[Path] = set()
    for i, rel in enumerate(targets):
        src = folder / str(i)
        target = allowed_target(root, rel)
        if target is None or src.is_symlink() or not src.is_file():
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, target)
        except OSError as exc:
            raise StoreError(str(write_error(exc, target)), target) from exc
        moved.add(target.parent)
    sync_folders(moved)
    shutil.rmtree(folder, ignore_errors=True)


def sync_folders(folders: Iterable[Path]) -> None:
    """Make renames into ``folders`` durable (a directory's entries are flushed by fsync on the directory)."""
    for path in folders:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def finish_unfinished(root: Path) -> int:
    """Finish (or drop, when never committed) every replacement a killed process left in ``root``; how many
    committed ones were finished. Call with the store's lock held."""
    done = 0
    for folder in sorted(Path(root).glob(PREFIX + "*")):
        if folder.is_symlink():
            folder.unlink(missing_ok=True)  # not a folder we made
        elif folder.is_dir():
            done += (folder / PLAN_NAME).is_file()
            finish(folder)
    return done


__all__ = ["PREFIX", "REPLACEABLE", "Replacement", "allowed_target", "finish", "finish_unfinished", "sync_folders"]
