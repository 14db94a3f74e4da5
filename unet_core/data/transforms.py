"""Image preprocessing (normalisation, resizing) and albumentations training augmentation."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

if TYPE_CHECKING:  # albumentations is imported lazily: it is slow to import (it pulls in torch)
    import albumentations as A

AUGMENT_STRENGTHS = ("none", "light", "default", "strong")


def _triple(value: Any, name: str) -> tuple[float, float, float]:
    """Validate a 3-sequence of finite floats."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 3:
        raise ValueError(f"normalization {name} must be 3 numbers, got {value!r}")
    out = tuple(float(v) for v in value)
    if not all(np.isfinite(out)):
        raise ValueError(f"normalization {name} must be finite, got {value!r}")
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class Normalization:
    """Per-channel RGB mean/std on the 0..1 scale (ImageNet statistics by default)."""

    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self) -> None:
        mean = _triple(self.mean, "mean")
        std = _triple(self.std, "std")
        if min(std) <= 0:
            raise ValueError(f"normalization std must be positive, got {std}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-ready form ``{"mean": [...], "std": [...]}``."""
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Normalization:
        """Inverse of :meth:`to_dict`; missing keys take the defaults, bad values raise ``ValueError``."""
        if not isinstance(d, Mapping):
            raise ValueError(f"normalization must be a mapping, got {type(d).__name__}")
        default = cls()
        return cls(mean=d.get("mean", default.mean), std=d.get("std", default.std))


def to_tensor_input(image_rgb_uint8: np.ndarray, norm: Normalization) -> np.ndarray:
    """HxWx3 uint8 RGB -> 3xHxW float32 ``(x / 255 - mean) / std`` (C-contiguous)."""
    img = image_rgb_uint8
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {img.shape}")
    h, w = img.shape[:2]
    out = np.empty((3, h, w), dtype=np.float32)
    for c in range(3):
        scale = 1.0 / (255.0 * norm.std[c])
        shift = -norm.mean[c] / norm.std[c]
        np.multiply(img[:, :, c], np.float32(scale), out=out[c], casting="unsafe")
        out[c] += np.float32(shift)
    return out


def _check_size(size_hw: Sequence[int]) -> tuple[int, int]:
    """Validate a (height, width) pair of positive ints."""
    if len(size_hw) != 2 or int(size_hw[0]) < 1 or int(size_hw[1]) < 1:
        raise ValueError(f"size must be (height, width) with positive values, got {size_hw!r}")
    return int(size_hw[0]), int(size_hw[1])


def _shrinks(shape: tuple[int, ...], size_hw: tuple[int, int]) -> bool:
    return size_hw[0] <= shape[0] and size_hw[1] <= shape[1]


def resize_image(img: np.ndarray, size_hw: Sequence[int]) -> np.ndarray:
    """Stretch an image to ``size_hw`` (H, W): INTER_AREA when shrinking, INTER_LINEAR when growing."""
    h, w = _check_size(size_hw)
    if img.shape[:2] == (h, w):
        return img
    interp = cv2.INTER_AREA if _shrinks(img.shape, (h, w)) else cv2.INTER_LINEAR
    return cv2.resize(img, (w, h), interpolation=interp)


def resize_mask(mask: np.ndarray, size_hw: Sequence[int]) -> np.ndarray:
    """Stretch a class-id mask to ``size_hw`` (H, W) with nearest-neighbour sampling."""
    h, w = _check_size(size_hw)
    if mask.shape[:2] == (h, w):
        return mask
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST_EXACT)


def resize_weight(weight: np.ndarray, size_hw: Sequence[int]) -> np.ndarray:
    """Stretch a float32 weight map: INTER_AREA (averaging) when shrinking, INTER_LINEAR when growing."""
    h, w = _check_size(size_hw)
    weight = weight.astype(np.float32, copy=False)
    if weight.shape[:2] == (h, w):
        return weight
    interp = cv2.INTER_AREA if _shrinks(weight.shape, (h, w)) else cv2.INTER_LINEAR
    return cv2.resize(weight, (w, h), interpolation=interp)


def _import_albumentations() -> Any:
    """Import albumentations without its network update check."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations

    return albumentations


def train_augmentation(size_hw: Sequence[int], strength: str = "default") -> A.Compose:
    """Training augmentation for images already at ``size_hw``; output keeps that size.

    Call it as ``aug(image=img, mask=mask, weight=weight)``: ``weight`` (float32 HxW) is an
    extra mask target, so it gets exactly the mask's geometric transform (nearest-neighbour).
    Pixels the affine warp brings in from outside the image get mask 0 and weight 0.
    ``strength`` is one of ``"none"``, ``"light"``, ``"default"``, ``"strong"``.
    """
    _check_size(size_hw)
    if strength not in AUGMENT_STRENGTHS:
        raise ValueError(f"unknown augmentation strength {strength!r}; use one of {', '.join(AUGMENT_STRENGTHS)}")
    A = _import_albumentations()
    steps: list[Any] = []
    if strength != "none":
        k = {"light": 0.5, "default": 1.0, "strong": 1.6}[strength]
        steps.append(A.HorizontalFlip(p=0.5))
        steps.append(
            A.Affine(
                scale=(1.0 - 0.15 * k, 1.0 + 0.15 * k),
                translate_percent=(-0.06 * k, 0.06 * k),
                rotate=(-10.0 * k, 10.0 * k),
                interpolation=cv2.INTER_LINEAR,
                mask_interpolation=cv2.INTER_NEAREST,
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=0,
                p=0.8,
            )
        )
    if strength in ("default", "strong"):
        k = 1.0 if strength == "default" else 1.5
        steps.append(A.ColorJitter(0.25 * k, 0.25 * k, 0.2 * k, 0.03 * k, p=0.8))
        steps.append(
            A.OneOf(
                [A.GaussNoise(std_range=(0.01, 0.04 * k), p=1.0), A.GaussianBlur(blur_limit=(3, 5), p=1.0)],
                p=0.2,
            )
        )
    return A.Compose(steps, additional_targets={"weight": "mask"})


__all__ = [
    "AUGMENT_STRENGTHS",
    "Normalization",
    "resize_image",
    "resize_mask",
    "resize_weight",
    "to_tensor_input",
    "train_augmentation",
]
