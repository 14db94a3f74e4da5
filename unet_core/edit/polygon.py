"""Polygon / lasso fill in image coordinates (pixel centres at +0.5)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from unet_core.edit.patches import Patch, PatchRecorder, Rect, WriteHook, clip, write_where


def fill_polygon(
    mask: np.ndarray,
    points: Sequence[tuple[float, float]],
    value: int,
    *,
    before_write: WriteHook | None = None,
) -> Rect | None:
    """Fill the polygon whose vertices are image (scene) coordinates with ``value``.

    Pixel (i, j) has its centre at (i + 0.5, j + 0.5); fewer than 3 points fill nothing.
    """
    if len(points) < 3:
        return None
    pts = np.asarray(points, np.float64) - 0.5
    rect = clip(
        int(np.floor(pts[:, 0].min())),
        int(np.floor(pts[:, 1].min())),
        int(np.ceil(pts[:, 0].max())) + 1,
        int(np.ceil(pts[:, 1].max())) + 1,
        mask.shape,
    )
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    sub = np.zeros((y1 - y0, x1 - x0), np.uint8)
    fixed = np.round((pts - (x0, y0)) * 16).astype(np.int32)
    cv2.fillPoly(sub, [fixed], 1, lineType=cv2.LINE_8, shift=4)
    return write_where(mask, rect, sub.astype(bool), value, None, before_write)


def paint_polygon(mask: np.ndarray, points: Sequence[tuple[float, float]], value: int, *,
                  writable: np.ndarray | None = None) -> Patch | None:
    """:func:`fill_polygon` in place, returning the undo patch (``None`` if nothing changed)."""
    recorder = PatchRecorder(mask, writable)
    fill_polygon(mask, points, value, before_write=recorder.before_write)
    return recorder.finish()
