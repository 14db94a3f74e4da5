"""Pointer and keyboard input of the canvas: tools on mouse events, pan, wheel zoom, shortcuts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QMouseEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from app.canvas.tools import PAINT_TOOLS, ROUND_TOOLS, SIZED_TOOLS, SMART_TOOLS

CLOSE_PX = 6.0  # screen pixels: a click this close to the first vertex (or a double-click to the last) closes

if TYPE_CHECKING:
    from app.canvas.cursor import BrushCursorItem
    from app.canvas.navigation import Navigator
    from app.canvas.overlay import MaskOverlayItem
    from app.canvas.polygon import PolygonInput
    from app.canvas.smart import SmartTools
    from app.canvas.tools import MaskEditor

    _Base = QGraphicsView
else:
    _Base = object


class CanvasInput(_Base):
    """Mixin for :class:`CanvasView` that turns mouse, wheel and key events into tool actions.

    Left button: the current tool; middle button, or left with space held / the pan tool: pan;
    wheel: zoom around the pointer (Ctrl+wheel: the smart tool's tolerance or size); ``[`` / ``]``:
    brush radius; a double-click on the last vertex or a click on the first closes a polygon (vertices
    beside the image land on its border), whose vertices can then be dragged; Enter applies it, Esc
    cancels it, Backspace removes its last vertex. The smart tools get their events through
    :class:`app.canvas.smart.SmartTools`.
    """

    if TYPE_CHECKING:
        cursorMoved: Signal
        _nav: Navigator
        _editor: MaskEditor
        _overlay: MaskOverlayItem
        _brush_cursor: BrushCursorItem
        _polygon: PolygonInput
        _smart: SmartTools
        _tool: str
        _size: tuple[int, int] | None
        _space: bool
        _painting: bool
        _hover: tuple[int, int, int]
        _hover_scene: QPointF | None

        def zoom(self) -> float: ...
        def fit_to_window(self) -> None: ...
        def step_brush_radius(self, up: bool) -> None: ...
        def _zoomed(self) -> None: ...

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Start a pan, a stroke, a fill or a polygon point."""
        button = event.button()
        pos = event.position()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and (self._space or self._tool == "pan")
        ):
            self._nav.start_pan(pos.toPoint())
            self._update_pointer()
        elif button == Qt.MouseButton.LeftButton:
            self._track(self._nav.scene_pos(pos))
            self._press_tool(self._nav.scene_pos(pos), pos.x(), event.modifiers())
        elif button == Qt.MouseButton.RightButton and self._tool == "click":  # "this is not the class"
            scene = self._nav.scene_pos(pos)
            self._smart.clicks.press(math.floor(scene.x()), math.floor(scene.y()), positive=False)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Pan, continue a stroke or a lasso, and track the pointer."""
        pos = event.position()
        if self._nav.panning:
            self._nav.pan_to(pos.toPoint())
        scene = self._nav.scene_pos(pos)
        self._track(scene)
        held = bool(event.buttons() & Qt.MouseButton.LeftButton)
        if self._painting:
            self._editor.stroke_to(*self._pixel(scene))
        elif self._tool in SMART_TOOLS and not self._nav.panning:
            self._smart.move(scene, pos.x(), held, event.modifiers())
        elif self._polygon and held:
            self._polygon.drag(self._inside(scene), self.zoom())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """End a pan, commit a stroke, or close a dragged lasso."""
        if self._nav.panning and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._nav.end_pan()
            self._update_pointer()
        elif event.button() == Qt.MouseButton.LeftButton:
            if self._painting:
                self._painting = False
                self._editor.end_stroke()
            elif self._tool in SMART_TOOLS:
                self._smart.release(self._nav.scene_pos(event.position()))
            elif self._polygon.release():
                self._close_polygon()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """A double-click on the last vertex closes a polygon; otherwise (two quick clicks at different
        places, other tools) it acts as a press."""
        if event.button() == Qt.MouseButton.LeftButton and self._smart.double_click(self._nav.scene_pos(event.position())):
            event.accept()
            return
        if self._tool == "polygon" and event.button() == Qt.MouseButton.LeftButton and self._polygon and \
                not self._polygon.closed and self._near(self._polygon.points[-1], self._nav.scene_pos(event.position())):
            self._polygon.close()
            event.accept()
            return
        self.mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom around the pointer."""
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta and self._tool in SMART_TOOLS and self._smart.wheel(delta, event.modifiers()):
            event.accept()
            return
        if delta and self._nav.zoom_at(self.zoom() * self._nav.wheel_factor(delta), event.position()):
            self._zoomed()
            self._track(self._nav.scene_pos(event.position()))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space (hold) pans; [ and ] resize the brush; Enter/Esc/Backspace finish, cancel, edit a polygon."""
        key = event.key()
        if key == Qt.Key.Key_Shift:
            self._smart.refresh_hover(True)  # Shift+click does something else: preview that
            super().keyPressEvent(event)
            return
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self._update_pointer()
        elif key == Qt.Key.Key_BracketLeft or event.text() == "[":
            self.step_brush_radius(False)
        elif key == Qt.Key.Key_BracketRight or event.text() == "]":
            self.step_brush_radius(True)
        elif self._tool in SMART_TOOLS and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape,
                                                   Qt.Key.Key_Backspace) and self._smart.key(key):
            pass
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._polygon:
            self._close_polygon()
        elif key == Qt.Key.Key_Escape and self._polygon:
            self._cancel_polygon()
        elif key == Qt.Key.Key_Backspace and self._polygon:
            self._polygon.pop()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        """Releasing space ends the temporary pan mode."""
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_pointer()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Shift:
            self._smart.refresh_hover(False)
        super().keyReleaseEvent(event)

    def set_space_held(self, held: bool) -> None:
        """Space is down (the left button pans, never paints) or up; the window's key filter calls this
        wherever keyboard focus is."""
        if bool(held) != self._space:
            self._space = bool(held)
            self._update_pointer()

    def pointer_over(self) -> bool:
        """Whether the mouse pointer is over the canvas's viewport."""
        return self.isVisible() and (self.viewport().underMouse() or self._hover_scene is not None)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        """Forget a held space bar when focus leaves."""
        self._space = False
        self._update_pointer()
        super().focusOutEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        """Hide the brush outline and report (-1, -1, -1) when the pointer leaves the viewport."""
        if event.type() == QEvent.Type.Leave:
            self._smart.leave()
            self._brush_cursor.setVisible(False)
            self._hover_scene = None
            self._emit_hover((-1, -1, -1))
        return super().viewportEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the image fitted while in fit mode."""
        super().resizeEvent(event)
        if self._nav.auto_fit:
            self.fit_to_window()

    # ============================================================== internals
    def _press_tool(self, scene: QPointF, screen_x: float, mods: Qt.KeyboardModifier) -> None:
        if self._tool not in PAINT_TOOLS:
            return
        if not self._editor.can_edit:
            if self._editor.mask is not None:
                self.editRefused.emit()  # say why nothing happens instead of ignoring the click
            return
        x, y = self._pixel(scene)
        if self._tool in SMART_TOOLS:
            self._smart.press(scene, screen_x, mods)
        elif self._tool in ROUND_TOOLS:
            self._painting = self._editor.begin_stroke(self._tool, x, y)
        elif self._tool == "fill":
            self._editor.fill_at(x, y)
        elif self._tool == "polygon":
            point = self._inside(scene)
            if self._polygon.closed:
                self._polygon.grab(point, self.zoom(), CLOSE_PX)  # drag a vertex; Enter applies
            elif len(self._polygon.points) >= 3 and self._near(self._polygon.points[0], scene):
                self._polygon.close()  # clicking the first vertex closes the polygon
            else:
                self._polygon.press(point)

    def _close_polygon(self) -> None:
        self._editor.fill_polygon(self._polygon.take())

    def _cancel_polygon(self) -> None:
        self._polygon.cancel()

    def _inside(self, scene: QPointF) -> tuple[float, float]:
        """``scene`` clamped to the image: a vertex clicked beside the image lands on its border."""
        w, h = self._size or (0, 0)
        return (min(max(scene.x(), 0.0), float(w)), min(max(scene.y(), 0.0), float(h)))

    def _near(self, vertex: tuple[float, float], scene: QPointF) -> bool:
        """Whether ``scene`` is within a few screen pixels of ``vertex`` (clamped like the vertices)."""
        x, y = self._inside(scene)
        return math.hypot(x - vertex[0], y - vertex[1]) * self.zoom() <= CLOSE_PX

    @staticmethod
    def _pixel(scene: QPointF) -> tuple[int, int]:
        return (math.floor(scene.x()), math.floor(scene.y()))

    def _track(self, scene: QPointF) -> None:
        """Follow the pointer: cursorMoved, the brush outline and the polygon preview."""
        self._hover_scene = scene
        x, y = self._pixel(scene)
        w, h = self._size or (0, 0)
        inside = 0 <= x < w and 0 <= y < h
        self._emit_hover((x, y, self._overlay.class_at(x, y)) if inside else (-1, -1, -1))
        if self._brush_cursor.isVisible() or self._wants_brush_outline():
            self._brush_cursor.setPos(x + 0.5, y + 0.5)
            self._brush_cursor.setVisible(self._wants_brush_outline())
        self._polygon.hover(self._inside(scene) if self._size else (scene.x(), scene.y()))

    def _refresh_hover(self) -> None:
        if self._hover_scene is not None:
            self._track(self._hover_scene)

    def _emit_hover(self, info: tuple[int, int, int]) -> None:
        if info != self._hover:
            self._hover = info
            self.cursorMoved.emit(*info)

    def _wants_brush_outline(self) -> bool:
        return (
            self._tool in SIZED_TOOLS
            and self._editor.can_edit
            and not self._space
            and not self._nav.panning
            and self._hover_scene is not None
        )

    def _update_pointer(self) -> None:
        if self._nav.panning:
            shape = Qt.CursorShape.ClosedHandCursor
        elif self._space or self._tool == "pan":
            shape = Qt.CursorShape.OpenHandCursor
        elif self._editor.can_edit and self._tool in SIZED_TOOLS:
            shape = Qt.CursorShape.BlankCursor
        elif self._editor.can_edit and self._tool in PAINT_TOOLS:
            shape = Qt.CursorShape.CrossCursor
        else:
            shape = Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)
        if not self._wants_brush_outline():
            self._brush_cursor.setVisible(False)
        elif self._hover_scene is not None:
            self._track(self._hover_scene)
