"""Undo for mask edits: a stroke recorder that saves touched tiles, and a patch QUndoCommand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.canvas.painting import Rect, union

PatchListener = Callable[[np.ndarray, Rect], None]
"""Told (array, rect) after a command wrote pixels into ``array``."""


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


class StrokeRecorder:
    """Keeps the original pixels of every tile an edit touches, so the edit becomes one small patch.

    Call :meth:`before_write` with each rectangle before writing it; :meth:`finish` returns the
    patch (old/new cropped to the pixels that really changed) or ``None`` when nothing changed.
    """

    TILE = 64

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask
        self._saved: dict[tuple[int, int], np.ndarray] = {}
        self._bbox: Rect | None = None

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


class PatchCommand(QUndoCommand):
    """One undo step: swaps a patch of a mask array between its old and new pixels.

    The edit is already applied when the command is pushed, so the first ``redo`` does nothing.
    The command keeps the array it edited: undoing writes there even if the canvas now shows
    another mask; ``listener`` decides whether to repaint.
    """

    def __init__(self, mask: np.ndarray, patch: Patch, listener: PatchListener, text: str) -> None:
        super().__init__(text)
        self.mask = mask
        self.patch = patch
        self._listener = listener
        self._applied = True

    def _put(self, block: np.ndarray) -> None:
        x0, y0, x1, y1 = self.patch.rect
        self.mask[y0:y1, x0:x1] = block
        self._listener(self.mask, self.patch.rect)

    def redo(self) -> None:
        """Write the new pixels (skipped on the push, where they are already there)."""
        if self._applied:
            return
        self._applied = True
        self._put(self.patch.new)

    def undo(self) -> None:
        """Write the old pixels back."""
        self._applied = False
        self._put(self.patch.old)
