"""Selections: the pixels a smart tool proposes to change and the classes they get, previewed then applied."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unet_core.edit.patches import Patch, PatchRecorder, Rect


@dataclass(frozen=True)
class Selection:
    """A proposed edit: ``pixels`` (bool, the shape of ``rect``) get ``value`` (one class, or a uint8 block)."""

    rect: Rect
    pixels: np.ndarray
    value: int | np.ndarray

    @property
    def area(self) -> int:
        """How many pixels the selection holds."""
        return int(np.count_nonzero(self.pixels))

    def values(self) -> np.ndarray:
        """The class each selected pixel gets, as a uint8 block of the rect's shape."""
        if isinstance(self.value, np.ndarray):
            return self.value
        return np.full(self.pixels.shape, int(self.value), np.uint8)

    def full(self, shape_hw: tuple[int, int]) -> np.ndarray:
        """The selection as a bool image of ``shape_hw`` (for tests and whole-image previews)."""
        out = np.zeros(shape_hw, dtype=bool)
        x0, y0, x1, y1 = self.rect
        out[y0:y1, x0:x1] = self.pixels
        return out


def selection_from(pixels: np.ndarray, value: int | np.ndarray, x0: int = 0, y0: int = 0) -> Selection | None:
    """The selection of the set pixels of ``pixels`` (placed at x0, y0), cropped to their bounding box;
    ``None`` when none is set. A ``value`` block must have the shape of ``pixels``."""
    _check_values(value)
    rows = np.flatnonzero(pixels.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(pixels.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    block = np.ascontiguousarray(pixels[r0:r1, c0:c1], dtype=bool)
    if isinstance(value, np.ndarray):
        if value.shape != pixels.shape:
            raise ValueError(f"values are {value.shape}, pixels are {pixels.shape}")
        value = np.ascontiguousarray(value[r0:r1, c0:c1], dtype=np.uint8)
    return Selection((x0 + c0, y0 + r0, x0 + c1, y0 + r1), block, value)


def _check_values(value: int | np.ndarray) -> None:
    """Class ids must fit a uint8 mask (a larger one would wrap around silently)."""
    if isinstance(value, np.ndarray):
        if value.size and (int(value.min()) < 0 or int(value.max()) > 255):
            raise ValueError(f"class ids must lie in 0..255, got {int(value.min())}..{int(value.max())}")
    elif not 0 <= int(value) <= 255:
        raise ValueError(f"class id must lie in 0..255, got {value}")


def writable_part(mask: np.ndarray, sel: Selection | None, writable: np.ndarray | None) -> Selection | None:
    """The part of ``sel`` that :func:`apply_selection` with ``writable`` would write: its pixels whose class in
    ``mask`` may change (what a preview shows); ``None`` when nothing is left."""
    if sel is None or writable is None:
        return sel
    x0, y0, x1, y1 = sel.rect
    pixels = sel.pixels & writable[mask[y0:y1, x0:x1]]
    return selection_from(pixels, sel.value, x0, y0) if pixels.any() else None


def apply_selection(mask: np.ndarray, sel: Selection, *, writable: np.ndarray | None = None) -> Patch | None:
    """Write ``sel`` into ``mask`` in place as one undo patch (``None`` when no pixel changed).

    ``writable`` (:func:`unet_core.edit.patches.writable_classes`) keeps protected classes as they were.
    """
    _check_values(sel.value)
    x0, y0, x1, y1 = sel.rect
    h, w = mask.shape
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h) or sel.pixels.shape != (y1 - y0, x1 - x0):
        raise ValueError(f"selection {sel.rect} does not fit a {w}x{h} mask")
    recorder = PatchRecorder(mask, writable)
    recorder.before_write(sel.rect)
    sub = mask[y0:y1, x0:x1]
    sub[sel.pixels] = sel.values()[sel.pixels]
    return recorder.finish()
