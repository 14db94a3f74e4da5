"""Undo for mask edits: a QUndoCommand around the core's dirty-rectangle patch (unet_core.edit.patches)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtGui import QUndoCommand

from unet_core.edit.patches import Patch, Rect

PatchListener = Callable[[np.ndarray, Rect], None]
"""Told (array, rect) after a command wrote pixels into ``array``."""


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

    def redo(self) -> None:
        """Write the new pixels (skipped on the push, where they are already there)."""
        if self._applied:
            return
        self._applied = True
        self._listener(self.mask, self.patch.redo(self.mask))

    def undo(self) -> None:
        """Write the old pixels back."""
        self._applied = False
        self._listener(self.mask, self.patch.undo(self.mask))
