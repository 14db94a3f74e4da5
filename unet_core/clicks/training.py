"""Training with simulated clicks: RITM's iterative scheme, run without gradients before each step."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from unet_core.clicks.simulator import next_click, pick_class
from unet_core.data.guides import Click, GuideEncoding, guide_maps

SCRATCH_START = 0.25
"""A model trained from scratch learns clicks from a quarter of the way through the run: until it sees the
images, its own predictions (the mask channel) and the errors clicks point at are noise, and those passes cost
steps. Measured on Carvana, 10 minutes (docs/clicks.md): from the start, automatic Dice 0.959 (without clicks
0.966); from half-way 0.974 but clicks then made masks worse; from a quarter 0.970 and clicks do no harm."""

RAMP = 0.15
"""Over this share of the run a model from scratch goes from a tenth to its full share of samples with clicks."""


@dataclass
class ClickPlan:
    """How a training batch gets its clicks: ``share`` of the samples get 1..``most`` simulated clicks (the rest
    train as the automatic model, with empty guides, so one network serves both), from ``start`` (a share of
    the run's progress) on."""

    share: float = 0.5
    most: int = 3
    encoding: GuideEncoding = field(default_factory=GuideEncoding)
    start: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"the share of samples with clicks must be in [0, 1], got {self.share!r}")
        if not 1 <= self.most <= 20:
            raise ValueError(f"clicks per sample must be 1..20, got {self.most!r}")
        if not 0.0 <= self.start < 1.0:
            raise ValueError(f"clicks must start within the run (progress in [0, 1)), got {self.start!r}")

    def active(self, progress: float) -> bool:
        """Whether samples get clicks at this point of the run."""
        return self.share > 0 and progress >= self.start

    def share_at(self, progress: float) -> float:
        """The share of samples with clicks at this point of the run: a run from scratch ramps it up over
        :data:`RAMP` of the run from ``start`` (all at once, the new task's losses jolted the automatic model)."""
        if not self.active(progress):
            return 0.0
        if self.start <= 0:
            return self.share
        return self.share * min(1.0, (progress - self.start) / RAMP + 0.1)


def _predict(net: torch.nn.Module, x: Tensor, guide: Tensor | None, amp: torch.dtype | None) -> np.ndarray:
    """Class ids (N x H x W, CPU) of one pass without gradients."""
    if amp is not None:
        with torch.autocast(x.device.type, dtype=amp):
            logits = net(x, guide)
    else:
        logits = net(x, guide)
    return logits.argmax(1).to("cpu", torch.uint8).numpy()


def simulate_guides(model: torch.nn.Module, x: Tensor, y: Tensor, plan: ClickPlan, rng: np.random.Generator,
                    amp: torch.dtype | None = None, weight: Tensor | None = None,
                    starts: dict[int, tuple[np.ndarray, int]] | None = None,
                    share: float | None = None) -> Tensor | None:
    """Guides (N x G x H x W on ``x``'s device, G = 1 + 2K) for one training batch, or None when no sample got
    clicks.

    A chosen sample starts from the automatic prediction (what a user corrects), picks the class to fix at
    its deepest error, then gets ``k`` clicks (1..``plan.most``): each from the error of the prediction made
    with the clicks before it, that prediction fed back as the mask channel. Pixels of ``weight`` 0 (a crop's
    padding) are outside the image: never clicked, empty in the mask channel, as in the app. ``model`` (the
    bare module, not a DistributedDataParallel wrapper: these passes must not sync anything) is switched to
    eval mode for them (BatchNorm's running statistics untouched) and back.

    ``starts`` maps a sample's index to the mask it starts from and the class to fix (a focus sample,
    :mod:`unet_core.clicks.focus`): it always gets clicks, from that mask instead of the automatic prediction.
    The other samples get clicks with probability ``share`` (default ``plan.share``).
    """
    n = x.shape[0]
    starts = starts or {}
    picked = rng.random(n) < (plan.share if share is None else share)
    picked[list(starts)] = True
    chosen = np.nonzero(picked)[0]
    if len(chosen) == 0:
        return None
    index = torch.as_tensor(chosen, device=x.device)
    xs = x.index_select(0, index)
    truth = y.index_select(0, index).to("cpu", torch.uint8).numpy()
    valid = None if weight is None else (weight.index_select(0, index) > 0).cpu().numpy()
    rounds = int(rng.integers(1, plan.most + 1))
    was_training = model.training
    num_classes = int(model.config.num_classes)  # type: ignore[union-attr]
    model.eval()
    try:
        with torch.no_grad():
            inside: list[np.ndarray | None] = list(valid) if valid is not None else [None] * len(chosen)
            auto = [i for i, j in enumerate(chosen) if int(j) not in starts]  # the others start from their own mask
            current = np.empty(truth.shape, np.uint8)
            if auto:
                current[auto] = _predict(model, xs[auto], None, amp)
            classes: list[int | None] = []
            for i, j in enumerate(chosen):
                if int(j) in starts:
                    current[i], cls = starts[int(j)]
                    classes.append(cls)
                else:
                    classes.append(pick_class(truth[i], current[i], rng, valid=inside[i]))
            clicks: list[list[Click]] = [[] for _ in chosen]
            masks: list[np.ndarray | None] = [None] * len(chosen)
            for r in range(rounds):
                for i, cls in enumerate(classes):
                    if cls is None:
                        continue
                    click = next_click(truth[i], current[i], cls, rng, valid=inside[i])
                    if click is not None:
                        clicks[i].append(click)
                    masks[i] = current[i] == cls  # cut to the valid pixels with the click maps in _stack
                guides = _stack(xs, clicks, masks, classes, plan.encoding, valid, num_classes)
                if r + 1 < rounds:
                    current = _predict(model, xs, guides, amp)
    finally:
        model.train(was_training)
    out = x.new_zeros((n, guides.shape[1], x.shape[2], x.shape[3]))
    out[index] = guides.to(out.dtype)
    return out


def _stack(x: Tensor, clicks: list[list[Click]], masks: list[np.ndarray | None], classes: list[int | None],
           encoding: GuideEncoding, valid: np.ndarray | None, num_classes: int) -> Tensor:
    """The batch's guide tensor on ``x``'s device; zero outside the ``valid`` pixels, as the app pads it (a disk
    stops at the image's edge)."""
    h, w = x.shape[2], x.shape[3]
    maps = np.stack([guide_maps((h, w), c, m, encoding, cls or 0, num_classes)
                     for c, m, cls in zip(clicks, masks, classes, strict=True)])
    if valid is not None:
        maps *= valid[:, None]
    return torch.from_numpy(maps).to(x.device, non_blocking=True)


__all__ = ["RAMP", "SCRATCH_START", "ClickPlan", "simulate_guides"]
