"""The image layer of the canvas: an RGB frame drawn exposed-rect only, smooth when zoomed out."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """Convert an HxWx3 (or HxWx4, alpha dropped, or HxW grey) uint8 array to a QImage RGB32 copy."""
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3) or (rgb.ndim == 3 and rgb.shape[2] not in (3, 4)):
        raise ValueError(f"image must be an HxWx3 uint8 array, got shape {rgb.shape} dtype {rgb.dtype}")
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    rgb = np.ascontiguousarray(rgb[:, :, :3])
    h, w = rgb.shape[:2]
    view = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return view.convertToFormat(QImage.Format.Format_RGB32)  # a deep copy that owns its pixels


class ImageItem(QGraphicsItem):
    """Draws one RGB image at scene coordinates (0, 0)-(w, h)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._image: QImage | None = None

    def set_image(self, image: QImage | None) -> None:
        """Replace the shown image (``None`` shows nothing)."""
        self.prepareGeometryChange()
        self._image = image
        self.update()

    def image_size(self) -> tuple[int, int]:
        """(width, height) of the image, (0, 0) when empty."""
        if self._image is None:
            return (0, 0)
        return (self._image.width(), self._image.height())

    def boundingRect(self) -> QRectF:
        """The image's extent in scene coordinates."""
        w, h = self.image_size()
        return QRectF(0, 0, w, h)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw the exposed part; bilinear when zoomed out, nearest when zoomed in (pixels stay crisp)."""
        if self._image is None:
            return
        w, h = self.image_size()
        exposed = option.exposedRect.toAlignedRect().adjusted(-2, -2, 2, 2)
        area = exposed.intersected(QRect(0, 0, w, h))
        if area.isEmpty():
            return
        smooth = painter.worldTransform().m11() < 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(area, self._image, area)
