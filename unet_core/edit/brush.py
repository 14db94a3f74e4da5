"""The round brush: disc dabs and round-capped strokes that paint a class, erase, or revert to a reference."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from unet_core.edit.patches import Patch, PatchRecorder, Rect, WriteHook, clip, union, write_where

Pixel = tuple[int, int]
"""An image pixel as (x, y)."""


@lru_cache(maxsize=64)
def disc_footprint(radius: int) -> np.ndarray:
    """Boolean (2r+1)x(2r+1) disc: pixels whose centre lies within ``radius`` of the centre pixel."""
    r = int(radius)
    d = np.arange(-r, r + 1)
    fp = (d[:, None] ** 2 + d[None, :] ** 2) <= r * r
    fp.setflags(write=False)
    return fp


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
    rect = clip(cx - r, cy - r, cx + r + 1, cy + r + 1, mask.shape)
    if rect is None:
        return None
    fp = disc_footprint(r)
    x0, y0, x1, y1 = rect
    sel = fp[y0 - (cy - r) : y1 - (cy - r), x0 - (cx - r) : x1 - (cx - r)]
    return write_where(mask, rect, sel, value, source, before_write)


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
    rect = clip(
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
    return write_where(mask, rect, sel, value, source, before_write)


def stamp_segment(
    mask: np.ndarray,
    start: Pixel,
    end: Pixel,
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


def stamp_path(
    mask: np.ndarray,
    points: Sequence[Pixel],
    radius: int,
    value: int | None = None,
    *,
    source: np.ndarray | None = None,
    before_write: WriteHook | None = None,
) -> Rect | None:
    """A whole press-drag-release: a dab at the first pixel, then :func:`stamp_segment` to each next one.

    This is exactly what the canvas paints for a press at ``points[0]`` and moves through the rest.
    """
    if not points:
        return None
    first = (int(points[0][0]), int(points[0][1]))
    dirty = stamp_segment(mask, first, first, radius, value, source=source, before_write=before_write)
    last = first
    for p in itertools.islice(points, 1, None):
        q = (int(p[0]), int(p[1]))
        if q != last:
            dirty = union(dirty, stamp_segment(mask, last, q, radius, value, source=source,
                                               before_write=before_write))
        last = q
    return dirty


def paint_stroke(mask: np.ndarray, points: Sequence[Pixel], radius: int, value: int, *,
                 writable: np.ndarray | None = None) -> Patch | None:
    """Paint class ``value`` along ``points`` (in place); the undo patch, or ``None`` if nothing changed.

    ``writable`` (:func:`unet_core.edit.patches.writable_classes`) keeps protected classes as they were.
    """
    recorder = PatchRecorder(mask, writable)
    stamp_path(mask, points, radius, value, before_write=recorder.before_write)
    return recorder.finish()


def erase_stroke(mask: np.ndarray, points: Sequence[Pixel], radius: int, *,
                 writable: np.ndarray | None = None) -> Patch | None:
    """The eraser: paint class 0 (background) along ``points``; the undo patch or ``None``."""
    return paint_stroke(mask, points, radius, 0, writable=writable)


def revert_stroke(
    mask: np.ndarray, reference: np.ndarray, points: Sequence[Pixel], radius: int, *,
    writable: np.ndarray | None = None,
) -> Patch | None:
    """Revert-to-prediction: copy ``reference``'s pixels under the brush along ``points``; the patch or ``None``."""
    if reference.shape != mask.shape:
        raise ValueError(f"reference is {reference.shape}, mask is {mask.shape}")
    recorder = PatchRecorder(mask, writable)
    stamp_path(mask, points, radius, source=reference, before_write=recorder.before_write)
    return recorder.finish()
