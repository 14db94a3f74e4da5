"""CurvePlot: one light line plot painted with QPainter (axes in 1-2-5 steps, peak-downsampled line, markers)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

MARKERS_UP_TO = 200  # points; more than that and the markers would only hide the line
MARGINS = (40, 20, 10, 32)  # left (value labels), top (title), right, bottom (step labels and the axis name)


STEPS = (1.0, 2.0, 5.0, 10.0)
FINE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)  # for a value axis' top: little wasted room


def nice_ceiling(value: float, steps: tuple[float, ...] = STEPS) -> float:
    """The smallest of ``steps`` x 10^k (1, 2, 5 x 10^k by default) that is >= ``value`` (1 for values <= 0)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    base = 10.0 ** math.floor(math.log10(value))
    for m in steps:
        if m * base >= value * (1 - 1e-9):
            return m * base
    return 10.0 * base


def nice_step(span: float, most: int = 5) -> float:
    """A 1-2-5 x 10^k tick step that divides ``span`` into at most ``most`` intervals."""
    return nice_ceiling(span / max(1, most)) if span > 0 else 1.0


def peak_reduce(px: np.ndarray, py: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Points (pixel x ascending, pixel y) cut to at most two per pixel column (its lowest and highest), so a
    line of 100,000 losses draws as fast as one of 600 and still shows every spike."""
    if len(px) <= 2 * max(1, columns):
        return px, py
    col = np.floor(px).astype(np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(col)) + 1))
    low = np.minimum.reduceat(py, starts)
    high = np.maximum.reduceat(py, starts)
    x = np.repeat(col[starts].astype(np.float64), 2)
    y = np.empty(2 * len(starts))
    y[0::2], y[1::2] = low, high
    return x, y


class CurvePlot(QWidget):
    """A titled plot of one curve, with an optional dashed reference line. Feed it with :meth:`set_data`.

    The x axis runs from 0 to a 1-2-5 ceiling past the last point; the y axis is fixed (``y_range``) or
    from 0 to a 1-2-5 ceiling of the largest value. Painting is a handful of QPainter calls: cheap enough
    to redraw ten times a second while training threads keep both cores busy.
    """

    def __init__(self, title: str, x_label: str, color: QColor, *, markers: bool = False,
                 y_range: tuple[float, float] | None = None, min_x_span: float = 10.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title, self.x_label, self.color = title, x_label, QColor(color)
        self.markers, self.fixed_y, self.min_x_span = markers, y_range, float(min_x_span)
        self._x = np.empty(0)
        self._y = np.empty(0)
        self._reference: float | None = None
        self._reference_format = "{value:.3f}"
        self.setAccessibleName(title)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:  # Qt override
        return QSize(320, 180)

    # -- data ------------------------------------------------------------------------------------
    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        """Show these points (x ascending; arrays are kept, not copied) and repaint."""
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length ({len(x)} vs {len(y)})")
        self._x, self._y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        self.update()

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The points shown (empty arrays when none)."""
        return self._x, self._y

    def set_reference(self, value: float | None, text_format: str = "{value:.3f}") -> None:
        """A dashed horizontal line at ``value`` labelled ``text_format.format(value=value)``; ``None`` hides it."""
        self._reference = None if value is None else float(value)
        self._reference_format = text_format
        self.update()

    def reference(self) -> float | None:
        return self._reference

    def reference_text(self) -> str:
        """The reference line's label ('' when there is none)."""
        return "" if self._reference is None else self._reference_format.format(value=self._reference)

    # -- geometry ----------------------------------------------------------------------------------
    def ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((x0, x1), (y0, y1)) shown: they change only when a curve outgrows them."""
        last = float(self._x[-1]) if len(self._x) else 0.0
        x_range = (0.0, nice_ceiling(max(last, self.min_x_span)))
        if self.fixed_y is not None:
            return x_range, self.fixed_y
        top = float(np.nanmax(self._y)) if len(self._y) else 1.0
        if self._reference is not None:
            top = max(top, self._reference)
        return x_range, (0.0, nice_ceiling(top, FINE_STEPS))

    def plot_rect(self) -> QRectF:
        left, top, right, bottom = MARGINS
        return QRectF(left, top, max(1, self.width() - left - right), max(1, self.height() - top - bottom))

    def polyline(self) -> tuple[np.ndarray, np.ndarray]:
        """The curve in widget pixels, at most two points per pixel column."""
        rect = self.plot_rect()
        (x0, x1), (y0, y1) = self.ranges()
        if not len(self._x):
            return np.empty(0), np.empty(0)
        px = rect.left() + (self._x - x0) / (x1 - x0) * rect.width()
        py = rect.bottom() - (np.clip(self._y, y0, y1) - y0) / (y1 - y0) * rect.height()
        return peak_reduce(px, py, int(rect.width()))

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # Qt override
        painter = QPainter(self)
        palette = self.palette()
        fg = palette.color(QPalette.ColorRole.Text)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        rect = self.plot_rect()
        (x0, x1), (y0, y1) = self.ranges()
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        painter.setPen(fg)
        painter.drawText(QRectF(0, 0, self.width(), MARGINS[1]), Qt.AlignmentFlag.AlignCenter, self.title)
        painter.drawText(QRectF(rect.left(), self.height() - 14, rect.width(), 14), Qt.AlignmentFlag.AlignCenter,
                         self.x_label)
        painter.drawLine(rect.bottomLeft(), rect.topLeft())
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        self._ticks(painter, rect, (x0, x1), horizontal=True)
        self._ticks(painter, rect, (y0, y1), horizontal=False)
        painter.setClipRect(rect.adjusted(-4, -4, 4, 4))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._reference is not None:
            ry = rect.bottom() - (min(max(self._reference, y0), y1) - y0) / (y1 - y0) * rect.height()
            painter.setPen(QPen(QColor(120, 120, 120), 1.5, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(rect.left(), ry), QPointF(rect.right(), ry))
            label_top = ry - 16 if ry - 16 >= rect.top() else ry + 2  # below the line when it runs near the top
            painter.drawText(QRectF(rect.left(), label_top, rect.width() - 4, 14), Qt.AlignmentFlag.AlignRight,
                             self.reference_text())
        px, py = self.polyline()
        if len(px):
            painter.setPen(QPen(self.color, 2 if self.markers else 1.5))
            painter.drawPolyline(QPolygonF([QPointF(a, b) for a, b in zip(px.tolist(), py.tolist(), strict=True)]))
            if self.markers and len(px) <= MARKERS_UP_TO:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(self.color)
                for a, b in zip(px.tolist(), py.tolist(), strict=True):
                    painter.drawEllipse(QPointF(a, b), 3.5, 3.5)
        painter.end()

    def _ticks(self, painter: QPainter, rect: QRectF, span: tuple[float, float], horizontal: bool) -> None:
        lo, hi = span
        step = nice_step(hi - lo, 5)
        value = math.ceil(lo / step) * step
        while value <= hi + step * 1e-6:
            text = f"{value:g}"
            if horizontal:
                x = rect.left() + (value - lo) / (hi - lo) * rect.width()
                painter.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 4))
                painter.drawText(QRectF(x - 30, rect.bottom() + 4, 60, 14), Qt.AlignmentFlag.AlignCenter, text)
            else:
                y = rect.bottom() - (value - lo) / (hi - lo) * rect.height()
                painter.drawLine(QPointF(rect.left() - 4, y), QPointF(rect.left(), y))
                painter.drawText(QRectF(0, y - 7, rect.left() - 6, 14),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            value += step


__all__ = ["FINE_STEPS", "STEPS", "CurvePlot", "nice_ceiling", "nice_step", "peak_reduce"]
