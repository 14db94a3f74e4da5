"""The model a run starts from: a fresh UNet sized from the data, a checkpoint to fine-tune, or a resumed run's."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from unet_core.data.classes import ClassTable
from unet_core.data.dataset import Example
from unet_core.data.file_guard import file_size_hw
from unet_core.data.framing import check_scale, typical_scale
from unet_core.data.guides import GuideEncoding, guide_channels
from unet_core.model.checkpoint import CheckpointMeta, file_hash, load_checkpoint
from unet_core.model.grow import with_classes
from unet_core.model.unet import UNet, UNetConfig, build_model, check_input_size, with_guide_channels
from unet_core.training.types import TrainConfig

INTERACTIVE_CLICKS = 0.5
"""Share of samples trained with clicks when an interactive model trains on without a ``clicks`` setting
(DeepEdit drops the clicks for about half of the samples)."""


def header_sizes(examples: Sequence[Example], most: int = 200) -> list[tuple[int, int]]:
    """(H, W) of up to ``most`` images spread over ``examples``, read from file headers only."""
    step = max(1, len(examples) // most)
    sizes = [file_size_hw(Path(ex.image_path)) for ex in list(examples)[::step][:most]]
    return [s for s in sizes if s is not None]


def auto_size(examples: Sequence[Example], long_side: int = 384, multiple: int = 32,
              sizes: Sequence[tuple[int, int]] | None = None) -> tuple[int, int]:
    """Model input size (H, W) keeping the most common image aspect, long side ``long_side``, multiples of 32
    (``sizes``: the images' header sizes, when already read)."""
    sizes = list(header_sizes(examples) if sizes is None else sizes)
    if not sizes:
        from unet_core.data.io import read_image  # local: only when no header could be read

        sizes = [read_image(examples[0].image_path).shape[:2]]
    h, w = Counter(sizes).most_common(1)[0][0]
    scale = long_side / max(h, w)
    return (
        max(multiple, round(h * scale / multiple) * multiple),
        max(multiple, round(w * scale / multiple) * multiple),
    )


def auto_scale(examples: Sequence[Example], size_hw: tuple[int, int],
               sizes: Sequence[tuple[int, int]] | None = None) -> float:
    """The scale at which the typical image fills the input with its aspect kept (see :func:`typical_scale`)."""
    sizes = list(header_sizes(examples) if sizes is None else sizes)
    return check_scale(typical_scale(sizes, size_hw) if sizes else 1.0)


@dataclass
class StartingModel:
    """A run's model before training (on the CPU), its metadata, the parent's hash and the click share."""

    model: UNet
    meta: CheckpointMeta
    parent_hash: str | None
    clicks: float  # share of samples trained with simulated clicks (0: automatic only)


def starting_model(config: TrainConfig, classes: ClassTable, train_set: Sequence[Example], init: Path | None,
                   kind: str, resumed: CheckpointMeta | None) -> StartingModel:
    """The model a run trains: ``init`` (fine-tuning; it may move to another input size or scale, an
    automatic model gains guide channels when trained with clicks, and one with fewer classes than
    ``classes`` grows its head for the classes added since), else a fresh one of ``config.arch`` whose
    input size and scale come from the data's headers, or from ``resumed`` (the run being continued)."""
    if init is not None:
        model, meta = load_checkpoint(init, device="cpu")
        if meta.classes.num_classes > classes.num_classes:
            raise ValueError(f"{init}: model has {meta.classes.num_classes} classes, the data has {classes.num_classes}")
        if meta.classes.num_classes < classes.num_classes:  # classes added to the project since: grow the head
            model = with_classes(model, classes.num_classes)
            meta.arch = model.config
        meta.classes = classes  # the project's names and colours (renamed, recoloured, added)
        resumed_guides = resumed is not None and resumed.interactive  # a resumed run keeps its mode and encoding
        clicks = _share(config.clicks, meta.interactive or resumed_guides)
        if (clicks > 0 or resumed_guides) and not meta.interactive:  # an automatic model learns clicks too
            model = with_guide_channels(model, guide_channels(classes.num_classes))
            meta.arch = model.config
            meta.guides = _encoding(config, resumed)
        parent = file_hash(init)
        meta.parent_hash = parent
        meta.created = time.time()
        if config.size_hw is not None:
            meta.input_size = tuple(config.size_hw)  # type: ignore[assignment]
        if config.scale is not None:  # a fully convolutional model can move to another scale
            meta.scale = check_scale(config.scale)
        elif resumed is not None:
            meta.scale = resumed.scale
        if config.size_hw is None and resumed is not None:
            meta.input_size = resumed.input_size
        check_input_size(meta.arch, meta.input_size)
        return StartingModel(model, meta, parent, clicks)
    resumed_guides = resumed.arch.guide_channels if resumed else 0
    clicks = _share(config.clicks, bool(resumed_guides))
    guides = guide_channels(classes.num_classes) if clicks > 0 or resumed_guides else 0
    arch = UNetConfig.preset(config.arch, classes.num_classes, guide_channels=guides)
    if config.dropout:
        arch = UNetConfig.from_dict({**arch.to_dict(), "dropout": config.dropout})
    needs_sizes = resumed is None and (not config.size_hw or config.scale is None)
    sizes = header_sizes(train_set) if needs_sizes else []  # read once, for both choices
    if config.size_hw:
        size = tuple(config.size_hw)
    else:
        size = resumed.input_size if resumed else auto_size(train_set, config.long_side, sizes=sizes)
    check_input_size(arch, size)  # type: ignore[arg-type]
    if config.scale is not None:
        scale: float | None = check_scale(config.scale)
    else:  # a resumed run keeps its own (None: a run from before framing keeps stretching)
        scale = resumed.scale if resumed else auto_scale(train_set, size, sizes=sizes)  # type: ignore[arg-type]
    meta = CheckpointMeta(arch=arch, classes=classes, input_size=size, dataset_kind=kind,  # type: ignore[arg-type]
                          scale=scale, guides=_encoding(config, resumed) if guides else None)
    return StartingModel(build_model(arch), meta, None, clicks)


def _encoding(config: TrainConfig, resumed: CheckpointMeta | None) -> GuideEncoding:
    """How clicks are drawn: a resumed run's own encoding, else the configured one."""
    if resumed is not None and resumed.guides is not None:
        return resumed.guides
    return GuideEncoding(config.click_encoding, zoom=config.click_zoom)


def _share(configured: float | None, interactive: bool) -> float:
    """The click share: as configured, else :data:`INTERACTIVE_CLICKS` for an interactive model, else 0."""
    if configured is not None:
        return float(configured)
    return INTERACTIVE_CLICKS if interactive else 0.0


__all__ = ["INTERACTIVE_CLICKS", "StartingModel", "auto_scale", "auto_size", "header_sizes", "starting_model"]
