"""The painting canvas: a reusable QGraphicsView that shows an image with an editable class mask."""

from __future__ import annotations

from app.canvas.tools import TOOLS
from app.canvas.view import CanvasView

__all__ = ["TOOLS", "CanvasView"]
