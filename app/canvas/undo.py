"""Undo for mask edits: a QUndoCommand around the core's dirty-rectangle patch (unet_core.edit.patches)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtGui import QUndoCommand

from unet_core.edit.patches import Patch, Rect, merge_patches

PatchListener = Callable[[np.ndarray, Rect], None]
"""Told (array, rect) after a command wrote pixels into ``array``."""


class PatchCommand(QUndoCommand):
    """One undo step: swaps a patch of a mask array between its old and new pixels.

    The edit is already applied when the command is pushed, so the first ``redo`` does nothing.
    The command keeps the array it edited: undoing writes there even if the canvas now shows
    another mask; ``listener`` decides whether to repaint.
    """

    GROUP_ID = 0x636C6B  # id() of commands that belong to a group (Qt merges a push into the top command)

    def __init__(self, mask: np.ndarray, patch: Patch, listener: PatchListener, text: str,
                 group: int | None = None) -> None:
        super().__init__(text)
        self.mask = mask
        self.patch = patch
        self._listener = listener
        self._applied = True
        self.group = group  # edits of one group (the clicks on one object) become one undo step

    def id(self) -> int:
        """Grouped commands share an id, so QUndoStack asks the top one to merge the next."""
        return self.GROUP_ID if self.group is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Take in the next edit of the same group on the same mask (its pixels are already written)."""
        if not isinstance(other, PatchCommand) or other.group != self.group or other.mask is not self.mask \
                or not self._applied:
            return False
        self.patch = merge_patches(self.mask, self.patch, other.patch)
        return True

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
