"""The snapping stroke: a rough stroke over an object seeds GrabCut in a window, so the object is taken to its edges."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from unet_core.edit.brush import Pixel, stamp_path
from unet_core.edit.patches import Rect, clip
from unet_core.edit.probabilities import ClassProbabilities
from unet_core.edit.selection import Selection, selection_from

WORK_PIXELS = 40_000
"""GrabCut runs on at most this many pixels (the window is downscaled to fit): the latency bound."""
ITERATIONS = 2
MIN_MARGIN = 24
MAX_GROWS = 1
BLOCK_SIDE = 0.5
"""A result covering more than this share of two of its window's inner sides is refused as a block."""
BLOCK_FILL = 0.9
"""... and so is one covering more than this share of its whole window."""


def snap_window(points: Sequence[Pixel], radius: int, shape_hw: tuple[int, int], grow: int = 0) -> Rect | None:
    """The window GrabCut looks in: the stroke's box grown on every side by three brush radii and half
    the stroke's length (at least ``MIN_MARGIN`` px), doubled ``grow`` times, cut to the image."""
    xs = [int(p[0]) for p in points]
    ys = [int(p[1]) for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys))
    m = max(MIN_MARGIN, 3 * int(radius), span // 2) << max(0, int(grow))
    return clip(min(xs) - m, min(ys) - m, max(xs) + m + 1, max(ys) + m + 1, shape_hw)


def snap_stroke(
    image: np.ndarray,
    mask: np.ndarray,
    points: Sequence[Pixel],
    radius: int,
    value: int,
    *,
    probs: ClassProbabilities | None = None,
    erase: bool = False,
) -> Selection | None:
    """The object under a rough stroke, found by GrabCut in a window around it (:func:`snap_window`,
    grown to cover what the model or the mask says the object is, or once more when the change
    reaches its side and nothing said how far the object goes). A result that fills its window, or runs
    out of it on two sides, told nothing apart (it would paint a block): ``None``.

    The stroke's pixels are sure object; elsewhere in the window the model's probability of the object's
    class (or, without a model, the current mask) says probable object or probable not. The parts of
    the result that touch the stroke are selected: they become ``value`` where they are not already.
    With ``erase`` the object is what the stroke marks of the class most common under it (a band
    around the stroke is its prior, never the rest of that class), and its pixels in the result become
    ``value`` (the eraser form, usually background). ``None`` when nothing would change.
    """
    if not points:
        return None
    if image.shape[:2] != mask.shape:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape} differ in size")
    base = snap_window(points, radius, mask.shape)
    if base is None:
        return None
    win = base if erase else _prior_window(mask, points, radius, value, probs, erase, base)
    for attempt in range(2):
        found, sub, target = _snap_in(image, mask, points, radius, value, probs, erase, win)
        if found is None:
            return None
        found &= (sub == target) if erase else (sub != value)  # what would change
        if attempt or win != base or _sides_cut(found, win, mask.shape) == 0:
            break
        grown = snap_window(points, radius, mask.shape, 1)  # no prior said how far: grow once
        assert grown is not None
        win = grown
    if _sides_cut(found, win, mask.shape, BLOCK_SIDE) >= 2 or found.mean() > BLOCK_FILL:
        return None  # the result fills the window or two of its sides: no object was told apart (a block)
    return selection_from(found, int(value), win[0], win[1])


def _prior_window(mask: np.ndarray, points: Sequence[Pixel], radius: int, value: int,
                  probs: ClassProbabilities | None, erase: bool, base: Rect) -> Rect:
    """The window GrabCut runs in: ``base`` grown to the box of what the prior (the model, or the mask)
    says is the object where it touches the stroke, within :data:`MAX_GROWS` doublings of the margin."""
    reach = snap_window(points, radius, mask.shape, MAX_GROWS)
    assert reach is not None
    x0, y0, x1, y1 = reach
    sub = mask[y0:y1, x0:x1]
    stroke = np.zeros((y1 - y0, x1 - x0), np.uint8)
    stamp_path(stroke, [(int(p[0]) - x0, int(p[1]) - y0) for p in points], max(0, int(radius)), 1)
    sure = stroke.astype(bool)
    target = _erased_class(sub[sure], value) if erase else int(value)
    if target is None or not sure.any():
        return base
    prior = probs.plane(target, reach) >= 0.5 if probs is not None and target < probs.num_classes \
        else sub == target
    obj = _touching(prior | sure, sure)
    if not (obj & ~sure).any():
        return base  # the prior knows nothing beyond the stroke
    rows, cols = np.flatnonzero(obj.any(axis=1)), np.flatnonzero(obj.any(axis=0))
    m = MIN_MARGIN
    box = clip(x0 + int(cols[0]) - m, y0 + int(rows[0]) - m, x0 + int(cols[-1]) + 1 + m, y0 + int(rows[-1]) + 1 + m,
               mask.shape)
    assert box is not None
    bx0, by0, bx1, by1 = base
    grown = (min(box[0], bx0), min(box[1], by0), max(box[2], bx1), max(box[3], by1))
    return (max(grown[0], x0), max(grown[1], y0), min(grown[2], x1), min(grown[3], y1))


