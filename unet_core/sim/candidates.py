"""What the simulated person weighs before a smart action: candidates, merged stroke selections, scissors vertices."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def outline(comp: Region) -> np.ndarray:
    """The outer outline of the region's largest part as N x 2 image (x, y) points, one per boundary pixel."""
    contours, _ = cv2.findContours(comp.pixels.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return np.zeros((0, 2), np.int64)
    c = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.int64)
    return c + np.array([comp.x0, comp.y0], np.int64)


def wire_vertices(points: np.ndarray, follows: Callable[[int, int], bool], step: int, max_steps: int) -> list[int]:
    """Indices of ``points`` (a closed outline) where a person using intelligent scissors clicks.

    From each vertex the person reaches as far along the outline as the live wire still
    ``follows(i, j)`` it (they watch the preview), trying every ``step`` points up to ``max_steps``
    steps, doubling then halving the reach; a wire that never follows still gets a vertex one step on.
    """
    n = len(points)
    if n < 3 * step:
        return list(range(0, n, max(1, n // 3)))[:3] if n >= 3 else []
    picks = [0]
    i = 0
    while i + step < n:
        if n - i <= max_steps * step and follows(i, n):  # the wire closes the outline from here
            break
        good, reach = 1, 1
        while reach <= max_steps and i + reach * step < n and follows(i, i + reach * step):
            good, reach = reach, reach * 2
        lo, hi = good, min(reach, max_steps + 1, (n - 1 - i) // step + 1)
        while hi - lo > 1:  # the farthest reach that still follows, between the last good and first bad
            mid = (lo + hi) // 2
            if follows(i, i + mid * step):
                lo = mid
            else:
                hi = mid
        i += lo * step
        if n - i < step:
            break
        picks.append(i)
    last = picks[-1]
    if n - last > step and not follows(last, n):  # the wire back to the first vertex strays: one more vertex
        picks.append((last + n) // 2)
    return picks
