"""labelme JSON: a mask as polygons (drawn in order, later over earlier, as labelme does), and back."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from unet_core.data.classes import VOID, ClassTable
from unet_core.formats.jsonfile import read_json
from unet_core.limits import MAX_IMAGE_PIXELS

LABELME_VERSION = "5.5.0"
MAX_LABELME_BYTES = 256 << 20
"""A labelme file larger than this is refused before it is read (they embed the image at most)."""
BACKGROUND_LABELS = frozenset({"_background_", "background"})
IGNORE_LABEL = "__ignore__"
"""labelme's label for pixels to leave out (labelme2voc writes them as 255): the ignore label, :data:`VOID`."""


def labelme_shapes(mask: np.ndarray, classes: ClassTable, passes: int = 4) -> list[dict[str, Any]]:
    """Polygons that redraw ``mask`` when filled in order with their outlines, as labelme (and PIL) fill them.

    Each 4-connected region of a class is the polygon through its outer boundary pixels, drawn largest first,
    so a region inside another's hole (a class-0 hole too, labelled with class 0's name) comes after it. A
    polygon through pixel centres cannot leave out a one-pixel notch, so the result is drawn, compared, and
    the pixels still wrong get polygons of their own, drawn last (``passes`` rounds; exact in practice).
    """
    names = [classes.names[c] if c < classes.num_classes else str(c) for c in range(int(mask.max(initial=0)) + 1)]
    if len(names) > VOID:
        names[VOID] = IGNORE_LABEL
    shapes = _region_shapes(mask, np.ones(mask.shape, bool), names, skip_open_background=True)
    h, w = mask.shape
    for _ in range(passes):
        drawn = _raster(shapes, {n.strip().casefold(): i for i, n in enumerate(names)}, (h, w))
        wrong = drawn != mask
        if not wrong.any():
            break
        shapes += _region_shapes(mask, wrong, names, skip_open_background=False)
    return shapes


def _region_shapes(mask: np.ndarray, where: np.ndarray, names: list[str],
                   skip_open_background: bool) -> list[dict[str, Any]]:
    """Outer-boundary polygons of the 4-connected regions of each class within ``where``, largest first."""
    found: list[tuple[int, int, dict[str, Any]]] = []
    h, w = mask.shape
    for cls in np.unique(mask[where]).tolist():
        binary = ((mask == cls) & where).view(np.uint8)
        count, parts, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=4)
        for i in range(1, count):
            x, y, bw, bh = (int(v) for v in stats[i, :4])
            if skip_open_background and cls == 0 and (x == 0 or y == 0 or x + bw == w or y + bh == h):
                continue  # background reaching the image's edge: what every pixel starts as
            part = (parts[y : y + bh, x : x + bw] == i).view(np.uint8)
            contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(x, y))
            outline = max(contours, key=cv2.contourArea)
            filled = cv2.contourArea(outline) + cv2.arcLength(outline, True)  # the region with its holes
            points = [[float(p[0][0]), float(p[0][1])] for p in outline]
            if len(points) < 3:  # a pixel or a straight run: a polygon of its corners drawn on the line
                points = (points * 3)[:3]
            found.append((-round(filled * 8), len(found), {
                "label": names[cls], "points": points, "group_id": None, "description": "",
                "shape_type": "polygon", "flags": {}}))
    return [s for *_, s in sorted(found, key=lambda t: (t[0], t[1]))]


def _raster(shapes: list[dict[str, Any]], by_name: Mapping[str, int], shape_hw: tuple[int, int]) -> np.ndarray:
    """``shapes`` filled in order, as :func:`labelme_mask` reads them."""
    canvas = Image.new("L", (shape_hw[1], shape_hw[0]), 0)
    draw = ImageDraw.Draw(canvas)
    for shape in shapes:
        _draw(draw, canvas, shape, by_name[str(shape["label"]).strip().casefold()])
    return np.asarray(canvas, np.uint8)


def labelme_document(image_name: str, mask: np.ndarray, classes: ClassTable) -> dict[str, Any]:
    """A labelme file's content for one image (``imagePath`` is the image's name: put the file beside it)."""
    h, w = mask.shape
    return {"version": LABELME_VERSION, "flags": {}, "shapes": labelme_shapes(mask, classes), "imagePath": image_name,
            "imageData": None, "imageHeight": int(h), "imageWidth": int(w)}


