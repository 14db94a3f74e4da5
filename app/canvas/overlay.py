"""The mask overlay layer: an Indexed8 copy of the mask drawn through a per-class colour table."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPainter, qRgba
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from unet_core.data.classes import VOID, VOID_COLOR
from unet_core.edit.patches import Rect

Color = tuple[int, int, int]


def default_color(class_id: int) -> Color:
    """A stable, distinct colour for a class with no colour given (class 0 is transparent black)."""
    if class_id == 0:
        return (0, 0, 0)
    hue = (class_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return (round(r * 255), round(g * 255), round(b * 255))


class MaskOverlayItem(QGraphicsItem):
    """Draws a class-id mask with per-class colours, global opacity and per-class visibility.

    The item keeps its own Indexed8 image of the mask; :meth:`refresh` copies only a dirty
    rectangle into it and repaints only that rectangle. Opacity, colours and visibility only
    rebuild the 256-entry colour table: no pixel is recomputed. A class whose colour is
    (0, 0, 0) is drawn transparent.
    """

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None
        self._size = (0, 0)
        self._colors: list[Color] = [default_color(i) for i in range(256)]
        self._visible = [True] * 256
        self._opacity = 0.5

    # ------------------------------------------------------------- content
    def set_mask(self, mask: np.ndarray | None) -> None:
        """Copy the whole mask (HxW uint8) into the overlay, or clear it with ``None``."""
        self.prepareGeometryChange()
        if mask is None:
            self._image, self._pixels, self._size = None, None, (0, 0)
            self.update()
            return
        h, w = mask.shape
        if self._image is None or self._size != (w, h):
            self._image = QImage(w, h, QImage.Format.Format_Indexed8)
            self._size = (w, h)
            self._apply_table()
        self.refresh(mask, None)

    def refresh(self, mask: np.ndarray, rect: Rect | None) -> None:
        """Copy ``rect`` of ``mask`` (whole mask when ``None``) and schedule a repaint of it only."""
        if self._image is None:
            return
        w, h = self._size
        x0, y0, x1, y1 = rect if rect is not None else (0, 0, w, h)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x0 >= x1 or y0 >= y1:
            return
        pixels = self._view()
        pixels[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def class_at(self, x: int, y: int) -> int:
        """The class id shown at pixel (x, y), or -1 outside / without a mask."""
        w, h = self._size
        if self._image is None or not (0 <= x < w and 0 <= y < h):
            return -1
        return int(self._view()[y, x])

    def _view(self) -> np.ndarray:
        if self._pixels is None:
            assert self._image is not None
            bits = self._image.bits()
            rows = np.frombuffer(bits, np.uint8).reshape(self._size[1], self._image.bytesPerLine())
            self._pixels = rows[:, : self._size[0]]
        return self._pixels

    # ------------------------------------------------------------ appearance
    def set_colors(self, colors: Sequence[tuple[int, int, int]]) -> None:
        """Colour of each class id (index = id); ids beyond the list keep a default colour, and the ignore label
        (255, VOC's void) its own pale colour."""
        for i in range(256):
            if i < len(colors):
                r, g, b = (int(c) for c in tuple(colors[i])[:3])
                self._colors[i] = (r, g, b)
            else:
                self._colors[i] = VOID_COLOR if i == VOID else default_color(i)
        self._apply_table()

    def colors(self) -> list[Color]:
        """The 256 class colours in use."""
        return list(self._colors)

    def set_class_visible(self, class_id: int, visible: bool) -> None:
        """Show or hide one class."""
        if 0 <= class_id < 256:
            self._visible[class_id] = bool(visible)
            self._apply_table()

    def is_class_visible(self, class_id: int) -> bool:
        """Whether a class is drawn."""
        return 0 <= class_id < 256 and self._visible[class_id]

    def set_overlay_opacity(self, value: float) -> None:
        """Global opacity of the coloured classes, 0..1."""
        self._opacity = min(max(float(value), 0.0), 1.0)
        self._apply_table()

    def overlay_opacity(self) -> float:
        """Global opacity, 0..1."""
        return self._opacity

    def _apply_table(self) -> None:
        alpha = round(self._opacity * 255)
        table = [
            qRgba(r, g, b, alpha if (self._visible[i] and (r, g, b) != (0, 0, 0)) else 0)
            for i, (r, g, b) in enumerate(self._colors)
        ]
        if self._image is not None:
            self._image.setColorTable(table)
            self._pixels = None  # re-acquire the buffer view in case Qt detached it
        self.update()

    # -------------------------------------------------------------- painting
    def boundingRect(self) -> QRectF:
        """The mask's extent in image coordinates."""
        return QRectF(0, 0, self._size[0], self._size[1])

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw only the exposed part of the overlay, nearest-neighbour."""
        if self._image is None:
            return
        exposed = option.exposedRect.toAlignedRect().adjusted(-1, -1, 1, 1)
        area = exposed.intersected(QRect(0, 0, self._size[0], self._size[1]))
        if not area.isEmpty():
            painter.drawImage(area, self._image, area)
