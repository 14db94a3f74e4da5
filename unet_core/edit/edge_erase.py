"""The edge-aware brush: under each dab only the pixels close in colour to the dab's centre change."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from unet_core.edit.brush import Pixel, disc_footprint
from unet_core.edit.patches import clip
from unet_core.edit.selection import Selection, selection_from


def edge_stroke(
    image: np.ndarray,
    mask: np.ndarray,
    points: Sequence[Pixel],
    radius: int,
    value: int,
    tolerance: float,
) -> Selection | None:
    """A stroke of dabs (every ``radius / 2`` px along ``points``); each selects the pixels of its disc whose
    colour is within ``tolerance`` (0-255, largest channel difference) of the pixel under its centre, so
    the stroke stops at colour edges. Pixels already ``value`` are left out. ``None`` if nothing changes.
    """
    if not points:
        return None
    if image.shape[:2] != mask.shape:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape} differ in size")
    r = max(0, int(radius))
    xs = [int(p[0]) for p in points]
    ys = [int(p[1]) for p in points]
    box = clip(min(xs) - r, min(ys) - r, max(xs) + r + 1, max(ys) + r + 1, mask.shape)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    out = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    rgb = image[y0:y1, x0:x1, :3].astype(np.int16)
    fp = disc_footprint(r)
    for cx, cy in _dabs(list(zip(xs, ys, strict=True)), max(1.0, r / 2)):
        if not (x0 <= cx < x1 and y0 <= cy < y1):
            continue
        dab = clip(cx - r, cy - r, cx + r + 1, cy + r + 1, mask.shape)
        assert dab is not None
        dx0, dy0, dx1, dy1 = dab
        disc = fp[dy0 - (cy - r) : dy1 - (cy - r), dx0 - (cx - r) : dx1 - (cx - r)]
        block = rgb[dy0 - y0 : dy1 - y0, dx0 - x0 : dx1 - x0]
        close = np.abs(block - rgb[cy - y0, cx - x0]).max(axis=-1) <= tolerance
        out[dy0 - y0 : dy1 - y0, dx0 - x0 : dx1 - x0] |= disc & close
    out &= mask[y0:y1, x0:x1] != value
    return selection_from(out, int(value), x0, y0)


def _dabs(points: list[tuple[int, int]], spacing: float) -> list[tuple[int, int]]:
    """Dab centres along the polyline: its first point, then one every ``spacing`` px."""
    out = [points[0]]
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        n = max(1, math.ceil(math.hypot(bx - ax, by - ay) / spacing))
        out += [(round(ax + (bx - ax) * i / n), round(ay + (by - ay) * i / n)) for i in range(1, n + 1)]
    return out
