"""CanvasView: the reusable painting canvas (image + mask overlay, tools, undo, zoom and pan)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QUndoStack
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from app.canvas.cursor import BrushCursorItem, PolygonPreviewItem
from app.canvas.image_item import ImageItem, rgb_to_qimage
from app.canvas.interaction import CanvasInput
from app.canvas.jobs import Runner
from app.canvas.mask_commands import COMMANDS
from app.canvas.navigation import Navigator
from app.canvas.overlay import MaskOverlayItem
from app.canvas.polygon import PolygonInput
from app.canvas.smart import SmartTools
from app.canvas.tools import MAX_RADIUS, TOOLS, UNDO_LIMIT, MaskEditor
from unet_core.clicks.predict import ClickPredictor
from unet_core.edit.patches import Rect, writable_classes
from unet_core.edit.probabilities import ClassProbabilities


def _dirty_listener(view: CanvasView) -> Callable[[np.ndarray, Rect], None]:
    """A listener that forwards to ``view`` without keeping it alive (undo stacks may outlive it)."""
    ref = weakref.ref(view)

    def listener(mask: np.ndarray, rect: Rect) -> None:
        target = ref()
        if target is not None and shiboken6.isValid(target):
            target._on_mask_changed(mask, rect)

    return listener


class CanvasView(CanvasInput, QGraphicsView):
    """Shows an RGB image with its class mask as a coloured overlay and edits the mask in place.

    The mask array given to :meth:`set_mask` is the single truth: tools write into it (numpy, in
    place) and only the dirty rectangle of the overlay is repainted. Each stroke, fill or polygon
    is one command on the undo stack (see :meth:`set_undo_stack`), holding only its patch.
    """

    cursorMoved = Signal(int, int, int)  # image x, y, class under the pointer; (-1, -1, -1) outside
    maskEdited = Signal(QRect)  # after each dab/fill/undo/redo: the dirty rectangle (image coords)
    strokeFinished = Signal()  # a stroke/fill/polygon was committed as one undo step
    editRefused = Signal()  # a painting tool was used on a mask shown read-only (a reference view, ...)
    zoomChanged = Signal(float)
    brushRadiusChanged = Signal(int)
    toolChanged = Signal(str)
    hintChanged = Signal(str)  # what the current tool's click, drag, wheel and keys do (and its state)

    def __init__(self, parent: QWidget | None = None, undo_stack: QUndoStack | None = None) -> None:
        super().__init__(parent)
        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(scene)
        self._image_item = ImageItem()
        self._overlay = MaskOverlayItem()
        self._overlay.setZValue(1)
        self._brush_cursor = BrushCursorItem()
        self._brush_cursor.setVisible(False)
        self._polygon_item = PolygonPreviewItem()
        self._polygon_item.setVisible(False)
        for item in (self._image_item, self._overlay, self._polygon_item, self._brush_cursor):
            scene.addItem(item)

        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)

        self._nav = Navigator(self)
        stack = undo_stack if undo_stack is not None else QUndoStack(self)
        self._editor = MaskEditor(stack, _dirty_listener(self), self.strokeFinished.emit)
        self._limit_undo(stack)
        self._tool = "brush"
        self._size: tuple[int, int] | None = None  # (width, height) of the scene
        self._space = False
        self._painting = False
        self._polygon = PolygonInput(self._polygon_item)
        self._hover: tuple[int, int, int] = (-1, -1, -1)
        self._hover_scene: QPointF | None = None
        self._brush_cursor.set_radius(self._editor.radius)
        self._placeholder = ""
        self._locked: frozenset[int] = frozenset()
        self._only: int | None = None
        self._rgb: np.ndarray | None = None
        self._probs: ClassProbabilities | None = None
        self._clicker: ClickPredictor | None = None
        self._smart = SmartTools(self)
        self._update_pointer()

    # ================================================================ content
    def set_image(self, rgb: np.ndarray) -> None:
        """Show an HxWx3 uint8 image; fits the view when the size changed, else keeps zoom and scroll.

        A mask or reference of another size is dropped (set the new mask after the image).
        """
        rgb = np.asarray(rgb)
        image = rgb_to_qimage(rgb)
        w, h = image.width(), image.height()
        self._image_item.set_image(image)
        if self._rgb is not rgb:
            self._rgb = rgb if rgb.ndim == 3 and rgb.shape[2] in (3, 4) else np.repeat(rgb[:, :, None], 3, axis=2)
            self._probs = None
            self._smart.image_changed()
        if self._placeholder:
            self._placeholder = ""
            self.viewport().update()
        if self._size != (w, h):
            if self._editor.mask is not None and self._editor.mask.shape != (h, w):
                self.set_mask(None)
            if self._editor.reference is not None and self._editor.reference.shape != (h, w):
                self._editor.reference = None
            self._set_size(w, h)

    def clear(self, placeholder: str = "") -> None:
        """Show no image and no mask (e.g. the image cannot be read), with ``placeholder`` text centred."""
        self.set_mask(None)
        self._image_item.set_image(None)
        self._rgb, self._probs = None, None
        self._smart.image_changed()
        self._editor.reference = None
        self._size = None
        self.scene().setSceneRect(QRectF())
        self._placeholder = placeholder
        self.viewport().update()

    def placeholder_text(self) -> str:
        """The text shown instead of an image ("" while an image is shown)."""
        return self._placeholder

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """Draw the placeholder text in the middle of the viewport when there is no image."""
        super().drawForeground(painter, rect)
        if not self._placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(200, 200, 200))
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._placeholder)
        painter.restore()

    def set_mask(self, mask: np.ndarray | None, *, editable: bool = True) -> None:
        """Show ``mask`` (HxW uint8 class ids) as the overlay and edit THIS array in place.

        ``None`` hides the overlay. With ``editable=False`` painting tools do nothing.
        A stroke in progress is committed first; the undo stack is left alone.
        """
        if mask is not None:
            mask = self._check_mask(mask, "mask")
            if editable and not mask.flags.writeable:
                raise ValueError("mask array is read-only; pass editable=False to only show it")
        self._cancel_polygon()
        self._painting = False
        changed = mask is not self._editor.mask
        if changed:
            self._smart.mask_changed()  # previews and edits of the mask that was shown end here
        self._editor.set_mask(mask, editable)
        self._overlay.set_mask(mask)
        if mask is not None:
            h, w = mask.shape
            if self._size != (w, h):
                self._set_size(w, h)
            ref = self._editor.reference
            if ref is not None and ref.shape != mask.shape:
                self._editor.reference = None
        if changed:
            self._smart.mask_shown()  # a whole-mask command previews the new mask (never the old one's)
        self._update_pointer()
        self._refresh_hover()

    def image_array(self) -> np.ndarray | None:
        """The shown image as the H x W x 3 (or 4) uint8 array it was given (the smart tools read it)."""
        return self._rgb

    def set_probabilities(self, probs: ClassProbabilities | None) -> None:
        """The model's class probabilities of the shown image, for the smart tools (``None``: no model)."""
        if probs is not None and self._size is not None and probs.size_hw != (self._size[1], self._size[0]):
            probs = None  # another image's
        self._probs = probs

    def probabilities(self) -> ClassProbabilities | None:
        """The shown image's class probabilities, if a model predicted it in this session."""
        return self._probs

    def set_clicker(self, clicker: ClickPredictor | None) -> None:
        """The interactive model the click tool runs (``None``: the active model takes no clicks)."""
        if clicker is not self._clicker:
            self._smart.clicks.abort()
        self._clicker = clicker

    def clicker(self) -> ClickPredictor | None:
        """The interactive model for the click tool, if the active model is one."""
        return self._clicker

    def set_background_runner(self, runner: Runner) -> None:
        """Run the smart tools' heavy work with ``runner(fn, on_done, on_error)`` (off the GUI thread)."""
        self._smart.set_runner(runner)

    def tool_hint(self) -> str:
        """What the current tool's click, drag, wheel and keys do."""
        return self._smart.hint()

    def set_reference_mask(self, mask: np.ndarray | None) -> None:
        """The mask the "revert" tool copies pixels back from (e.g. the model's prediction)."""
        self._editor.reference = None if mask is None else self._check_mask(mask, "reference mask")

    def refresh_overlay(self, rect: QRect | None = None) -> None:
        """Re-read ``rect`` (or all) of the mask array after it was changed outside the canvas."""
        mask = self._editor.mask
        if mask is None:
            return
        r = None if rect is None else (rect.x(), rect.y(), rect.x() + rect.width(), rect.y() + rect.height())
        self._overlay.refresh(mask, r)
        self._refresh_hover()

    def mask(self) -> np.ndarray | None:
        """The mask array being shown (and edited)."""
        return self._editor.mask

    def reference_mask(self) -> np.ndarray | None:
        """The reference mask for the revert tool."""
        return self._editor.reference

    def pointer_pixel(self) -> tuple[int, int, int]:
        """(x, y, class) of the image pixel under the pointer; (-1, -1, -1) when it is not over the image."""
        return self._hover

    def is_editable(self) -> bool:
        """Whether painting tools change the mask now."""
        return self._editor.can_edit

    # ============================================================= appearance
    def set_classes(self, colors: Sequence[tuple[int, int, int]]) -> None:
        """Per-class colours, index = class id; (0, 0, 0) is drawn transparent."""
        self._overlay.set_colors(colors)

    def set_class_visible(self, class_id: int, visible: bool) -> None:
        """Show or hide one class of the overlay."""
        self._overlay.set_class_visible(int(class_id), visible)

    def set_opacity(self, value: float) -> None:
        """Overlay opacity, 0..1."""
        self._overlay.set_overlay_opacity(value)

    def opacity(self) -> float:
        """Overlay opacity, 0..1."""
        return self._overlay.overlay_opacity()

    def set_image_adjustment(self, brightness: int, contrast: int) -> None:
        """Brightness and contrast of the image layer, each -100..100 (0 = as in the file); the mask
        overlay is drawn unchanged."""
        self._image_item.set_adjustment(brightness, contrast)

    def image_adjustment(self) -> tuple[int, int]:
        """The image layer's (brightness, contrast)."""
        return self._image_item.adjustment()

    def set_overlay_hidden(self, hidden: bool) -> None:
        """Hide the whole overlay (hold-to-hide) without changing opacity or visibility."""
        self._overlay.setVisible(not hidden)

    # ================================================================== tools
    def set_tool(self, name: str) -> None:
        """Select a tool by name (``app.canvas.tools.TOOLS``: brush, eraser, fill, polygon, revert, pan and the
        smart tools wand, snap, region, scissors, superpixel, cleanup, refine, edge, click)."""
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; expected one of {', '.join(TOOLS)}")
        if name == self._tool:
            return
        self._editor.end_stroke()
        self._painting = False
        self._cancel_polygon()
        old, self._tool = self._tool, name
        self._smart.tool_changed(old, name)
        self._update_pointer()
        self._refresh_hover()
        self.toolChanged.emit(name)

    def tool(self) -> str:
        """The selected tool's name."""
        return self._tool

    def set_active_class(self, class_id: int) -> None:
        """Class id the brush, fill and polygon paint (0..255)."""
        if not 0 <= int(class_id) <= 255:
            raise ValueError(f"class id must be 0..255, got {class_id}")
        if int(class_id) != self._editor.active_class:
            self._editor.active_class = int(class_id)
            if self._tool in COMMANDS:
                self._smart.commands.preview()

    def active_class(self) -> int:
        """Class id the painting tools write."""
        return self._editor.active_class

    def set_protection(self, locked: Iterable[int] = (), only: int | None = None) -> None:
        """Which classes edits may overwrite: never the ``locked`` ones; with ``only`` set (preserve
        labels), only pixels of that class (0 = paint over background only). Every tool keeps the rest."""
        self._editor.end_stroke()
        self._painting = False
        self._locked = frozenset(int(c) for c in locked)
        self._only = None if only is None else int(only)
        self._editor.writable = writable_classes(sorted(self._locked), self._only)

    def locked_classes(self) -> frozenset[int]:
        """Classes no edit overwrites."""
        return self._locked

    def paint_over(self) -> int | None:
        """The one class edits may overwrite (preserve-labels mode), ``None`` for every class."""
        return self._only

    def set_brush_radius(self, radius: int) -> None:
        """Brush/eraser/revert radius in image pixels, clamped to 1..500."""
        radius = min(max(int(radius), 1), MAX_RADIUS)
        if radius == self._editor.radius:
            return
        self._editor.radius = radius
        self._brush_cursor.set_radius(radius)
        self.brushRadiusChanged.emit(radius)

    def brush_radius(self) -> int:
        """Current brush radius in image pixels."""
        return self._editor.radius

    def step_brush_radius(self, up: bool) -> None:
        """Grow or shrink the brush by about 20 % (at least one pixel); the wand's tolerance and cleanup's
        size for those tools."""
        if self._smart.step_param(up):
            return
        r = self._editor.radius
        self.set_brush_radius(max(r + 1, round(r * 1.2)) if up else min(r - 1, round(r / 1.2)))

    def replace_mask_pixels(self, values: np.ndarray, text: str = "Replace mask") -> bool:
        """Overwrite the editable mask with ``values`` as ONE undoable step; False if nothing changed."""
        return self._editor.replace_all(values, text)

    # =================================================================== undo
    def undo_stack(self) -> QUndoStack:
        """The stack edits are pushed on."""
        return self._editor.stack

    def set_undo_stack(self, stack: QUndoStack) -> None:
        """Push further edits on ``stack`` (e.g. one stack per image in a QUndoGroup)."""
        self._editor.end_stroke()
        self._painting = False
        self._editor.stack = stack
        self._limit_undo(stack)

    @staticmethod
    def _limit_undo(stack: QUndoStack) -> None:
        if stack.undoLimit() == 0 and stack.count() == 0:
            stack.setUndoLimit(UNDO_LIMIT)

    # ============================================================= navigation
    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return self._nav.zoom()

    def fit_to_window(self) -> None:
        """Fit the whole image in the view (kept fitted on resize until the user zooms)."""
        if self._size is not None and self._nav.fit(QRectF(0, 0, *self._size)):
            self._zoomed()

    def zoom_actual(self) -> None:
        """1:1 zoom (one image pixel per screen pixel)."""
        self._nav.actual()
        self._zoomed()

    def zoom_by(self, factor: float) -> None:
        """Multiply the zoom by ``factor`` around the viewport centre."""
        if self._nav.zoom_at(self.zoom() * factor, QPointF(self.viewport().rect().center())):
            self._zoomed()

    def _zoomed(self) -> None:
        self._brush_cursor.set_view_scale(self.zoom())
        self._smart.path.set_view_scale(self.zoom())
        self._smart.clicks.marks.set_view_scale(self.zoom())
        self._polygon_item.set_view_scale(self.zoom())
        self.zoomChanged.emit(self.zoom())

    def _set_size(self, w: int, h: int) -> None:
        self._size = (w, h)
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self.fit_to_window()

    # ============================================================== internals
    def _on_mask_changed(self, mask: np.ndarray, rect: Rect) -> None:
        """A tool or an undo command wrote ``rect`` of ``mask``: repaint it if it is the shown mask."""
        if mask is not self._editor.mask:
            return
        self._overlay.refresh(mask, rect)
        x0, y0, x1, y1 = rect
        self.maskEdited.emit(QRect(x0, y0, x1 - x0, y1 - y0))
        if self._hover[0] >= 0 and not self._painting:
            self._refresh_hover()  # the class under the pointer may have changed (a click tool, undo)
        self._smart.mask_edited()

    def _check_mask(self, mask: np.ndarray, what: str) -> np.ndarray:
        if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype != np.uint8:
            shape = getattr(mask, "shape", None)
            dtype = getattr(mask, "dtype", type(mask).__name__)
            raise ValueError(
                f"{what} must be an HxW uint8 array of class ids, got shape {shape} dtype {dtype}"
            )
        if self._size is not None and self._image_item.image_size() != (0, 0):
            w, h = self._size
            if mask.shape != (h, w):
                raise ValueError(f"{what} is {mask.shape[1]}x{mask.shape[0]} but the image is {w}x{h}")
        if what != "mask" and self._editor.mask is not None and mask.shape != self._editor.mask.shape:
            raise ValueError(f"{what} shape {mask.shape} differs from the mask's {self._editor.mask.shape}")
        return mask
