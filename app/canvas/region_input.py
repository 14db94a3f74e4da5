"""The region-click tool: hovering previews what a click would change, a click applies it (Shift: the second choice)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.canvas.preview import Preview, build_preview
from unet_core.edit.region import region_click, second_choice
from unet_core.edit.selection import Selection

if TYPE_CHECKING:
    from app.canvas.smart import SmartTools

Key = tuple[int, int, bool, int]  # x, y, shift, mask generation


class RegionInput:
    """Hover preview and click of the region tool; the mask is copied once per edit for the worker."""

    def __init__(self, smart: SmartTools) -> None:
        self.smart = smart
        self._generation = 0  # bumped by every write into the shown mask
        self._snapshot: np.ndarray | None = None
        self._snapshot_of = -1
        self._shown: Key | None = None  # what the preview on screen was computed for
        self._asked: Key | None = None  # the latest hover request
        self._applying = False  # a click's job waits or runs: hovering must not replace it

    def mask_edited(self) -> None:
        """The shown mask changed: previews and the copy are out of date."""
        self._generation += 1
        if self._shown is not None:
            self.smart._show(None)
            self._shown = None
        self._asked = None

    def cancel(self) -> None:
        """Forget the hover preview (and a click being computed)."""
        self._shown = self._asked = None
        self._applying = False

    def _copy(self) -> np.ndarray | None:
        mask = self.smart.view.mask()
        if mask is None:
            return None
        if self._snapshot is None or self._snapshot_of != self._generation or self._snapshot.shape != mask.shape:
            self._snapshot, self._snapshot_of = mask.copy(), self._generation
        return self._snapshot

    def _job(self, x: int, y: int, shift: bool) -> Callable[[], Selection | None] | None:
        snapshot, view = self._copy(), self.smart.view
        if snapshot is None:
            return None
        value, probs = view.active_class(), view.probabilities()
        if shift:
            if probs is None:
                return None
            return lambda: second_choice(snapshot, x, y, probs)
        return lambda: region_click(snapshot, x, y, value, probs=probs)

    def hover(self, x: int, y: int, shift: bool | None = None) -> None:
        """The pointer rests on (x, y): preview what a click there (with Shift held or not; ``None``: as the
        keyboard is now) would do, at most one job a frame."""
        view = self.smart.view
        w, h = view._size or (0, 0)
        if self._applying:
            return
        if shift is None:
            shift = bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
        if not view._editor.can_edit or not (0 <= x < w and 0 <= y < h):
            self.leave()
            return
        key = (x, y, shift, self._generation)
        if key in (self._asked, self._shown):
            return
        job = self._job(x, y, shift)
        if job is None:
            self.leave()
            return
        self._asked = key
        colors = self.smart._colors()

        def done(preview: Preview | None) -> None:
            if self._asked == key and self.smart.tool == "region":
                self.smart._show(preview)
                self._shown = key

        self.smart.job.submit(lambda: build_preview(job(), colors), done)

    def leave(self) -> None:
        """The pointer left the image: no preview."""
        if self._applying:
            return
        self.smart.job.cancel()
        self.smart._show(None)
        self._shown = self._asked = None

    def press(self, x: int, y: int, shift: bool) -> None:
        """A click: apply the preview when it is this pixel's, else compute and apply."""
        key = (x, y, shift, self._generation)
        editor = self.smart.view._editor
        if self._shown == key and not self.smart.job.busy:
            sel = self.smart.preview.selection
            self.smart._show(None)
            editor.apply_selection(sel, "region")
            return
        job = self._job(x, y, shift)
        if job is None:
            self.smart._say("the second choice needs the model's prediction of this image")
            return
        self._asked = None
        self.smart._show(None)
        self._applying = True

        def done(sel: Selection | None) -> None:
            self._applying = False
            editor.apply_selection(sel, "region")

        self.smart.apply_job.submit(job, done)
