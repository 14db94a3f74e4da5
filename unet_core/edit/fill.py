"""Flood fill: the 4-connected region of one class at a pixel (also the region click's blob) becomes another class."""

from __future__ import annotations

import cv2
import numpy as np

from unet_core.edit.patches import Patch, PatchRecorder, Rect, WriteHook, write_where
from unet_core.edit.selection import Selection, selection_from


def component_at(mask: np.ndarray, x: int, y: int, blocked: np.ndarray | None = None) -> Selection | None:
    """The 4-connected pixels of the class at (x, y) (not crossing ``blocked`` pixels), valued by that class;
    ``None`` outside the mask."""
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h):
        return None
    src = mask if mask.flags.c_contiguous else np.ascontiguousarray(mask)
    region = np.zeros((h + 2, w + 2), np.uint8)
    if blocked is not None:
        region[1:-1, 1:-1][blocked] = 1
        region[1 + y, 1 + x] = 0
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (2 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(src, region, (int(x), int(y)), 0, 0, 0, flags)
    if rw <= 0 or rh <= 0:
        return None
    sel = region[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw] == 2
    return selection_from(sel, int(mask[y, x]), rx, ry)


def flood_fill(
    mask: np.ndarray, x: int, y: int, value: int, *, before_write: WriteHook | None = None
) -> Rect | None:
    """Set the 4-connected region of the class at (x, y) to ``value``; return the bounding box changed."""
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h) or int(mask[y, x]) == int(value):
        return None
    part = component_at(mask, x, y)
    if part is None:
        return None
    return write_where(mask, part.rect, part.pixels, value, None, before_write)


def fill_region(mask: np.ndarray, x: int, y: int, value: int, *,
                writable: np.ndarray | None = None) -> Patch | None:
    """:func:`flood_fill` in place, returning the undo patch (``None`` if nothing changed)."""
    recorder = PatchRecorder(mask, writable)
    flood_fill(mask, x, y, value, before_write=recorder.before_write)
    return recorder.finish()
