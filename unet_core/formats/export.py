"""Explicit export of a folder's corrections and/or predictions, in its own format or another tool's."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_core.data.classes import VOID, VOID_COLOR, ClassTable
from unet_core.data.io import MaskFormat, encode_mask, encode_png, read_mask
from unet_core.data.layouts import DatasetLayout, Pair
from unet_core.data.originals import originals_among
from unet_core.errors import DataError
from unet_core.formats import EXPORT_FORMATS, EXPORT_WHAT, VOC_NAMES_FILE
from unet_core.fsutil import atomic_write_bytes, atomic_write_json
from unet_core.loop.truth import project_pairs
from unet_core.store.project import ProjectStore

COCO_FILE = "annotations.json"
KAGGLE_FILE = "masks.csv"
NATIVE_MASKS = {  # mask folder (relative to the export folder), file name, encoding
    "carvana": ("train_masks", "{stem}_mask.gif", MaskFormat.CARVANA_GIF),
    "carla": ("CameraMask", "{stem}.png", MaskFormat.RED_CHANNEL),
    "carla_lyft": ("CameraSeg", "{stem}.png", MaskFormat.RED_CHANNEL),
    "generic": ("masks", "{stem}.png", MaskFormat.INDEX_PNG),
    "images": ("masks", "{stem}.png", MaskFormat.INDEX_PNG),
}


@dataclass
class ExportResult:
    """What an export wrote: ``count`` masks into ``files`` (one per mask, or one file for all)."""

    count: int
    files: list[Path]


def voc_names_text(classes: ClassTable) -> bytes:
    """The class names, one per line in id order (:data:`VOC_NAMES_FILE`)."""
    return ("".join(f"{name}\n" for name in classes.names)).encode("utf-8")


def encode_voc(mask: np.ndarray, classes: ClassTable) -> bytes:
    """A Pascal VOC mask: a palette PNG whose indices are the class ids, coloured with the class table, and
    index 255 (void) in VOC's colour."""
    return encode_mask(mask, MaskFormat.INDEX_PNG, classes)  # the index PNG with the class palette is VOC's


def encode_color(mask: np.ndarray, classes: ClassTable) -> bytes:
    """An RGB PNG in which each pixel has its class's colour (for looking at, not for reading back ids)."""
    lut = np.zeros((256, 3), np.uint8)
    lut[: classes.num_classes] = classes.lut()
    lut[VOID] = VOID_COLOR
    return encode_png(lut[mask])


def chosen_masks(layout: DatasetLayout, store: ProjectStore, pairs: Sequence[Pair], what: str,
                 stems: Collection[str] | None = None) -> list[tuple[str, Callable[[], np.ndarray | None]]]:
    """(stem, a loader of its mask) for the folder's ``pairs`` (:func:`unet_core.loop.truth.project_pairs`; those in
    ``stems``, None: all) that have one, in order: ``corrections``; the current model's cached ``predictions``; or ``all``, what each image shows in
    the app (its correction, else its own mask: imported, else the dataset's; else the prediction).
    ``DataError`` when predictions alone are asked for and there is no model (said before anything is read)."""
    if what not in EXPORT_WHAT:
        raise ValueError(f"--what must be one of {', '.join(EXPORT_WHAT)}, got {what!r}")
    version = store.current_model()
    corrected = set(store.corrected_stems()) if what != "predictions" else set()
    if what == "predictions" and version is None:
        raise DataError("no model in the project store, so no predictions to export: train or open one first",
                        store.root)

    def prediction(stem: str) -> np.ndarray | None:
        assert version is not None
        cached = store.load_prediction(stem, version.id)
        return cached[0] if cached is not None else None

    chosen: list[tuple[str, Callable[[], np.ndarray | None]]] = []
    for pair in pairs:
        stem = pair.stem
        if stems is not None and stem not in stems:
            continue
        if stem in corrected:
            chosen.append((stem, lambda s=stem: store.load_mask(s)))
        elif what == "all" and pair.mask is not None:
            chosen.append((stem, lambda p=pair: read_mask(p.mask, p.mask_format or layout.mask_format)))
        elif what != "corrections" and version is not None and store.has_prediction(stem, version.id):
            chosen.append((stem, lambda s=stem: prediction(s)))
    return chosen


