"""Magic wand: the connected region of colours close to the clicked one (and, with a model, of its class)."""

from __future__ import annotations

import cv2
import numpy as np

from unet_core.edit.probabilities import ClassProbabilities
from unet_core.edit.selection import Selection, selection_from

MAX_TOLERANCE = 255.0
PROB_MARGIN = 0.5
"""With a model, the wand stays where the clicked pixel's most probable class keeps at least this share
of the probability it has at the click (less as the tolerance grows): it does not leak across the
model's class edges, and an unsure model (probabilities spread thin) does not stop it dead."""


def magic_wand(
    image: np.ndarray,
    x: int,
    y: int,
    tolerance: float,
    value: int,
    *,
    probs: ClassProbabilities | None = None,
    connectivity: int = 4,
) -> Selection | None:
    """Select the ``connectivity``-connected pixels around (x, y) whose colour lies within ``tolerance``
    (0-255, per channel) of the clicked pixel's; they would become class ``value``.

    With ``probs`` the region also stops where the model gives the clicked pixel's most probable class
    less than ``PROB_MARGIN * (1 - tolerance / 255)`` times its probability at the click. ``None`` when
    (x, y) is outside the image.
    """
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise ValueError(f"the wand needs an H x W x 3 uint8 image, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return None
    tol = float(np.clip(tolerance, 0.0, MAX_TOLERANCE))
    rgb = np.ascontiguousarray(image[..., :3])
    region = np.zeros((h + 2, w + 2), np.uint8)
    if probs is not None:
        if probs.size_hw != (h, w):
            raise ValueError(f"probabilities are for {probs.size_hw}, the image is {(h, w)}")
        _block_other_classes(region, probs, x, y, tol)
    flags = connectivity | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (2 << 8)
    diff = (tol, tol, tol)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(rgb, region, (int(x), int(y)), 0, diff, diff, flags)
    if rw <= 0 or rh <= 0:
        return None
    sel = region[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw] == 2
    return selection_from(sel, int(value), rx, ry)


def _block_other_classes(region: np.ndarray, probs: ClassProbabilities, x: int, y: int, tol: float) -> None:
    """Mark (value 1) the pixels the flood may not enter: the clicked class is unlikely there."""
    h, w = probs.size_hw
    here = probs.window((x, y, x + 1, y + 1))[0, 0]
    seed = int(np.argmax(here))
    floor = PROB_MARGIN * float(here[seed]) * (1.0 - tol / MAX_TOLERANCE)
    if floor <= 0:
        return
    band = 512  # rows per read: bounded memory on huge images
    for y0 in range(0, h, band):
        y1 = min(h, y0 + band)
        p = probs.plane(seed, (0, y0, w, y1))
        region[1 + y0 : 1 + y1, 1 : 1 + w][p < floor] = 1
    region[1 + y, 1 + x] = 0
