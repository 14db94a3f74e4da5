"""How well a model's uncertainty score ranks its own errors on the validation split (for the queue's order)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# The queue trusts the uncertainty order only when, on at least this many validation images, the
# score's rank correlation with the error (1 - Dice) is at least CALIBRATED_RHO. Spearman's rho of
# 0.5 over 8 images is about the 10 % significance level (one-sided); below that, most uncertain
# first is no better founded than a shuffle, and with a model trained on a handful of images it is
# often worse (entropy is highest on what the model has never seen, not on what costs most to fix).
MIN_IMAGES = 8
CALIBRATED_RHO = 0.5


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


@dataclass(frozen=True)
class Calibration:
    """The uncertainty score against the error on ``images`` validation images: ``rho`` = Spearman's rank
    correlation of score and 1 - Dice (``None`` when it cannot be measured)."""

    images: int
    rho: float | None

    @classmethod
    def measure(cls, scores: Sequence[float], dices: Sequence[float]) -> Calibration:
        """From per-image uncertainty scores and Dice values of the same images (non-finite pairs dropped)."""
        pairs = [(float(s), float(d)) for s, d in zip(scores, dices, strict=True)
                 if np.isfinite(s) and np.isfinite(d)]
        rho = spearman([s for s, _ in pairs], [1.0 - d for _, d in pairs])
        return cls(len(pairs), None if rho is None else round(rho, 4))

    @property
    def trusted(self) -> bool:
        """Whether most-uncertain-first is founded: enough images, and the score ranks the errors."""
        return self.images >= MIN_IMAGES and self.rho is not None and self.rho >= CALIBRATED_RHO

    def to_dict(self) -> dict[str, Any]:
        return {"images": self.images, "rho": self.rho}

    @classmethod
    def from_training(cls, training: Mapping[str, Any]) -> Calibration | None:
        """The calibration a checkpoint's training metadata recorded (``None`` if absent or malformed)."""
        raw = training.get("uncertainty_calibration")
        if not isinstance(raw, Mapping):
            return None
        images, rho = raw.get("images"), raw.get("rho")
        if not isinstance(images, int) or isinstance(images, bool) or images < 0:
            return None
        if rho is not None and (not isinstance(rho, (int, float)) or isinstance(rho, bool) or not np.isfinite(rho)
                                or not -1.0 <= rho <= 1.0):
            return None
        return cls(images, None if rho is None else float(rho))

    def describe(self) -> str:
        """One line for a person: what the queue concluded and from what."""
        if self.images < MIN_IMAGES:
            return f"{self.images} validation image(s) are too few to check the model's uncertainty ({MIN_IMAGES} needed)"
        if self.rho is None:
            return f"the model's uncertainty could not be checked on {self.images} validation images"
        verdict = "ranks" if self.trusted else f"does not rank (needs {CALIBRATED_RHO})"
        return f"the model's uncertainty {verdict} its errors: rank correlation {self.rho:.2f} on {self.images} validation images"


__all__ = ["CALIBRATED_RHO", "MIN_IMAGES", "Calibration", "image_dice", "rank", "spearman"]
