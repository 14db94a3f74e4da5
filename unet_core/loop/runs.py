"""Versions from files: where a training run writes, how a kept run or an opened file becomes a version.

The app's one-click training and model import and the loop benchmark all go through these functions, so
a run takes a version number only when it is kept, nothing of a run that is not kept stays in the store,
and a model file is imported one way only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from unet_core.fsutil import atomic_copy
from unet_core.store.project import ProjectStore
from unet_core.training.resume import last_path_for, trained_path_for

RUN_PREFIX = "run-"


def new_run_path(store: ProjectStore) -> Path:
    """A fresh file in the store's models folder for a run's best checkpoint (its ``.last`` file goes beside it)."""
    return store.models_dir() / f"{RUN_PREFIX}{secrets.token_hex(6)}.safetensors"


def adopt_run(store: ProjectStore, run: Path, parent: str | None, val_dice: float | None, note: str) -> tuple[str, Path]:
    """Make a kept run the store's next (current) version; returns ``(version, its path)``.

    The file is validated from its header first (:func:`unet_core.model.checkpoint.inspect_checkpoint`:
    ``CheckpointError`` for anything unusable, and then nothing is registered); the version number is
    taken only now, and the file moved, not copied.
    """
    from unet_core.model.checkpoint import inspect_checkpoint

    inspect_checkpoint(run)
    version, dest = store.new_model_path()
    os.replace(run, dest)
    store.register_model(version, parent=parent, val_dice=val_dice, note=note)
    return version, dest


def remove_run(run: Path) -> None:
    """Delete what a run left in the store (its checkpoint unless adopted, its ``.last`` and ``.trained`` files)."""
    for path in (run, last_path_for(run), trained_path_for(run)):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def remove_orphan_runs(store: ProjectStore) -> int:
    """Delete runs a crashed or killed session left behind; call it holding the store's lock, before
    training (no run of this store can be alive then). Returns how many runs were removed."""
    if store.read_only:
        return 0
    runs = sorted(store.models_dir().glob(f"{RUN_PREFIX}*.safetensors"))
    for run in runs:
        if not run.name.endswith((".last.safetensors", ".trained.safetensors")):
            remove_run(run)
    for suffix in (".last.safetensors", ".trained.safetensors"):  # a .last or .trained without its run
        for stray in store.models_dir().glob(f"{RUN_PREFIX}*{suffix}"):
            with contextlib.suppress(OSError):
                stray.unlink()
    return len([r for r in runs if not r.name.endswith((".last.safetensors", ".trained.safetensors"))])


def import_model_file(store: ProjectStore, path: Path, expected_classes: int | None,
                      note: str = "opened from file") -> tuple[str, Path, bool]:
    """Make a checkpoint file a version of the store; returns ``(version, its path, reused)``.

    The file is validated from its header first (``CheckpointError``), its class count checked against
    ``expected_classes`` (``DataError``; ``None`` skips the check, e.g. a generic folder whose classes
    the model defines). A file identical to a stored version reuses it (``reused`` True: the caller makes
    it current); otherwise it is copied atomically and registered as the next, current version.
    """
    from unet_core.errors import DataError
    from unet_core.model.checkpoint import file_hash, read_metadata

    src = Path(path)
    meta = read_metadata(src)
    if expected_classes is not None and meta.classes.num_classes != expected_classes:
        raise DataError(f"the model predicts {meta.classes.num_classes} classes; the data has {expected_classes}",
                        src)
    digest = file_hash(src)
    for mv in store.models():
        if mv.path.exists() and mv.path.stat().st_size == src.stat().st_size and file_hash(mv.path) == digest:
            return mv.id, mv.path, True
    version, dest = store.new_model_path()
    atomic_copy(src, dest)  # a half-copied version never exists, even on a full disk
    store.register_model(version, parent=None, val_dice=meta.training.get("best_val_dice"),
                         note=f"{note}: {src.name}")
    return version, dest, False