def read_labelme(path: Path) -> dict[str, Any]:
    """The decoded JSON of a labelme file; ``ValueError`` for one too large, unreadable or without shapes."""
    doc = read_json(path, MAX_LABELME_BYTES, "labelme")
    if not isinstance(doc, Mapping) or not isinstance(doc.get("shapes"), list):
        raise ValueError(f"{path}: not a labelme file (no 'shapes' list)")
    if not all(isinstance(shape, Mapping) for shape in doc["shapes"]):
        raise ValueError(f"{path}: a shape is not an object")
    return dict(doc)


def labelme_labels(doc: Mapping[str, Any]) -> list[str]:
    """The labels a labelme file uses, in first-use order, each once whatever its case (background left out)."""
    seen: dict[str, str] = {}  # one label however it is cased, as classes match
    for shape in doc["shapes"]:
        label = str(shape.get("label", "")).strip()
        if label and label.casefold() not in BACKGROUND_LABELS and label != IGNORE_LABEL:
            seen.setdefault(label.casefold(), label)
    return list(seen.values())


def labelme_mask(doc: Mapping[str, Any], classes: ClassTable, shape_hw: tuple[int, int] | None = None) -> np.ndarray:
    """The class-id mask of a labelme file: shapes filled in order (polygon, rectangle, circle, line, linestrip,
    mask), each label the class of that name (case and spaces ignored; ``_background_`` is class 0,
    ``__ignore__`` the ignore label).
    ``ValueError`` for a label no class has or a size out of range."""
    h = int(doc.get("imageHeight") or (shape_hw[0] if shape_hw else 0))
    w = int(doc.get("imageWidth") or (shape_hw[1] if shape_hw else 0))
    if not (h > 0 and w > 0 and h * w <= MAX_IMAGE_PIXELS):
        raise ValueError(f"image size {h}x{w} is out of range")
    by_name = {n.strip().casefold(): i for i, n in enumerate(classes.names)} | {IGNORE_LABEL: VOID}
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for shape in doc["shapes"]:
        if not isinstance(shape, Mapping):
            raise ValueError("a shape is not an object")
        label = str(shape.get("label", "")).strip().casefold()
        cls = 0 if label in BACKGROUND_LABELS else by_name.get(label)
        if cls is None:
            raise ValueError(f"label {shape.get('label')!r} is not a class of {list(classes.names)}")
        _draw(draw, canvas, shape, cls)
    return np.asarray(canvas, np.uint8).copy()


def _draw(draw: ImageDraw.ImageDraw, canvas: Image.Image, shape: Mapping[str, Any], cls: int) -> None:
    """Fill one shape as labelme's ``shape_to_mask`` does (lines 10 px wide, points disks of radius 5)."""
    kind = shape.get("shape_type") or "polygon"
    points = [(float(x), float(y)) for x, y in shape.get("points", [])]
    w, h = canvas.size
    if kind == "polygon" and len(points) >= 3:
        draw.polygon(points, fill=cls, outline=cls)
        draw.line(points + points[:1], fill=cls, width=1)  # a degenerate polygon (a run of pixels) still marks them
    elif kind == "rectangle" and len(points) == 2:
        (x0, y0), (x1, y1) = points
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], fill=cls, outline=cls)
    elif kind == "circle" and len(points) == 2:
        (cx, cy), (px, py) = points
        r = min(((px - cx) ** 2 + (py - cy) ** 2) ** 0.5, float(w + h))  # larger covers the image anyway
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=cls, outline=cls)
    elif kind in ("line", "linestrip") and len(points) >= 2:
        draw.line(points, fill=cls, width=10)
    elif kind == "point" and len(points) == 1:
        (cx, cy), r = points[0], 5.0
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=cls, outline=cls)
    elif kind == "mask" and shape.get("mask") and len(points) == 2:
        raw = base64.b64decode(shape["mask"])
        with Image.open(io.BytesIO(raw)) as im:
            if im.width * im.height > w * h:  # checked before it is decoded: it lies inside the image
                raise ValueError(f"a mask shape of {im.width}x{im.height} on a {w}x{h} image")
            part = np.asarray(im.convert("1"))
        x0, y0 = (round(v) for v in points[0])
        stamp = Image.fromarray(np.where(part, cls, 0).astype(np.uint8))
        canvas.paste(stamp, (x0, y0), Image.fromarray(part.astype(np.uint8) * 255))
    # shapes too short to draw mark nothing


__all__ = ["LABELME_VERSION", "MAX_LABELME_BYTES", "labelme_document", "labelme_labels", "labelme_mask",
           "labelme_shapes", "read_labelme"]