def export_masks(layout: DatasetLayout, store: ProjectStore, out: Path, fmt: str, what: str = "corrections",
                 classes: ClassTable | None = None, replace_originals: Collection[Path] = (),
                 stems: Collection[str] | None = None,
                 progress: Callable[[int], None] | None = None) -> ExportResult:
    """Write the chosen masks (:func:`chosen_masks`) of ``layout``'s images into the folder ``out``.

    ``native``: the dataset's own folder structure and encoding (``train_masks/<stem>_mask.gif`` for
    Carvana, ``CameraMask/<stem>.png`` for CARLA, ``masks/<stem>.png`` otherwise); ``index``: ``<stem>.png``
    of class ids; ``color``: ``<stem>.png`` in the class colours; ``voc``: ``SegmentationClass/<stem>.png``,
    palette PNGs (255 = void), with the names in ``class_names.txt``; ``coco``: one ``annotations.json``
    (run-length masks); ``labelme``: ``<stem>.json`` polygons that name the image (put them beside the images); ``kaggle-csv``: one
    ``masks.csv`` (``img,rle_mask``, Kaggle's run-length encoding of class 1; two-class folders only).
    Every file is written atomically. ``DataError`` (nothing written) for an export into the store, or one that
    would replace any of the dataset's own files (:func:`export_originals`) but those in ``replace_originals``
    (the caller asked the user and backed them up). ``stems``: only these images (those the caller checked).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    classes = classes or layout.classes
    if fmt == "kaggle-csv" and classes.num_classes != 2:
        raise DataError(f"kaggle-csv holds one foreground class; this folder has {classes.num_classes} classes "
                        "(use coco, voc or index)", layout.root)
    out = Path(out).expanduser().absolute()
    if out.resolve() == store.root.resolve() or store.root.resolve() in out.resolve().parents:
        raise DataError("cannot export into the project store itself; pick another folder", out)
    if layout.kind == "images":
        if fmt == "native":
            raise DataError("a folder of images only has no mask format of its own: export as index, voc, coco "
                            "or labelme", layout.root)
        inside = layout.image_dir.resolve()
        if out.resolve() == inside or inside in out.resolve().parents:  # its files would be taken for images
            raise DataError("cannot export into the folder of images itself; pick another folder", out)
    pairs, _ = project_pairs(layout, store)  # one scan of the folder for all that follows
    names = {p.stem: p.image.name for p in pairs}
    chosen = chosen_masks(layout, store, pairs, what, stems)
    targets = export_targets(layout, out, fmt, [stem for stem, _ in chosen])
    allowed = {Path(p).resolve() for p in replace_originals}
    images = [p.image for p in pairs]
    originals = [p for p in export_originals(layout, targets.values(), images) if p.resolve() not in allowed]
    if originals:
        raise DataError(f"the export would replace {len(originals)} of the dataset's own files (e.g. "
                        f"{originals[0].name}): export to another folder", out)
    names_file = out / VOC_NAMES_FILE
    if fmt == "voc" and names_file.is_file() and names_file.read_bytes() != voc_names_text(classes):
        raise DataError(f"{VOC_NAMES_FILE} there names other classes (a VOC dataset's own?): export to another "
                        "folder", out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the export folder ({exc.strerror or exc})", out) from None
    masks = ((stem, mask) for stem, load in chosen if (mask := load()) is not None)  # gone meanwhile: left out
    if fmt in ("coco", "kaggle-csv"):
        collected = [(names[stem], mask) for stem, mask in masks]
        target = out / (COCO_FILE if fmt == "coco" else KAGGLE_FILE)
        if fmt == "coco":
            from unet_core.formats.coco import coco_document

            atomic_write_json(target, coco_document(collected, classes))
        else:
            atomic_write_bytes(target, kaggle_csv(collected))
        return ExportResult(len(collected), [target])
    written: list[Path] = []
    if fmt == "voc":  # VOC's masks hold ids only: the names go beside them, as labelme2voc writes them
        atomic_write_bytes(out / VOC_NAMES_FILE, voc_names_text(classes))
        written.append(out / VOC_NAMES_FILE)
    encode = _encoder(layout, fmt, classes, names)
    count = 0
    for stem, mask in masks:
        path = targets[stem]
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, encode(stem, mask))
        written.append(path)
        count += 1
        if progress is not None:
            progress(count)
    return ExportResult(count, written)


def export_originals(layout: DatasetLayout, targets: Iterable[Path], images: Iterable[Path]) -> list[Path]:
    """The existing files among ``targets`` that are the dataset's own: in a layout's image or mask folder
    (:func:`unet_core.data.originals.originals_among`), any of its ``images``, or anything in the folder of an
    images-only layout (its photos, and the labelme files a user keeps beside them)."""
    targets = [Path(t) for t in targets]
    found = originals_among(targets, inputs=images)
    own = {layout.image_dir.resolve()} if layout.kind == "images" else set()
    seen = {p.resolve() for p in found}
    for t in targets:
        if t.exists() and t.resolve().parent in own and t.resolve() not in seen:
            found.append(t)
            seen.add(t.resolve())
    return found


def export_targets(layout: DatasetLayout, out: Path, fmt: str, stems: Sequence[str]) -> dict[str, Path]:
    """Where each stem's mask goes (one-file formats: every stem to that file)."""
    if fmt == "coco":
        return {s: out / COCO_FILE for s in stems}
    if fmt == "kaggle-csv":
        return {s: out / KAGGLE_FILE for s in stems}
    if fmt == "native":
        folder, pattern, _ = NATIVE_MASKS[layout.kind]
        return {s: out / folder / pattern.format(stem=s) for s in stems}
    if fmt == "voc":
        return {s: out / "SegmentationClass" / f"{s}.png" for s in stems}
    if fmt == "labelme":
        return {s: out / f"{s}.json" for s in stems}
    return {s: out / f"{s}.png" for s in stems}


