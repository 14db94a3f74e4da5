"""Import masks from other tools into a project store, as the truth its images start from."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from unet_core.data.classes import VOID, ClassTable, spare_colors
from unet_core.data.file_guard import file_size_hw
from unet_core.data.io import MaskFormat, class_id_max, read_mask
from unet_core.data.layouts import IMAGES_CLASSES, DatasetLayout
from unet_core.errors import DataError
from unet_core.formats import IMPORT_FORMATS, VOC_NAMES_FILE
from unet_core.formats.labelme import BACKGROUND_LABELS, IGNORE_LABEL
from unet_core.limits import MAX_CLASSES
from unet_core.loop.classes import editable, save_edit
from unet_core.store.project import ProjectStore

_BACKGROUND = ClassTable(("background",), ((0, 0, 0),))
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
            with source.open("rb") as f:
                head = f.read(1 << 16).decode("utf-8", "replace")
            if '"annotations"' in head or '"images"' in head:
                return "coco"
            if '"shapes"' in head:
                return "labelme"
    elif source.is_dir():  # labelme keeps its .json files beside the photos, which may be PNGs: .json first
        if any(source.glob("*.json")):
            return "labelme"
        if (source / "SegmentationClass").is_dir() or any(source.glob("*.png")):
            return "voc"
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
    sizes: dict[str, tuple[int, int] | None] = {}  # each image's header read once

    def size_of(stem: str) -> tuple[int, int] | None:
        if stem not in sizes:
            sizes[stem] = file_size_hw(images[stem])
        return sizes[stem]

    result = ImportResult()
    staging = store.import_staging()
    try:
        doc = None
        if fmt == "coco":
            from unet_core.formats.coco import read_coco

            doc = read_coco(source)  # once: a COCO file may be hundreds of MB
        voc_names = _voc_names(source) if fmt == "voc" else []  # once: both the classes and the masks use them
        names, colors = _source_classes(source, fmt, doc, voc_names)
        table, result.added_classes, replaced = _planned_classes(layout, store, names, colors)
        for stem, mask in _read(source, fmt, table, images, doc, size_of, voc_names):  # one at a time, staged: nothing is kept ...
            top = class_id_max(mask)
            if top >= table.num_classes and editable(layout) and top < MAX_CLASSES and stem in images:
                grown = [f"class {i}" for i in range(table.num_classes, top + 1)]  # ids without names (VOC)
                table = ClassTable(table.names + tuple(grown), table.colors + tuple(spare_colors(table.colors, len(grown))))
                result.added_classes += grown
            why = _unusable(stem, mask, size_of if stem in images else None, table)
            if why == "unmatched":
                result.unmatched.append(stem)
            elif why:
                result.skipped[stem] = why
            else:
                store.stage_import(staging, stem, mask)
                result.count += 1
                if progress is not None:
                    progress(result.count)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError, OSError, csv.Error) as exc:
        store.discard_staging(staging)  # ... unless the whole source was read
        raise DataError(f"cannot import ({' '.join(str(exc).split())})", source) from None
    except BaseException:
        store.discard_staging(staging)
        raise
    if table != layout.classes:  # a replaced placeholder table is saved as an edit of the background alone
        layout = save_edit(replace(layout, classes=_BACKGROUND) if replaced else layout, store, table)
    store.commit_imports(staging)  # the classes first: no stored mask ever holds an id the table lacks
    return result, layout


def _source_classes(source: Path, fmt: str, doc: dict | None,
                    voc_names: list[str]) -> tuple[list[str], dict[str, tuple[int, int, int]]]:
    """The class names a source uses (COCO categories of ``doc``, labelme labels), in its order ([] for id
    formats), and the colours it gives them (COCO's ``color``, as Maskloop and some tools write it), by folded
    name. (labelme files are read here and again for their masks: holding them all would cost more.)"""
    if fmt == "coco":
        from unet_core.formats.coco import category_name

        assert doc is not None
        cats = sorted((c for c in doc.get("categories", []) if isinstance(c, dict)),
                      key=lambda c: int(c["id"]))
        names, colors = [], {}
        for cat in cats:
            name = category_name(cat)
            if name is None:
                continue  # a category without a name is matched by its id
            names.append(name)
            rgb = cat.get("color")
            if isinstance(rgb, list) and len(rgb) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in rgb):
                colors[name.casefold()] = (rgb[0], rgb[1], rgb[2])
        return names, colors
    if fmt == "labelme":
        from unet_core.formats.labelme import labelme_labels, read_labelme

        labels: dict[str, str] = {}
        for path in _labelme_files(source):
            for label in labelme_labels(read_labelme(path)):
                labels.setdefault(label.casefold(), label)
        return list(labels.values()), {}
    if fmt == "voc":
        return voc_names[1:], {}  # line 0 names the background, whatever it is called
    return [], {}


MAX_NAMES_BYTES = 1 << 20
"""A VOC export's ``class_names.txt`` larger than this is not a list of class names."""


def _voc_names(source: Path) -> list[str]:
    """The names a VOC export gives its ids (``class_names.txt`` beside ``SegmentationClass/``, line i naming id
    i, as labelme2voc and Maskloop write it; labelme's ``__ignore__`` line, when first, names no id), or []."""
    for folder in (source, source.parent):
        path = folder / VOC_NAMES_FILE
        if path.is_file() and (folder == source or source.name == "SegmentationClass"):
            if path.stat().st_size > MAX_NAMES_BYTES:
                raise ValueError(f"{path.name} is {path.stat().st_size} bytes: not a list of class names")
            names = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
            names = names[1:] if names and names[0] == IGNORE_LABEL else names
            if len(names) > MAX_CLASSES or not all(names):
                raise ValueError(f"{path.name} must name at most {MAX_CLASSES} classes, one per line, none blank")
            return names
    return []


def _voc_lut(names: list[str], classes: ClassTable) -> np.ndarray:
    """Source id -> the folder's id, by the names of :func:`_voc_names`: 0 is background and 255 void whatever
    they are called; an id the names file leaves unnamed becomes void (it is not merged into whichever class
    has that id here). Without a names file, ids are kept."""
    lut = np.arange(256, dtype=np.uint8)
    if not names:
        return lut
    ids = {n.strip().casefold(): i for i, n in enumerate(classes.names)}
    lut[len(names) :] = VOID
    for i, name in enumerate(names[1:VOID], 1):
        key = name.casefold()
        lut[i] = 0 if key in BACKGROUND_LABELS else ids.get(key, VOID)
    lut[0], lut[VOID] = 0, VOID
    return lut


def _planned_classes(layout: DatasetLayout, store: ProjectStore, names: list[str],
                     colors: dict[str, tuple[int, int, int]]) -> tuple[ClassTable, list[str], bool]:
    """The class table the import needs (nothing saved yet), the names it adds, and whether it replaces the
    folder's placeholder table: the source's names the folder lacks are appended to an editable folder's table
    (a new folder of images takes the source's classes instead of its placeholder); a folder with fixed
    classes gets a ``ValueError`` naming the missing ones."""
    known = {n.strip().casefold() for n in layout.classes.names}
    wanted = [n.strip() for n in names if n.strip().casefold() not in BACKGROUND_LABELS]
    missing = [n for n in wanted if n.casefold() not in known]
    if not missing:
        return layout.classes, [], False
    if not editable(layout):
        raise ValueError(f"{', '.join(missing)}: not classes of this {layout.kind} folder ({', '.join(layout.classes.names)})")
    replaced = _untouched(layout, store)
    base, added = (_BACKGROUND, wanted) if replaced else (layout.classes, missing)
    used = list(base.colors) + [colors[n.casefold()] for n in added if n.casefold() in colors]
    spare = iter(spare_colors(used, len(added)))
    new = [colors.get(n.casefold()) or next(spare) for n in added]
    return ClassTable(base.names + tuple(added), base.colors + tuple(new)), added, replaced


def _unusable(stem: str, mask: np.ndarray, size_of: Callable[[str], tuple[int, int] | None] | None,
              table: ClassTable) -> str | None:
    """Why a source's mask cannot be stored ("unmatched": no such image, ``size_of`` None), or None."""
    if size_of is None:
        return "unmatched"
    if mask.size == 0:
        return "the image's size cannot be read from its header"
    size = size_of(stem)
    if size is not None and size != mask.shape:
        return f"mask is {mask.shape[1]}x{mask.shape[0]}, image is {size[1]}x{size[0]}"
    top = class_id_max(mask)  # void (255) is kept: an ignore label
    if top >= table.num_classes:
        return f"class id {top} is not one of the {table.num_classes} classes"
    return None


def _untouched(layout: DatasetLayout, store: ProjectStore) -> bool:
    """A folder of images only that nothing has used yet: its placeholder class table, no class table of the
    user's, no mask painted or imported, no model. Its table may then be replaced instead of grown."""
    return (layout.kind == "images" and layout.classes == IMAGES_CLASSES and store.load_classes() is None
            and not store.corrected_stems() and not store.imported_stems() and not store.models())


def _read(source: Path, fmt: str, classes: ClassTable, images: dict[str, Path], doc: dict | None,
          size_of: Callable[[str], tuple[int, int] | None], voc_names: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    """(stem, class-id mask) of every mask in the source (``doc``: a COCO file's content, ``voc_names``: a VOC
    folder's class names, both read already)."""
    if fmt == "coco":
        from unet_core.formats.coco import iter_coco_masks

        assert doc is not None
        for name, mask in iter_coco_masks(doc, classes, keep=lambda n: _stem(n) in images):
            yield _stem(name), mask
        listed = {_stem(str(im.get("file_name", ""))) for im in doc["images"] if isinstance(im, dict)}
        for stem in sorted(listed - set(images)):
            yield stem, np.zeros((0, 0), np.uint8)  # named in the file, not in the folder: reported unmatched
    elif fmt == "labelme":
        from unet_core.formats.labelme import labelme_mask, read_labelme

        for path in _labelme_files(source):
            doc = read_labelme(path)
            stem = _stem(str(doc.get("imagePath") or path.name))
            yield stem, labelme_mask(doc, classes, size_of(stem) if stem in images else None)
    elif fmt == "kaggle-csv":
        yield from _kaggle_rows(source, images, size_of)
    else:
        folder = source / "SegmentationClass" if (source / "SegmentationClass").is_dir() else source
        lut = _voc_lut(voc_names, classes)
        for path in sorted(folder.glob("*.png")):
            yield path.stem, lut[read_mask(path, MaskFormat.INDEX_PNG)]


def _stem(name: str) -> str:
    """The file-name stem an image is matched by (a path's folders, Windows' too, left out)."""
    return Path(name.replace("\\", "/")).stem


def _labelme_files(source: Path) -> list[Path]:
    return [source] if source.is_file() else sorted(source.glob("*.json"))


def _kaggle_rows(source: Path, images: dict[str, Path],
                 size_of: Callable[[str], tuple[int, int] | None]) -> Iterator[tuple[str, np.ndarray]]:
    """Kaggle's ``img,rle_mask`` rows: class 1 where the run lengths say, sized by the image's header."""
    from unet_core.formats.rle import rle_decode

    size = source.stat().st_size
    if size > MAX_CSV_BYTES:
        raise ValueError(f"{size} bytes, more than a run-length CSV is read ({MAX_CSV_BYTES})")
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_BYTES))  # a 1918x1280 mask's row is ~30 kB; noise more
    with source.open(newline="", encoding="utf-8-sig") as f:  # -sig: Excel's byte-order mark
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"img", "rle_mask"} <= set(reader.fieldnames):
            raise ValueError(f"expected the columns img,rle_mask, got {reader.fieldnames}")
        for row in reader:
            stem = _stem(row["img"] or "")
            hw = size_of(stem) if stem in images else None
            if hw is None:  # no such image (the caller reports it as unmatched) or an unreadable header
                yield stem, np.zeros((0, 0), np.uint8)
                continue
            yield stem, rle_decode(row["rle_mask"] or "", hw).astype(np.uint8)


__all__ = ["ImportResult", "detect_import_format", "import_masks"]
