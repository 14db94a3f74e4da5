"""What the simulated person weighs before a smart action: candidates, merged stroke selections, outline vertices."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from unet_core.edit.patches import union
from unet_core.edit.selection import Selection
from unet_core.sim.brush_strokes import Region


@dataclass(frozen=True)
class Candidate:
    """A foreseen edit: its selection, tool, class, actions, seconds, pixels fixed and broken, and
    ``rate`` = net pixels fixed per second (switch keys included)."""

    sel: Selection
    tool: str
    value: int
    actions: int
    seconds: float
    fixed: int
    broken: int
    rate: float


def merge(sels: Sequence[Selection | None], value: int) -> Selection | None:
    """One selection of all of ``sels`` (each valued ``value``), over the union of their rectangles."""
    live = [s for s in sels if s is not None]
    if not live:
        return None
    rect = None
    for s in live:
        rect = union(rect, s.rect)
    assert rect is not None
    x0, y0, x1, y1 = rect
    out = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for s in live:
        a0, b0, a1, b1 = s.rect
        out[b0 - y0 : b1 - y0, a0 - x0 : a1 - x0] |= s.pixels
    return Selection(rect, out, int(value))


def outline_vertices(comp: Region, spacing: float, free: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Vertices along the outer outline of the region's largest part (image coordinates): every
    ``spacing`` px where the outline must be followed, and only the ends of stretches that run beside
    ``free`` pixels (already the region's class: painting over them changes nothing), which the
    polygon may cut straight across."""
    contours, _ = cv2.findContours(comp.pixels.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return []
    c = max(contours, key=cv2.contourArea).reshape(-1, 2)
    n = len(c)
    loose = _beside(c, comp, free) if free is not None else np.zeros(n, dtype=bool)
    picks: list[int] = []
    since = spacing  # px along the outline since the last vertex
    for i in range(n):
        step = math.dist(c[i - 1], c[i]) if i else 0.0
        since += step
        edge = loose[i] != loose[i - 1]
        if edge or (not loose[i] and since >= spacing):
            picks.append(i)
            since = 0.0
    if len(picks) < 3:
        picks = sorted(set(np.linspace(0, n - 1, min(n, 4)).astype(int).tolist()))
    return [(int(c[i, 0]) + comp.x0, int(c[i, 1]) + comp.y0) for i in picks]


def _beside(c: np.ndarray, comp: Region, free: np.ndarray) -> np.ndarray:
    """Per outline point: whether a free pixel touches it from outside the region."""
    h, w = free.shape
    out = np.zeros(len(c), dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx == 0 and dy == 0:
                continue
            ys = np.clip(c[:, 1] + comp.y0 + dy, 0, h - 1)
            xs = np.clip(c[:, 0] + comp.x0 + dx, 0, w - 1)
            out |= free[ys, xs]
    return out
