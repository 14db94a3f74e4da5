"""What the canvas shows in each view mode: the editable correction, the prediction, the dataset mask, or the diff."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("corrected", "prediction", "original", "difference")
LABELS = {
    "corrected": "Corrected (editable)",
    "prediction": "Prediction",
    "original": "Original mask",
    "difference": "Difference",
}
DIFF_COLORS = ((0, 0, 0), (255, 0, 255))  # unchanged transparent, changed magenta


@dataclass
class Shown:
    """The array the canvas should display, whether it may be edited, and the palette to use."""

    mask: np.ndarray | None
    editable: bool
    diff_palette: bool = False
    note: str = ""


def mask_for_mode(mode: str, working: np.ndarray | None, prediction: np.ndarray | None,
                  original: np.ndarray | None) -> Shown:
    """Select (or compute) what to show; read-only views never hand out the working array."""
    if mode == "corrected":
        return Shown(working, editable=working is not None)
    if mode == "prediction":
        return Shown(prediction, False, note="" if prediction is not None else "no prediction yet")
    if mode == "original":
        return Shown(original, False, note="" if original is not None else "this image has no dataset mask")
    if mode == "difference":
        if working is None or prediction is None or working.shape != prediction.shape:
            return Shown(None, False, True, "difference needs a prediction and a correction")
        return Shown((working != prediction).astype(np.uint8), False, True)
    raise ValueError(f"unknown view mode {mode!r}; choose one of {', '.join(MODES)}")