def _encoder(layout: DatasetLayout, fmt: str, classes: ClassTable,
             names: dict[str, str]) -> Callable[[str, np.ndarray], bytes]:
    """(stem, mask) -> the file's bytes, for the formats written one file per image."""
    if fmt == "native":
        encoding = NATIVE_MASKS[layout.kind][2]
        if encoding is MaskFormat.CARVANA_GIF:  # {0, 1} only: void is written as background
            return lambda _s, m: encode_mask(np.where(m == VOID, np.uint8(0), m), encoding)
        return lambda _s, m: encode_mask(m, encoding, classes if encoding is MaskFormat.INDEX_PNG else None)
    if fmt == "voc":
        return lambda _s, m: encode_voc(m, classes)
    if fmt == "color":
        return lambda _s, m: encode_color(m, classes)
    if fmt == "labelme":
        from unet_core.formats.labelme import labelme_document

        return lambda s, m: json.dumps(labelme_document(names[s], m, classes), indent=1).encode("utf-8")
    return lambda _s, m: encode_mask(m, MaskFormat.INDEX_PNG)  # index: an 8-bit grey PNG of the ids


def kaggle_csv(items: Sequence[tuple[str, np.ndarray]]) -> bytes:
    """Kaggle's submission CSV: ``img,rle_mask`` rows, the run-length encoding of class 1 per image."""
    from unet_core.formats.rle import rle_encode

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["img", "rle_mask"])
    for name, mask in items:
        writer.writerow([name, rle_encode(mask == 1)])
    return buf.getvalue().encode("utf-8")


__all__ = ["COCO_FILE", "EXPORT_FORMATS", "EXPORT_WHAT", "KAGGLE_FILE", "NATIVE_MASKS", "VOC_NAMES_FILE", "ExportResult",
           "chosen_masks", "encode_color", "encode_voc", "export_masks", "export_originals", "export_targets",
           "kaggle_csv", "voc_names_text"]
