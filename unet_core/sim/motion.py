"""How long the hand takes: drag time by the steering law (a path through a tunnel as wide as the slack)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

STEERING_B = 0.08
"""Seconds per unit of path length over tunnel width (Accot & Zhai 1997, straight tunnels: b of about
0.05-0.1 s with a stylus or mouse; see docs/effort.md)."""
MIN_WIDTH = 1.0
"""Narrowest tunnel (px): the brush edge may stray about a pixel even along a one-pixel gap."""


def drag_seconds(points: Sequence[tuple[int, int]], radius: int, depth: np.ndarray | None,
                 max_speed: float, b: float = STEERING_B, width: float | None = None) -> float:
    """Seconds to drag a brush of ``radius`` through ``points``: each segment of length L takes
    ``L * max(b / W, 1 / max_speed)``, W being twice the slack ``depth - radius`` at its middle (how far
    the disc may stray before it crosses into another class), at least :data:`MIN_WIDTH`. ``depth`` is
    the distance to the nearest pixel of another true class; ``None`` means no limit (free drags).
    ``width`` instead gives one tunnel width for the whole drag (a stroke whose tool, not the hand, keeps
    the edge). ``max_speed`` (px/s) bounds how fast a hand moves at all. Equal to the steering law
    ``T = b * integral(ds / W(s))`` where the tunnel is narrow, and to a plain drag where it is wide.
    """
    total = 0.0
    slow = 1.0 / max_speed
    fixed = max(b / max(MIN_WIDTH, width), slow) if width is not None else None
    h = w = 0
    if depth is not None:
        h, w = depth.shape
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        length = math.hypot(bx - ax, by - ay)
        if length == 0:
            continue
        per_px = slow if fixed is None else fixed
        if depth is not None and fixed is None:
            mx, my = min(max((ax + bx) // 2, 0), w - 1), min(max((ay + by) // 2, 0), h - 1)
            width = max(MIN_WIDTH, 2.0 * (float(depth[my, mx]) - radius))
            per_px = max(b / width, slow)
        total += length * per_px
    return total
