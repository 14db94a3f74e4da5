"""Scene items of the smart tools: a tinted selection with a dashed outline, stroke and path lines with handles, superpixel borders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from unet_core.edit.selection import Selection

PREVIEW_ALPHA = 190
EDGE_ALPHA = 70
HANDLE_PX = 7.0  # side of a vertex handle in screen pixels
RING_PX = 10.0  # parts of a selection smaller than this on screen get a ring of this radius
MAX_RINGS = 200


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


MAX_OUTLINE_POINTS = 20_000  # the outline keeps the largest borders up to this many points (noisy selections)


@dataclass(frozen=True)
class Preview:
    """A selection ready to show: its RGBA tint, outline and part boxes, made off the GUI thread by
    :func:`build_preview` so that showing it costs nothing."""

    selection: Selection
    rgba: np.ndarray  # (y1 - y0) x (x1 - x0) x 4
    path: QPainterPath
    boxes: tuple[QRectF, ...]  # bounding box of each border, for the rings
    rings: bool


def outline_path(pixels: np.ndarray, x0: int, y0: int, boxes: bool = False) -> tuple[QPainterPath, tuple[QRectF, ...]]:
    """The borders of the set pixels of ``pixels`` (placed at x0, y0) as a path through pixel centres, and
    (``boxes``) the bounding box of each border. Borders are simplified (0.7 px); without ``boxes`` the
    crumbs (borders of under 8 points) are left out, and only the largest borders are kept up to
    :data:`MAX_OUTLINE_POINTS` points, so a speckled selection costs little more than a clean one."""
    path = QPainterPath()
    contours, _ = cv2.findContours(pixels.view(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found = tuple(QRectF(x0 + bx, y0 + by, bw + 1, bh + 1) for bx, by, bw, bh in map(cv2.boundingRect, contours)) \
        if boxes else ()
    budget = MAX_OUTLINE_POINTS
    offset = np.array([x0 + 0.5, y0 + 0.5])
    for c in sorted(contours, key=len, reverse=True):
        if len(c) < 8 and not boxes:
            break
        pts = np.add(cv2.approxPolyDP(c, 0.7, True).reshape(-1, 2), offset)
        if len(pts) > budget:
            break
        budget -= len(pts)
        path.addPolygon(QPolygonF([QPointF(float(px), float(py)) for px, py in pts]))
        path.closeSubpath()
    return path, found


def build_preview(sel: Selection | None, colors: Sequence[tuple[int, int, int]], rings: bool = False) -> Preview | None:
    """The preview of ``sel`` in the class ``colors`` (256 of them), or ``None``; safe to call off the GUI
    thread. With ``rings`` its parts too small to see get a ring (cleanup's specks)."""
    if sel is None:
        return None
    table = np.zeros((256, 4), np.uint8)
    table[:, :3] = np.asarray(list(colors)[:256], np.uint8).reshape(-1, 3)
    table[:, 3] = PREVIEW_ALPHA
    black = (table[:, :3] == 0).all(axis=1)
    table[black] = (255, 255, 255, PREVIEW_ALPHA)  # background shows as a white veil, not nothing
    if isinstance(sel.value, np.ndarray):
        rgba = table[sel.value]
    else:
        rgba = np.empty((*sel.pixels.shape, 4), np.uint8)
        rgba[:] = table[int(sel.value)]
    rgba[~sel.pixels] = 0
    path, boxes = outline_path(sel.pixels, sel.rect[0], sel.rect[1], boxes=rings)
    return Preview(sel, np.ascontiguousarray(rgba), path, boxes, rings)


class SelectionPreviewItem(QGraphicsItem):
    """The pixels a smart tool proposes: each in the colour of the class it would get, half opaque,
    inside a black-and-white dashed outline; on request, parts too small to see at the current zoom (a
    speck that cleanup removes) are ringed."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setZValue(50)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._image: QImage | None = None
        self._preview: Preview | None = None
        self._rect = QRectF()

    @property
    def selection(self) -> Selection | None:
        """The selection shown, if any."""
        return self._preview.selection if self._preview is not None else None

    def show_preview(self, preview: Preview | None) -> None:
        """Show a preview made by :func:`build_preview` (``None`` hides it)."""
        self.prepareGeometryChange()
        self._preview = preview
        if preview is None:
            self._image, self._rect = None, QRectF()
            self.setVisible(False)
            return
        x0, y0, x1, y1 = preview.selection.rect
        h, w = preview.rgba.shape[:2]
        self._image = QImage(preview.rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        self._rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        self.setVisible(True)
        self.update()

    def show_selection(self, sel: Selection | None, colors: Sequence[tuple[int, int, int]],
                       rings: bool = False) -> None:
        """Build and show the preview of ``sel`` here (on the GUI thread: small selections only)."""
        self.show_preview(build_preview(sel, colors, rings))

    def boundingRect(self) -> QRectF:
        """The selection's rectangle plus room for the outline and the rings (at zooms down to 2 %)."""
        m = RING_PX / 0.02 if self._preview is not None and self._preview.boxes else 1.0
        return self._rect.adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        """Tinted pixels, the dashed outline, then rings round the parts too small to see."""
        preview = self._preview
        if self._image is None or preview is None:
            return
        painter.drawImage(self._rect, self._image)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(_pen(QColor(0, 0, 0), 1.0))
        painter.drawPath(preview.path)
        painter.setPen(_pen(QColor(255, 255, 255), 1.0, Qt.PenStyle.DashLine))
        painter.drawPath(preview.path)
        if not preview.boxes:
            return
        scale = painter.worldTransform().m11() or 1.0
        small = [b for b in preview.boxes if max(b.width(), b.height()) * scale < RING_PX][:MAX_RINGS]
        r = RING_PX / scale
        for pen in (_pen(QColor(0, 0, 0), 3.0), _pen(QColor(255, 220, 0), 1.5)):
            painter.setPen(pen)
            for b in small:
                painter.drawEllipse(b.center(), r, r)


class PathItem(QGraphicsPathItem):
    """A thin line through points (a stroke being drawn, a live-wire path), optionally closed, with small
    square handles at ``vertices``."""

    def __init__(self, color: QColor, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setZValue(90)
        self.setPen(_pen(color, 1.5))
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._vertices: list[tuple[float, float]] = []
        self._scale = 1.0
        self._live = QGraphicsPathItem(self)
        self._live.setPen(_pen(color, 1.0, Qt.PenStyle.DashLine))

    def set_path(self, points: Sequence[tuple[float, float]], closed: bool = False,
                 vertices: Sequence[tuple[float, float]] = (), live: Sequence[tuple[float, float]] = ()) -> None:
        """Show the line through ``points`` (closed back to the first), handles at ``vertices`` and a
        dashed ``live`` line (the part that follows the pointer)."""
        path = QPainterPath()
        if points:
            path.moveTo(*points[0])
            for p in points[1:]:
                path.lineTo(*p)
            if closed:
                path.closeSubpath()
        self.prepareGeometryChange()
        self._vertices = [tuple(v) for v in vertices]  # type: ignore[misc]
        self.setPath(path)
        rubber = QPainterPath()
        if live:
            rubber.moveTo(*live[0])
            for p in live[1:]:
                rubber.lineTo(*p)
        self._live.setPath(rubber)
        self.setVisible(bool(points) or bool(live))

    def set_view_scale(self, scale: float) -> None:
        """The view's zoom, so handles keep their size on screen."""
        if scale > 0 and scale != self._scale:
            self.prepareGeometryChange()
            self._scale = float(scale)

    def boundingRect(self) -> QRectF:
        """The path plus the handles."""
        m = HANDLE_PX / self._scale
        return super().boundingRect().adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        """The line, then the vertex handles."""
        super().paint(painter, option, widget)
        if not self._vertices:
            return
        half = HANDLE_PX / 2 / self._scale
        painter.setPen(_pen(QColor(0, 0, 0), 1.0))
        painter.setBrush(QColor(255, 255, 255))
        for x, y in self._vertices:
            painter.drawRect(QRectF(QPointF(x - half, y - half), QPointF(x + half, y + half)))


def superpixel_edges(labels: np.ndarray) -> np.ndarray:
    """The borders between superpixels as an H x W x 4 RGBA image: faint white on pixels whose right or
    lower neighbour lies in another superpixel, transparent elsewhere (made off the GUI thread)."""
    edges = np.zeros(labels.shape, dtype=bool)
    edges[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edges[:-1, :] |= labels[:-1, :] != labels[1:, :]
    rgba = np.zeros((*labels.shape, 4), np.uint8)
    rgba[edges] = (255, 255, 255, EDGE_ALPHA)
    return rgba


class EdgesItem(QGraphicsItem):
    """Faint white lines on the borders between superpixels (an RGBA image made once per image)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setZValue(0.5)  # over the image, under the mask overlay
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None

    def set_edges(self, rgba: np.ndarray | None) -> None:
        """Show this RGBA border image (:func:`superpixel_edges`; ``None`` shows nothing). It is drawn from
        the array itself, no copy."""
        self.prepareGeometryChange()
        if rgba is None:
            self._image, self._pixels = None, None
        else:
            h, w = rgba.shape[:2]
            self._pixels = np.ascontiguousarray(rgba)
            self._image = QImage(self._pixels.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        self.update()

    def has_edges(self) -> bool:
        """Whether borders are loaded."""
        return self._image is not None

    def boundingRect(self) -> QRectF:
        """The image's extent."""
        if self._image is None:
            return QRectF()
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        """Draw the exposed part."""
        if self._image is None:
            return
        area = option.exposedRect.toAlignedRect().intersected(self.boundingRect().toAlignedRect())
        if not area.isEmpty():
            painter.drawImage(area, self._image, area)