def _snap_in(image: np.ndarray, mask: np.ndarray, points: Sequence[Pixel], radius: int, value: int,
             probs: ClassProbabilities | None, erase: bool, win: Rect) -> tuple[np.ndarray | None, np.ndarray, int]:
    """GrabCut in ``win``: the object found there (touching the stroke), the mask's window and the target class."""
    x0, y0, x1, y1 = win
    sub = mask[y0:y1, x0:x1]
    stroke = np.zeros((y1 - y0, x1 - x0), np.uint8)
    stamp_path(stroke, [(int(p[0]) - x0, int(p[1]) - y0) for p in points], max(0, int(radius)), 1)
    sure = stroke.astype(bool)
    if not sure.any():
        return None, sub, -1
    target = _erased_class(sub[sure], value) if erase else int(value)
    if target is None:
        return None, sub, -1
    if erase:  # what the stroke marks, not all of the class it erases: a band around the stroke
        r = max(2, int(radius))
        prior = cv2.dilate(stroke, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
        prior &= sub == target
    elif probs is not None and target < probs.num_classes:
        prior = probs.plane(target, win) >= 0.5
    else:
        prior = sub == target
    found = _grabcut(np.ascontiguousarray(image[y0:y1, x0:x1, :3]), sure, prior)
    return _touching(found, sure), sub, target


def _sides_cut(found: np.ndarray, win: Rect, shape_hw: tuple[int, ...], share: float = 0.0) -> int:
    """How many sides of the window, beyond which the image goes on, the change covers more than
    ``share`` of (0: reaches at all)."""
    x0, y0, x1, y1 = win
    h, w = shape_hw[:2]
    sides = [(y0 > 0, found[0]), (y1 < h, found[-1]), (x0 > 0, found[:, 0]), (x1 < w, found[:, -1])]
    return sum(1 for inner, line in sides if inner and line.any() and line.mean() > share)


def _erased_class(under: np.ndarray, value: int) -> int | None:
    """The class the eraser takes away: the most common one under the stroke other than ``value``."""
    counts = np.bincount(under.ravel(), minlength=int(value) + 1)
    counts[int(value)] = 0
    return int(counts.argmax()) if counts.any() else None


def _grabcut(crop: np.ndarray, sure: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """GrabCut in mask mode on ``crop`` (downscaled to :data:`WORK_PIXELS`); the object at full size."""
    h, w = sure.shape
    f = min(1.0, (WORK_PIXELS / (h * w)) ** 0.5)
    size = (max(8, round(w * f)), max(8, round(h * f)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA) if f < 1.0 else crop
    s_sure = cv2.resize(sure.view(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool) if f < 1.0 \
        else sure
    s_prior = cv2.resize(prior.view(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool) if f < 1.0 \
        else prior
    gc = np.where(s_prior, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    gc[s_sure] = cv2.GC_FGD
    if not (gc == cv2.GC_PR_BGD).any():  # GrabCut needs some background to learn from: the window's rim
        gc[[0, -1], :] = cv2.GC_PR_BGD
        gc[:, [0, -1]] = cv2.GC_PR_BGD
        gc[s_sure] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(small, gc, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return sure.copy()  # too few samples of one side (a tiny window): the stroke itself
    obj = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.float32)
    if f < 1.0:
        obj = cv2.resize(obj, (w, h), interpolation=cv2.INTER_LINEAR)
    return (obj >= 0.5) | sure


def _touching(found: np.ndarray, sure: np.ndarray) -> np.ndarray:
    """The 8-connected parts of ``found`` that hold a stroke pixel."""
    n, labels = cv2.connectedComponents(found.view(np.uint8), connectivity=8)
    if n <= 2:
        return found
    keep = np.zeros(n, dtype=bool)
    keep[np.unique(labels[sure])] = True
    keep[0] = False
    return keep[labels]
