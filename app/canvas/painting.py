"""Pixel operations of the canvas tools on a mask array: discs, strokes, flood fill, polygon fill."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import cv2
import numpy as np

Rect = tuple[int, int, int, int]
"""An image rectangle as (x0, y0, x1, y1), end-exclusive."""

WriteHook = Callable[[Rect], None]
"""Called with the rectangle about to be written, before any pixel of it changes."""


@lru_cache(maxsize=64)
def disc_footprint(radius: int) -> np.ndarray:
    """Boolean (2r+1)x(2r+1) disc: pixels whose centre lies within ``radius`` of the centre pixel."""
    r = int(radius)
    d = np.arange(-r, r + 1)
    fp = (d[:, None] ** 2 + d[None, :] ** 2) <= r * r
    fp.setflags(write=False)
    return fp


def union(a: Rect | None, b: Rect | None) -> Rect | None:
    """Smallest rectangle holding both (``None`` is empty)."""
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _clip(x0: int, y0: int, x1: int, y1: int, shape: tuple[int, ...]) -> Rect | None:
    h, w = shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    return (x0, y0, x1, y1)


def _write(
    mask: np.ndarray,
    rect: Rect,
    sel: np.ndarray,
    value: int | None,
    source: np.ndarray | None,
    before_write: WriteHook | None,
) -> Rect | None:
    """Write ``value`` (or ``source``'s pixels) where ``sel`` is set inside ``rect``; return the rect."""
    if not sel.any():
        return None
    if before_write is not None:
        before_write(rect)
    x0, y0, x1, y1 = rect
    sub = mask[y0:y1, x0:x1]
    if source is not None:
        sub[sel] = source[y0:y1, x0:x1][sel]
    else:
        sub[sel] = value
    return rect


def stamp_disc(
    mask: np.ndarray,
    cx: int,
    cy: int,
    radius: int,
    value: int | None = None,
    *,
    source: np.ndarray | None = None,
    before_write: WriteHook | None = None,
) -> Rect | None:
    """Fill the disc of ``radius`` around pixel (cx, cy) with ``value`` (or copy it from ``source``).

    Returns the (clipped) rectangle written, or ``None`` when the disc lies outside the mask.
    """
    r = max(int(radius), 0)
    rect = _clip(cx - r, cy - r, cx + r + 1, cy + r + 1, mask.shape)
    if rect is None:
        return None
    fp = disc_footprint(r)
    x0, y0, x1, y1 = rect
    sel = fp[y0 - (cy - r) : y1 - (cy - r), x0 - (cx - r) : x1 - (cx - r)]
    return _write(mask, rect, sel, value, source, before_write)


def _stamp_capsule(
    mask: np.ndarray,
    p0: tuple[float, float],
    p1: tuple[float, float],
    r: int,
    value: int | None,
    source: np.ndarray | None,
    before_write: WriteHook | None,
) -> Rect | None:
    (ax, ay), (bx, by) = p0, p1
    rect = _clip(
        int(np.floor(min(ax, bx))) - r,
        int(np.floor(min(ay, by))) - r,
        int(np.ceil(max(ax, bx))) + r + 1,
        int(np.ceil(max(ay, by))) + r + 1,
        mask.shape,
    )
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - ax
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - ay
    dx, dy = bx - ax, by - ay
    t = np.clip((xs * dx + ys * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    d2 = (xs - t * dx) ** 2 + (ys - t * dy) ** 2
    sel = d2 <= r * r + 1e-3
    return _write(mask, rect, sel, value, source, before_write)


def stamp_segment(
    mask: np.ndarray,
    start: tuple[int, int],
    end: tuple[int, int],
    radius: int,
    value: int | None = None,
    *,
    source: np.ndarray | None = None,
    before_write: WriteHook | None = None,
) -> Rect | None:
    """Paint a round-capped thick line from pixel ``start`` to ``end`` (every pixel within ``radius``).

    The result equals stamping a disc at every point of the segment, so fast drags leave no gaps.
    Long segments are processed in short pieces so the work stays proportional to the painted area.
    Returns the union of the rectangles written, or ``None``.
    """
    r = max(int(radius), 0)
    (sx, sy), (ex, ey) = start, end
    if (sx, sy) == (ex, ey):
        return stamp_disc(mask, sx, sy, r, value, source=source, before_write=before_write)
    length = float(np.hypot(ex - sx, ey - sy))
    pieces = max(1, int(np.ceil(length / max(4 * r, 32))))
    dirty: Rect | None = None
    for i in range(pieces):
        t0, t1 = i / pieces, (i + 1) / pieces
        a = (sx + (ex - sx) * t0, sy + (ey - sy) * t0)
        b = (sx + (ex - sx) * t1, sy + (ey - sy) * t1)
        dirty = union(dirty, _stamp_capsule(mask, a, b, r, value, source, before_write))
    return dirty


def flood_fill(
    mask: np.ndarray, x: int, y: int, value: int, *, before_write: WriteHook | None = None
) -> Rect | None:
    """Set the 4-connected region of the class at (x, y) to ``value``; return the bounding box changed."""
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h) or int(mask[y, x]) == int(value):
        return None
    src = mask if mask.flags.c_contiguous else np.ascontiguousarray(mask)
    region = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(src, region, (int(x), int(y)), 0, 0, 0, flags)
    if rw <= 0 or rh <= 0:
        return None
    rect = (rx, ry, rx + rw, ry + rh)
    sel = region[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw].astype(bool)
    return _write(mask, rect, sel, value, None, before_write)


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
    rect = _clip(
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
    return _write(mask, rect, sub.astype(bool), value, None, before_write)
