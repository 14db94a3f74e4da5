"""COCO JSON masks: one run-length annotation per class present in an image (COCO's stuff format), and back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from unet_core.data.classes import ClassTable
from unet_core.formats.jsonfile import read_json
from unet_core.limits import MAX_IMAGE_PIXELS

MAX_COCO_BYTES = 2 << 30
"""A COCO file larger than this is refused before it is read (COCO 2017's train instances are 450 MB)."""


def class_rle(binary: np.ndarray) -> dict[str, Any]:
    """COCO's compressed run-length form of one H x W bool mask (``counts`` as text, JSON-ready)."""
    from pycocotools import mask as coco_mask

    rle = coco_mask.encode(np.asfortranarray(binary.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def coco_document(items: Iterable[tuple[str, np.ndarray]], classes: ClassTable) -> dict[str, Any]:
    """A COCO dict for ``(image file name, class-id mask)`` pairs: every class but the background (id 0) is a
    category of the same id; each class present in an image is one annotation (run-length, ``iscrowd`` 0)."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, (name, mask) in enumerate(items, 1):
        h, w = mask.shape
        images.append({"id": image_id, "file_name": name, "height": int(h), "width": int(w)})
        for cls in np.unique(mask).tolist():
            if cls == 0 or cls >= classes.num_classes:
                continue
            binary = mask == cls
            ys, xs = np.nonzero(binary.any(1))[0], np.nonzero(binary.any(0))[0]
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": int(cls),
                "segmentation": class_rle(binary), "area": int(binary.sum()),
                "bbox": [int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)], "iscrowd": 0,
            })
    categories = [{"id": i, "name": name, "color": list(classes.colors[i])}
                  for i, name in enumerate(classes.names) if i > 0]
    return {"info": {"description": "exported by Maskloop"}, "images": images, "annotations": annotations,
            "categories": categories}


def read_coco(path: Path) -> dict[str, Any]:
    """The decoded JSON of a COCO file; ``ValueError`` for one too large, unreadable or not COCO-shaped."""
    doc = read_json(path, MAX_COCO_BYTES, "COCO")
    if not isinstance(doc, Mapping) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("annotations"), list):
        raise ValueError(f"{path}: not a COCO file (no 'images' and 'annotations' lists)")
    return dict(doc)


MAX_POLYGON_POINTS = 1_000_000
"""Vertices one annotation's polygons may have in all (a traced outline of a 80-megapixel image has far fewer)."""


def _segmentation_mask(seg: Any, h: int, w: int) -> np.ndarray:
    """H x W bool of one annotation's ``segmentation``: polygons (coordinates clipped to just outside the image,
    so a coordinate cannot size pycocotools' work), uncompressed or compressed run lengths (their size must be
    the image's). ``ValueError`` saying what is wrong with it."""
    from pycocotools import mask as coco_mask

    if isinstance(seg, list):  # polygons: [[x0, y0, x1, y1, ...], ...]
        polygons = [p for p in seg if isinstance(p, list) and len(p) >= 6]
        if not polygons:
            return np.zeros((h, w), bool)
        if sum(len(p) for p in polygons) > 2 * MAX_POLYGON_POINTS:
            raise ValueError(f"polygons of more than {MAX_POLYGON_POINTS} points")
        try:
            points = [np.asarray(p, np.float64).reshape(-1, 2) for p in polygons]
        except (TypeError, ValueError):
            raise ValueError("polygon coordinates must be numbers") from None
        clipped = [np.clip(np.nan_to_num(q), [-1.0, -1.0], [w + 1.0, h + 1.0]).ravel().tolist() for q in points]
        rle = _coco(lambda: coco_mask.merge(coco_mask.frPyObjects(clipped, h, w)))
    elif isinstance(seg, Mapping) and isinstance(seg.get("counts"), list):
        counts = seg["counts"]
        if not all(isinstance(c, int) and c >= 0 for c in counts) or sum(counts) > h * w:
            raise ValueError("run-length counts must be whole numbers >= 0 adding up to at most the image's pixels")
        _same_size(seg, h, w)
        rle = _coco(lambda: coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w))
    elif isinstance(seg, Mapping) and isinstance(seg.get("counts"), str):
        _same_size(seg, h, w)
        rle = {"size": [h, w], "counts": seg["counts"].encode("ascii", "replace")}
    else:
        raise ValueError("a segmentation must be polygons or a run-length object")
    return _coco(lambda: coco_mask.decode(rle)).astype(bool)


def _same_size(seg: Mapping[str, Any], h: int, w: int) -> None:
    if "size" in seg and list(seg["size"]) != [h, w]:
        raise ValueError(f"a run-length mask of size {seg.get('size')} on a {h}x{w} image")


def _coco(call: Any) -> Any:
    """A pycocotools call whose own errors (it raises bare Exceptions) become ``ValueError``."""
    try:
        return call()
    except Exception as exc:  # pycocotools raises Exception itself
        raise ValueError(f"pycocotools: {exc}") from None


def category_name(cat: Mapping[str, Any]) -> str | None:
    """A category's name as the import matches it (stripped), or None when it has none (then its id counts)."""
    name = str(cat.get("name") or "").strip()
    return name or None


def iter_coco_masks(doc: Mapping[str, Any], classes: ClassTable,
                    keep: Callable[[str], bool] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """(image file name, class-id mask) of each image that has annotations and passes ``keep``, one at a time.

    A category becomes the class of the same name (case and spaces ignored), else (a category without a name)
    of the same id; annotations are painted in file order, so a later one wins where two overlap. Images the
    file lists without annotations are not yielded: a partial export says nothing about them. ``ValueError``
    for a category no class matches, a file name given twice, a bad size or a bad segmentation."""
    by_name = {n.strip().casefold(): i for i, n in enumerate(classes.names)}
    category: dict[int, int] = {}
    for cat in doc.get("categories", []):
        if not isinstance(cat, Mapping):
            raise ValueError("a category is not an object")
        cid, name = int(cat["id"]), category_name(cat)
        if name is not None and name.casefold() in by_name:
            category[cid] = by_name[name.casefold()]
        elif name is None and 0 < cid < classes.num_classes:
            category[cid] = cid
        else:
            raise ValueError(f"category {cid} ({cat.get('name')!r}) matches no class of {list(classes.names)}")
    images: dict[int, tuple[str, int, int]] = {}
    names: set[str] = set()
    for im in doc["images"]:
        if not isinstance(im, Mapping):
            raise ValueError("an image entry is not an object")
        h, w, name = int(im["height"]), int(im["width"]), str(im["file_name"])
        if not (h > 0 and w > 0 and h * w <= MAX_IMAGE_PIXELS):
            raise ValueError(f"image {name!r} has size {h}x{w}, out of range")
        if name in names:
            raise ValueError(f"image {name!r} is listed twice")
        names.add(name)
        images[int(im["id"])] = (name, h, w)
    by_image: dict[int, list[Mapping[str, Any]]] = {}
    for ann in doc["annotations"]:
        if not isinstance(ann, Mapping):
            raise ValueError("an annotation is not an object")
        image_id = int(ann["image_id"])
        if image_id not in images:
            raise ValueError(f"annotation {ann.get('id')} is on image {image_id}, not in 'images'")
        if keep is None or keep(images[image_id][0]):
            by_image.setdefault(image_id, []).append(ann)
    for image_id, anns in by_image.items():
        name, h, w = images[image_id]
        mask = np.zeros((h, w), np.uint8)
        for ann in anns:
            cls = category.get(int(ann["category_id"]))
            if cls is None:
                raise ValueError(f"annotation {ann.get('id')} has category {ann['category_id']}, not in 'categories'")
            mask[_segmentation_mask(ann["segmentation"], h, w)] = cls
        yield name, mask


def coco_masks(doc: Mapping[str, Any], classes: ClassTable) -> dict[str, np.ndarray]:
    """:func:`iter_coco_masks` of every annotated image, by file name (for small files)."""
    return dict(iter_coco_masks(doc, classes))


__all__ = ["MAX_COCO_BYTES", "MAX_POLYGON_POINTS", "category_name", "class_rle", "coco_document", "coco_masks",
           "iter_coco_masks", "read_coco"]
