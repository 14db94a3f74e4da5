"""The loop's two verdicts, shared by the app and the benchmark: what is a correction, which model is kept."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from unet_core.store.state import ImageStatus


def is_correction(mask: np.ndarray, starts: Iterable[np.ndarray | None]) -> bool:
    """True when ``mask`` differs from every mask it could have started from.

    ``starts`` are the masks an image's correction is seeded from: the model's prediction(s) and the
    dataset's own mask (``None`` entries and arrays of another shape are ignored). A mask equal to one
    of them (a stroke undone, a region reverted with the revert tool, the prediction accepted) adds
    nothing the model does not already predict or train on, so it is not stored, not counted as
    corrected and not trained on.
    """
    return not any(s is not None and s.shape == mask.shape and np.array_equal(s, mask) for s in starts)


def uncorrected_status(predicted: bool) -> ImageStatus:
    """The status an image returns to when its correction is dropped: predicted, else unlabelled."""
    return ImageStatus.PREDICTED if predicted else ImageStatus.UNLABELLED


def keep_new_version(before: float | None, after: float | None) -> bool:
    """Whether a newly trained model version replaces the current one without asking.

    Kept when its validation Dice did not drop (``after >= before``), or when there is no value to
    compare with (``before`` is ``None``: no current model, or it was never measured). A missing or
    non-finite ``after`` (the new model was never validated) is never kept silently: the app asks, the
    benchmark does not keep it.
    """
    if after is None or not math.isfinite(after):
        return False
    if before is None or not math.isfinite(before):
        return True
    return after >= before


def trained_dice(history: Sequence[Mapping[str, Any]]) -> float | None:
    """The best validation Dice the trained weights reached: the highest ``val_dice`` of a run's epochs.

    ``None`` when no epoch was validated. Unlike ``TrainResult.best_val_dice`` it never falls back to
    the starting model's own score, so a run whose epochs all scored lower is not taken for one that
    did not drop (its best checkpoint would be the starting weights again).
    """
    values = _epoch_dices(history)
    return max(values) if values else None


def last_dice(history: Sequence[Mapping[str, Any]]) -> float | None:
    """Validation Dice of the last validated epoch (of the weights the run kept then), or ``None``."""
    values = _epoch_dices(history)
    return values[-1] if values else None


def _epoch_dices(history: Sequence[Mapping[str, Any]]) -> list[float]:
    """The finite validation Dice values of a run's epochs, in order."""
    values = [float(r["val_dice"]) for r in history if r.get("val_dice") is not None]
    return [v for v in values if math.isfinite(v)]
