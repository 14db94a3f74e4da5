"""Import masks from other tools into a project store, as the truth its images start from."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from unet_core.data.classes import VOID, ClassTable, numbered_colors
from unet_core.data.file_guard import file_size_hw
from unet_core.data.io import MaskFormat, read_mask
from unet_core.data.layouts import IMAGES_CLASSES, DatasetLayout
from unet_core.errors import DataError
from unet_core.formats import IMPORT_FORMATS
from unet_core.loop.classes import editable, save_edit
from unet_core.store.project import ProjectStore

MAX_CSV_BYTES = 1 << 30
"""A run-length CSV larger than this is refused before it is read (Carvana's train_masks.csv is 30 MB)."""


@dataclass
class ImportResult:
    """What an import did: masks stored, names in the source that match no image, images skipped and why,
    classes added to the folder's table."""

    count: int = 0
    unmatched: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    added_classes: list[str] = field(default_factory=list)


def detect_import_format(source: Path) -> str:
    """The format of ``source``: a ``.csv`` is Kaggle's run-length CSV; a JSON with ``images`` and
    ``annotations`` is COCO; a JSON with ``shapes``, or a folder of them, is labelme; a folder of PNGs (or one
    holding ``SegmentationClass/``) is Pascal VOC. ``DataError`` saying what was expected otherwise."""
    if source.is_file():
        if source.suffix.lower() == ".csv":
            return "kaggle-csv"
        if source.suffix.lower() == ".json":
            head = source.read_bytes()[: 1 << 16].decode("utf-8", "replace")
            if '"annotations"' in head or '"images"' in head:
                return "coco"
            if '"shapes"' in head:
                return "labelme"
    elif source.is_dir():
        if (source / "SegmentationClass").is_dir() or any(source.glob("*.png")):
            return "voc"
        if any(source.glob("*.json")):
            return "labelme"
    raise DataError("cannot tell the format: expected a COCO or labelme .json, a folder of labelme .json or VOC "
                    ".png masks, or a Kaggle run-length .csv", source)


def import_masks(layout: DatasetLayout, store: ProjectStore, source: Path, fmt: str | None = None,
                 progress: Callable[[int], None] | None = None) -> tuple[ImportResult, DatasetLayout]:
    """Read ``source`` (``fmt``, or detected) and store each mask that matches an image of ``layout`` (by file
    name stem) in ``store``'s ``imported/``; returns what was done and the layout (with its class table grown
    by the source's new class names, for a folder whose classes the user makes). A mask of another size than
    its image is skipped with the reason. ``DataError`` for an unreadable source or, in a folder with fixed
    classes, a class it does not have; nothing is stored then."""
    source = Path(source).expanduser()
    if not source.exists():
        raise DataError("no such file or folder", source)
    fmt = fmt or detect_import_format(source)
    if fmt not in IMPORT_FORMATS:
        raise ValueError(f"--format must be one of {', '.join(IMPORT_FORMATS)}, got {fmt!r}")
    pairs, _ = layout.pairs()
    images = {p.stem: p.image for p in pairs}
    result = ImportResult()
    try:
        names = _source_class_names(source, fmt)
        layout, result.added_classes = _with_classes(layout, store, names)
        masks = _read(source, fmt, layout.classes, images)
        for stem, mask in masks:
            if stem not in images:
                result.unmatched.append(stem)
                continue
            size = file_size_hw(images[stem])
            if mask.size == 0:
                result.skipped[stem] = "the image's size cannot be read from its header"
                continue
            if size is not None and size != mask.shape:
                result.skipped[stem] = f"mask is {mask.shape[1]}x{mask.shape[0]}, image is {size[1]}x{size[0]}"
                continue
            top = int(mask.max(where=mask != VOID, initial=0))  # void (255) is kept: an ignore label
            if top >= layout.classes.num_classes:
                result.skipped[stem] = f"class id {top} is not one of the {layout.classes.num_classes} classes"
                continue
            store.save_import(stem, mask)
            result.count += 1
            if progress is not None:
                progress(result.count)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise DataError(f"cannot import ({' '.join(str(exc).split())})", source) from None
    return result, layout


def _source_class_names(source: Path, fmt: str) -> list[str]:
    """The class names a source uses (COCO categories, labelme labels), in its order; [] for id formats."""
    if fmt == "coco":
        from unet_core.formats.coco import read_coco

        doc = read_coco(source)
        return [str(c.get("name", c["id"])) for c in sorted(doc.get("categories", []), key=lambda c: int(c["id"]))]
    if fmt == "labelme":
        from unet_core.formats.labelme import labelme_labels, read_labelme

        names: dict[str, str] = {}
        for path in _labelme_files(source):
            for label in labelme_labels(read_labelme(path)):
                names.setdefault(label.casefold(), label)
        return list(names.values())
    return []


def _with_classes(layout: DatasetLayout, store: ProjectStore, names: list[str]) -> tuple[DatasetLayout, list[str]]:
    """``layout`` with the source's class names it lacks appended (an editable folder's table, saved), and
    which; a folder with fixed classes gets a ``ValueError`` naming the missing ones."""
    known = {n.strip().casefold() for n in layout.classes.names}
    missing = [n.strip() for n in names if n.strip().casefold() not in known and n.strip().casefold() not in
               ("_background_", "background")]
    if not missing:
        return layout, []
    if not editable(layout):
        raise ValueError(f"{', '.join(missing)}: not classes of this {layout.kind} folder ({', '.join(layout.classes.names)})")
    if _untouched(layout, store):  # a new folder of images: the source's classes, not a placeholder "object"
        names_in = [n.strip() for n in names if n.strip().casefold() not in ("_background_", "background")]
        table = ClassTable(("background", *names_in), ((0, 0, 0), *numbered_colors(len(names_in) + 1)[1:]))
        return save_edit(replace(layout, classes=ClassTable(("background",), ((0, 0, 0),))), store, table), names_in
    colors = list(layout.classes.colors)
    spare = [c for c in numbered_colors(min(256, len(colors) + len(missing) + 32)) if c not in set(colors)]
    table = ClassTable(layout.classes.names + tuple(missing), tuple(colors + spare[: len(missing)]))
    return save_edit(layout, store, table), missing


def _untouched(layout: DatasetLayout, store: ProjectStore) -> bool:
    """A folder of images only that nothing has used yet: its placeholder class table, no class table of the
    user's, no mask painted or imported, no model. Its table may then be replaced instead of grown."""
    return (layout.kind == "images" and layout.classes == IMAGES_CLASSES and store.load_classes() is None
            and not store.corrected_stems() and not store.imported_stems() and not store.models())


def _read(source: Path, fmt: str, classes: ClassTable, images: dict[str, Path]) -> Iterator[tuple[str, np.ndarray]]:
    """(stem, class-id mask) of every mask in the source."""
    if fmt == "coco":
        from unet_core.formats.coco import coco_masks, read_coco

        for name, mask in coco_masks(read_coco(source), classes).items():
            yield Path(name).stem, mask
    elif fmt == "labelme":
        from unet_core.formats.labelme import labelme_mask, read_labelme

        for path in _labelme_files(source):
            doc = read_labelme(path)
            stem = Path(str(doc.get("imagePath") or path.name).replace("\\", "/")).stem
            size = file_size_hw(images[stem]) if stem in images else None
            yield stem, labelme_mask(doc, classes, size)
    elif fmt == "kaggle-csv":
        yield from _kaggle_rows(source, images)
    else:
        folder = source / "SegmentationClass" if (source / "SegmentationClass").is_dir() else source
        for path in sorted(folder.glob("*.png")):
            yield path.stem, read_mask(path, MaskFormat.INDEX_PNG)


def _labelme_files(source: Path) -> list[Path]:
    return [source] if source.is_file() else sorted(source.glob("*.json"))


def _kaggle_rows(source: Path, images: dict[str, Path]) -> Iterator[tuple[str, np.ndarray]]:
    """Kaggle's ``img,rle_mask`` rows: class 1 where the run lengths say, sized by the image's header."""
    from unet_core.formats.rle import rle_decode

    size = source.stat().st_size
    if size > MAX_CSV_BYTES:
        raise ValueError(f"{size} bytes, more than a run-length CSV is read ({MAX_CSV_BYTES})")
    with source.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"img", "rle_mask"} <= set(reader.fieldnames):
            raise ValueError(f"expected the columns img,rle_mask, got {reader.fieldnames}")
        for row in reader:
            stem = Path(row["img"]).stem
            hw = file_size_hw(images[stem]) if stem in images else None
            if hw is None:  # no such image (the caller reports it as unmatched) or an unreadable header
                yield stem, np.zeros((0, 0), np.uint8)
                continue
            yield stem, rle_decode(row["rle_mask"] or "", hw).astype(np.uint8)


__all__ = ["ImportResult", "detect_import_format", "import_masks"]
