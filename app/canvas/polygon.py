"""Collects the polygon/lasso tool's vertices (clicks or a drag), shows them, and lets a closed polygon's vertices be dragged."""

from __future__ import annotations

import math

from app.canvas.cursor import PolygonPreviewItem

Point = tuple[float, float]


class PolygonInput:
    """The polygon in progress: clicks add vertices, a drag that starts a polygon draws a lasso.

    A lasso is applied on release; a clicked polygon closes on double-click or a click on its first
    vertex (:meth:`close`), after which its vertices can be dragged (:meth:`grab`, :meth:`drag`) until
    Enter applies it (the view calls :meth:`take`). Points are image (scene) coordinates, clamped to the
    image by the view.
    """

    LASSO_SPACING_PX = 3.0  # screen pixels between lasso points

    def __init__(self, preview: PolygonPreviewItem) -> None:
        self.preview = preview
        self.points: list[Point] = []
        self._hover: Point | None = None
        self._lasso = False
        self._dragged = 0
        self.closed = False
        self._grabbed: int | None = None

    def __bool__(self) -> bool:
        return bool(self.points)

    def press(self, point: Point) -> None:
        """Add a vertex; a press that starts the polygon may become a lasso drag."""
        self._lasso = not self.points
        self._dragged = 0
        if not self.points or self.points[-1] != point:
            self.points.append(point)
        self._show()

    def close(self) -> None:
        """Close the polygon: its vertices can now be dragged until it is applied."""
        if len(self.points) >= 3:
            self.closed, self._lasso = True, False
            self._show()

    def grab(self, point: Point, zoom: float, near_px: float) -> bool:
        """On a closed polygon: take the vertex within ``near_px`` screen pixels of ``point``, if any."""
        near = [i for i, (x, y) in enumerate(self.points) if math.hypot(x - point[0], y - point[1]) * zoom <= near_px]
        self._grabbed = near[0] if near else None
        return self._grabbed is not None

    def drag(self, point: Point, zoom: float) -> None:
        """Pointer moved with the button held: move the grabbed vertex, or extend a lasso."""
        if self.closed and self._grabbed is not None:
            self.points[self._grabbed] = point
            self._show()
            return
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
        self._grabbed = None
        return was_lasso and self._dragged >= 2 and not self.closed

    def hover(self, point: Point | None) -> None:
        """Pointer position, for the rubber-band edges."""
        self._hover = point
        if self.points:
            self._show()

    def pop(self) -> None:
        """Remove the last vertex (of a polygon still open)."""
        if self.points and not self.closed:
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
        self.closed = False
        self._grabbed = None
        self._show()

    def _show(self) -> None:
        self.preview.set_points(self.points, self._hover, self.closed)
