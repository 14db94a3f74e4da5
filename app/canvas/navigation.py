"""Zoom and pan for a QGraphicsView: wheel zoom around the pointer, fit, 1:1, drag panning."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QGraphicsView

MIN_ZOOM = 0.02
MAX_ZOOM = 64.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch (120 eighths of a degree)


class Navigator:
    """Keeps a view's zoom and scroll position; the view forwards its events and reports zooms."""

    def __init__(self, view: QGraphicsView) -> None:
        self.view = view
        self.auto_fit = True  # refit on resize until the user zooms by hand
        self._pan_last: QPoint | None = None

    # ----------------------------------------------------------------- zoom
    def zoom(self) -> float:
        """The current scale (screen pixels per image pixel)."""
        return float(self.view.transform().m11())

    def fit(self, rect: QRectF) -> bool:
        """Scale and centre so ``rect`` fits the viewport; False when there is nothing to fit."""
        if rect.isEmpty() or self.view.viewport().width() < 2 or self.view.viewport().height() < 2:
            self.auto_fit = True
            return False
        self.view.resetTransform()
        self.view.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.auto_fit = True
        return True

    def actual(self) -> None:
        """1:1 zoom around the viewport centre."""
        centre = self.scene_pos(QPointF(self.view.viewport().rect().center()))
        self.view.setTransform(QTransform())
        self.view.centerOn(centre)
        self.auto_fit = False

    def zoom_at(self, scale: float, anchor: QPointF) -> bool:
        """Zoom to ``scale`` keeping the scene point under viewport position ``anchor`` in place."""
        scale = min(max(scale, MIN_ZOOM), MAX_ZOOM)
        if abs(scale - self.zoom()) < 1e-9:
            return False
        fixed = self.scene_pos(anchor)
        self.view.setTransform(QTransform.fromScale(scale, scale))
        moved = self.view.viewportTransform().map(fixed) - anchor
        h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        h.setValue(h.value() + round(moved.x()))
        v.setValue(v.value() + round(moved.y()))
        self.auto_fit = False
        return True

    def wheel_factor(self, angle_delta_y: int) -> float:
        """Zoom factor of a wheel turn (positive = zoom in)."""
        return float(WHEEL_STEP ** (angle_delta_y / 120.0))

    # ------------------------------------------------------------------ pan
    @property
    def panning(self) -> bool:
        """Whether a pan drag is in progress."""
        return self._pan_last is not None

    def start_pan(self, pos: QPoint) -> None:
        """Begin a pan drag at viewport position ``pos``."""
        self._pan_last = QPoint(pos)

    def pan_to(self, pos: QPoint) -> None:
        """Scroll so the content follows the pointer."""
        if self._pan_last is None:
            return
        d = pos - self._pan_last
        self._pan_last = QPoint(pos)
        h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        h.setValue(h.value() - d.x())
        v.setValue(v.value() - d.y())

    def end_pan(self) -> None:
        """Finish the pan drag."""
        self._pan_last = None

    # -------------------------------------------------------------- helpers
    def scene_pos(self, pos: QPointF) -> QPointF:
        """Viewport position to scene (image) coordinates, sub-pixel exact."""
        inverted, _ = self.view.viewportTransform().inverted()
        return inverted.map(pos)
