"""A round's training settings: the one TrainConfig recipe for the app's one-click runs and the benchmark's."""

from __future__ import annotations

from unet_core.training.recipes import DEFAULT_RECIPE, recipe
from unet_core.training.types import TrainConfig

ROUND_BATCH_SIZE = 4
"""Images per optimisation step in a round (small sets on 2 CPU cores)."""
FINETUNE_SECONDS = 120.0
"""How long a one-click fine-tune runs by default (the app's form and ``unet-core finetune``)."""
SCRATCH_SECONDS = 300.0
"""How long a one-click training from scratch runs by default."""
REPLAY_FRACTION = 0.3
"""Share of a fine-tune's samples drawn from the folder's own (or imported) masks, so the model does not forget."""


def round_config(*, arch: str, size_hw: tuple[int, int] | None, epochs: int | None, time_limit: float | None,
                 lr: float, device: str, seed: int = 0, patience: int | None = None,
                 batch_size: int = ROUND_BATCH_SIZE, clicks: float | None = None) -> TrainConfig:
    """The training settings of one round of the loop (fine-tune or train from scratch): the CLI's default
    recipe (an epoch repeats a small set up to 48 samples, so a round of three corrected images still makes
    useful steps), with what the user (or the benchmark's configuration) chose. ``clicks``: the share of samples
    trained with simulated clicks (None: as the starting model, see :class:`TrainConfig`)."""
    return recipe(DEFAULT_RECIPE).config(arch=arch, size_hw=size_hw, epochs=epochs, time_limit=time_limit, lr=lr,
                                         device=device, seed=seed, patience=patience, batch_size=batch_size,
                                         clicks=clicks)
