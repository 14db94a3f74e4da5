"""The canvas tools' state: which edit (unet_core.edit) runs on the shown mask, each pushed as one undo step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtGui import QUndoStack

from app.canvas.undo import PatchCommand
from unet_core.edit import brush, fill, polygon, replace
from unet_core.edit.patches import Patch, PatchRecorder, Rect
from unet_core.edit.selection import Selection, apply_selection

SMART_TOOLS: tuple[str, ...] = ("wand", "snap", "region", "scissors", "superpixel", "cleanup", "refine", "edge", "click")
TOOLS: tuple[str, ...] = ("brush", "eraser", "fill", "polygon", "revert", "pan", *SMART_TOOLS)
ROUND_TOOLS: frozenset[str] = frozenset({"brush", "eraser", "revert"})
SIZED_TOOLS: frozenset[str] = ROUND_TOOLS | {"snap", "superpixel", "edge"}  # the brush outline shows their radius
PAINT_TOOLS: frozenset[str] = frozenset({"brush", "eraser", "fill", "polygon", "revert", *SMART_TOOLS})
MAX_RADIUS = 500
UNDO_LIMIT = 200

_TEXTS = {
    "brush": "Brush stroke",
    "eraser": "Erase",
    "revert": "Revert to prediction",
    "fill": "Fill",
    "polygon": "Polygon fill",
    "wand": "Magic wand",
    "snap": "Snapping stroke",
    "region": "Region click",
    "scissors": "Scissors fill",
    "superpixel": "Superpixel stroke",
    "cleanup": "Clean up holes and specks",
    "refine": "Refine edges",
    "edge": "Edge-aware stroke",
    "click": "Clicks",
}

DirtyListener = Callable[[np.ndarray, Rect], None]
"""Told (array, rect) after pixels of ``array`` inside ``rect`` changed."""


class MaskEditor:
    """Applies tool operations to one mask array in place and pushes each edit as ONE undo command.

    Brush/eraser/revert work as strokes: :meth:`begin_stroke`, any number of :meth:`stroke_to`,
    :meth:`end_stroke`. Fill and polygon are single calls. ``on_dirty`` is called after every write
    (and by the undo commands), ``on_commit`` after an edit became an undo step. Every edit keeps the
    classes that :attr:`writable` protects (``unet_core.edit.patches.writable_classes``: per-class
    locks and the preserve-labels mode) as they were.
    """

    def __init__(self, stack: QUndoStack, on_dirty: DirtyListener, on_commit: Callable[[], None]) -> None:
        self.stack = stack
        self.mask: np.ndarray | None = None
        self.reference: np.ndarray | None = None
        self.editable = False
        self.active_class = 1
        self.radius = 10
        self._on_dirty = on_dirty
        self._on_commit = on_commit
        self.writable: np.ndarray | None = None  # writable-classes table (locks, preserve labels); None: all
        self._stroke: PatchRecorder | None = None
        self._stroke_tool = ""
        self._last: tuple[int, int] | None = None

    # ------------------------------------------------------------------ state
    def set_mask(self, mask: np.ndarray | None, editable: bool) -> None:
        """Show ``mask`` (edited in place when ``editable``); a stroke in progress is committed first."""
        self.end_stroke()
        self.mask = mask
        self.editable = bool(editable and mask is not None)

    @property
    def can_edit(self) -> bool:
        """Whether painting tools may change the mask now."""
        return self.mask is not None and self.editable

    @property
    def stroking(self) -> bool:
        """Whether a stroke is in progress."""
        return self._stroke is not None

    # ---------------------------------------------------------------- strokes
    def begin_stroke(self, tool: str, x: int, y: int) -> bool:
        """Start a brush/eraser/revert stroke with a dab at pixel (x, y); False if nothing can happen."""
        self.end_stroke()
        if tool not in ROUND_TOOLS or not self.can_edit:
            return False
        if tool == "revert" and self.reference is None:
            return False
        assert self.mask is not None
        self._stroke = PatchRecorder(self.mask, self.writable)
        self._stroke_tool = tool
        self._last = (x, y)
        self._dab((x, y), (x, y))
        return True

    def stroke_to(self, x: int, y: int) -> None:
        """Continue the stroke to pixel (x, y), painting every pixel along the way."""
        if self._stroke is None or self._last is None or (x, y) == self._last:
            return
        start, self._last = self._last, (x, y)
        self._dab(start, (x, y))

    def begin_live(self, tool: str) -> bool:
        """Start a stroke whose pixels come as selections (:meth:`live_write`), one undo step at the end."""
        self.end_stroke()
        if not self.can_edit:
            return False
        assert self.mask is not None
        self._stroke = PatchRecorder(self.mask, self.writable)
        self._stroke_tool = tool
        return True

    def live_write(self, sel: Selection | None) -> None:
        """Write a selection into the stroke begun by :meth:`begin_live` (protected classes kept)."""
        if self._stroke is None or sel is None or self.mask is None:
            return
        x0, y0, x1, y1 = sel.rect
        self._stroke.before_write(sel.rect)
        sub = self.mask[y0:y1, x0:x1]
        sub[sel.pixels] = sel.values()[sel.pixels]
        self._stroke.settle(sel.rect)
        self._on_dirty(self.mask, sel.rect)

    def end_stroke(self) -> bool:
        """Finish the stroke; True when it changed pixels and was pushed as one undo step."""
        recorder, tool = self._stroke, self._stroke_tool
        self._stroke, self._last = None, None
        if recorder is None:
            return False
        return self._commit(recorder, tool)

    def _dab(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        assert self._stroke is not None and self.mask is not None
        tool = self._stroke_tool
        value: int | None = None
        source: np.ndarray | None = None
        if tool == "revert":
            source = self.reference
        else:
            value = 0 if tool == "eraser" else self.active_class
        rect = brush.stamp_segment(
            self.mask, start, end, self.radius, value, source=source, before_write=self._stroke.before_write
        )
        if rect is not None:
            self._stroke.settle(rect)  # protected pixels back before the overlay shows them
            self._on_dirty(self.mask, rect)

    # ------------------------------------------------------------ one-shots
    def fill_at(self, x: int, y: int) -> bool:
        """Flood-fill the 4-connected region of the class at (x, y) with the active class."""
        self.end_stroke()
        if not self.can_edit:
            return False
        assert self.mask is not None
        return self._apply(fill.fill_region(self.mask, x, y, self.active_class, writable=self.writable), "fill")

    def fill_polygon(self, points: Sequence[tuple[float, float]]) -> bool:
        """Fill the polygon (image coordinates) with the active class."""
        self.end_stroke()
        if not self.can_edit:
            return False
        assert self.mask is not None
        return self._apply(polygon.paint_polygon(self.mask, points, self.active_class, writable=self.writable), "polygon")

    def apply_selection(self, sel: Selection | None, tool: str, group: int | None = None) -> bool:
        """Write a smart tool's selection as one undo step (protected classes kept); False if nothing changed.
        Selections of one ``group`` (the clicks on one object) merge into one undo step."""
        self.end_stroke()
        if sel is None or not self.can_edit:
            return False
        assert self.mask is not None
        return self._apply(apply_selection(self.mask, sel, writable=self.writable), tool, group=group)

    def replace_all(self, values: np.ndarray, text: str) -> bool:
        """Overwrite the whole mask with ``values`` as one undo step (e.g. "accept prediction").

        The undo command keeps only the bounding box of the pixels that really changed.
        """
        self.end_stroke()
        if not self.can_edit:
            return False
        assert self.mask is not None
        return self._apply(replace.replace_all(self.mask, values), text=text)

    def _apply(self, patch: Patch | None, tool: str = "", text: str = "", group: int | None = None) -> bool:
        """A one-shot edit already written into the mask: repaint its patch and push it."""
        if patch is None:
            return False
        assert self.mask is not None
        self._on_dirty(self.mask, patch.rect)
        return self._push(self.mask, patch, text or _TEXTS.get(tool, "Edit"), group)

    def _commit(self, recorder: PatchRecorder, tool: str) -> bool:
        patch = recorder.finish()
        if patch is None:
            return False
        return self._push(recorder.mask, patch, _TEXTS.get(tool, "Edit"))

    def _push(self, mask: np.ndarray, patch: Patch, text: str, group: int | None = None) -> bool:
        self.stack.push(PatchCommand(mask, patch, self._on_dirty, text, group))
        self._on_commit()
        return True
