"""Refine edges: GrabCut in a strip along a class's outline moves its edges onto the image's edges, one command."""

from __future__ import annotations

import cv2
import numpy as np

from unet_core.edit.selection import Selection, selection_from

ITERATIONS = 2
WORK_PIXELS = 3_000_000
"""GrabCut runs on at most this many pixels (a larger window is downscaled): the bound on time and memory."""
REACH_SHARE = 0.008
"""The default reach: this share of the image's long side on each side of the outline (15 px at 1918)."""
MAX_REACH = 100
"""The reach goes no further: beyond it a model's outline says nothing about where the object is."""


def default_reach(shape_hw: tuple[int, ...]) -> int:
    """How far (px) the outline may move, to suit an image of this size."""
    return max(2, round(REACH_SHARE * max(int(shape_hw[0]), int(shape_hw[1]))))


def step_reach(reach: int, up: bool) -> int:
    """The next reach up or down (about 1.5x; ``[`` and ``]`` in the app, one adjustment for the simulated person)."""
    return min(MAX_REACH, max(1, max(reach + 1, round(reach * 1.5)) if up else round(reach / 1.5)))


def refine_edges(image: np.ndarray, mask: np.ndarray, value: int, reach: int) -> Selection | None:
    """Move the outline of class ``value`` onto the image's edges, within ``reach`` pixels of where it is.

    ``image`` is H x W x 3 (or 4) uint8. Pixels deeper than ``reach`` inside the class are sure object,
    deeper than ``reach`` outside it sure not; GrabCut (mask mode, colour models learnt around the outline,
    seeded so a result repeats) decides the strip between. Pixels it adds become ``value``; pixels it takes
    away get the class of the nearest pixel outside the class (background where there is nothing else).
    ``None`` when nothing would change or the class is absent.
    """
    if image.shape[:2] != mask.shape:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape} differ in size")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"refine edges needs an H x W x 3 uint8 image, not {image.dtype} {image.shape}")
    if reach < 1:
        raise ValueError(f"the reach must be at least 1 pixel, not {reach}")
    of_class = (mask == value).view(np.uint8)
    if not of_class.any() or of_class.all():
        return None
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    near = cv2.dilate(of_class, disc) & ~cv2.erode(of_class, disc) & 1  # the strip, both sides of the outline
    rows, cols = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
    h, w = mask.shape
    y0, y1 = max(0, int(rows[0]) - reach), min(h, int(rows[-1]) + reach + 1)
    x0, x1 = max(0, int(cols[0]) - reach), min(w, int(cols[-1]) + reach + 1)
    sub, strip = of_class[y0:y1, x0:x1].astype(bool), near[y0:y1, x0:x1].astype(bool)
    found = _grabcut(np.ascontiguousarray(image[y0:y1, x0:x1, :3]), sub, strip)
    changed = strip & (found != sub)
    if not changed.any():
        return None
    values = np.full(sub.shape, np.uint8(value))
    taken = changed & sub
    if taken.any():
        values[taken] = _nearest_other(mask, value, (x0, y0, x1, y1))[taken]
    return selection_from(changed, values, x0, y0)


def _grabcut(crop: np.ndarray, inside: np.ndarray, strip: np.ndarray) -> np.ndarray:
    """The object GrabCut finds in ``crop``: sure where ``strip`` is not, probable by ``inside`` in it. A window
    over :data:`WORK_PIXELS` is decided at a lower scale, and only what GrabCut changes there is scaled up (the
    outline elsewhere keeps its full-resolution pixels; a change one low-resolution pixel thin is dropped)."""
    h, w = inside.shape
    gc = np.where(inside, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    gc[strip & inside] = cv2.GC_PR_FGD
    gc[strip & ~inside] = cv2.GC_PR_BGD
    f = min(1.0, (WORK_PIXELS / (h * w)) ** 0.5)
    if f < 1.0:  # a huge window: decided at a lower scale (the bound on time and memory)
        size = (max(8, round(w * f)), max(8, round(h * f)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        gc = cv2.resize(gc, size, interpolation=cv2.INTER_NEAREST)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    start = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's generator: the same input, the same result
    try:
        cv2.grabCut(crop, gc, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return inside  # too few samples of one side (a sliver of a class): nothing to learn from
    found = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    if f == 1.0:
        return found
    flip = cv2.morphologyEx((found != start).view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    flip = cv2.resize(flip, (w, h), interpolation=cv2.INTER_NEAREST).view(bool)  # a ring of mixed low-res pixels
    return inside ^ (flip & strip)  # is no change: only what GrabCut moved by more than a pixel there


def _nearest_other(mask: np.ndarray, value: int, rect: tuple[int, int, int, int]) -> np.ndarray:
    """For each pixel of ``rect``, the class of the nearest pixel (in the rect) that is not ``value``."""
    x0, y0, x1, y1 = rect
    sub = mask[y0:y1, x0:x1]
    other = sub != value
    if not other.any():
        return np.zeros_like(sub)
    counts = np.bincount(sub[other], minlength=256)
    if np.count_nonzero(counts) == 1:  # one other class (two-class masks): no search
        return np.full_like(sub, int(np.flatnonzero(counts)[0]))
    _, labels = cv2.distanceTransformWithLabels(other.view(np.uint8) ^ 1, cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    lut = np.zeros(int(labels.max()) + 1, np.uint8)  # each pixel not of the class carries its own label
    lut[labels[other]] = sub[other]
    return lut[labels]
