"""Putting a folder's classes in a new order: every mask, cached prediction and model in its store is
rewritten to the new ids as one change, so a class keeps its pixels, its predictions and its weights."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from unet_core.data.classes import ClassTable
from unet_core.data.layouts import IMAGE_EXTS, DatasetLayout
from unet_core.fsutil import json_text
from unet_core.limits import MAX_CLASSES
from unet_core.loop.classes import editable, name_problem, save_edit
from unet_core.store.files import encode_png, read_png
from unet_core.store.project import ProjectStore
from unet_core.store.replacement import Replacement
from unet_core.store.state import ModelVersion

Order = Sequence[int | None]
"""``order[new_id]`` is the class's old id, or ``None`` for a class added in the same edit."""


def identity(order: Order, old_classes: int) -> bool:
    """Whether ``order`` keeps every old class at its id (classes are only added at the end)."""
    return list(order[:old_classes]) == list(range(old_classes)) and all(j is None for j in order[old_classes:])


def order_problem(old: ClassTable, new: ClassTable, order: Order) -> str:
    """Why ``new`` in ``order`` cannot replace ``old`` ("" when it can): each old class once (none removed),
    background first, names that differ, at most :data:`MAX_CLASSES`."""
    if len(order) != new.num_classes:
        return f"the order names {len(order)} classes, the table has {new.num_classes}"
    if new.num_classes > MAX_CLASSES:
        return f"at most {MAX_CLASSES} classes"
    kept = sorted(j for j in order if j is not None)
    if kept != list(range(old.num_classes)):
        return (f"classes cannot be removed ({old.num_classes} -> {len(kept)}): masks store their ids; rename a "
                "class instead")
    if order[0] != 0:
        return f"class 0 ({old.names[0]!r}) stays first: it is what the eraser paints and what nothing labelled is"
    return name_problem(new.names)


def own_masks(layout: DatasetLayout) -> bool:
    """Whether the dataset folder holds masks of its own (they store ids and are never rewritten)."""
    if layout.kind == "images" or not layout.mask_dir.is_dir():
        return False
    try:
        with os.scandir(layout.mask_dir) as entries:
            return any(e.is_file() and Path(e.name).suffix.lower() in IMAGE_EXTS for e in entries)
    except OSError:
        return True  # unknown: assume it has, and refuse


def reorder_classes(layout: DatasetLayout, store: ProjectStore, new: ClassTable, order: Order,
                    progress: Callable[[int, int], None] | None = None,
                    old: ClassTable | None = None) -> DatasetLayout:
    """Make ``new`` the folder's classes with its old classes moved as ``order`` says, rewriting the store's
    corrections, imported masks, cached predictions and models to the new ids as one change (a crash before
    it is committed changes nothing, one after is finished when the store next opens). Returns the layout
    with ``new``. ``ValueError`` for an order that would lose or confuse classes, or for a folder whose own
    masks hold ids (they are never rewritten); ``StoreError``/``CheckpointError`` when a file cannot be read or
    written. ``progress(done, total)`` may raise to stop before the commit (nothing changes). ``old``: the
    table the order refers to, when it is not the folder's own (the app shows a model's classes while the
    folder has none of its own: :func:`unet_core.loop.classes.shown_classes`); it names at least the folder's."""
    if not editable(layout):
        raise ValueError(f"the classes of a {layout.kind} folder are fixed by its masks' format")
    old = layout.classes if old is None else old
    if old.num_classes < layout.classes.num_classes:
        raise ValueError(f"the order refers to {old.num_classes} classes; the folder has {layout.classes.num_classes}")
    problem = order_problem(old, new, order)
    if problem:
        raise ValueError(problem)
    if identity(order, old.num_classes):  # nothing moves: names, colours, classes added at the end
        return save_edit(layout, store, new)
    if own_masks(layout):
        raise ValueError(f"classes cannot be moved: the masks in {layout.mask_dir} store their ids, and "
                         "Maskloop never rewrites a dataset's own files")
    stripped = ClassTable(tuple(n.strip() for n in new.names), new.colors)
    lut = np.arange(256, dtype=np.uint8)
    for new_id, old_id in enumerate(order):
        if old_id is not None:
            lut[old_id] = new_id
    masks = [store.mask_path(s) for s in store.corrected_stems()] + [store.import_path(s)
                                                                       for s in store.imported_stems()]
    stems = sorted(store.states())
    predictions = [p for folder in _prediction_folders(store) for s in stems
                   if (p := folder / f"{s}.png").is_file()]
    models = parents_first(store.models())
    total = len(masks) + len(predictions) + len(models) + 1
    change = store.replacement()
    try:
        for i, path in enumerate(masks + predictions):
            if progress is not None:
                progress(i, total)
            mask = read_png(path)
            if mask is not None:
                change.stage(path, encode_png(lut[mask]))
        _stage_models(change, models, order, stripped, progress, len(masks) + len(predictions), total)
        change.stage(store.class_table_path(), json_text(stripped.to_dict()).encode("utf-8"))  # as save_classes
        if progress is not None:
            progress(total - 1, total)
    except BaseException:
        change.discard()
        raise
    change.commit()
    return replace(layout, classes=stripped, own_classes=True)


def parents_first(models: Sequence[ModelVersion]) -> list[ModelVersion]:
    """The versions with each one's parent before it (a version's rewritten bytes name its parent's new hash),
    otherwise in the order given."""
    by_id = {m.id: m for m in models}
    done: set[str] = set()
    out: list[ModelVersion] = []
    for model in models:
        chain = []
        node: ModelVersion | None = model
        while node is not None and node.id not in done and node not in chain:
            chain.append(node)
            node = by_id.get(node.parent) if node.parent else None
        for m in reversed(chain):
            done.add(m.id)
            out.append(m)
    return out


def _prediction_folders(store: ProjectStore) -> list[Path]:
    folder = store.root / "predictions"
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _stage_models(change: Replacement, models: list[ModelVersion], order: Order, classes: ClassTable,
                  progress: Callable[[int, int], None] | None, done: int, total: int) -> None:
    """Stage every model version with its head (and click maps) in the new order, parents before children."""
    from unet_core.model.checkpoint import file_hash
    from unet_core.model.grow import reordered_checkpoint

    parents: dict[str, str] = {}
    for k, version in enumerate(models):
        if progress is not None:
            progress(done + k, total)
        if not version.path.is_file():
            continue
        old_hash = file_hash(version.path)
        data = reordered_checkpoint(version.path, order, classes, parents)
        parents[old_hash] = hashlib.sha256(data).hexdigest()
        change.stage(version.path, data)


__all__ = ["Order", "identity", "order_problem", "own_masks", "parents_first", "reorder_classes"]
