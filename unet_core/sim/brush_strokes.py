"""Geometry for the simulated annotator: wrong regions and their queue, dab centres, stroke paths, footprints."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from unet_core.edit import brush

Point = tuple[int, int]  # (x, y)

_RING1 = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
_RING2 = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if max(abs(dy), abs(dx)) == 2]


def segment_inside(p: Point, q: Point, depth: np.ndarray | None, need: float) -> bool:
    """True if every pixel on the straight line ``p`` -> ``q`` has ``depth >= need`` (the drag stays inside)."""
    if depth is None:
        return True
    n = max(2, int(math.dist(p, q)) + 1)
    xs = np.rint(np.linspace(p[0], q[0], n)).astype(int)
    ys = np.rint(np.linspace(p[1], q[1], n)).astype(int)
    return bool((depth[ys, xs] >= need).all())


def path_length(points: Sequence[Point]) -> float:
    """Length of the polyline through ``points`` in pixels."""
    return float(sum(math.dist(a, b) for a, b in itertools.pairwise(points)))


def dab_centres(valid: np.ndarray, radius: int) -> dict[tuple[int, int], Point]:
    """One dab centre per ``radius``-sized grid cell touched by ``valid``: the valid pixel nearest the cell's middle."""
    r = max(1, int(radius))
    ys, xs = np.nonzero(valid)
    if ys.size == 0:
        return {}
    cy, cx = ys // r, xs // r
    off = (ys - (cy * r + (r - 1) / 2)) ** 2 + (xs - (cx * r + (r - 1) / 2)) ** 2
    order = np.lexsort((off, cx, cy))
    keys = cy[order] * (int(cx.max()) + 1) + cx[order]
    _, first = np.unique(keys, return_index=True)
    pick = order[first]
    return {(int(cy[i]), int(cx[i])): (int(xs[i]), int(ys[i])) for i in pick}


