"""Predictor: full-resolution labels, probabilities and uncertainty from a trained UNet."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from unet_core.data.framing import Framing, pad_to
from unet_core.data.transforms import to_tensor_input
from unet_core.devices import autocast_dtype, select_device
from unet_core.edit.probabilities import ClassProbabilities
from unet_core.model.checkpoint import CheckpointMeta, load_checkpoint
from unet_core.model.guided import guide_radius, guide_step, guided_labels
from unet_core.model.stream import StreamedOutputs, entropy_rows
from unet_core.model.tiles import blended_rows
from unet_core.model.upsample import upsample_labels, upsample_probabilities


@dataclass
class Prediction:
    """One image's prediction at its full input resolution."""

    labels: np.ndarray  # H x W uint8 class ids
    uncertainty: np.ndarray  # H x W float32 in [0, 1]: normalised entropy of the class probabilities
    score: float  # the image's uncertainty score: mean normalised entropy (higher = less sure)
    probabilities: np.ndarray | None = None  # H x W x K float32 (bilinear), only when asked for; guided labels
    # follow the image's edges, so near a border they may differ from this map's argmax
    low_probabilities: np.ndarray | None = None  # h x w x K float16 at the model's resolution (smart tools)
    low_extent: tuple[float, float] | None = None  # low cells spanning the image, when not all of h x w (tiles)

    def class_probabilities(self) -> ClassProbabilities | None:
        """The probabilities for the editing tools, read per window at full size (``None`` if not kept)."""
        if self.low_probabilities is None:
            return None
        return ClassProbabilities(self.low_probabilities, self.labels.shape[:2], self.low_extent)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block and restore its previous train/eval mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def normalized_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy of H x W x K probabilities divided by log K (0 = certain, 1 = uniform)."""
    return entropy_rows(np.moveaxis(probs, -1, 0))


class Predictor:
    """Runs a model on whole images of any size; the model's train/eval mode is restored after each call."""

    def __init__(
        self,
        model: nn.Module,
        meta: CheckpointMeta,
        device: str | torch.device = "auto",
        tta: bool = False,
        amp: bool | None = None,
        guided: bool = True,
    ) -> None:
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.model = model.to(self.device)
        self.channels_last = self.device.type != "mps"  # faster on CPU and CUDA
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.meta = meta
        self.tta = tta
        self.guided = guided  # labels follow the image's edges (unet_core.model.guided) where an image is given
        self.amp_dtype = autocast_dtype(self.device, amp)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", tta: bool = False,
                        guided: bool = True) -> Predictor:
        """Load a checkpoint (validated, never unpickled) and wrap it."""
        dev = select_device(device)
        model, meta = load_checkpoint(path, device=dev)
        return cls(model, meta, device=dev, tta=tta, guided=guided)

    @property
    def num_classes(self) -> int:
        """Number of classes the model predicts."""
        return self.meta.classes.num_classes

    @property
    def framing(self) -> Framing:
        """How images become this model's input (scale, padding, tiles)."""
        return self.meta.framing

    def preprocess(self, working: np.ndarray) -> np.ndarray:
        """A working-size RGB uint8 image that fits one input as the model's normalised C x h x w input (padded)."""
        return to_tensor_input(pad_to(working, self.meta.input_size), self.meta.normalization)

    @torch.inference_mode()
    def probabilities_lowres(self, batch: np.ndarray | torch.Tensor,
                             guide: np.ndarray | torch.Tensor | None = None) -> torch.Tensor:
        """Softmax probabilities (N x K x h x w, float32, CPU) at the model's input size; ``guide`` (N x G x h x w,
        an interactive model's click maps) goes along with the input."""
        x = self._on_device(batch)
        g = None if guide is None else self._on_device(guide)
        with eval_mode(self.model):
            probs = self._softmax(x, g)
            if self.tta:
                probs = 0.5 * (probs + self._softmax(x.flip(-1), None if g is None else g.flip(-1)).flip(-1))
        return probs.float().cpu()

    def _on_device(self, batch: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(batch).to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _softmax(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        inputs = (x,) if guide is None else (x, guide)  # any module takes the image alone
        if self.amp_dtype is not None:
            with torch.autocast(self.device.type, dtype=self.amp_dtype):
                return self.model(*inputs).float().softmax(dim=1)
        return self.model(*inputs).float().softmax(dim=1)

    def postprocess(
        self,
        probs: torch.Tensor,
        size_hw: tuple[int, int],
        with_probabilities: bool = False,
        working_hw: tuple[int, int] | None = None,
        image: np.ndarray | None = None,
    ) -> Prediction:
        """Resize one K x h x w probability map to ``size_hw`` and derive labels and uncertainty; with the
        full-size ``image`` (and ``guided``), the labels follow its edges (:func:`guided_labels`)."""
        if working_hw is not None:  # the padding of a letterboxed input is not part of the image
            probs = probs[:, : working_hw[0], : working_hw[1]]
        low = probs.numpy().transpose(1, 2, 0)  # h x w x K
        h, w = size_hw
        k = low.shape[-1]
        uncertainty_low = normalized_entropy(low)
        score = float(uncertainty_low.mean())
        uncertainty = cv2.resize(uncertainty_low, (w, h), interpolation=cv2.INTER_LINEAR)
        full = upsample_probabilities(low, (h, w)) if with_probabilities else None
        radius = guide_radius((h, w), low.shape[:2]) if image is not None and self.guided else 0
        step = guide_step((h, w), low.shape[:2], k) if radius else 0
        if radius and step and image is not None:
            labels = guided_labels(low, (h, w), image, radius, step=step)
        elif full is not None:
            labels = full.argmax(axis=-1).astype(np.uint8)
        elif k == 2:  # one float plane, compared in place: no second full-size copy
            fg = cv2.resize(np.ascontiguousarray(low[..., 1]), (w, h), interpolation=cv2.INTER_LINEAR)
            labels = np.greater(fg, 0.5).view(np.uint8)
            del fg
        else:  # row bands: an 8000x8000 image with 23 classes never holds 5.9 GB of probabilities
            labels = upsample_labels(low, (h, w))
        return Prediction(
            labels=labels,
            uncertainty=np.clip(uncertainty, 0.0, 1.0, out=uncertainty),
            score=score,
            probabilities=full if with_probabilities else None,
            low_probabilities=low.astype(np.float16),
        )

    def predict(self, image: np.ndarray, with_probabilities: bool = False) -> Prediction:
        """Predict one H x W x 3 RGB uint8 image at its full resolution (tiled when it is larger than the input)."""
        return self.predict_scaled(self.framing.scaled(image), image.shape[:2], with_probabilities, image)

    def predict_scaled(
        self, working: np.ndarray, size_hw: tuple[int, int], with_probabilities: bool = False,
        image: np.ndarray | None = None,
    ) -> Prediction:
        """Predict an image already resized to its working size; outputs are at ``size_hw`` (with the full-size
        ``image``, labels that follow its edges)."""
        working_hw = (int(working.shape[0]), int(working.shape[1]))
        if not self.framing.fits(working_hw):
            return self.predict_tiled(working, size_hw, with_probabilities)
        probs = self.probabilities_lowres(self.preprocess(working)[None])
        return self.postprocess(probs[0], size_hw, with_probabilities, working_hw, image)

    def predict_tiled(
        self, working: np.ndarray, size_hw: tuple[int, int], with_probabilities: bool = False, batch_size: int = 4
    ) -> Prediction:
        """Predict a working image larger than the input in overlapping, blended tiles with bounded memory."""
        outputs = StreamedOutputs(working.shape[:2], size_hw, self.num_classes, with_probabilities)
        for row0, rows in blended_rows(self._forward_crops, working, self.meta.input_size, self.num_classes,
                                       batch_size=batch_size):
            outputs.add(row0, rows)
        labels, uncertainty, score, low, full = outputs.finish()
        return Prediction(labels=labels, uncertainty=uncertainty, score=score, probabilities=full,
                          low_probabilities=low, low_extent=outputs.low_extent)

    def _forward_crops(self, crops: list[np.ndarray]) -> np.ndarray:
        return self.probabilities_lowres(np.stack([self.preprocess(c) for c in crops])).numpy()

    def predict_many(self, images: Sequence[np.ndarray], batch_size: int = 4) -> list[Prediction]:
        """Predict a list of images (sizes may differ): those that fit one input in batches, larger ones in tiles."""
        workings = [self.framing.scaled(im) for im in images]
        out: list[Prediction | None] = [None] * len(images)
        small = [i for i, wk in enumerate(workings) if self.framing.fits(wk.shape[:2])]
        for start in range(0, len(small), max(1, batch_size)):
            chunk = small[start : start + batch_size]
            probs = self.probabilities_lowres(np.stack([self.preprocess(workings[i]) for i in chunk]))
            for p, i in zip(probs, chunk, strict=True):
                out[i] = self.postprocess(p, images[i].shape[:2], working_hw=workings[i].shape[:2], image=images[i])
        for i, wk in enumerate(workings):
            if out[i] is None:
                out[i] = self.predict_tiled(wk, images[i].shape[:2])
        return [p for p in out if p is not None]

    def predict_stream(
        self, items: Iterable[tuple[object, np.ndarray]], batch_size: int = 4
    ) -> Iterator[tuple[object, Prediction]]:
        """Predict ``(key, image)`` pairs lazily in batches, yielding ``(key, prediction)``."""
        buffer: list[tuple[object, np.ndarray]] = []
        for item in items:
            buffer.append(item)
            if len(buffer) >= batch_size:
                yield from zip((k for k, _ in buffer), self.predict_many([im for _, im in buffer], batch_size), strict=False)
                buffer = []
        if buffer:
            yield from zip((k for k, _ in buffer), self.predict_many([im for _, im in buffer], batch_size), strict=False)
