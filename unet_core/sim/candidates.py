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


def outline_vertices(comp: Region, spacing: float) -> list[tuple[int, int]]:
    """Points every ``spacing`` px along the outer outline of the region's largest part (image coordinates)."""
    contours, _ = cv2.findContours(comp.pixels.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return []
    c = max(contours, key=cv2.contourArea).reshape(-1, 2)
    steps = np.hypot(*np.diff(np.vstack([c, c[:1]]), axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])[:-1]
    total = float(along[-1] + steps[-1]) if len(steps) else 0.0
    n = max(3, math.ceil(total / max(spacing, 1.0)))
    picks = np.searchsorted(along, np.linspace(0.0, total, n, endpoint=False))
    picks = np.unique(np.clip(picks, 0, len(c) - 1))
    return [(int(c[i, 0]) + comp.x0, int(c[i, 1]) + comp.y0) for i in picks]
