"""Cleanup of speckled masks: holes in a class and specks of it smaller than N pixels, as one selection."""

from __future__ import annotations

import cv2
import numpy as np

from unet_core.edit.selection import Selection, selection_from


def cleanup(mask: np.ndarray, value: int, min_area: int) -> Selection | None:
    """Fill the holes of class ``value`` and remove its specks, each under ``min_area`` pixels.

    A hole is a 4-connected region of other classes surrounded by ``value`` alone (not touching the
    image border); it becomes ``value``. A speck is an 8-connected region of ``value``; its pixels take
    the class most common just around it. ``None`` when there is nothing to clean.
    """
    if min_area < 1:
        return None
    h, w = mask.shape
    of_class = (mask == value).view(np.uint8)
    out = np.zeros((h, w), dtype=bool)
    values = np.array(mask, dtype=np.uint8, copy=True)
    _holes(of_class, min_area, value, out, values)
    filled = (values == value).view(np.uint8)  # specks are judged with their holes filled: a ring is no speck
    _specks(values.copy(), filled, min_area, out, values)
    out &= values != mask
    return selection_from(out, values) if out.any() else None


def _small(binary: np.ndarray, min_area: int, connectivity: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=connectivity)
    small = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] < min_area]
    return labels, stats, small


def _window(stats: np.ndarray, i: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    x, y = stats[i, cv2.CC_STAT_LEFT], stats[i, cv2.CC_STAT_TOP]
    bw, bh = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]
    return max(0, x - 1), max(0, y - 1), min(shape[1], x + bw + 1), min(shape[0], y + bh + 1)


def _ring(labels: np.ndarray, i: int, win: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = win
    inside = labels[y0:y1, x0:x1] == i
    grown = cv2.dilate(inside.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return inside, grown & ~inside


def _holes(of_class: np.ndarray, min_area: int, value: int, out: np.ndarray, values: np.ndarray) -> None:
    h, w = of_class.shape
    labels, stats, small = _small(1 - of_class, min_area, 4)
    for i in small:
        x0, y0, x1, y1 = win = _window(stats, i, (h, w))
        touches_border = stats[i, cv2.CC_STAT_LEFT] == 0 or stats[i, cv2.CC_STAT_TOP] == 0 \
            or (x1 == w and stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] == w) \
            or (y1 == h and stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] == h)
        if touches_border:
            continue
        inside, ring = _ring(labels, i, win)
        if ring.any() and of_class[y0:y1, x0:x1][ring].all():
            out[y0:y1, x0:x1] |= inside
            values[y0:y1, x0:x1][inside] = value


def _specks(mask: np.ndarray, of_class: np.ndarray, min_area: int, out: np.ndarray, values: np.ndarray) -> None:
    labels, stats, small = _small(of_class, min_area, 8)
    for i in small:
        x0, y0, x1, y1 = win = _window(stats, i, mask.shape)
        inside, ring = _ring(labels, i, win)
        around = mask[y0:y1, x0:x1][ring]
        if around.size == 0:
            continue  # the class fills the whole image: nothing to take its place
        out[y0:y1, x0:x1] |= inside
        values[y0:y1, x0:x1][inside] = int(np.bincount(around).argmax())
