"""Full-resolution validation: cached working-size inputs, masks at native size, confusion-matrix metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from unet_core.data.dataset import Example
from unet_core.data.framing import Framing
from unet_core.data.io import check_mask, check_same_size, read_image, read_mask
from unet_core.errors import UnreadableFileError
from unet_core.model.predictor import Prediction, Predictor
from unet_core.training.calibration import image_dice
from unet_core.training.distributed import DistInfo, all_reduce_sum
from unet_core.training.metrics import confusion_matrix

DEFAULT_CACHE_BYTES = 1 << 30


@dataclass
class ValidationSet:
    """Validation pairs decoded once: inputs at their working size and masks at full size, kept while they fit
    the byte budget (the rest are read again when needed)."""

    examples: list[Example]
    inputs: list[np.ndarray | None]  # h x w x 3 uint8 scaled to the model's working size (None: re-read)
    masks: list[np.ndarray | None]  # full-resolution masks (None: re-read when needed)
    sizes: list[tuple[int, int]]
    framing: Framing | None = None
    working_sizes: list[tuple[int, int]] | None = None

    @classmethod
    def build(
        cls,
        examples: Sequence[Example],
        framing: Framing,
        num_classes: int,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> tuple[ValidationSet, list[UnreadableFileError]]:
        """Decode every example once; unreadable files are left out and returned, other bad data raises."""
        kept: list[Example] = []
        skipped: list[UnreadableFileError] = []
        inputs: list[np.ndarray | None] = []
        working: list[tuple[int, int]] = []
        masks: list[np.ndarray | None] = []
        sizes: list[tuple[int, int]] = []
        used = 0
        for ex in examples:
            try:
                image = read_image(ex.image_path)
                mask = read_mask(ex.mask_path, ex.mask_format)
            except UnreadableFileError as err:
                skipped.append(err)
                continue
            kept.append(ex)
            check_same_size(image, mask, ex.image_path, ex.mask_path)
            check_mask(mask, num_classes, ex.mask_path)
            scaled = framing.scaled(image)
            del image
            working.append((int(scaled.shape[0]), int(scaled.shape[1])))
            sizes.append((int(mask.shape[0]), int(mask.shape[1])))
            keep_input = used + scaled.nbytes <= cache_bytes
            inputs.append(scaled if keep_input else None)
            used += scaled.nbytes if keep_input else 0
            if used + mask.nbytes <= cache_bytes:
                masks.append(mask)
                used += mask.nbytes
            else:
                masks.append(None)
        return cls(kept, inputs, masks, sizes, framing, working), skipped

    def __len__(self) -> int:
        return len(self.examples)

    def input(self, i: int) -> np.ndarray:
        """Item ``i``'s image at its working size (read and scaled again if it was not kept)."""
        cached = self.inputs[i]
        if cached is not None:
            return cached
        assert self.framing is not None  # every set with a dropped input was built with its framing
        return self.framing.scaled(read_image(self.examples[i].image_path))

    def working_size(self, i: int) -> tuple[int, int]:
        """(h, w) of item ``i``'s working-size image."""
        if self.working_sizes is not None:
            return self.working_sizes[i]
        cached = self.inputs[i]
        assert cached is not None
        return int(cached.shape[0]), int(cached.shape[1])

    def mask(self, i: int) -> np.ndarray:
        """The full-resolution truth of item ``i``."""
        cached = self.masks[i]
        if cached is not None:
            return cached
        ex = self.examples[i]
        return read_mask(ex.mask_path, ex.mask_format)


def validate(
    predictor: Predictor,
    vset: ValidationSet,
    batch_size: int = 4,
    dist: DistInfo | None = None,
    progress: Callable[[int, int], None] | None = None,
    per_image: list[tuple[float, float]] | None = None,
    previews: list[tuple[np.ndarray, np.ndarray]] | None = None,
    preview_count: int = 3,
) -> np.ndarray:
    """The K x K confusion matrix of ``predictor`` on ``vset`` at full resolution (summed over ranks).

    ``per_image``, when given, receives each image's (uncertainty score, Dice) of this rank's share:
    what :class:`unet_core.training.calibration.Calibration` measures the score against. ``previews``,
    when given, receives (input image, predicted labels) at the model's input size of the first
    ``preview_count`` images (for the run's log).
    """
    k = predictor.num_classes
    info = dist or DistInfo()
    indices = list(range(info.rank, len(vset), info.world_size))
    matrix = np.zeros((k, k), dtype=np.int64)
    fitting = [i for i in indices if predictor.framing.fits(vset.working_size(i))]
    done = 0

    def score(i: int, prediction: Prediction) -> None:
        one = confusion_matrix(vset.mask(i), prediction.labels, k)
        matrix[...] += one
        if per_image is not None:
            per_image.append((prediction.score, image_dice(one)))
        if previews is not None and len(previews) < preview_count:
            image = vset.input(i)
            h, w = image.shape[:2]
            small = cv2.resize(prediction.labels, (w, h), interpolation=cv2.INTER_NEAREST)
            previews.append((image, small))

    for start in range(0, len(fitting), max(1, batch_size)):
        chunk = fitting[start : start + batch_size]
        probs = predictor.probabilities_lowres(np.stack([predictor.preprocess(vset.input(i)) for i in chunk]))
        for p, i in zip(probs, chunk, strict=True):
            score(i, predictor.postprocess(p, vset.sizes[i], working_hw=vset.working_size(i)))
        done += len(chunk)
        if progress is not None:
            progress(done, len(indices))
    for i in indices:  # larger than one input: tiles
        if predictor.framing.fits(vset.working_size(i)):
            continue
        score(i, predictor.predict_scaled(vset.input(i), vset.sizes[i]))
        done += 1
        if progress is not None:
            progress(done, len(indices))
    if info.enabled:
        t = torch.from_numpy(matrix).to(predictor.device)
        matrix = all_reduce_sum(t, info).cpu().numpy()
    return matrix


def evaluate_files(
    predictor: Predictor,
    examples: Sequence[Example],
    on_skip: Callable[[Example, UnreadableFileError], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Confusion matrix over image/mask files one by one.

    Unreadable files are skipped and counted; mismatched sizes or class ids out of range raise
    :class:`DataError` naming the file (the data does not fit the model).
    """
    k = predictor.num_classes
    matrix = np.zeros((k, k), dtype=np.int64)
    skipped = 0
    for n, ex in enumerate(examples, 1):
        try:
            image = read_image(ex.image_path)
            truth = read_mask(ex.mask_path, ex.mask_format)
        except UnreadableFileError as err:
            skipped += 1
            if on_skip is not None:
                on_skip(ex, err)
            continue
        check_same_size(image, truth, ex.image_path, ex.mask_path)
        check_mask(truth, k, ex.mask_path)
        pred = predictor.predict(image).labels
        matrix += confusion_matrix(truth, pred, k)
        if progress is not None:
            progress(n, len(examples))
    return matrix, skipped
