"""A model's class probabilities for one image: held at the model's resolution, read at full size per window."""

from __future__ import annotations

import cv2
import numpy as np

from unet_core.edit.patches import Rect

MAX_WINDOW_VALUES = 1 << 26
"""Most float32 values one window read may produce (256 MB): callers read windows, not whole large images."""


class ClassProbabilities:
    """Probabilities ``low`` (h x w x K, any float dtype) of an image of ``size_hw`` (H, W).

    :meth:`window` resamples one image rectangle bilinearly with the same pixel-centre alignment as
    ``cv2.resize`` of the whole map, so a window equals the matching crop of the full-size map.
    """

    def __init__(
        self, low: np.ndarray, size_hw: tuple[int, int], extent_hw: tuple[float, float] | None = None
    ) -> None:
        if low.ndim != 3 or low.shape[2] < 2:
            raise ValueError(f"probabilities must be h x w x K with K >= 2, got {low.shape}")
        self.low = np.ascontiguousarray(low, dtype=np.float32)
        self.size_hw = (int(size_hw[0]), int(size_hw[1]))
        # how many low cells span the image (block means of a size not divisible by the block: fewer than h x w)
        self.extent_hw = (float(low.shape[0]), float(low.shape[1])) if extent_hw is None else (
            float(extent_hw[0]), float(extent_hw[1]))

    @property
    def num_classes(self) -> int:
        """K, the number of classes."""
        return int(self.low.shape[2])

    def window(self, rect: Rect, classes: slice | None = None) -> np.ndarray:
        """Probabilities of the pixels in ``rect`` (x0, y0, x1, y1) as (y1-y0) x (x1-x0) x K float32
        (only the planes ``classes`` picks, e.g. ``slice(c, c + 1)``, when given)."""
        x0, y0, x1, y1 = rect
        big_h, big_w = self.size_hw
        if not (0 <= x0 < x1 <= big_w and 0 <= y0 < y1 <= big_h):
            raise ValueError(f"window {rect} is outside a {big_w}x{big_h} image")
        low = self.low if classes is None else self.low[..., classes]
        if low.shape[2] == 0:
            raise ValueError(f"no class in {classes}")
        if (y1 - y0) * (x1 - x0) * low.shape[2] > MAX_WINDOW_VALUES:
            raise ValueError(f"window {rect} is too large to read at once")
        h, w = low.shape[:2]
        sx, sy = self.extent_hw[1] / big_w, self.extent_hw[0] / big_h
        xs = np.clip((np.arange(x0, x1, dtype=np.float32) + 0.5) * sx - 0.5, 0, w - 1)
        ys = np.clip((np.arange(y0, y1, dtype=np.float32) + 0.5) * sy - 0.5, 0, h - 1)
        map_x = np.broadcast_to(xs[None, :], (y1 - y0, x1 - x0)).astype(np.float32)
        map_y = np.broadcast_to(ys[:, None], (y1 - y0, x1 - x0)).astype(np.float32)
        k = low.shape[2]
        out = np.empty((y1 - y0, x1 - x0, k), np.float32)
        for c in range(0, k, 4):  # remap takes at most four channels at a time
            part = cv2.remap(np.ascontiguousarray(low[..., c:c + 4]), map_x, map_y, cv2.INTER_LINEAR)
            out[..., c:c + 4] = part.reshape(out.shape[0], out.shape[1], -1)
        return out

    def plane(self, c: int, rect: Rect) -> np.ndarray:
        """Probability of class ``c`` over ``rect`` as a float32 block."""
        if not 0 <= c < self.num_classes:
            raise ValueError(f"class {c} is outside 0..{self.num_classes - 1}")
        return self.window(rect, slice(c, c + 1))[..., 0]

    def ranked(self, rect: Rect) -> tuple[np.ndarray, np.ndarray]:
        """The first and second most probable class of each pixel in ``rect`` (two uint8 blocks)."""
        p = self.window(rect)
        order = np.argsort(-p, axis=-1, kind="stable")
        return order[..., 0].astype(np.uint8), order[..., 1].astype(np.uint8)
