"""Focus samples: clicks learnt on windows seen at a finer scale than the model's own, from a coarse mask (zoom-in)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from unet_core.data.dataset import Example, frame_example, load_example
from unet_core.data.framing import Framing
from unet_core.data.transforms import Normalization, to_tensor_input
from unet_core.errors import DataError

FOCUS_SHARE = 0.5
"""Of the training samples that get clicks, this share are focus samples (the rest click whole inputs)."""

CACHE_BYTES = 256 << 20
"""Decoded images at the focus scale kept in memory; past this budget the rest are decoded again when drawn."""


def focus_scale(scale: float, zoom: float) -> float:
    """The scale focus windows are seen at: ``zoom`` times the model's, at most the image's own pixels (and never
    coarser than the model's own, for a model that already sees images enlarged)."""
    return max(scale, min(1.0, scale * zoom))


def zooms(scale: float | None, zoom: float) -> bool:
    """Whether a model at ``scale`` (None: one that stretches images) has a finer view to learn and use."""
    return scale is not None and zoom > 1.0 and focus_scale(scale, zoom) > scale * 1.01


@dataclass
class FocusSample:
    """One focus crop: the image, its truth and loss weight (padding: 0), the coarse mask a person starts from
    (``current``: the truth with class ``cls`` spoilt as a model at the coarse scale spoils it) and that class."""

    image: np.ndarray  # H x W x 3 uint8
    truth: np.ndarray  # H x W uint8
    weight: np.ndarray  # H x W float32
    current: np.ndarray  # H x W uint8
    cls: int


def coarse_mask(truth: np.ndarray, cls: int, zoom: float, rng: np.random.Generator,
                valid: np.ndarray | None = None) -> np.ndarray:
    """``truth`` (H x W class ids) with class ``cls``'s outline spoilt as a model ``zoom`` times coarser spoils it:
    its share per coarse pixel, plus smooth noise of a random strength and grain, thresholded at a random level
    and upsampled (edges off by up to a few coarse pixels, bumps, missed and extra parts), then grown or shrunk
    by up to 5 pixels. Pixels it takes from ``cls`` get the crop's most common other class (the background's
    stand-in); pixels outside ``valid`` keep the truth."""
    h, w = truth.shape
    inside = truth == cls
    sh, sw = max(2, round(h / zoom)), max(2, round(w / zoom))
    soft = cv2.resize(inside.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    cells = int(rng.integers(4, 25))
    noise = rng.normal(0.0, 1.0, (max(2, sh // cells), max(2, sw // cells))).astype(np.float32)
    soft += np.float32(rng.uniform(0.0, 0.5)) * cv2.resize(noise, (sw, sh), interpolation=cv2.INTER_CUBIC)
    spoilt = cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR) > rng.uniform(0.35, 0.65)
    grow = int(rng.integers(-5, 6))
    if grow:
        kernel = np.ones((2 * abs(grow) + 1,) * 2, np.uint8)
        spoilt = (cv2.dilate if grow > 0 else cv2.erode)(spoilt.view(np.uint8), kernel).view(bool)
    outside = truth[~inside]
    other = int(np.bincount(outside).argmax()) if outside.size else (0 if cls else 1)
    current = truth.copy()
    current[inside & ~spoilt] = other
    current[spoilt & ~inside] = cls
    if valid is not None:
        current[~valid] = truth[~valid]
    return current


class FocusSource:
    """Draws focus samples from training examples: each image at ``scale x zoom`` (at most full size), a crop of
    the model's input size around a random outline pixel of a random class (not the background), mirrored at
    random, with its coarse mask (:func:`coarse_mask`). Decoded images are cached up to :data:`CACHE_BYTES`."""

    def __init__(self, examples: Sequence[Example], size_hw: tuple[int, int], num_classes: int, scale: float,
                 zoom: float, norm: Normalization, cache_bytes: int = CACHE_BYTES) -> None:
        if not examples:
            raise ValueError("focus samples need at least one example")
        self.examples = list(examples)
        self.size_hw = (int(size_hw[0]), int(size_hw[1]))
        self.num_classes, self.norm = int(num_classes), norm
        self.framing = Framing(self.size_hw, focus_scale(scale, zoom))
        self.zoom = focus_scale(scale, zoom) / scale  # how much coarser the model's own view is
        self.cache_bytes = int(cache_bytes)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
        self._bytes = 0
        self._live = list(range(len(self.examples)))  # images a sample may come from (not failed, not empty)

    def _decoded(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        hit = self._cache.get(index)
        if hit is not None:
            return hit
        decoded = load_example(self.examples[index], self.framing, self.num_classes)
        size = sum(a.nbytes for a in decoded if a is not None)
        if self._bytes + size <= self.cache_bytes:
            self._cache[index] = decoded
            self._bytes += size
        return decoded

    def sample(self, rng: np.random.Generator, tries: int = 8) -> FocusSample | None:
        """One focus sample, or None when no image is left to draw from. An image that holds no class but the
        background, or that no longer decodes (the run read every file at its start, but a file may change or go
        while it trains), is passed over from then on."""
        for _ in range(tries):
            if not self._live:
                return None
            index = self._live[int(rng.integers(len(self._live)))]
            try:
                image, truth, weight = self._decoded(index)
            except (OSError, ValueError, DataError):
                self._live.remove(index)
                continue
            classes = np.flatnonzero(np.bincount(truth.ravel(), minlength=self.num_classes)[1:]) + 1
            if classes.size == 0:
                self._live.remove(index)
                continue
            cls = int(classes[int(rng.integers(classes.size))])
            inside = (truth == cls).view(np.uint8)
            edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
            ys, xs = np.nonzero(edge)
            if ys.size == 0:
                ys, xs = np.nonzero(inside)
            at = int(rng.integers(ys.size))
            gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
            image, truth, weight = frame_example(image, truth, weight, self.size_hw, gen, (int(ys[at]), int(xs[at])))
            if rng.random() < 0.5:
                image, truth, weight = image[:, ::-1], truth[:, ::-1], weight[:, ::-1]
            image, truth, weight = (np.ascontiguousarray(a) for a in (image, truth, weight))
            current = coarse_mask(truth, cls, self.zoom, rng, weight > 0)
            return FocusSample(image, truth, weight, current, cls)
        return None

    def batch(self, n: int, rng: np.random.Generator) -> list[FocusSample]:
        """Up to ``n`` samples (fewer only where images hold no class but the background)."""
        out = [self.sample(rng) for _ in range(n)]
        return [s for s in out if s is not None]

    def tensors(self, samples: Sequence[FocusSample]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(images N x 3 x H x W normalised, truths N x H x W int64, weights N x H x W float32), on the CPU."""
        x = np.stack([to_tensor_input(s.image, self.norm) for s in samples])
        y = np.stack([s.truth for s in samples]).astype(np.int64)
        w = np.stack([s.weight for s in samples])
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w)


__all__ = ["CACHE_BYTES", "FOCUS_SHARE", "FocusSample", "FocusSource", "coarse_mask", "focus_scale", "zooms"]
