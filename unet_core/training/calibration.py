"""How well a model's uncertainty score ranks its own errors on the validation split (for the queue's order)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# The queue trusts the uncertainty order only when, on at least MIN_IMAGES validation images, the
# score's rank correlation with the error (1 - Dice) is surely positive: the one-sided 95 % lower
# bound of Spearman's rho (Fisher z with the Bonett-Wright variance 1.06 / (n - 3)) is above
# MIN_BOUND. That asks for rho >= 0.69 on 8 images, 0.47 on 20, 0.33 on 50: a few images must
# agree strongly. Below that, most uncertain first is no better founded than a shuffle, and with a
# model trained on a handful of images it is often worse (entropy is highest on what the model has
# never seen, not on what costs most to correct).
MIN_IMAGES = 8
MIN_BOUND = 0.1
Z_ONE_SIDED_95 = 1.645
MAX_SPLIT_ID = 64  # characters of a split id read from a file


def image_dice(matrix: np.ndarray) -> float:
    """One image's Dice from its K x K confusion matrix [truth, prediction]: foreground Dice for two
    classes, else the mean over the classes present in the truth or the prediction (1.0 if none)."""
    m = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(m)
    denom = m.sum(axis=0) + m.sum(axis=1)
    classes = [1] if m.shape[0] == 2 else range(m.shape[0])
    scores = [2 * tp[c] / denom[c] for c in classes if denom[c] > 0]
    return float(np.mean(scores)) if scores else 1.0


def rank(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n of ``values``, ties sharing their mean rank."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(1, len(x) + 1)
    for v in np.unique(x):
        tied = x == v
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation of ``a`` and ``b``; ``None`` under 3 pairs or when either is constant."""
    if len(a) != len(b):
        raise ValueError(f"need pairs: {len(a)} values against {len(b)}")
    if len(a) < 3:
        return None
    ra, rb = rank(a), rank(b)
    sa, sb = ra.std(), rb.std()
    if sa == 0 or sb == 0:
        return None
    return float(((ra - ra.mean()) * (rb - rb.mean())).mean() / (sa * sb))


def lower_bound(rho: float, images: int) -> float | None:
    """The one-sided 95 % lower confidence bound of a Spearman ``rho`` over ``images`` pairs (``None`` under 4)."""
    if images < 4:
        return None
    z = math.atanh(min(max(rho, -0.9999), 0.9999))
    return math.tanh(z - Z_ONE_SIDED_95 * math.sqrt(1.06 / (images - 3)))


def needed_rho(images: int) -> float | None:
    """The smallest rho whose lower bound clears :data:`MIN_BOUND` on ``images`` pairs (``None`` under 4)."""
    if images < 4:
        return None
    return math.tanh(math.atanh(MIN_BOUND) + Z_ONE_SIDED_95 * math.sqrt(1.06 / (images - 3)))


@dataclass(frozen=True)
class Calibration:
    """The uncertainty score against the error on ``images`` validation images: ``rho`` = Spearman's rank
    correlation of score and 1 - Dice (``None`` when it cannot be measured), on the validation split
    ``split`` (:func:`unet_core.loop.corrections.split_id`; ``None``: not recorded)."""

    images: int
    rho: float | None
    split: str | None = None

    @classmethod
    def measure(cls, scores: Sequence[float], dices: Sequence[float], split: str | None = None) -> Calibration:
        """From per-image uncertainty scores and Dice values of the same images (non-finite pairs dropped)."""
        pairs = [(float(s), float(d)) for s, d in zip(scores, dices, strict=True)
                 if math.isfinite(s) and math.isfinite(d)]
        rho = spearman([s for s, _ in pairs], [1.0 - d for _, d in pairs])
        return cls(len(pairs), None if rho is None else round(rho, 4), split or None)

    @property
    def trusted(self) -> bool:
        """Whether most-uncertain-first is founded: enough images, and the score surely ranks the errors."""
        if self.images < MIN_IMAGES or self.rho is None:
            return False
        bound = lower_bound(self.rho, self.images)
        return bound is not None and bound > MIN_BOUND

    def to_dict(self) -> dict[str, Any]:
        return {"images": self.images, "rho": self.rho, "split": self.split}

    @classmethod
    def from_training(cls, training: Mapping[str, Any]) -> Calibration | None:
        """The calibration a checkpoint's training metadata recorded (``None`` if absent or malformed)."""
        raw = training.get("uncertainty_calibration")
        if not isinstance(raw, Mapping):
            return None
        images, rho, split = raw.get("images"), raw.get("rho"), raw.get("split")
        if not isinstance(images, int) or isinstance(images, bool) or not 0 <= images <= 10**9:
            return None
        if rho is not None and (not isinstance(rho, (int, float)) or isinstance(rho, bool)
                                or not -1.0 <= rho <= 1.0):  # (also false for NaN)
            return None
        if split is not None and (not isinstance(split, str) or len(split) > MAX_SPLIT_ID):
            return None
        return cls(images, None if rho is None else float(rho), split)

    def describe(self) -> str:
        """One line for a person: what the queue concluded and from what."""
        if self.images < MIN_IMAGES:
            return f"{self.images} validation image(s) are too few to check the model's uncertainty ({MIN_IMAGES} needed)"
        if self.rho is None:
            return f"the model's uncertainty could not be checked on {self.images} validation images"
        measured = f"rank correlation {self.rho:.2f} on {self.images} validation images"
        if self.trusted:
            return f"the model's uncertainty ranks its errors: {measured}"
        return f"the model's uncertainty does not rank its errors surely enough: {measured} (needs {needed_rho(self.images):.2f})"


__all__ = ["MIN_BOUND", "MIN_IMAGES", "Calibration", "image_dice", "lower_bound", "needed_rho", "rank", "spearman"]
