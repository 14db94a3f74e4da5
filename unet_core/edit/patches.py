"""Dirty-rectangle patches: the rect, old and new pixels of one edit, recorded while it is painted."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

Rect = tuple[int, int, int, int]
"""An image rectangle as (x0, y0, x1, y1), end-exclusive."""

WriteHook = Callable[[Rect], None]
"""Called with the rectangle about to be written, before any pixel of it changes."""

CLASS_SLOTS = 256
"""Entries of a writable-classes table: one per uint8 class id."""


def writable_classes(locked: Iterable[int] = (), only: int | None = None) -> np.ndarray | None:
    """The classes an edit may overwrite, as a bool table of :data:`CLASS_SLOTS` entries.

    ``locked`` classes are never overwritten (per-class lock); ``only`` set is the preserve-labels
    mode: an edit changes pixels of that one class (e.g. 0, background) and nothing else. ``None``
    when every class is writable (no table needed).
    """
    table = np.ones(CLASS_SLOTS, dtype=bool)
    if only is not None:
        if not 0 <= int(only) < CLASS_SLOTS:
            raise ValueError(f"class {only} is outside 0..{CLASS_SLOTS - 1}")
        table[:] = False
        table[int(only)] = True
    for c in locked:
        if not 0 <= int(c) < CLASS_SLOTS:
            raise ValueError(f"class {c} is outside 0..{CLASS_SLOTS - 1}")
        table[int(c)] = False
    return None if table.all() else table


def union(a: Rect | None, b: Rect | None) -> Rect | None:
    """Smallest rectangle holding both (``None`` is empty)."""
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def clip(x0: int, y0: int, x1: int, y1: int, shape: tuple[int, ...]) -> Rect | None:
    """The rectangle cut to an array of ``shape`` (``None`` when nothing of it is inside)."""
    h, w = shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    return (x0, y0, x1, y1)


def write_where(
    mask: np.ndarray,
    rect: Rect,
    sel: np.ndarray,
    value: int | None,
    source: np.ndarray | None,
    before_write: WriteHook | None,
) -> Rect | None:
    """Write ``value`` (or ``source``'s pixels) where ``sel`` is set inside ``rect``; return the rect."""
    if not sel.any():
        return None
    if before_write is not None:
        before_write(rect)
    x0, y0, x1, y1 = rect
    sub = mask[y0:y1, x0:x1]
    if source is not None:
        sub[sel] = source[y0:y1, x0:x1][sel]
    else:
        sub[sel] = value
    return rect


@dataclass(frozen=True)
class Patch:
    """The pixels one edit changed: ``old`` and ``new`` uint8 blocks placed at (x, y)."""

    x: int
    y: int
    old: np.ndarray
    new: np.ndarray

    @property
    def rect(self) -> Rect:
        """The patch's image rectangle (x0, y0, x1, y1)."""
        h, w = self.old.shape
        return (self.x, self.y, self.x + w, self.y + h)

    @property
    def nbytes(self) -> int:
        """Memory held by the patch."""
        return int(self.old.nbytes + self.new.nbytes)

    @property
    def changed(self) -> np.ndarray:
        """Boolean block (the patch's shape): the pixels the edit really changed."""
        return self.old != self.new

    def undo(self, mask: np.ndarray) -> Rect:
        """Write the old pixels back into ``mask``; return the rectangle written."""
        x0, y0, x1, y1 = self.rect
        mask[y0:y1, x0:x1] = self.old
        return self.rect

    def redo(self, mask: np.ndarray) -> Rect:
        """Write the new pixels into ``mask``; return the rectangle written."""
        x0, y0, x1, y1 = self.rect
        mask[y0:y1, x0:x1] = self.new
        return self.rect


class PatchRecorder:
    """Keeps the original pixels of every tile an edit touches, so the edit becomes one small patch.

    Call :meth:`before_write` with each rectangle before writing it; :meth:`finish` returns the
    patch (old/new cropped to the pixels that really changed) or ``None`` when nothing changed.
    With ``writable`` (see :func:`writable_classes`), pixels whose original class may not be
    overwritten are put back: by :meth:`settle` after each write of a live stroke, and by :meth:`finish`.
    """

    TILE = 64

    def __init__(self, mask: np.ndarray, writable: np.ndarray | None = None) -> None:
        self.mask = mask
        self.writable = writable
        self._saved: dict[tuple[int, int], np.ndarray] = {}
        self._bbox: Rect | None = None

    def settle(self, rect: Rect | None) -> None:
        """Put back the original pixels of protected classes inside ``rect`` (nothing without a table)."""
        if self.writable is None or rect is None:
            return
        t = self.TILE
        x0, y0, x1, y1 = rect
        for ty in range(y0 // t, (y1 - 1) // t + 1):
            for tx in range(x0 // t, (x1 - 1) // t + 1):
                tile = self._saved.get((tx, ty))
                if tile is None:
                    continue
                ty0, tx0 = ty * t, tx * t
                ay0, ay1 = max(ty0, y0), min(ty0 + tile.shape[0], y1)
                ax0, ax1 = max(tx0, x0), min(tx0 + tile.shape[1], x1)
                orig = tile[ay0 - ty0 : ay1 - ty0, ax0 - tx0 : ax1 - tx0]
                keep = ~self.writable[orig]
                if keep.any():
                    self.mask[ay0:ay1, ax0:ax1][keep] = orig[keep]

    def before_write(self, rect: Rect) -> None:
        """Save the untouched tiles under ``rect`` (image coordinates, end-exclusive)."""
        self._bbox = union(self._bbox, rect)
        t = self.TILE
        h, w = self.mask.shape
        x0, y0, x1, y1 = rect
        for ty in range(y0 // t, (y1 - 1) // t + 1):
            for tx in range(x0 // t, (x1 - 1) // t + 1):
                if (tx, ty) not in self._saved:
                    self._saved[(tx, ty)] = self.mask[
                        ty * t : min(ty * t + t, h), tx * t : min(tx * t + t, w)
                    ].copy()

    def finish(self) -> Patch | None:
        """Build the patch of everything written since construction (``None`` if no pixel changed)."""
        if self._bbox is None:
            return None
        self.settle(self._bbox)
        x0, y0, x1, y1 = self._bbox
        new = self.mask[y0:y1, x0:x1]
        old = new.copy()
        t = self.TILE
        for (tx, ty), tile in self._saved.items():
            tx0, ty0 = tx * t, ty * t
            ax0, ay0 = max(tx0, x0), max(ty0, y0)
            ax1, ay1 = min(tx0 + tile.shape[1], x1), min(ty0 + tile.shape[0], y1)
            if ax0 < ax1 and ay0 < ay1:
                old[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = tile[
                    ay0 - ty0 : ay1 - ty0, ax0 - tx0 : ax1 - tx0
                ]
        self._saved.clear()
        changed = old != new
        rows = np.flatnonzero(changed.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(changed.any(axis=0))
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        return Patch(
            x0 + c0,
            y0 + r0,
            np.ascontiguousarray(old[r0:r1, c0:c1]),
            new[r0:r1, c0:c1].copy(),
        )


def merge_patches(mask: np.ndarray, first: Patch, second: Patch) -> Patch:
    """One patch for two edits made one after the other (``mask`` holds the result of both): undoing it
    restores what was there before ``first``; redoing it writes what is there now. Several clicks on one
    object become one undo step this way."""
    x0, y0, x1, y1 = union(first.rect, second.rect)  # type: ignore[misc]
    new = mask[y0:y1, x0:x1].copy()
    old = new.copy()
    for patch in (second, first):  # undo the later edit first: the earlier one's old pixels win
        px0, py0, px1, py1 = patch.rect
        old[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0] = patch.old
    return Patch(x0, y0, old, new)
