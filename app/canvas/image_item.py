"""The image layer of the canvas: an RGB frame drawn exposed-rect only, smooth when zoomed out, brightness/contrast by a lookup table."""

from __future__ import annotations

import cv2
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


ADJUST_RANGE = 100  # brightness and contrast run from -100 to +100; 0 leaves the image as it is


def adjustment_lut(brightness: int, contrast: int) -> np.ndarray:
    """The 256-entry uint8 table of a brightness/contrast setting (each -100..100, 0 = unchanged).

    Contrast scales around mid-grey by 2**(contrast / 50) (x0.25 .. x4); brightness adds up to
    +-128 levels.
    """
    b = min(max(int(brightness), -ADJUST_RANGE), ADJUST_RANGE) * 1.28
    c = 2.0 ** (min(max(int(contrast), -ADJUST_RANGE), ADJUST_RANGE) / 50.0)
    levels = np.arange(256, dtype=np.float32)
    return np.clip(np.rint((levels - 128.0) * c + 128.0 + b), 0, 255).astype(np.uint8)


def qimage_pixels(image: QImage) -> np.ndarray:
    """An HxWx4 uint8 view of an RGB32 image's pixels (B, G, R, 0xff in memory), shared, not copied."""
    w, h = image.width(), image.height()
    rows = np.frombuffer(image.bits(), np.uint8).reshape(h, image.bytesPerLine())
    return rows[:, : 4 * w].reshape(h, w, 4)


class ImageItem(QGraphicsItem):
    """Draws one RGB image at scene coordinates (0, 0)-(w, h), through its brightness/contrast table.

    The source frame is kept; a setting other than (0, 0) draws a copy made once per change with one
    table lookup (``cv2.LUT``), never per repaint. The mask overlay is a separate item and unaffected.
    """

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._source: QImage | None = None
        self._image: QImage | None = None
        self._adjust = (0, 0)

    def set_image(self, image: QImage | None) -> None:
        """Replace the shown image (``None`` shows nothing); the brightness/contrast setting stays."""
        self.prepareGeometryChange()
        self._source = image
        self._image = self._adjusted()
        self.update()

    def set_adjustment(self, brightness: int, contrast: int) -> None:
        """Brightness and contrast of the shown image, each -100..100 (0, 0 = as in the file)."""
        adjust = (int(brightness), int(contrast))
        if adjust != self._adjust:
            self._adjust = adjust
            self._image = self._adjusted()
            self.update()

    def adjustment(self) -> tuple[int, int]:
        """The (brightness, contrast) setting."""
        return self._adjust

    def shown_image(self) -> QImage | None:
        """The image as drawn (after brightness and contrast)."""
        return self._image

    def _adjusted(self) -> QImage | None:
        src = self._source
        if src is None or self._adjust == (0, 0):
            return src
        table = adjustment_lut(*self._adjust)
        lut = np.empty((1, 256, 4), np.uint8)
        lut[0, :, :3] = table[:, None]
        lut[0, :, 3] = np.arange(256, dtype=np.uint8)  # alpha unchanged
        out = QImage(src.width(), src.height(), QImage.Format.Format_RGB32)
        cv2.LUT(qimage_pixels(src), lut, dst=qimage_pixels(out))
        return out

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
