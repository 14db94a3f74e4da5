"""Region clicks on the model's output: flip a wrong blob, fill a missed part, or switch a blob to the second choice."""

from __future__ import annotations

import numpy as np

from unet_core.edit.fill import component_at
from unet_core.edit.probabilities import ClassProbabilities
from unet_core.edit.selection import Selection

CONSIDERED = 0.5
"""With a model, a fill grows over pixels where the model gives the clicked class at least this share
of the probability it gives it at the click (at least ``MIN_CONSIDERED``): what the model half-saw."""
MIN_CONSIDERED = 0.1
SURER = 0.2
"""With a model, a removal stops where the model is this much surer of the class than at the click,
so a false part attached to a true object goes, not the object."""


def region_click(
    mask: np.ndarray, x: int, y: int, value: int, *, probs: ClassProbabilities | None = None
) -> Selection | None:
    """One click on a wrong region of the mask, with ``value`` the active class.

    On a pixel of another class: that class's connected region becomes ``value`` (a missed part or a
    hole); with ``probs`` only the part where the model gave ``value`` some probability
    (:data:`CONSIDERED`), so a click beside an object fills what the model half-saw, not all of the
    background. On a pixel of ``value`` itself: the blob is removed, each pixel taking the model's next
    most probable class (background without a model); with ``probs`` only the part where the model is
    not clearly surer of ``value`` than at the click (:data:`SURER`). ``None`` outside the image.
    """
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h):
        return None
    here = int(mask[y, x])
    if here == int(value):
        if probs is None:
            blob = component_at(mask, x, y)
            return None if blob is None else Selection(blob.rect, blob.pixels, 0 if value != 0 else 1)
        blocked = None
        if int(value) < probs.num_classes:
            plane = probs.plane(int(value), (0, 0, w, h))
            blocked = plane > float(plane[y, x]) + SURER
        blob = component_at(mask, x, y, blocked)
        if blob is None:
            return None
        return Selection(blob.rect, blob.pixels, _next_best(probs, blob.rect, int(value)))
    blocked = None
    if probs is not None:
        if int(value) >= probs.num_classes:  # the model never considers this class: nothing half-seen
            return Selection((x, y, x + 1, y + 1), np.ones((1, 1), bool), int(value))
        plane = probs.plane(int(value), (0, 0, w, h))
        floor = max(MIN_CONSIDERED, CONSIDERED * float(plane[y, x]))
        blocked = plane < floor
    part = component_at(mask, x, y, blocked)
    if part is None:
        return None
    return Selection(part.rect, part.pixels, int(value))


def second_choice(mask: np.ndarray, x: int, y: int, probs: ClassProbabilities) -> Selection | None:
    """The connected region of the clicked class becomes the class the model ranks next over it
    (the highest mean probability among the other classes); ``None`` outside the image."""
    blob = component_at(mask, x, y)
    if blob is None:
        return None
    here = int(mask[y, x])
    p = probs.window(blob.rect)[blob.pixels]
    means = p.mean(axis=0)
    if here < means.size:
        means[here] = -1.0
    return Selection(blob.rect, blob.pixels, int(np.argmax(means)))


def _next_best(probs: ClassProbabilities, rect: tuple[int, int, int, int], value: int) -> np.ndarray:
    """Per pixel of ``rect``: the most probable class other than ``value``."""
    p = probs.window(rect)
    if value < p.shape[-1]:
        p[..., value] = -1.0
    return np.argmax(p, axis=-1).astype(np.uint8)
