"""Collects the vertices of the polygon/lasso tool (clicks or a drag) and shows them as they grow."""

from __future__ import annotations

import math

from app.canvas.cursor import PolygonPreviewItem

Point = tuple[float, float]


class PolygonInput:
    """The polygon in progress: clicks add vertices, a drag that starts a polygon draws a lasso.

    A lasso closes on release; a clicked polygon closes on double-click or Enter (the view calls
    :meth:`take`). Points are image (scene) coordinates.
    """

    LASSO_SPACING_PX = 3.0  # screen pixels between lasso points

    def __init__(self, preview: PolygonPreviewItem) -> None:
        self.preview = preview
        self.points: list[Point] = []
        self._hover: Point | None = None
        self._lasso = False
        self._dragged = 0

    def __bool__(self) -> bool:
        return bool(self.points)

    def press(self, point: Point) -> None:
        """Add a vertex; a press that starts the polygon may become a lasso drag."""
        self._lasso = not self.points
        self._dragged = 0
        if not self.points or self.points[-1] != point:
            self.points.append(point)
        self._show()

    def drag(self, point: Point, zoom: float) -> None:
        """Pointer moved with the button held: extend a lasso."""
        if not self._lasso or not self.points:
            return
        last = self.points[-1]
        if math.hypot(point[0] - last[0], point[1] - last[1]) * zoom >= self.LASSO_SPACING_PX:
            self.points.append(point)
            self._dragged += 1
            self._show()

    def release(self) -> bool:
        """Button released: True when a lasso was dragged and should be closed now."""
        was_lasso, self._lasso = self._lasso, False
        return was_lasso and self._dragged >= 2

    def hover(self, point: Point | None) -> None:
        """Pointer position, for the rubber-band edges."""
        self._hover = point
        if self.points:
            self._show()

    def pop(self) -> None:
        """Remove the last vertex."""
        if self.points:
            self.points.pop()
            self._show()

    def take(self) -> list[Point]:
        """Return the vertices and reset."""
        points = self.points
        self.cancel()
        return points

    def cancel(self) -> None:
        """Forget the polygon."""
        self.points = []
        self._lasso = False
        self._dragged = 0
        self._show()

    def _show(self) -> None:
        self.preview.set_points(self.points, self._hover)
