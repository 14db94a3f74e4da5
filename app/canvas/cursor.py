"""Scene items that follow the pointer: the brush footprint circle and the polygon-in-progress outline."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.canvas.preview import PathItem


def _cosmetic_pen(color: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


class BrushCursorItem(QGraphicsItem):
    """Outline of the pixels a round tool would paint at the pointer, at the current zoom.

    Placed at the centre of the hovered pixel; the circle has the tool's real radius in image
    pixels (radius + 0.5, so it wraps the painted footprint) and a black/white outline that
    stays visible on any background, plus a small centre mark.
    """

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._radius = 10
        self._scale = 1.0
        self.setZValue(100)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_radius(self, radius: int) -> None:
        """Footprint radius in image pixels."""
        if radius != self._radius:
            self.prepareGeometryChange()
            self._radius = int(radius)

    def set_view_scale(self, scale: float) -> None:
        """The view's zoom, so the outline margins are known in image units."""
        if scale > 0 and scale != self._scale:
            self.prepareGeometryChange()
            self._scale = float(scale)

    def _outer(self) -> float:
        return self._radius + 0.5

    def boundingRect(self) -> QRectF:
        """Circle plus a few screen pixels of margin for the pens and the centre mark."""
        r = self._outer() + 6.0 / self._scale
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw the two-tone circle and the centre mark."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        r = self._outer()
        painter.setPen(_cosmetic_pen(QColor(0, 0, 0, 200), 3.0))
        painter.drawEllipse(QPointF(0, 0), r, r)
        painter.setPen(_cosmetic_pen(QColor(255, 255, 255), 1.0))
        painter.drawEllipse(QPointF(0, 0), r, r)
        mark = 3.0 / self._scale
        painter.drawLine(QPointF(-mark, 0), QPointF(mark, 0))
        painter.drawLine(QPointF(0, -mark), QPointF(0, mark))


class PolygonPreviewItem(PathItem):
    """The polygon being drawn: its edges so far and dashed edges through the pointer; once closed, the
    whole outline with a handle on every vertex."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(QColor(255, 255, 0), parent)

    def set_points(self, points: Sequence[tuple[float, float]], hover: tuple[float, float] | None,
                   closed: bool = False) -> None:
        """Show the polyline through ``points`` and the closing edges through ``hover`` (or, ``closed``,
        the closed outline and its vertex handles)."""
        live: list[tuple[float, float]] = []
        if points and hover is not None and not closed:
            live = [points[-1], hover] + ([points[0]] if len(points) > 1 else [])
        self.set_path(points, closed=closed, vertices=points if closed else (), live=live)
