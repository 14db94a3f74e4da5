"""A trained UNet grown for classes added to a project: new head rows (and click maps) that start silent."""

from __future__ import annotations

import dataclasses

import torch

from unet_core.data.guides import guide_channels
from unet_core.model.unet import UNet

NEW_CLASS_BIAS = -12.0
"""A new class's logit until it is trained: softmax gives it about e**-12 of the mass next to classes whose logits
are near 0, so the grown model predicts as before, while its weights still get the full gradient (p - 1) where
a mask holds the new class."""


def with_classes(model: UNet, num_classes: int) -> UNet:
    """A copy of ``model`` predicting ``num_classes`` classes: the old classes keep their ids and weights; each
    new one gets zero weights and :data:`NEW_CLASS_BIAS`. An interactive model also gets the new classes'
    positive and negative click maps, with zero first-layer weights. ``model`` itself when nothing is added."""
    config = model.config
    old = config.num_classes
    if num_classes == old:
        return model
    if num_classes < old:
        raise ValueError(f"a model's classes can be added to, not removed ({old} -> {num_classes})")
    guides = guide_channels(num_classes) if config.guide_channels else 0
    grown = UNet(dataclasses.replace(config, num_classes=num_classes, guide_channels=guides), init_weights=False)
    state = dict(model.state_dict())
    weight, bias = state["head.weight"], state["head.bias"]
    new_w = weight.new_zeros((num_classes, *weight.shape[1:]))
    new_w[:old] = weight
    new_b = bias.new_full((num_classes,), NEW_CLASS_BIAS)
    new_b[:old] = bias
    state["head.weight"], state["head.bias"] = new_w, new_b
    if config.guide_channels:  # [image, mask, positive per class, negative per class]: each block grows
        first = state["encoder.0.0.weight"]
        image = config.in_channels + 1
        pos, neg = first[:, image : image + old], first[:, image + old : image + 2 * old]
        added = first.new_zeros((first.shape[0], num_classes - old, *first.shape[2:]))
        state["encoder.0.0.weight"] = torch.cat([first[:, :image], pos, added, neg, added], dim=1)
    grown.load_state_dict(state)
    grown.to(weight.device)
    if weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous():
        grown.to(memory_format=torch.channels_last)
    grown.train(model.training)
    return grown


__all__ = ["NEW_CLASS_BIAS", "with_classes"]
