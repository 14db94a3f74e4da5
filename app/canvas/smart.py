"""The smart tools on the canvas (unet_core.edit): previews on the scene, heavy work off the GUI thread, one undo step per edit."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from app.canvas.click_input import ClickInput
from app.canvas.jobs import FRAME_MS, JobQueue, LatestJob, Runner, run_soon
from app.canvas.mask_commands import COMMANDS, MaskCommands
from app.canvas.preview import (
    EdgesItem,
    PathItem,
    Preview,
    SelectionPreviewItem,
    build_preview,
    superpixel_edges,
)
from app.canvas.region_input import RegionInput
from app.canvas.scissors_input import ScissorsInput
from unet_core.edit.edge_erase import edge_stroke
from unet_core.edit.selection import Selection
from unet_core.edit.snap import snap_stroke
from unet_core.edit.superpixels import seed_spacing, superpixel_stroke, superpixels
from unet_core.edit.wand import magic_wand

if TYPE_CHECKING:
    from app.canvas.view import CanvasView

DRAG_PX_PER_LEVEL = 2.0  # a wand drag changes the tolerance by one level per 2 screen pixels
WHEEL_LEVELS = 4  # tolerance levels per wheel notch (Ctrl+wheel)

HINTS = {
    "brush": "Brush: drag paints the active class · [ ] radius",
    "eraser": "Eraser: drag erases to background · [ ] radius",
    "fill": "Fill: click a region to give it the active class",
    "polygon": "Polygon: click points or drag a lasso · double-click or first point closes · drag points · "
               "Enter applies · Esc cancels",
    "revert": "Revert: drag brings back the prediction · [ ] radius",
    "pan": "Pan: drag moves the view",
    "wand": "Wand: press on a colour · drag sideways or Ctrl+wheel: tolerance {tol} · release or Enter applies · "
            "Esc cancels",
    "snap": "Snapping stroke: drag roughly over an object, it snaps to its edges · Shift+drag removes · [ ] radius",
    "region": "Region click: the preview shows what a click does (a wrong region gets the active class, a "
              "false blob goes) · Shift: the model's second choice",
    "scissors": "Scissors: click along edges · first point or double-click closes · drag points · Enter applies · "
                "Esc cancels",
    "superpixel": "Superpixel brush: drag paints whole superpixels · Shift+drag erases (class 0) · [ ] radius",
    "cleanup": "Cleanup: holes and specks under {area} px · [ ] or Ctrl+wheel: size · Enter applies · Esc cancels",
    "refine": "Refine edges: the active class's outline moves onto the image's edges within {reach} px · "
              "[ ] or Ctrl+wheel: reach · Enter applies · Esc cancels",
    "edge": "Edge-aware brush: paints colours like the centre's · Shift+drag erases · [ ] radius · Ctrl+wheel: tolerance {etol}",
    "click": "Clicks: left click adds the active class, right click removes it; the model redraws the object · "
             "Enter or another class: next object · Ctrl+Z undoes the object's clicks",
}


class SmartTools:
    """Input and state of the smart tools for one :class:`CanvasView` (which forwards its events here)."""

    def __init__(self, view: CanvasView, runner: Runner | None = None) -> None:
        self.view = view
        self.preview = SelectionPreviewItem()
        self.path = PathItem(QColor(255, 220, 0))
        self.edges = EdgesItem()
        for item in (self.preview, self.path, self.edges):
            item.setVisible(False)
            view.scene().addItem(item)
        self.alive = lambda: shiboken6.isValid(view)  # jobs finishing after the canvas is gone are dropped
        self.job = LatestJob(runner or run_soon, self._failed, FRAME_MS, self.alive)
        self.labels_job = LatestJob(runner or run_soon, self._failed, alive=self.alive)
        self.apply_job = JobQueue(runner or run_soon, self._failed, alive=self.alive)  # survives tool changes
        self.scissors = ScissorsInput(self)
        self.region = RegionInput(self)
        self.clicks = ClickInput(self)
        self.tolerance = 24.0
        self.edge_tolerance = 24.0
        self.commands = MaskCommands(self)  # cleanup and refine edges
        self._labels: np.ndarray | None = None
        self._labels_of: np.ndarray | None = None  # the image the labels belong to
        self._anchor: tuple[int, int] | None = None
        self._press_x = 0.0
        self._base_tol = 0.0
        self._dragging = False
        self._commit = False
        self._fresh = False
        self._points: list[tuple[int, int]] = []
        self._stroke_value = 0
        self._snap_erase = False
        self.previous_tool = "brush"  # where Enter or Esc goes back from a whole-mask command

    # ------------------------------------------------------------------ plumbing
    def set_runner(self, runner: Runner) -> None:
        """Run heavy work with ``runner`` (the window passes ``Workspace.run_in_background``)."""
        for job in (self.job, self.labels_job, self.apply_job, self.scissors.job, self.clicks.job):
            job.runner = runner

    @property
    def busy(self) -> bool:
        """Whether any of the tools' background work runs or waits."""
        return any(job.busy for job in (self.job, self.labels_job, self.apply_job, self.scissors.job, self.clicks.job))

    @property
    def tool(self) -> str:
        """The canvas's current tool."""
        return self.view.tool()

    def hint(self) -> str:
        """The status-bar hint of the current tool."""
        area = self.commands.cleanup_area or self.commands.default_area()
        return HINTS.get(self.tool, "").format(tol=round(self.tolerance), etol=round(self.edge_tolerance), area=area,
                                               reach=self.commands.current_reach())

    def _say(self, extra: str = "") -> None:
        # the tool's state first (what a preview would change): a narrow status bar cuts the end
        self.view.hintChanged.emit(f"{extra + '  —  ' if extra else ''}{self.hint()}")

    def _failed(self, message: str) -> None:
        self._say(f"failed: {message}")

    def _colors(self) -> list[tuple[int, int, int]]:
        return self.view._overlay.colors()

    def _value(self, shift: bool = False) -> int:
        return 0 if shift else self.view.active_class()

    def _show(self, preview: Preview | None) -> None:
        self.preview.show_preview(preview)

    # ------------------------------------------------------------------ life cycle
    def cancel(self) -> None:
        """Drop every preview and pending computation (a new image, mask or tool)."""
        self.job.cancel()
        self._anchor, self._dragging, self._commit, self._fresh = None, False, False, False
        self._points = []
        self._show(None)
        self.path.set_path([])
        self.scissors.cancel()
        self.region.cancel()
        self.clicks.end_group()
        if self.view._editor.stroking:
            self.view._editor.end_stroke()

    def tool_changed(self, old: str, new: str) -> None:
        """Another tool was chosen: end the old one's work, prepare the new one."""
        self.cancel()
        if old not in COMMANDS:
            self.previous_tool = old
        self.edges.setVisible(new == "superpixel")
        self._say()
        if new == "superpixel":
            self.ensure_superpixels()
        elif new in COMMANDS:
            self.commands.preview()  # says what it is doing, after the tool's hint

    def _drop_edits(self) -> None:
        """Drop edits still being computed for the mask that was shown, and say so (not 'snapping…' forever)."""
        dropped = self.apply_job.busy or self.clicks.job.busy
        self.apply_job.cancel()
        self.clicks.abort()
        self.path.set_path([])
        self._say("an edit still being computed was dropped: the image changed" if dropped else "")

    def image_changed(self) -> None:
        """Another image is shown: previews, superpixels and the scissors' costs belong to the old one."""
        self.cancel()
        self._drop_edits()
        self.labels_job.cancel()
        self._labels, self._labels_of = None, None
        self.edges.set_edges(None)
        self.scissors.image_changed()
        if self.tool == "superpixel":
            self.ensure_superpixels()

    def mask_changed(self) -> None:
        """Another mask is shown: a pending preview or edit may no longer fit."""
        self.cancel()
        self._drop_edits()

    def mask_shown(self) -> None:
        """The new mask is in place: a whole-mask command shows what it would do to it."""
        self.commands.preview()

    def mask_edited(self) -> None:
        """Pixels of the shown mask changed (an edit, undo or redo): previews that read it follow."""
        self.region.mask_edited()
        self.clicks.mask_edited()
        if self.tool in COMMANDS:
            self.commands.preview()  # an undo or redo under the preview: show what the command would do now
        elif self.tool == "region" and not self.view._editor.stroking:
            self.refresh_hover()

    def refresh_hover(self, shift: bool | None = None) -> None:
        """Preview again at the pointer (the mask changed under it, or the Shift key: ``shift``)."""
        x, y, _cls = self.view.pointer_pixel()
        if self.tool == "region" and x >= 0:
            self.region.hover(x, y, shift)

    def leave(self) -> None:
        """The pointer left the canvas."""
        if self.tool == "region":
            self.region.leave()

    # ------------------------------------------------------------------ events
    def press(self, scene: QPointF, screen_x: float, mods: Qt.KeyboardModifier) -> None:
        """Left button pressed at ``scene`` with the current smart tool."""
        x, y = math.floor(scene.x()), math.floor(scene.y())
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        tool = self.tool
        if tool == "wand":
            self._wand_press(x, y, screen_x)
        elif tool == "region":
            self.region.press(x, y, shift)
        elif tool == "click":
            self.clicks.press(x, y, positive=True)
        elif tool in ("snap", "edge", "superpixel"):
            self._stroke_press(x, y, shift)
        elif tool == "scissors":
            self.scissors.press(scene)

    def move(self, scene: QPointF, screen_x: float, held: bool, mods: Qt.KeyboardModifier) -> None:
        """The pointer moved (``held``: with the left button down; ``mods``: the keys held)."""
        tool = self.tool
        if tool == "wand" and held and self._dragging:
            tol = min(max(self._base_tol + (screen_x - self._press_x) / DRAG_PX_PER_LEVEL, 0.0), 255.0)
            if round(tol) != round(self.tolerance):
                self.tolerance = float(round(tol))
                self._wand_request()
        elif tool in ("snap", "edge", "superpixel") and held and self._points:
            self._stroke_move(math.floor(scene.x()), math.floor(scene.y()))
        elif tool == "region" and not held:
            self.region.hover(math.floor(scene.x()), math.floor(scene.y()),
                              bool(mods & Qt.KeyboardModifier.ShiftModifier))
        elif tool == "scissors":
            self.scissors.move(scene, held)

    def release(self, scene: QPointF) -> None:
        """Left button released."""
        tool = self.tool
        if tool == "wand" and self._dragging:
            self._dragging = False
            self._commit = True
            if self._fresh and not self.job.busy:
                self._wand_commit()
        elif tool in ("snap", "edge", "superpixel") and self._points:
            self._stroke_release()
        elif tool == "scissors":
            self.scissors.release(scene)

    def double_click(self, scene: QPointF) -> bool:
        """A double-click: True when the tool used it (the scissors close their outline)."""
        return self.tool == "scissors" and self.scissors.double_click(scene)

    def wheel(self, delta: int, mods: Qt.KeyboardModifier) -> bool:
        """Ctrl+wheel sets the wand's or the edge brush's tolerance, or cleanup's or refine's size; True when used."""
        if not mods & Qt.KeyboardModifier.ControlModifier or self.tool not in ("wand", "edge", *COMMANDS):
            return False
        if self.tool == "edge":  # a brush: [ ] size it, Ctrl+wheel sets how alike its colours must be
            self.edge_tolerance = float(min(max(self.edge_tolerance + (WHEEL_LEVELS if delta > 0 else -WHEEL_LEVELS),
                                                0), 255))
            self._say()
        else:
            self.step_param(delta > 0, WHEEL_LEVELS)
        return True

    def step_param(self, up: bool, levels: int = WHEEL_LEVELS) -> bool:
        """[ / ] and Ctrl+wheel: the wand's tolerance, cleanup's size or refine's reach; True when used (other tools are
        brushes, or have no size: [ ] is their radius)."""
        tool = self.tool
        if tool == "wand":
            self.tolerance = float(min(max(self.tolerance + (levels if up else -levels), 0), 255))
            if self._anchor is None and self.view._hover[0] >= 0:
                self._anchor = self.view._hover[:2]  # a preview at the pointer, applied by Enter or a click
            if self._anchor is not None:
                self._wand_request()
        elif tool in COMMANDS:
            self.commands.step(up)  # its preview says what it is doing
            return True
        else:
            return False
        self._say()
        return True

    def key(self, key: int) -> bool:
        """Enter applies, Esc cancels, Backspace drops a scissors point; True when the key was used."""
        tool = self.tool
        if tool == "scissors":
            return self.scissors.key(key)
        if tool == "click":
            return self.clicks.key(key)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if tool == "wand" and self._anchor is not None:
                self._commit = True
                if self._fresh and not self.job.busy:
                    self._wand_commit()
                return True
            if tool in COMMANDS:
                self.commands.apply()
                return True
        elif key == Qt.Key.Key_Escape:
            busy = self._anchor is not None or self.preview.isVisible() or bool(self._points)
            self.cancel()
            if tool in COMMANDS:
                self.view.set_tool(self.previous_tool)
                return True
            return busy
        return False

    # ------------------------------------------------------------------ wand
    def _wand_press(self, x: int, y: int, screen_x: float) -> None:
        self._anchor = (x, y)
        self._press_x, self._base_tol = screen_x, self.tolerance
        self._dragging, self._commit = True, False
        self._wand_request()

    def _wand_request(self) -> None:
        image, anchor = self.view.image_array(), self._anchor
        if image is None or anchor is None:
            return
        x, y = anchor
        tol, value, probs, colors = self.tolerance, self.view.active_class(), self.view.probabilities(), self._colors()
        self._fresh = False
        self.job.submit(lambda: build_preview(magic_wand(image, x, y, tol, value, probs=probs), colors),
                        self._wand_result)

    def _wand_result(self, preview: Preview | None) -> None:
        if self._anchor is None:
            return
        self._show(preview)
        self._fresh = not self.job.busy
        self._say(f"{preview.selection.area} px selected" if preview is not None else "outside the image")
        if self._commit and self._fresh:
            self._wand_commit()

    def _wand_commit(self) -> None:
        sel = self.preview.selection
        self.cancel()
        self.view._editor.apply_selection(sel, "wand")

    # ------------------------------------------------------------------ strokes
    def _stroke_press(self, x: int, y: int, shift: bool) -> None:
        tool = self.tool
        self._stroke_value = self._value(shift)
        if tool == "superpixel" and self._labels is None:
            self.ensure_superpixels()
            self._say("superpixels are still being computed for this image")
            return
        self._points = [(x, y)]
        if tool == "snap":
            self._snap_erase = shift
            self.path.set_path(self._points)
        elif self.view._editor.begin_live(tool):
            self._live_segment([(x, y)])
        else:
            self._points = []

    def _stroke_move(self, x: int, y: int) -> None:
        if (x, y) == self._points[-1]:
            return
        last = self._points[-1]
        self._points.append((x, y))
        if self.tool == "snap":
            self.path.set_path(self._points)
        else:
            self._live_segment([last, (x, y)])

    def _live_segment(self, points: list[tuple[int, int]]) -> None:
        editor, r = self.view._editor, self.view.brush_radius()
        if self.tool == "edge":
            image, mask = self.view.image_array(), self.view.mask()
            if image is None or mask is None:
                return
            editor.live_write(edge_stroke(image, mask, points, r, self._stroke_value, self.edge_tolerance))
        elif self._labels is not None:
            editor.live_write(superpixel_stroke(self._labels, points, r, self._stroke_value))

    def _stroke_release(self) -> None:
        points, self._points = self._points, []
        if self.tool != "snap":
            self.view._editor.end_stroke()
            return
        image, mask = self.view.image_array(), self.view.mask()
        if image is None or mask is None or not self.view._editor.can_edit:
            self.path.set_path([])
            return
        snapshot, r, value = mask.copy(), self.view.brush_radius(), self._stroke_value
        erase, probs = self._snap_erase, self.view.probabilities()
        self._say("snapping…")

        def done(sel: Selection | None) -> None:
            if not self._points:  # not while the next stroke is being drawn
                self.path.set_path([])
            self._say("" if sel is not None else "nothing to change under this stroke")
            self.view._editor.apply_selection(sel, "snap")

        self.apply_job.submit(lambda: snap_stroke(image, snapshot, points, r, value, probs=probs, erase=erase), done)

    # ------------------------------------------------------------------ superpixels
    def ensure_superpixels(self) -> None:
        """Compute the shown image's superpixels once, off the GUI thread (faint borders show them)."""
        image = self.view.image_array()
        if image is None or self._labels_of is image:
            return
        self._labels_of = image

        def done(result: tuple[np.ndarray, np.ndarray]) -> None:
            if self.view.image_array() is image:
                self._labels = result[0]
                self.edges.set_edges(result[1])
                self._say()

        size = seed_spacing(image.shape[:2])  # the core's rule, as the simulated person uses it

        def compute() -> tuple[np.ndarray, np.ndarray]:
            labels = superpixels(image, size)
            return labels, superpixel_edges(labels)

        self.labels_job.submit(compute, done)

    def superpixel_labels(self) -> np.ndarray | None:
        """The shown image's superpixels, once computed."""
        return self._labels
