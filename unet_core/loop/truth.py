"""The masks a project's images start from: a mask imported into the store, else the dataset's own."""

from __future__ import annotations

from dataclasses import replace

from unet_core.data.io import MaskFormat
from unet_core.data.layouts import DatasetLayout, Pair
from unet_core.store.project import ProjectStore


def project_pairs(layout: DatasetLayout, store: ProjectStore | None) -> tuple[list[Pair], int]:
    """``layout.pairs()`` with each image's imported mask (``store``'s ``imported/``, an index PNG) in place of
    the dataset's own, where one was imported: an import is the user's explicit choice of truth."""
    pairs, skipped = layout.pairs()
    if store is None:
        return pairs, skipped
    imported = set(store.imported_stems())
    if not imported:
        return pairs, skipped
    return [replace(p, mask=store.import_path(p.stem), mask_format=MaskFormat.INDEX_PNG) if p.stem in imported
            else p for p in pairs], skipped


__all__ = ["project_pairs"]