def plan_strokes(valid: np.ndarray, radius: int, max_length: float, depth: np.ndarray | None = None,
                 margin: float = 0.0) -> list[list[Point]]:
    """Strokes (lists of ``(x, y)`` dab centres) that move a brush of ``radius`` over ``valid``.

    Dab centres sit about ``radius`` apart (:func:`dab_centres`). A stroke starts at the top-left
    unvisited centre and drags to a neighbouring one (the one with the fewest unvisited neighbours,
    so thin regions are traced end to end and blobs are swept without stranding cells) while the
    drag stays where ``depth >= radius + margin`` (at least 1) and the stroke is at most ``max_length`` long; then
    the brush is lifted. Deterministic.
    """
    if valid.ndim != 2:
        raise ValueError(f"valid must be a 2-D boolean array, got shape {valid.shape}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    centres = dab_centres(valid, max(1, int(radius)))
    unvisited = set(centres)
    queue = sorted(centres)
    need = max(1.0, int(radius) + margin)  # the drag between dabs may graze the edge by a pixel
    strokes: list[list[Point]] = []

    def free_neighbours(cell: tuple[int, int], ring: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(cell[0] + dy, cell[1] + dx) for dy, dx in ring if (cell[0] + dy, cell[1] + dx) in unvisited]

    head = 0
    while unvisited:
        while queue[head] not in unvisited:
            head += 1
        cell = queue[head]
        unvisited.discard(cell)
        points, length = [centres[cell]], 0.0
        while True:
            options = free_neighbours(cell, _RING1) or free_neighbours(cell, _RING2)
            options.sort(key=lambda c: (len(free_neighbours(c, _RING1)), math.dist(centres[c], points[-1]), c))
            nxt = None
            for c in options:
                step = math.dist(points[-1], centres[c])
                if length + step <= max_length and segment_inside(points[-1], centres[c], depth, need):
                    nxt = c
                    break
            if nxt is None:
                break
            length += math.dist(points[-1], centres[nxt])
            points.append(centres[nxt])
            unvisited.discard(nxt)
            cell = nxt
        strokes.append(points)
    return strokes


def stroke_footprint(shape_hw: tuple[int, int], points: Sequence[Point], radius: int) -> np.ndarray:
    """Boolean H x W footprint of one stroke as the canvas's brush paints it (:func:`unet_core.edit.brush.stamp_path`)."""
    canvas = np.zeros(shape_hw, dtype=np.uint8)
    brush.stamp_path(canvas, points, int(radius), 1)
    return canvas.astype(bool)


def local_footprint(points: Sequence[Point], radius: int, shape_hw: tuple[int, int]
                    ) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The footprint of one stroke inside its bounding box: ``((y0, y1, x0, x1), boolean crop)``."""
    r = int(radius)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    y0, y1 = max(0, min(ys) - r - 1), min(shape_hw[0], max(ys) + r + 2)
    x0, x1 = max(0, min(xs) - r - 1), min(shape_hw[1], max(xs) + r + 2)
    local = [(x - x0, y - y0) for x, y in points]
    return (y0, y1, x0, x1), stroke_footprint((y1 - y0, x1 - x0), local, r)


@dataclass
class Region:
    """A connected region of wrong pixels that should all become ``label``."""

    area: int
    label: int
    y0: int
    x0: int
    pixels: np.ndarray  # boolean crop of the region, top-left at (y0, x0)
    fit: int = -1  # the largest brush that fits it (computed on demand)

    def distance(self, p: Point) -> float:
        """Distance from ``p`` (x, y) to the region's bounding box."""
        h, w = self.pixels.shape
        dx = max(self.x0 - p[0], 0, p[0] - (self.x0 + w - 1))
        dy = max(self.y0 - p[1], 0, p[1] - (self.y0 + h - 1))
        return math.hypot(dx, dy)


def find_regions(wrong: np.ndarray, label: int, y0: int, x0: int, min_area: int) -> list[Region]:
    """Connected regions (8-neighbour) of a boolean crop as components, at least ``min_area`` pixels."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(wrong.astype(np.uint8), connectivity=8)
    found = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area >= min_area:
            found.append(Region(area, label, y0 + y, x0 + x, lab[y:y + h, x:x + w] == i))
    return found


class RegionQueue:
    """Regions waiting to be painted: largest first, with a coarse grid to find a stroke's neighbours fast."""

    def __init__(self, cell: float) -> None:
        self.cell = max(1, int(cell))
        self.heap: list[tuple[int, int]] = []
        self.live: dict[int, Region] = {}
        self.grid: dict[tuple[int, int], set[int]] = {}
        self.ids = itertools.count()

    def _cells(self, y0: int, y1: int, x0: int, x1: int) -> list[tuple[int, int]]:
        c = self.cell
        return [(gy, gx) for gy in range(y0 // c, y1 // c + 1) for gx in range(x0 // c, x1 // c + 1)]

    def _box(self, comp: Region) -> tuple[int, int, int, int]:
        h, w = comp.pixels.shape
        return comp.y0, comp.y0 + h - 1, comp.x0, comp.x0 + w - 1

    def push(self, comp: Region) -> None:
        """Queue a region."""
        cid = next(self.ids)
        self.live[cid] = comp
        heapq.heappush(self.heap, (-comp.area, cid))
        for key in self._cells(*self._box(comp)):
            self.grid.setdefault(key, set()).add(cid)

    def take(self, cid: int) -> Region | None:
        """Remove and return a queued region (None if it was taken already)."""
        comp = self.live.pop(cid, None)
        if comp is not None:
            for key in self._cells(*self._box(comp)):
                self.grid[key].discard(cid)
        return comp

    def take_largest(self) -> Region | None:
        """Remove and return the largest queued region (None when the queue is empty)."""
        while self.heap:
            comp = self.take(heapq.heappop(self.heap)[1])
            if comp is not None:
                return comp
        return None

    def near(self, p: Point, radius: float, label: int) -> list[tuple[float, int]]:
        """(distance, id) of queued regions of ``label`` whose box is within ``radius`` of ``p``, nearest first."""
        x, y = p
        r = math.ceil(radius)
        ids: set[int] = set()
        for key in self._cells(max(0, y - r), y + r, max(0, x - r), x + r):
            ids |= self.grid.get(key, set())
        found = [(self.live[i].distance(p), i) for i in ids if self.live[i].label == label]
        return sorted(f for f in found if f[0] <= radius)


__all__ = [
    "Point",
    "Region",
    "RegionQueue",
    "dab_centres",
    "find_regions",
    "local_footprint",
    "path_length",
    "plan_strokes",
    "segment_inside",
    "stroke_footprint",
]
