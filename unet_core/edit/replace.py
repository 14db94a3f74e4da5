"""Whole-mask edits: replace every pixel (accept the prediction, take back a reference) as one patch."""

from __future__ import annotations

import numpy as np

from unet_core.edit.patches import Patch, PatchRecorder


def replace_all(mask: np.ndarray, values: np.ndarray) -> Patch | None:
    """Overwrite ``mask`` with ``values`` in place; the patch keeps only the box of pixels that changed."""
    if values.shape != mask.shape:
        raise ValueError(f"replacement is {values.shape}, mask is {mask.shape}")
    recorder = PatchRecorder(mask)
    h, w = mask.shape
    recorder.before_write((0, 0, w, h))
    mask[...] = values
    return recorder.finish()


def accept_prediction(mask: np.ndarray, prediction: np.ndarray) -> Patch | None:
    """Accept-prediction: the mask becomes the model's prediction (one patch, ``None`` if equal)."""
    return replace_all(mask, prediction)
