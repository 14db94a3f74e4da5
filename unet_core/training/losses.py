"""Training losses: per-pixel weighted cross-entropy plus soft Dice over the classes present."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def weighted_cross_entropy(logits: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Cross-entropy averaged over pixels, each pixel counted with its ``weight`` (N x H x W)."""
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    if weight is None:
        return ce.mean()
    w = weight.to(ce.dtype)
    return (ce * w).sum() / w.sum().clamp_min(1e-6)


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
    logits: Tensor, target: Tensor, weight: Tensor | None = None, dice_weight: float = 1.0
) -> Tensor:
    """CE + ``dice_weight`` x soft Dice, the loss of the Carvana reference implementations."""
    loss = weighted_cross_entropy(logits, target, weight)
    if dice_weight:
        loss = loss + dice_weight * soft_dice_loss(logits, target, weight)
    return loss

