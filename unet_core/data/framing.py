"""Framing: how an image of any size becomes the model's input (scaled with its aspect kept, padded or tiled)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from unet_core.limits import MAX_SCALE, MIN_SCALE


def fit_scale(image_hw: Sequence[int], size_hw: Sequence[int]) -> float:
    """The largest scale at which an image of ``image_hw`` fits inside ``size_hw`` with its aspect kept."""
    return min(size_hw[0] / max(1, image_hw[0]), size_hw[1] / max(1, image_hw[1]))


def typical_scale(image_sizes: Sequence[Sequence[int]], size_hw: Sequence[int]) -> float:
    """The median of the images' fit scales: the typical image fills the input, none is distorted."""
    if not image_sizes:
        raise ValueError("no image sizes to choose a scale from")
    return float(statistics.median(fit_scale(hw, size_hw) for hw in image_sizes))


def check_scale(scale: float) -> float:
    """``scale`` as a float, or ``ValueError`` when it is not a finite number in the allowed range."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise ValueError(f"scale must be a number, got {scale!r}")
    value = float(scale) if -1e308 < scale < 1e308 else float("nan")  # a 400-digit int must not overflow
    if not (MIN_SCALE <= value <= MAX_SCALE):  # also refuses NaN
        raise ValueError(f"scale must be between {MIN_SCALE:g} and {MAX_SCALE:g}, got {scale!r}")
    return value


@dataclass(frozen=True)
class Framing:
    """The model's input size (one tile) and the scale every image is resized by before it is framed.

    With ``scale=None`` (checkpoints written before framing existed) every image is stretched to
    ``size_hw``, as those models were trained. Otherwise an image is resized by ``scale`` with its
    aspect kept to its *working size*; a working image smaller than the input is padded (letterbox),
    a larger one is cropped in training and predicted in overlapping tiles.
    """

    size_hw: tuple[int, int]
    scale: float | None = None

    def __post_init__(self) -> None:
        h, w = (int(v) for v in self.size_hw)
        if h < 1 or w < 1:
            raise ValueError(f"input size must be positive, got {self.size_hw!r}")
        object.__setattr__(self, "size_hw", (h, w))
        if self.scale is not None:
            object.__setattr__(self, "scale", check_scale(self.scale))

    @property
    def stretches(self) -> bool:
        """True for the old rule: every image stretched to the input size."""
        return self.scale is None

    def working_size(self, image_hw: Sequence[int]) -> tuple[int, int]:
        """(h, w) of an image of ``image_hw`` once scaled (the input size itself when stretching)."""
        if self.scale is None:
            return self.size_hw
        return max(1, round(image_hw[0] * self.scale)), max(1, round(image_hw[1] * self.scale))

    def fits(self, working_hw: Sequence[int]) -> bool:
        """True when a working image of ``working_hw`` fits in one input (no tiles needed)."""
        return working_hw[0] <= self.size_hw[0] and working_hw[1] <= self.size_hw[1]

    def scaled(self, image: np.ndarray) -> np.ndarray:
        """An image (or float map) resized to its working size: INTER_AREA shrinking, INTER_LINEAR growing."""
        h, w = self.working_size(image.shape[:2])
        if image.shape[:2] == (h, w):
            return image
        shrink = h <= image.shape[0] and w <= image.shape[1]
        return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

    def scaled_mask(self, mask: np.ndarray) -> np.ndarray:
        """A class-id mask resized to its working size (nearest neighbour)."""
        h, w = self.working_size(mask.shape[:2])
        if mask.shape[:2] == (h, w):
            return mask
        return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST_EXACT)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the scale is absent for the stretching rule)."""
        out: dict[str, object] = {"size_hw": list(self.size_hw)}
        if self.scale is not None:
            out["scale"] = self.scale
        return out


def pad_to(array: np.ndarray, size_hw: Sequence[int], mode: str = "reflect") -> np.ndarray:
    """``array`` (H x W[, C]) padded at the bottom and right to ``size_hw``: mirrored, or zeros (``"zero"``)."""
    h, w = array.shape[:2]
    dh, dw = max(0, int(size_hw[0]) - h), max(0, int(size_hw[1]) - w)
    if dh == 0 and dw == 0:
        return array
    if mode == "zero" or h < 2 or w < 2:
        pad = ((0, dh), (0, dw)) + ((0, 0),) * (array.ndim - 2)
        return np.pad(array, pad, mode="constant" if mode == "zero" else "edge")
    out = array
    while out.shape[0] < size_hw[0] or out.shape[1] < size_hw[1]:  # a mirror adds at most h - 1 rows at a time
        ph = min(max(0, int(size_hw[0]) - out.shape[0]), out.shape[0] - 1)
        pw = min(max(0, int(size_hw[1]) - out.shape[1]), out.shape[1] - 1)
        out = cv2.copyMakeBorder(out, 0, ph, 0, pw, cv2.BORDER_REFLECT_101)
    return out


__all__ = ["Framing", "check_scale", "fit_scale", "pad_to", "typical_scale"]
