"""Segmentation metrics from a confusion matrix: pixel accuracy, per-class Dice and IoU (design.md 3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from unet_core.data.classes import VOID


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Return the K x K int64 matrix whose [t, p] entry counts pixels of true class t predicted as p.

    Both arrays must have the same shape and hold ids in ``0..num_classes-1``; truth pixels of the ignore label
    (:data:`~unet_core.data.classes.VOID`) are left out.
    """
    if truth.shape != pred.shape:
        raise ValueError(f"truth shape {truth.shape} differs from prediction shape {pred.shape}")
    t = np.asarray(truth, dtype=np.int64).ravel()
    p = np.asarray(pred, dtype=np.int64).ravel()
    if num_classes <= VOID and t.size and t.max() == VOID:
        keep = t != VOID
        t, p = t[keep], p[keep]
    if t.size and (t.max() >= num_classes or p.max() >= num_classes or t.min() < 0 or p.min() < 0):
        raise ValueError(f"class ids must lie in 0..{num_classes - 1}")
    counts = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


@dataclass
class ConfusionMatrix:
    """An accumulating confusion matrix over any number of images."""

    num_classes: int
    matrix: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, truth: np.ndarray, pred: np.ndarray) -> None:
        """Add one image (or batch) of truth/prediction label maps."""
        self.matrix += confusion_matrix(truth, pred, self.num_classes)

    def add(self, matrix: np.ndarray) -> None:
        """Add a precomputed K x K matrix (e.g. gathered from another process)."""
        self.matrix += np.asarray(matrix, dtype=np.int64)

    def summary(self, class_names: Sequence[str]) -> dict:
        """The metrics dictionary of :func:`summarize`."""
        return summarize(self.matrix, class_names)


def per_class_scores(matrix: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    """Per-class Dice and IoU; ``None`` for a class absent from both truth and prediction."""
    m = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(m)
    fp = m.sum(axis=0) - tp
    fn = m.sum(axis=1) - tp
    dice: list[float | None] = []
    iou: list[float | None] = []
    for c in range(m.shape[0]):
        denom = tp[c] + fp[c] + fn[c]
        if denom == 0:
            dice.append(None)
            iou.append(None)
        else:
            dice.append(float(2 * tp[c] / (2 * tp[c] + fp[c] + fn[c])))
            iou.append(float(tp[c] / denom))
    return dice, iou


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def summarize(matrix: np.ndarray, class_names: Sequence[str]) -> dict:
    """Metrics as the ``evaluate --json`` contract: pixel accuracy, Dice and IoU (mean and per class).

    A class absent from both truth and prediction is ``None`` and left out of the mean. For two
    classes the ``mean`` is the foreground (class 1) score, as the Kaggle Carvana metric; for more
    classes it is the mean over present classes (background/unlabelled included).
    """
    m = np.asarray(matrix)
    if m.shape != (len(class_names), len(class_names)):
        raise ValueError(f"matrix shape {m.shape} does not match {len(class_names)} class names")
    total = int(m.sum())
    dice, iou = per_class_scores(m)
    if len(class_names) == 2:
        dice_mean, iou_mean = dice[1], iou[1]
    else:
        dice_mean, iou_mean = _mean(dice), _mean(iou)
    return {
        "pixels": total,
        "pixel_accuracy": float(np.trace(m) / total) if total else None,
        "dice": {"mean": dice_mean, "per_class": dict(zip(class_names, dice, strict=True))},
        "iou": {"mean": iou_mean, "per_class": dict(zip(class_names, iou, strict=True))},
    }
