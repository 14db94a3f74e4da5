"""Intelligent scissors: the path between two clicks that follows the image's edges (OpenCV's live wire)."""

from __future__ import annotations

import math

import cv2
import numpy as np

Point = tuple[int, int]

MAX_SIDE = 512
"""Longest side (px) of the window one path is searched in; a longer span is searched downscaled."""


class Scissors:
    """Edge-following paths over one H x W x 3 uint8 image, each searched in a window around its ends.

    The cost map of the last start point is kept, so moving the end (a live preview) costs only the
    path read-out while the end stays inside that window.
    """

    def __init__(self, image: np.ndarray) -> None:
        if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
            raise ValueError(f"scissors need an H x W x 3 uint8 image, got {image.shape} {image.dtype}")
        self.image = image
        self._cached: tuple[Point, tuple[int, int, int, int], float, cv2.segmentation.IntelligentScissorsMB] | None = None

    @property
    def size_hw(self) -> tuple[int, int]:
        """The image's (height, width)."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    def clamp(self, p: tuple[float, float]) -> Point:
        """The pixel nearest ``p`` inside the image."""
        h, w = self.size_hw
        return int(min(max(round(p[0]), 0), w - 1)), int(min(max(round(p[1]), 0), h - 1))

    def trace(self, a: tuple[float, float], b: tuple[float, float]) -> list[Point]:
        """Pixels of the edge-following path from ``a`` to ``b`` (both clamped to the image), ends included."""
        a, b = self.clamp(a), self.clamp(b)
        if a == b:
            return [a]
        tool, (x0, y0, x1, y1), f = self._tool_for(a, b)
        cw, ch = max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))
        end = (min(round((b[0] - x0) * f), cw - 1), min(round((b[1] - y0) * f), ch - 1))
        contour = tool.getContour(end).reshape(-1, 2)
        h, w = self.size_hw
        pts: list[Point] = [a]
        for cx, cy in contour:
            p = (min(max(round(cx / f) + x0, 0), w - 1), min(max(round(cy / f) + y0, 0), h - 1))
            if p != pts[-1]:
                pts.append(p)
        if pts[-1] != b:
            pts.append(b)
        return pts

    def _tool_for(self, a: Point, b: Point) -> tuple[cv2.segmentation.IntelligentScissorsMB,
                                                      tuple[int, int, int, int], float]:
        if self._cached is not None:
            start, win, f, tool = self._cached
            x0, y0, x1, y1 = win
            inner = 4  # the end must lie inside, off the window's very border
            if start == a and x0 + inner <= b[0] < x1 - inner and y0 + inner <= b[1] < y1 - inner:
                return tool, win, f
        h, w = self.size_hw
        pad = max(16, int(0.25 * math.dist(a, b)))
        x0, y0 = max(0, min(a[0], b[0]) - pad), max(0, min(a[1], b[1]) - pad)
        x1, y1 = min(w, max(a[0], b[0]) + pad + 1), min(h, max(a[1], b[1]) + pad + 1)
        crop = np.ascontiguousarray(self.image[y0:y1, x0:x1, :3])
        f = min(1.0, MAX_SIDE / max(x1 - x0, y1 - y0))
        if f < 1.0:
            crop = cv2.resize(crop, (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))),
                              interpolation=cv2.INTER_AREA)
        tool = cv2.segmentation.IntelligentScissorsMB()
        tool.setEdgeFeatureCannyParameters(32, 100)
        tool.setGradientMagnitudeMaxLimit(200)
        tool.applyImage(crop)
        ch, cw = crop.shape[:2]
        tool.buildMap((min(round((a[0] - x0) * f), cw - 1), min(round((a[1] - y0) * f), ch - 1)))
        self._cached = (a, (x0, y0, x1, y1), f, tool)
        return tool, (x0, y0, x1, y1), f

    def outline(self, vertices: list[tuple[float, float]]) -> list[Point]:
        """The closed edge-following outline through ``vertices`` (each to the next, the last to the first)."""
        if len(vertices) < 2:
            return [self.clamp(v) for v in vertices]
        out: list[Point] = []
        for i, v in enumerate(vertices):
            seg = self.trace(v, vertices[(i + 1) % len(vertices)])
            out += seg[:-1]
        return out
