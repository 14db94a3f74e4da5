"""Replacing many store files as one change: new contents are staged, a plan file commits them, a crash
after the commit is finished at the next open and one before it leaves every file as it was."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

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
        if rel.parts[:1] == (self.folder.name,) or ".." in rel.parts:
            raise ValueError(f"{target} is not a store file")
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
        try:
            atomic_write_json(plan, {"targets": self._targets})
        except OSError as exc:
            raise StoreError(str(write_error(exc, plan)), plan) from exc
        finish(self.folder)

    def discard(self) -> None:
        """Forget the staged files; the store is as it was."""
        shutil.rmtree(self.folder, ignore_errors=True)


def finish(folder: Path) -> None:
    """Put a committed replacement's staged files in place (each move atomic; files already moved are
    skipped, so finishing twice is harmless) and remove its folder; an uncommitted one is only removed."""
    plan = folder / PLAN_NAME
    root = folder.parent
    try:
        targets = json.loads(plan.read_text(encoding="utf-8"))["targets"] if plan.is_file() else []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"an unfinished change in the store cannot be read ({exc})", plan) from exc
    for i, rel in enumerate(targets):
        src = folder / str(i)
        if not isinstance(rel, str) or ".." in Path(rel).parts or not src.is_file():
            continue
        target = root / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, target)
        except OSError as exc:
            raise StoreError(str(write_error(exc, target)), target) from exc
    shutil.rmtree(folder, ignore_errors=True)


def finish_unfinished(root: Path) -> int:
    """Finish (or drop, when never committed) every replacement a killed process left in ``root``; how many
    committed ones were finished. Call with the store's lock held."""
    done = 0
    for folder in sorted(Path(root).glob(PREFIX + "*")):
        if folder.is_dir():
            done += (folder / PLAN_NAME).is_file()
            finish(folder)
    return done


__all__ = ["PREFIX", "Replacement", "finish", "finish_unfinished"]
