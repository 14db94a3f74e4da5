"""PyTorch Dataset of (image, mask, weight) examples: decode once, scale once, cache, frame and augment per epoch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from unet_core.data.classes import VOID
from unet_core.data.framing import Framing, pad_to
from unet_core.data.io import MaskFormat, check_mask, check_same_size, read_image, read_mask
from unet_core.data.layouts import DatasetLayout, Pair
from unet_core.data.transforms import Normalization, to_tensor_input, train_augmentation
from unet_core.errors import DataError, UnreadableFileError

_Decoded = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]


@dataclass(frozen=True)
class Example:
    """One training example: image file, mask file (in ``mask_format``), split group, optional weights.

    ``weight`` is an optional float32 HxW per-pixel loss weight at the image's full
    resolution (e.g. higher on pixels the user corrected).
    """

    image_path: Path
    mask_path: Path
    mask_format: MaskFormat
    group: str = ""
    weight: np.ndarray | None = field(default=None, compare=False, repr=False)


def examples_from_layout(layout: DatasetLayout, pairs: Sequence[Pair]) -> list[Example]:
    """Examples for the ``pairs`` that have a mask, in each pair's mask format (else the layout's)."""
    return [
        Example(image_path=p.image, mask_path=p.mask, mask_format=p.mask_format or layout.mask_format, group=p.group)
        for p in pairs
        if p.mask is not None
    ]


def load_example(example: Example, framing: Framing | Sequence[int], num_classes: int) -> _Decoded:
    """Decode an example and scale it to its working size: (uint8 image, uint8 mask, float32 weight | None).

    ``framing`` may be a plain (H, W) size: every image is then stretched to it (the old rule).
    Raises :class:`DataError` naming the file for unreadable files, mismatched sizes or
    class ids ``>= num_classes``; ``ValueError`` for a weight map of the wrong shape. Pixels of the ignore label
    (:data:`~unet_core.data.classes.VOID`) get weight 0.
    """
    frame = framing if isinstance(framing, Framing) else Framing((int(framing[0]), int(framing[1])))
    image = read_image(example.image_path)
    mask = read_mask(example.mask_path, example.mask_format)
    check_same_size(image, mask, example.image_path, example.mask_path)
    check_mask(mask, num_classes, example.mask_path)
    weight = None
    if example.weight is not None:
        if example.weight.shape != mask.shape:
            raise ValueError(
                f"weight map for {example.image_path.name} is {example.weight.shape}, expected {mask.shape}"
            )
        weight = example.weight.astype(np.float32, copy=False)
    void = mask == VOID
    if void.any():  # the ignore label: weight 0, so it is never trained on (its label is a stand-in)
        weight = np.where(void, np.float32(0), np.float32(1) if weight is None else weight).astype(np.float32)
        mask = np.where(void, np.uint8(0), mask)
    if weight is not None:
        weight = frame.scaled(weight)
    return frame.scaled(image), frame.scaled_mask(mask), weight


def frame_example(
    image: np.ndarray, mask: np.ndarray, weight: np.ndarray | None, size_hw: tuple[int, int], rng: torch.Generator | None,
    around: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A working-size example as exactly one input: a crop where it is larger (random with ``rng``, else
    centred; with ``around`` (y, x) a random crop that contains that pixel), mirrored padding where it is
    smaller, whose pixels get weight 0 (never trained on)."""
    th, tw = size_hw
    h, w = mask.shape[:2]
    if weight is None:
        weight = np.ones((h, w), dtype=np.float32)
    if h > th or w > tw:
        if around is None:
            y0, x0 = _offset(h - th, rng), _offset(w - tw, rng)
        else:
            y0 = _offset_around(around[0], th, h - th, rng)
            x0 = _offset_around(around[1], tw, w - tw, rng)
        image, mask, weight = (a[y0 : y0 + th, x0 : x0 + tw] for a in (image, mask, weight))
    if image.shape[:2] != (th, tw):
        image = pad_to(image, size_hw)
        mask = pad_to(mask, size_hw)
        weight = pad_to(weight, size_hw, mode="zero")
    return image, mask, weight


def _offset(room: int, rng: torch.Generator | None) -> int:
    if room <= 0:
        return 0
    if rng is None:
        return room // 2
    return int(torch.randint(0, room + 1, (1,), generator=rng))


