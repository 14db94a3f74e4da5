"""The click simulator (RITM's scheme): the next click goes to the deepest point of the largest error region."""

from __future__ import annotations

import cv2
import numpy as np

from unet_core.data.guides import Click


def _depth(region: np.ndarray) -> np.ndarray:
    """Distance of each pixel of ``region`` (H x W bool) to the nearest pixel outside it, the frame's edge
    counting as outside (so a click never lands on the border of a region cut by the frame)."""
    padded = np.pad(region.astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


def _inside(region: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """``region`` cut to the valid pixels."""
    return region if valid is None else region & valid


def _deepest(depth: np.ndarray, peak: float, rng: np.random.Generator | None) -> tuple[int, int]:
    """The deepest pixel (the first in row order), or with ``rng`` a random pixel deeper than half the peak
    (RITM's jittered clicker: a user does not hit the exact centre)."""
    if rng is None:
        ys, xs = np.nonzero(depth >= peak)
        return int(ys[0]), int(xs[0])
    ys, xs = np.nonzero(depth > peak / 2.0)
    i = int(rng.integers(len(ys)))
    return int(ys[i]), int(xs[i])


def next_click(truth: np.ndarray, current: np.ndarray, cls: int,
               rng: np.random.Generator | None = None, valid: np.ndarray | None = None) -> Click | None:
    """The click a careful user makes next to fix class ``cls`` of ``current`` (H x W class ids) against
    ``truth``: a positive click in the deepest missed pixel of the class, or a negative one in the deepest
    pixel wrongly given to it, whichever region is deeper; None when the class is already right. Only
    ``valid`` pixels (H x W bool; None: all) can be clicked, and their edge counts as the frame's (the
    padding of a training crop is not part of the image)."""
    if truth.shape != current.shape or (valid is not None and valid.shape != truth.shape):
        raise ValueError(f"truth is {truth.shape}, the current mask {current.shape}"
                         + (f", the valid pixels {valid.shape}" if valid is not None else ""))
    want, have = truth == cls, current == cls
    missed = _depth(_inside(want & ~have, valid))
    extra = _depth(_inside(have & ~want, valid))
    miss_peak, extra_peak = float(missed.max(initial=0.0)), float(extra.max(initial=0.0))
    if max(miss_peak, extra_peak) <= 0.0:
        return None
    positive = miss_peak > extra_peak
    y, x = _deepest(missed if positive else extra, miss_peak if positive else extra_peak, rng)
    return Click(float(y), float(x), positive)


def pick_class(truth: np.ndarray, current: np.ndarray, rng: np.random.Generator | None = None,
               background: int = 0, valid: np.ndarray | None = None) -> int | None:
    """The class a user corrects first: the one at the deepest error of ``current`` (the true class there,
    or the predicted one where the truth is ``background``); with no error, the class (other than the
    background where there is one) with the deepest region; None for an empty, single-class image.
    With ``rng``: the error pixel is picked among the deep ones, as :func:`next_click` does; ``valid`` as there."""
    errors = _depth(_inside(truth != current, valid))
    peak = float(errors.max(initial=0.0))
    if peak > 0.0:
        y, x = _deepest(errors, peak, rng)
        true = int(truth[y, x])
        return true if true != background else int(current[y, x])
    inside = truth if valid is None else truth[valid]
    classes = [int(c) for c in np.unique(inside) if int(c) != background]
    if not classes:
        return None
    depths = [float(_depth(_inside(truth == c, valid)).max()) for c in classes]
    return classes[int(np.argmax(depths))]


__all__ = ["next_click", "pick_class"]
