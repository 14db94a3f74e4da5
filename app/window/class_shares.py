"""Fills the Classes panel's Share column from the shown mask, coalesced to a few updates a second."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QTimer

from app.canvas import CanvasView
from app.panels.classes_panel import ClassesPanel

INTERVAL_MS = 250  # while painting, the shares follow at most four times a second


class ClassShares(QObject):
    """Counts the pixels of each class in the canvas's mask (one histogram) and shows their shares.

    :meth:`schedule` after an edit (coalesced), ``schedule(now=True)`` when another mask is shown;
    ``applies()`` says whether the shown mask holds class ids (not the difference view).
    """

    def __init__(self, canvas: CanvasView, panel: ClassesPanel, applies: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas, self.panel, self.applies = canvas, panel, applies
        self._timer = QTimer(self, singleShot=True, interval=INTERVAL_MS)
        self._timer.timeout.connect(self.update)

    def schedule(self, now: bool = False) -> None:
        """Update soon (edits) or at the next event-loop turn (a new mask)."""
        if now:
            self._timer.start(0)
        elif not self._timer.isActive():
            self._timer.start()

    def update(self) -> None:
        """Recount now."""
        mask = self.canvas.mask()
        if mask is None or not self.applies():
            self.panel.set_pixel_counts(None)
            return
        # calcHist counts uint8 ids exactly, ~4x faster than np.bincount (which widens every pixel to int64)
        hist = cv2.calcHist([np.ascontiguousarray(mask)], [0], None, [256], [0, 256]).ravel()
        counts = hist[: max(self.panel.class_count(), int(np.flatnonzero(hist).max(initial=0)) + 1)]
        self.panel.set_pixel_counts([int(c) for c in counts])