def _offset_around(at: int, size: int, room: int, rng: torch.Generator | None) -> int:
    """A crop start in ``0..room`` whose window of ``size`` contains position ``at``."""
    if room <= 0:
        return 0
    lo, hi = max(0, at - size + 1), min(room, at)
    if rng is None or hi <= lo:
        return min(max(lo, (lo + hi) // 2), room)
    return int(torch.randint(lo, hi + 1, (1,), generator=rng))


class SegmentationDataset(Dataset[dict[str, torch.Tensor]]):
    """Examples framed to ``size_hw``, optionally augmented.

    With ``scale`` each image is resized by it with its aspect kept, then cropped (randomly when
    augmenting) or padded to ``size_hw``; padding gets weight 0. Without it every image is
    stretched to ``size_hw`` (how models from before framing were trained). With ``focus`` that share of
    the crops is placed around a pixel of a class picked uniformly among those the image contains.

    Each item is ``{"image": float32 3xHxW (normalised), "mask": int64 HxW,
    "weight": float32 HxW}``; weight is ones when the example has none (after augmentation,
    pixels warped in from outside the image get weight 0). With ``cache=True`` the resized
    uint8 arrays are kept in memory so later epochs only augment. With DataLoader workers
    each worker fills its own cache copy, so call :meth:`preload` first (the forked workers
    then share it) or use ``persistent_workers=True``.
    """

    def __init__(
        self,
        examples: Sequence[Example],
        size_hw: Sequence[int],
        num_classes: int,
        *,
        augment: bool,
        norm: Normalization = Normalization(),  # noqa: B008 - frozen, immutable default
        cache: bool = True,
        augment_strength: str = "default",
        scale: float | None = None,
        focus: float = 0.0,
    ) -> None:
        if len(size_hw) != 2 or min(int(s) for s in size_hw) < 1:
            raise ValueError(f"size_hw must be (height, width) with positive values, got {size_hw!r}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.examples: list[Example] = list(examples)
        self.size_hw: tuple[int, int] = (int(size_hw[0]), int(size_hw[1]))
        self.framing = Framing(self.size_hw, scale)
        self._crop_rng: torch.Generator | None = None
        if not 0.0 <= focus <= 1.0:
            raise ValueError(f"focus must be in [0, 1], got {focus!r}")
        self.focus = float(focus)
        self._classes: dict[int, np.ndarray] = {}
        self.num_classes = int(num_classes)
        self.augment = bool(augment)
        self.norm = norm
        self.cache = bool(cache)
        self._cache: dict[int, _Decoded] = {}
        self._aug = train_augmentation(self.size_hw, augment_strength) if self.augment else None
        self._seeded_worker: int | None = None
        if self._aug is not None:
            self._aug.set_random_seed(torch.initial_seed() % 2**32)

    def __len__(self) -> int:
        return len(self.examples)

    def _decoded(self, index: int) -> _Decoded:
        """Resized uint8 arrays for example ``index`` (from the cache when possible)."""
        hit = self._cache.get(index)
        if hit is not None:
            return hit
        decoded = load_example(self.examples[index], self.framing, self.num_classes)
        if self.cache:
            self._cache[index] = decoded
        return decoded

    def preload(
        self, *, skip_bad: bool = False, progress: Callable[[int, int], None] | None = None
    ) -> list[DataError]:
        """Decode every example now (in this process), filling the cache if enabled.

        With ``skip_bad=True`` unreadable files (:class:`UnreadableFileError`) are dropped from
        the dataset and their errors returned; any other :class:`DataError` (mismatched sizes,
        class ids out of range) is always raised, naming the file.
        """
        errors: list[DataError] = []
        kept: list[Example] = []
        kept_cache: dict[int, _Decoded] = {}
        total = len(self.examples)
        for i, example in enumerate(self.examples):
            try:
                decoded = self._decoded(i)
            except UnreadableFileError as exc:
                if not skip_bad:
                    raise
                errors.append(exc)
            else:
                if self.cache:
                    kept_cache[len(kept)] = decoded
                kept.append(example)
            if progress is not None:
                progress(i + 1, total)
        self.examples = kept
        self._cache = kept_cache
        self._classes.clear()  # indexed like the examples, which may have moved
        return errors

    def class_pixel_counts(self) -> np.ndarray:
        """Pixels of each class over every example's working-size mask (decoding what is not cached)."""
        counts = np.zeros(self.num_classes, dtype=np.int64)
        for i in range(len(self.examples)):
            counts += np.bincount(self._decoded(i)[1].ravel(), minlength=self.num_classes)[: self.num_classes]
        return counts

    def _focus_pixel(self, index: int, mask: np.ndarray, rng: torch.Generator) -> tuple[int, int] | None:
        """For a share ``focus`` of crops: a random pixel of a class picked uniformly among those the example
        contains, so a thin or rare class is cropped as often as the road (else ``None``: a plain random crop)."""
        if float(torch.rand((), generator=rng)) >= self.focus:
            return None
        classes = self._classes.get(index)
        if classes is None:
            classes = np.flatnonzero(np.bincount(mask.ravel(), minlength=self.num_classes))
            self._classes[index] = classes
        if classes.size < 2:
            return None
        cls = int(classes[int(torch.randint(0, classes.size, (1,), generator=rng))])
        where = np.flatnonzero(mask.ravel() == cls)
        at = int(where[int(torch.randint(0, where.size, (1,), generator=rng))])
        return divmod(at, mask.shape[1])

    def _reseed_for_worker(self) -> None:
        """Give each DataLoader worker its own augmentation stream (albumentations copies one on fork)."""
        info = get_worker_info()
        if info is not None and self._seeded_worker != info.seed:
            if self._aug is not None:
                self._aug.set_random_seed(info.seed % 2**32)
            self._crop_rng = torch.Generator().manual_seed(info.seed % 2**63)
            self._seeded_worker = info.seed

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image, mask, weight = self._decoded(index)
        self._reseed_for_worker()
        if image.shape[:2] != self.size_hw:
            if self._crop_rng is None:  # a random crop even without augmentation: every part gets trained on
                self._crop_rng = torch.Generator().manual_seed(torch.initial_seed() % 2**63)
            around = self._focus_pixel(index, mask, self._crop_rng) if self.focus else None
            image, mask, weight = frame_example(image, mask, weight, self.size_hw, self._crop_rng, around)
        if self._aug is not None:
            if weight is None:
                weight = np.ones(mask.shape, dtype=np.float32)
            out = self._aug(image=image, mask=mask, weight=weight)
            image, mask, weight = out["image"], out["mask"], out["weight"]
        if weight is None:
            weight_t = torch.ones(mask.shape, dtype=torch.float32)
        else:
            weight_t = torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32))
        return {
            "image": torch.from_numpy(to_tensor_input(np.ascontiguousarray(image), self.norm)),
            "mask": torch.from_numpy(np.ascontiguousarray(mask).astype(np.int64)),
            "weight": weight_t,
        }


__all__ = ["Example", "SegmentationDataset", "examples_from_layout", "frame_example", "load_example"]
