"""COCO JSON masks: one run-length annotation per class present in an image (COCO's stuff format), and back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


def _segmentation_mask(seg: Any, h: int, w: int) -> np.ndarray:
    """H x W bool of one annotation's ``segmentation``: polygons, uncompressed or compressed run lengths."""
    from pycocotools import mask as coco_mask

    if isinstance(seg, list):  # polygons: [[x0, y0, x1, y1, ...], ...]
        polygons = [p for p in seg if isinstance(p, list) and len(p) >= 6]
        if not polygons:
            return np.zeros((h, w), bool)
        rle = coco_mask.merge(coco_mask.frPyObjects(polygons, h, w))
    elif isinstance(seg, Mapping) and isinstance(seg.get("counts"), list):
        rle = coco_mask.frPyObjects(dict(seg), h, w)
    elif isinstance(seg, Mapping) and isinstance(seg.get("counts"), str):
        rle = {"size": [h, w], "counts": seg["counts"].encode("ascii")}
    else:
        raise ValueError("a segmentation must be polygons or a run-length object")
    if isinstance(seg, Mapping) and list(seg.get("size", [h, w])) != [h, w]:
        raise ValueError(f"a run-length mask of size {seg.get('size')} on a {h}x{w} image")
    return coco_mask.decode(rle).astype(bool)


def coco_masks(doc: Mapping[str, Any], classes: ClassTable) -> dict[str, np.ndarray]:
    """Class-id masks by image file name. A category becomes the class of the same name (case and spaces
    ignored), else of the same id; annotations are painted in file order, so a later one wins where two
    overlap. ``ValueError`` for a category no class matches, a bad size or a bad segmentation."""
    by_name = {n.strip().casefold(): i for i, n in enumerate(classes.names)}
    category: dict[int, int] = {}
    for cat in doc.get("categories", []):
        cid, name = int(cat["id"]), str(cat.get("name", "")).strip().casefold()
        if name in by_name:
            category[cid] = by_name[name]
        elif 0 < cid < classes.num_classes:
            category[cid] = cid
        else:
            raise ValueError(f"category {cid} ({cat.get('name')!r}) matches no class of {list(classes.names)}")
    images: dict[int, tuple[str, int, int]] = {}
    for im in doc["images"]:
        h, w = int(im["height"]), int(im["width"])
        if not (h > 0 and w > 0 and h * w <= MAX_IMAGE_PIXELS):
            raise ValueError(f"image {im.get('file_name')!r} has size {h}x{w}, out of range")
        images[int(im["id"])] = (str(im["file_name"]), h, w)
    masks: dict[str, np.ndarray] = {}
    for ann in doc["annotations"]:
        name, h, w = images[int(ann["image_id"])]
        cls = category.get(int(ann["category_id"]))
        if cls is None:
            raise ValueError(f"annotation {ann.get('id')} has category {ann['category_id']}, not in 'categories'")
        mask = masks.setdefault(name, np.zeros((h, w), np.uint8))
        mask[_segmentation_mask(ann["segmentation"], h, w)] = cls
    for name, h, w in images.values():  # an image without annotations is all background
        masks.setdefault(name, np.zeros((h, w), np.uint8))
    return masks


__all__ = ["MAX_COCO_BYTES", "class_rle", "coco_document", "coco_masks", "read_coco"]
