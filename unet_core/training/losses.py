"""Training losses: per-pixel weighted cross-entropy plus soft Dice over the classes present."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def weighted_cross_entropy(
    logits: Tensor, target: Tensor, weight: Tensor | None = None, class_weights: Tensor | None = None
) -> Tensor:
    """Cross-entropy averaged over pixels, each pixel counted with its ``weight`` (N x H x W) times its
    true class's ``class_weights`` entry (K) when given."""
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    if weight is None and class_weights is None:
        return ce.mean()
    w = weight.to(ce.dtype) if weight is not None else torch.ones_like(ce)
    if class_weights is not None:
        w = w * class_weights.to(ce.device, ce.dtype)[target]
    return (ce * w).sum() / w.sum().clamp_min(1e-6)


def balanced_class_weights(pixel_counts: np.ndarray, power: float = 0.5, most: float = 10.0) -> np.ndarray:
    """Per-class loss weights ``frequency ** -power`` (a rare class counts more), at most ``most`` times the
    smallest, scaled so that the average pixel keeps weight 1; absent classes get 0 (never a target)."""
    counts = np.asarray(pixel_counts, dtype=np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    if not present.any():
        return weights.astype(np.float32)
    freq = counts[present] / counts[present].sum()
    raw = freq ** -float(power)
    raw = np.minimum(raw, raw.min() * most)
    weights[present] = raw / float((freq * raw).sum())
    return weights.astype(np.float32)


def soft_dice_loss(logits: Tensor, target: Tensor, weight: Tensor | None = None, eps: float = 1.0) -> Tensor:
    """One minus the soft Dice, averaged over the classes present in ``target``.

    Classes absent from the batch's truth are left out, so an empty class can neither be "perfect"
    nor dominate a 23-class head. ``weight`` (N x H x W) scales each pixel's contribution.
    """
    num_classes = logits.shape[1]
    probs = logits.float().softmax(dim=1)
    onehot = F.one_hot(target, num_classes).permute(0, 3, 1, 2).to(probs.dtype)
    if weight is not None:
        w = weight.unsqueeze(1).to(probs.dtype)
        probs_w, onehot_w = probs * w, onehot * w
    else:
        probs_w, onehot_w = probs, onehot
    dims = (0, 2, 3)
    intersection = (probs_w * onehot).sum(dims)
    cardinality = probs_w.sum(dims) + onehot_w.sum(dims)
    dice = (2 * intersection + eps) / (cardinality + eps)
    present = onehot.sum(dims) > 0
    if not bool(present.any()):
        return probs.new_zeros(())
    return 1.0 - dice[present].mean()


def segmentation_loss(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    dice_weight: float = 1.0,
    class_weights: Tensor | None = None,
) -> Tensor:
    """CE (optionally class-weighted) + ``dice_weight`` x soft Dice, the loss of the Carvana reference implementations."""
    loss = weighted_cross_entropy(logits, target, weight, class_weights)
    if dice_weight:
        loss = loss + dice_weight * soft_dice_loss(logits, target, weight)
    return loss

