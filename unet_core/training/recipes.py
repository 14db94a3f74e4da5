"""Recipes: named sets of training defaults (short CPU runs on few images, or the seeds' long-run settings)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from unet_core.training.types import TrainConfig

EPOCH_SAMPLES = 48
"""Samples per epoch of the short recipe: a small set repeats, so a validation comes every ~12 steps, not every 2."""


@dataclass(frozen=True)
class Recipe:
    """The settings a recipe chooses; every one can still be overridden by its own flag."""

    name: str
    lr: float  # from scratch
    finetune_lr: float  # from a trained model (`train --from`, the app's Fine-tune)
    long_side: int  # the automatic input size's long side
    min_epoch_samples: int  # an epoch (and so a validation) covers at least this many samples
    class_balance: float
    summary: str
    focus_crops: float = 0.0  # share of crops placed on a class picked uniformly among the image's classes
    augment_strength: str = "default"  # unet_core.data.transforms.AUGMENT_STRENGTHS

    def config(self, finetune: bool = False, **overrides: Any) -> TrainConfig:
        """A TrainConfig with this recipe's settings (for a fine-tune with ``finetune``), then ``overrides``
        (``None`` values are ignored)."""
        base = TrainConfig(lr=self.finetune_lr if finetune else self.lr, long_side=self.long_side, min_epoch_samples=self.min_epoch_samples,
                           class_balance=self.class_balance, focus_crops=self.focus_crops,
                           augment_strength=self.augment_strength)
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


RECIPES: dict[str, Recipe] = {
    "short": Recipe(
        "short", lr=1e-3, finetune_lr=3e-4, long_side=256, min_epoch_samples=EPOCH_SAMPLES, class_balance=0.5,
        summary="minutes on a CPU over tens of images (the default): Adam 1e-3, long side 256, "
                "a validation every 48 samples, class-balanced cross-entropy (power 0.5)",
    ),
    "seeds": Recipe(
        "seeds", lr=1e-4, finetune_lr=1e-4, long_side=384, min_epoch_samples=0, class_balance=0.0,
        summary="the first releases' settings for long GPU runs over thousands of images: Adam 1e-4, "
                "long side 384, a validation every epoch",
    ),
}
DEFAULT_RECIPE = "short"


def recipe(name: str) -> Recipe:
    """The recipe called ``name``, or ``ValueError`` naming the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; use one of {', '.join(RECIPES)}") from None


__all__ = ["DEFAULT_RECIPE", "EPOCH_SAMPLES", "RECIPES", "Recipe", "recipe"]
