"""A project's own class table: which folders may edit theirs, how an edit is checked, and where it is kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from unet_core.data.classes import ClassTable
from unet_core.data.layouts import DatasetLayout
from unet_core.limits import MAX_CLASSES
from unet_core.store.project import ProjectStore

EDITABLE_KINDS = frozenset({"images", "generic"})
"""Layouts whose classes the user makes (a folder of images, images/ + masks/); Carvana's and CARLA's classes
are fixed by their masks' format."""


def editable(layout: DatasetLayout) -> bool:
    """Whether the user may add, rename and recolour this folder's classes."""
    return layout.kind in EDITABLE_KINDS


def project_layout(layout: DatasetLayout, store: ProjectStore) -> DatasetLayout:
    """``layout`` with the class table saved in ``store`` (an editable folder's own), else as detected.

    A saved table with fewer classes than the folder's masks use (``classes.json`` beside a generic folder
    grew since) is not applied: masks would hold ids it does not name. ``StoreError`` for an unreadable one.
    """
    if not editable(layout):
        return layout
    saved = store.load_classes()
    if saved is None or saved.num_classes < layout.classes.num_classes:
        return layout
    return replace(layout, classes=saved, own_classes=True)


def shown_classes(layout: DatasetLayout, model: ClassTable | None) -> ClassTable:
    """The classes a project works with: the table the user made for the folder when it names at least the
    model's classes (classes added since the model was trained are painted, and the next fine-tune grows the
    model), else the model's (it was trained on them), else the folder's as detected. A table guessed from a
    folder's mask values never grows a model: ids beyond the model's are a mistake to report, not classes."""
    if model is None or (layout.own_classes and layout.classes.num_classes >= model.num_classes):
        return layout.classes
    return model


def check_edit(old: ClassTable, new: ClassTable) -> None:
    """Refuse an edit that would make stored masks wrong; ``ValueError`` saying why.

    Classes are added at the end, renamed and recoloured; none is removed or moved (masks store ids, and an
    id must keep meaning the same class). Names must differ, so a class is never confused with another.
    """
    if new.num_classes < old.num_classes:
        raise ValueError(f"classes cannot be removed ({old.num_classes} -> {new.num_classes}): masks store their "
                         "ids; rename a class instead")
    if new.num_classes > MAX_CLASSES:
        raise ValueError(f"at most {MAX_CLASSES} classes")
    problem = name_problem(new.names)
    if problem:
        raise ValueError(problem)


def name_problem(names: Sequence[str]) -> str:
    """Why these class names cannot be a table ("" when they can): a class without a name, or two with the
    same name (case and spaces ignored), said with the names as typed."""
    for i, name in enumerate(names):
        if not name.strip():
            return f"class {i} needs a name"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.strip().casefold()
        if key in seen:
            j = seen[key]
            return f"class {j} ({names[j].strip()!r}) and class {i} ({name.strip()!r}) have the same name"
        seen[key] = i
    return ""


def save_edit(layout: DatasetLayout, store: ProjectStore, new: ClassTable) -> DatasetLayout:
    """Check ``new`` against the folder's current classes, save it in ``store`` and return the layout with it."""
    if not editable(layout):
        raise ValueError(f"the classes of a {layout.kind} folder are fixed by its masks' format")
    check_edit(layout.classes, new)
    stripped = ClassTable(tuple(n.strip() for n in new.names), new.colors)
    store.save_classes(stripped)
    return replace(layout, classes=stripped, own_classes=True)


__all__ = ["EDITABLE_KINDS", "check_edit", "editable", "name_problem", "project_layout", "save_edit", "shown_classes"]
