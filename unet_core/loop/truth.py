"""A project's images as the loop sees them: the masks they start from (imported, else the dataset's) and their state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from unet_core.data.io import MaskFormat
from unet_core.data.layouts import DatasetLayout, Pair
from unet_core.loop.records import ImageRecord
from unet_core.store.project import ImageStatus, ProjectStore
from unet_core.store.state import DONE_STATUSES


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


def project_records(layout: DatasetLayout, store: ProjectStore) -> tuple[list[ImageRecord], int]:
    """One :class:`ImageRecord` per image of the folder (:func:`project_pairs`), with its stored status,
    uncertainty, error and model versions; and the number of items skipped while listing. The app's file list
    and ``unet-core finetune`` start from these."""
    pairs, skipped = project_pairs(layout, store)
    states = store.states()
    records = []
    for pair in pairs:
        st = states.get(pair.stem)
        rec = ImageRecord(stem=pair.stem, image_path=pair.image, mask_path=pair.mask,
                          mask_format=pair.mask_format)
        if st is not None:
            rec.status = st.status.value if isinstance(st.status, ImageStatus) else str(st.status)
            rec.uncertainty, rec.error = st.uncertainty, st.error
            rec.scored_by = st.model_version if st.uncertainty is not None else None
            if rec.status in DONE_STATUSES:
                rec.corrected_with = st.model_version
        records.append(rec)
    return records, skipped


def record_pairs(records: Sequence[ImageRecord]) -> list[Pair]:
    """The pairs the app's records already hold (no folder scan): image, its own mask and that mask's format."""
    return [Pair(image=r.image_path, mask=r.mask_path, stem=r.stem, group="",
                 mask_format=r.mask_format) for r in records]


__all__ = ["project_pairs", "project_records", "record_pairs"]
