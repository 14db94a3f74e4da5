"""Training runs in the project store: where a run writes, how a kept run becomes a version, what is removed.

The app's one-click training and the loop benchmark both go through these functions, so a run takes a
version number only when it is kept, and nothing of a run that is not kept stays in the store.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from unet_core.store.project import ProjectStore
from unet_core.training.resume import last_path_for

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
    """Delete what a run left in the store (its checkpoint unless adopted, and its ``.last`` file)."""
    for path in (run, last_path_for(run)):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def remove_orphan_runs(store: ProjectStore) -> int:
    """Delete runs a crashed or killed session left behind; call it holding the store's lock, before
    training (no run of this store can be alive then). Returns how many runs were removed."""
    if store.read_only:
        return 0
    runs = sorted(store.models_dir().glob(f"{RUN_PREFIX}*.safetensors"))
    for run in runs:
        if not run.name.endswith(".last.safetensors"):
            remove_run(run)
    for stray in store.models_dir().glob(f"{RUN_PREFIX}*.last.safetensors"):  # a .last without its run
        with contextlib.suppress(OSError):
            stray.unlink()
    return len([r for r in runs if not r.name.endswith(".last.safetensors")])
