"""Losses: CE + soft Dice, per-pixel weights, absent classes ignored by Dice."""

from __future__ import annotations

import torch

from unet_core.training.losses import segmentation_loss, soft_dice_loss, weighted_cross_entropy


def _logits_for(target: torch.Tensor, k: int, scale: float = 20.0) -> torch.Tensor:
    return torch.nn.functional.one_hot(target, k).permute(0, 3, 1, 2).float() * scale


def test_perfect_prediction_has_near_zero_loss() -> None:
    target = torch.randint(0, 3, (2, 8, 8))
    logits = _logits_for(target, 3)
    assert segmentation_loss(logits, target).item() < 1e-3


def test_wrong_prediction_costs_more() -> None:
    target = torch.randint(0, 2, (2, 8, 8))
    good = segmentation_loss(_logits_for(target, 2), target)
    bad = segmentation_loss(_logits_for(1 - target, 2), target)
    assert bad > good + 1


def test_pixel_weights_emphasise_weighted_pixels() -> None:
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    logits = _logits_for(target, 2)
    logits[0, :, 0, 0] = torch.tensor([0.0, 5.0])  # one wrong pixel
    w = torch.ones(1, 4, 4)
    plain = weighted_cross_entropy(logits, target, w)
    w[0, 0, 0] = 10.0
    boosted = weighted_cross_entropy(logits, target, w)
    assert boosted > plain * 3


def test_dice_ignores_classes_absent_from_truth() -> None:
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    logits = _logits_for(target, 23)
    assert soft_dice_loss(logits, target).item() < 1e-3


def test_loss_has_gradients() -> None:
    target = torch.randint(0, 4, (2, 6, 6))
    logits = torch.randn(2, 4, 6, 6, requires_grad=True)
    segmentation_loss(logits, target, torch.rand(2, 6, 6)).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
