"""A trained UNet grown for classes added to a project (new head rows and click maps that start silent), or with its classes in a new order."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from unet_core.data.classes import ClassTable
from unet_core.data.guides import guide_channels
from unet_core.model.checkpoint import RESUME_KEY, checkpoint_bytes, load_checkpoint
from unet_core.model.checkpoint_header import read_header
from unet_core.model.unet import UNet, UNetConfig

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
    order: list[int | None] = [*range(old), *([None] * (num_classes - old))]
    weight = model.head.weight
    state, grown_config = reordered_state(dict(model.state_dict()), config, order)
    grown = UNet(grown_config, init_weights=False)
    grown.load_state_dict(state)
    grown.to(weight.device)
    if weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous():
        grown.to(memory_format=torch.channels_last)
    grown.train(model.training)
    return grown


def reordered_state(state: dict[str, torch.Tensor], config: UNetConfig,
                    order: Sequence[int | None]) -> tuple[dict[str, torch.Tensor], UNetConfig]:
    """A model's weights with its classes in a new order: class ``i`` of the result is the model's class
    ``order[i]``, or a new class (zero weights, :data:`NEW_CLASS_BIAS`) where ``order[i]`` is ``None``. The head's
    rows move, and an interactive model's positive and negative click maps move with them. Every class of the
    model must appear exactly once; ``ValueError`` otherwise. Returns the new weights and config."""
    old = config.num_classes
    kept = [i for i in order if i is not None]
    if sorted(kept) != list(range(old)):
        raise ValueError(f"the new order must name each of the model's {old} classes once, got {list(order)}")
    n = len(order)
    weight, bias = state["head.weight"], state["head.bias"]
    new_w = weight.new_zeros((n, *weight.shape[1:]))
    new_b = bias.new_full((n,), NEW_CLASS_BIAS)
    for i, j in enumerate(order):
        if j is not None:
            new_w[i], new_b[i] = weight[j], bias[j]
    out = dict(state)
    out["head.weight"], out["head.bias"] = new_w, new_b
    guides = guide_channels(n) if config.guide_channels else 0
    if config.guide_channels:  # [image, mask, positive per class, negative per class]: each block moves
        first = state["encoder.0.0.weight"]
        image = config.in_channels + 1
        pos, neg = first[:, image : image + old], first[:, image + old : image + 2 * old]
        blank = first.new_zeros((first.shape[0], 1, *first.shape[2:]))
        new_pos = [pos[:, j : j + 1] if j is not None else blank for j in order]
        new_neg = [neg[:, j : j + 1] if j is not None else blank for j in order]
        out["encoder.0.0.weight"] = torch.cat([first[:, :image], *new_pos, *new_neg], dim=1)
    return out, dataclasses.replace(config, num_classes=n, guide_channels=guides)




def reordered_checkpoint(path: Path, order: Sequence[int | None], classes: ClassTable,
                         parents: Mapping[str, str]) -> bytes:
    """The bytes of checkpoint ``path`` with its classes in a new order (:func:`reordered_state`; ``order``
    names the project's old ids, and those the model was not yet trained on become new, silent classes) and
    ``classes`` as its table. Its parent's hash is looked up in ``parents`` (old hash -> new), as the
    parent was rewritten too. Optimizer state for resuming is left out: it belongs to the old order."""
    model, meta = load_checkpoint(path)  # every shape checked against the stored architecture
    model_order = [j if j is not None and j < meta.arch.num_classes else None for j in order]
    state, meta.arch = reordered_state(dict(model.state_dict()), meta.arch, model_order)
    moved = UNet(meta.arch, init_weights=False)
    moved.load_state_dict(state)
    meta.classes = classes
    if meta.parent_hash:
        meta.parent_hash = parents.get(meta.parent_hash, meta.parent_hash)
    own = meta.to_metadata()  # what a checkpoint's metadata holds besides (the data it was trained on, ...) is kept
    kept = {k: v for k, v in read_header(Path(path)).metadata.items() if k != RESUME_KEY and k not in own}
    return checkpoint_bytes(moved, meta, extra_metadata=kept)


__all__ = ["NEW_CLASS_BIAS", "reordered_checkpoint", "reordered_state", "with_classes"]
