"""Toolbar icons drawn with QPainter (crisp at any scale, nothing to package)."""

from __future__ import annotations

import math
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

INK = QColor(60, 60, 60)
ACCENT = QColor(255, 120, 20)


def _pen(width: float = 2.0, color: QColor = INK) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _cos(i: int) -> float:
    """Cosine of the i-th of ten star points (36 degrees apart, the first straight up)."""
    return math.cos(math.pi * i / 5 - math.pi / 2)


def _sin(i: int) -> float:
    """Sine of the i-th of ten star points."""
    return math.sin(math.pi * i / 5 - math.pi / 2)


def _draw(name: str, p: QPainter) -> None:
    p.setPen(_pen())
    if name == "brush":
        p.drawLine(QPointF(20, 4), QPointF(10, 16))
        p.setBrush(ACCENT)
        p.drawEllipse(QRectF(4, 14, 8, 8))
    elif name == "eraser":
        p.setBrush(QColor(240, 180, 190))
        p.drawPolygon(QPolygonF([QPointF(4, 16), QPointF(14, 5), QPointF(20, 11), QPointF(10, 21)]))
        p.drawLine(QPointF(4, 21), QPointF(20, 21))
    elif name == "fill":
        p.setBrush(ACCENT)
        p.drawPolygon(QPolygonF([QPointF(5, 11), QPointF(12, 4), QPointF(19, 11), QPointF(12, 18)]))
        p.drawEllipse(QRectF(17, 16, 4, 5))
    elif name == "polygon":
        p.setBrush(QColor(255, 120, 20, 90))
        p.drawPolygon(QPolygonF([QPointF(4, 18), QPointF(7, 5), QPointF(19, 8), QPointF(16, 20)]))
    elif name == "revert":
        path = QPainterPath(QPointF(18, 12))
        path.arcTo(QRectF(6, 6, 12, 12), 0, 270)
        p.drawPath(path)
        p.drawLine(QPointF(12, 18), QPointF(9, 21))
        p.drawLine(QPointF(12, 18), QPointF(9, 15))
    elif name == "wand":  # a stick with a star at its tip
        p.drawLine(QPointF(4, 20), QPointF(14, 10))
        p.setBrush(ACCENT)
        star = [QPointF(17 + 5 * (0.45 if i % 2 else 1.0) * _cos(i), 7 + 5 * (0.45 if i % 2 else 1.0) * _sin(i))
                for i in range(10)]
        p.drawPolygon(QPolygonF(star))
    elif name == "snap":  # a rough stroke inside a crisp outline
        p.setBrush(QColor(255, 120, 20, 70))
        p.drawEllipse(QRectF(3, 5, 18, 14))
        p.setPen(_pen(3.0, ACCENT))
        p.drawPolyline(QPolygonF([QPointF(7, 13), QPointF(11, 10), QPointF(14, 14), QPointF(17, 11)]))
    elif name == "region":  # a blob and a pointer clicking it
        p.setBrush(QColor(255, 120, 20, 120))
        path = QPainterPath(QPointF(4, 10))
        path.cubicTo(QPointF(4, 2), QPointF(18, 2), QPointF(17, 9))
        path.cubicTo(QPointF(16, 16), QPointF(4, 18), QPointF(4, 10))
        p.drawPath(path)
        p.setBrush(QColor("white"))
        p.drawPolygon(QPolygonF([QPointF(12, 10), QPointF(20, 18), QPointF(16, 18), QPointF(18, 22),
                                 QPointF(16, 22), QPointF(14, 19), QPointF(12, 21)]))
    elif name == "click":  # a green and a red click dot on an object
        p.setBrush(QColor(255, 120, 20, 90))
        p.drawEllipse(QRectF(3, 4, 18, 15))
        p.setBrush(QColor(40, 180, 70))
        p.drawEllipse(QRectF(7, 8, 6, 6))
        p.setBrush(QColor(220, 50, 50))
        p.drawEllipse(QRectF(14, 15, 6, 6))
    elif name == "scissors":
        p.drawLine(QPointF(6, 4), QPointF(17, 17))
        p.drawLine(QPointF(18, 4), QPointF(7, 17))
        p.setBrush(ACCENT)
        p.drawEllipse(QRectF(2, 16, 6, 6))
        p.drawEllipse(QRectF(16, 16, 6, 6))
    elif name == "superpixel":  # a hexagon tiling with one cell filled
        for cx, cy, fill in ((8, 8, True), (16, 8, False), (12, 15, False), (4, 15, False), (20, 15, False)):
            p.setBrush(ACCENT if fill else Qt.BrushStyle.NoBrush)
            p.drawPolygon(QPolygonF([QPointF(cx + 4.2 * math.cos(math.pi * i / 3 + math.pi / 6),
                                             cy + 4.2 * math.sin(math.pi * i / 3 + math.pi / 6)) for i in range(6)]))
    elif name == "cleanup":  # a broom
        p.drawLine(QPointF(19, 3), QPointF(11, 13))
        p.setBrush(ACCENT)
        p.drawPolygon(QPolygonF([QPointF(9, 11), QPointF(14, 15), QPointF(10, 21), QPointF(3, 17)]))
    elif name == "refine":  # a ragged outline and the smooth edge it moves onto
        p.setPen(_pen(1.5, QColor(120, 120, 120)))
        p.drawPolyline(QPolygonF([QPointF(4, 20), QPointF(6, 14), QPointF(9, 12), QPointF(10, 7), QPointF(15, 6),
                                  QPointF(17, 3)]))
        p.setPen(_pen(2.0, ACCENT))
        p.drawArc(QRectF(6, 6, 28, 28), 90 * 16, 90 * 16)
    elif name == "edge":  # a brush dab cut by an edge
        p.setBrush(QColor(255, 120, 20, 160))
        p.drawPie(QRectF(4, 4, 16, 16), 90 * 16, 180 * 16)
        p.setPen(_pen(2.0, QColor(40, 40, 40)))
        p.drawLine(QPointF(12, 2), QPointF(12, 22))
    elif name == "pan":
        for a, b in (((12, 3), (12, 21)), ((3, 12), (21, 12))):
            p.drawLine(QPointF(*a), QPointF(*b))
    elif name in ("undo", "redo"):
        path = QPainterPath(QPointF(6, 10))
        path.cubicTo(QPointF(10, 4), QPointF(20, 6), QPointF(19, 17))
        p.drawPath(path)
        p.drawLine(QPointF(6, 10), QPointF(6, 4))
        p.drawLine(QPointF(6, 10), QPointF(12, 10))
        if name == "redo":
            return  # mirrored by the caller
    elif name == "accept":
        p.setPen(_pen(2.5, QColor(30, 140, 60)))
        p.drawPolyline(QPolygonF([QPointF(4, 12), QPointF(10, 18), QPointF(20, 6)]))
    elif name == "reviewed":
        p.setBrush(QColor(60, 170, 90))
        p.drawEllipse(QRectF(4, 4, 16, 16))
        p.setPen(_pen(2, QColor("white")))
        p.drawPolyline(QPolygonF([QPointF(8, 12), QPointF(11, 15), QPointF(16, 9)]))
    elif name in ("next", "prev"):
        pts = [QPointF(8, 5), QPointF(16, 12), QPointF(8, 19)]
        if name == "prev":
            pts = [QPointF(24 - q.x(), q.y()) for q in pts]
        p.drawPolyline(QPolygonF(pts))
    elif name == "queue":  # a stack of rows with the top one highlighted, and a chevron
        p.setBrush(ACCENT)
        p.drawRect(QRectF(3, 4, 11, 4))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(3, 11, 11, 3))
        p.drawRect(QRectF(3, 17, 11, 3))
        p.drawPolyline(QPolygonF([QPointF(16, 8), QPointF(21, 12), QPointF(16, 16)]))
    elif name == "predict":
        p.setBrush(QColor(60, 120, 220))
        p.drawEllipse(QRectF(3, 7, 18, 10))
        p.setBrush(QColor("white"))
        p.drawEllipse(QRectF(9, 9, 6, 6))
    elif name == "train":
        p.drawPolyline(QPolygonF([QPointF(3, 19), QPointF(8, 12), QPointF(13, 15), QPointF(20, 5)]))
        p.setBrush(ACCENT)
        p.drawEllipse(QRectF(17, 3, 5, 5))
    elif name == "open":
        p.setBrush(QColor(250, 210, 120))
        p.drawPolygon(QPolygonF([QPointF(3, 6), QPointF(9, 6), QPointF(11, 8), QPointF(21, 8), QPointF(21, 19),
                                 QPointF(3, 19)]))


@cache
def icon(name: str) -> QIcon:
    """A 24 px icon by name (brush, eraser, fill, polygon, revert, pan, undo, redo, accept, ...)."""
    pm = QPixmap(24, 24)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if name == "redo":
        p.translate(24, 0)
        p.scale(-1, 1)
    _draw(name, p)
    p.end()
    return QIcon(pm)
