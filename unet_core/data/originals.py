"""The originals rule: no command or dialog replaces a dataset's own files unless asked, and then backs them up."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from unet_core.data.layouts import INNER_FOLDERS, layout_at
from unet_core.errors import DataError
from unet_core.fsutil import atomic_copy

BACKUP_DIRNAME = "originals-backup"
"""Folder in the project store that keeps copies of originals replaced on the user's explicit request."""

_INNER_LOWER = frozenset(name.lower() for name in INNER_FOLDERS)


class OriginalsError(DataError):
    """A write that would replace a dataset's original files (or the inputs of the command)."""


def is_dataset_folder(folder: str | Path) -> bool:
    """True if ``folder`` is the image or mask folder of a recognised dataset layout."""
    for f in {Path(folder).absolute(), Path(folder).resolve()}:  # as named, and where a link leads
        if f.name.lower() not in _INNER_LOWER:
            continue
        layout = layout_at(f.parent)
        if layout is not None and f.resolve() in (layout.image_dir.resolve(), layout.mask_dir.resolve()):
            return True
    return False


def originals_among(targets: Iterable[Path], inputs: Iterable[Path] = ()) -> list[Path]:
    """The existing files among ``targets`` that a write would replace and that are originals.

    An original is a file in a dataset's image or mask folder, or one of ``inputs`` (the files
    a command reads, e.g. the images of a flat folder given to ``predict``).
    """
    protected_inputs = {Path(p).resolve() for p in inputs}
    folder_verdicts: dict[Path, bool] = {}
    found: list[Path] = []
    for target in targets:
        t = Path(target)
        if not t.exists():
            continue
        parent = t.absolute().parent
        if parent not in folder_verdicts:
            folder_verdicts[parent] = is_dataset_folder(parent)
        if folder_verdicts[parent] or t.resolve() in protected_inputs:
            found.append(t)
    return found


def refuse_or_backup(
    targets: Iterable[Path],
    *,
    inputs: Iterable[Path] = (),
    allow: bool = False,
    store_root: Path | None = None,
    flag: str = "--overwrite-originals",
) -> Path | None:
    """Check a planned write before anything is written.

    Without ``allow`` a write that would replace an original raises :class:`OriginalsError`
    naming the folder, the count and ``flag``. With ``allow`` the originals are first copied
    into ``store_root/originals-backup/<time>/`` (returned), so the step can be undone.
    """
    hit = originals_among(targets, inputs)
    if not hit:
        return None
    if not allow:
        raise OriginalsError(
            f"would replace {len(hit)} original file(s) of the dataset (e.g. {hit[0].name}); "
            f"nothing was written. Choose another output, or use {flag} (originals are backed up first)",
            hit[0].parent,
        )
    if store_root is None:
        raise ValueError("replacing originals needs a project store to back them up into")
    return backup_files(hit, Path(store_root))


def backup_files(files: list[Path], store_root: Path) -> Path:
    """Copy ``files`` into a new timestamped folder under ``store_root/originals-backup``; return it.

    Each copy is written atomically; names keep their folder (``CameraMask/000001.png``) so files of
    different folders cannot collide. A copy that fails raises before any original is replaced.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = store_root / BACKUP_DIRNAME / stamp
    n = 1
    while folder.exists():
        n += 1
        folder = store_root / BACKUP_DIRNAME / f"{stamp}-{n}"
    for f in files:
        src = Path(f)
        atomic_copy(src, folder / src.absolute().parent.name / src.name)  # names the file that failed
    return folder
