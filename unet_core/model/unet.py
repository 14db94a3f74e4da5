"""The configurable UNet (padded or paper-faithful), its config dataclass, presets and helpers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import torch
from torch import Tensor, nn

from unet_core.limits import (
    MAX_CLASSES,
    MAX_FIRST_LEVEL_ELEMENTS,
    MAX_GUIDE_CHANNELS,
    MAX_IN_CHANNELS,
    MAX_WIDEST_CHANNELS,
)
from unet_core.model.blocks import DecoderBlock, DoubleConv, mirror_pad

_PRESET_WIDTHS: dict[str, int] = {
    "unet-tiny": 8,
    "unet-small": 16,
    "unet-base": 32,
    "unet": 64,
    "unet-paper": 64,
}

ARCH_NAMES: tuple[str, ...] = tuple(_PRESET_WIDTHS)
"""Names accepted by :meth:`UNetConfig.preset` (and the CLI's ``--arch``)."""

DEFAULT_ARCH: str = "unet-small"
"""Preset used for CPU work; chosen by ``benchmarks/model_widths.py`` (see ``docs/model.md``)."""

_MAX_DEPTH = 8

BORDER_MARGIN = 8
"""Pixels of mirrored context the padded UNet adds on every side of its input in eval mode (cropped again)."""


@dataclass(frozen=True)
class UNetConfig:
    """Architecture of a :class:`UNet`.

    Attributes:
        in_channels: channels of the input image (3 for RGB).
        num_classes: K, the number of output logit channels (>= 2; softmax over them gives probabilities).
        base_width: channels of the first encoder block; doubles at every level.
        depth: number of encoder down-sampling blocks (the classic UNet has 4).
        bilinear: bilinear up-sampling followed by a 1x1 conv halving the channels, instead of a
            2x2 transposed convolution.
        batch_norm: BatchNorm after every 3x3 convolution (those convolutions then have no bias).
        dropout: Dropout2d probability at the end of the bottleneck (0 disables it).
        paper: paper-faithful variant (Ronneberger et al. 2015): unpadded 3x3 convolutions and
            centre-cropped skip connections; the input is mirror-padded (overlap-tile) so that the
            output still covers the whole input.
        guide_channels: extra input channels of the interactive mode (0: automatic only; else
            ``1 + 2 * num_classes``: the mask of the class being corrected and a positive and a negative click
            map per class, see :func:`unet_core.data.guides.guide_channels`).
            Left empty (zeros) they give the automatic prediction, so one network serves both.
    """

    in_channels: int = 3
    num_classes: int = 2
    base_width: int = 16
    depth: int = 4
    bilinear: bool = False
    batch_norm: bool = True
    dropout: float = 0.0
    paper: bool = False
    guide_channels: int = 0

    def __post_init__(self) -> None:
        """Validate types and ranges; raise ``ValueError`` with the offending field."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type in ("int", int):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError(f"UNetConfig.{f.name} must be an int, got {value!r}")
            elif f.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise ValueError(f"UNetConfig.{f.name} must be a bool, got {value!r}")
            elif f.type in ("float", float):
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise ValueError(f"UNetConfig.{f.name} must be a number, got {value!r}")
                object.__setattr__(self, f.name, float(value))
        if not 1 <= self.in_channels <= MAX_IN_CHANNELS:
            raise ValueError(f"UNetConfig.in_channels must be in 1..{MAX_IN_CHANNELS}, got {self.in_channels}")
        if not 0 <= self.guide_channels <= MAX_GUIDE_CHANNELS:
            raise ValueError(f"UNetConfig.guide_channels must be in 0..{MAX_GUIDE_CHANNELS}, got {self.guide_channels}")
        if not 2 <= self.num_classes <= MAX_CLASSES:
            raise ValueError(f"UNetConfig.num_classes must be in 2..{MAX_CLASSES}, got {self.num_classes}")
        if not 1 <= self.depth <= _MAX_DEPTH:
            raise ValueError(f"UNetConfig.depth must be in 1..{_MAX_DEPTH}, got {self.depth}")
        widest = MAX_WIDEST_CHANNELS >> self.depth
        if not 1 <= self.base_width <= widest:
            raise ValueError(f"UNetConfig.base_width must be in 1..{widest} at depth {self.depth} "
                             f"(at most {MAX_WIDEST_CHANNELS} bottleneck channels), got {self.base_width}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"UNetConfig.dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-serialisable dict (inverse of :meth:`from_dict`). An automatic model
        leaves ``guide_channels`` out, so Maskloop versions from before the interactive mode still read it."""
        d = dataclasses.asdict(self)
        if not d["guide_channels"]:
            del d["guide_channels"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UNetConfig:
        """Build a config from a dict; missing keys take defaults.

        Raises:
            ValueError: ``d`` is not a dict, has unknown keys (named in the message), or a value has
                the wrong type or range.
        """
        if not isinstance(d, dict):
            raise ValueError(f"UNet config must be a dict, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in d if k not in known)
        if unknown:
            raise ValueError(f"unknown UNet config key(s): {', '.join(unknown)}")
        return cls(**d)

    @classmethod
    def preset(cls, name: str, num_classes: int, **overrides: Any) -> UNetConfig:
        """Return the named preset (see :data:`ARCH_NAMES`) for ``num_classes`` classes.

        ``overrides`` replace individual fields (e.g. ``in_channels=1``).

        Raises:
            ValueError: unknown ``name`` (the message lists the valid names) or bad override.
        """
        if name not in _PRESET_WIDTHS:
            raise ValueError(f"unknown architecture {name!r}; valid names: {', '.join(ARCH_NAMES)}")
        fields: dict[str, Any] = {"num_classes": num_classes, "base_width": _PRESET_WIDTHS[name], "depth": 4}
        if name == "unet-paper":
            fields.update(paper=True, batch_norm=False)
        fields.update(overrides)
        return cls.from_dict(fields)


@cache
def _paper_shrink(depth: int) -> tuple[int, int]:
    """For unpadded convs at ``depth``: (smallest valid input size, total input-output shrink)."""
    size = 1
    while True:
        out = _paper_output_size(size, depth)
        if out is not None:
            return size, size - out
        size += 1


def _paper_output_size(size: int, depth: int) -> int | None:
    """Output size of the unpadded UNet for an input ``size``, or None if ``size`` is not valid."""
    s = size
    for _ in range(depth):
        s -= 4
        if s <= 0 or s % 2:
            return None
        s //= 2
    s -= 4  # bottleneck
    if s <= 0:
        return None
    for _ in range(depth):
        s = 2 * s - 4
        if s <= 0:
            return None
    return s


class UNet(nn.Module):
    """UNet for semantic segmentation: N x C x H x W float input -> N x K x H x W logits.

    Any H, W >= 1 is accepted: the padded variant mirror-pads the input up to a multiple of
    ``2 ** depth`` (in eval mode after an :data:`BORDER_MARGIN` margin on every side); the paper variant mirror-pads it so that the unpadded network's output covers
    the input. Logits are cropped back to exactly H x W. Works with ``channels_last`` tensors.
    """

    def __init__(self, config: UNetConfig, init_weights: bool = True) -> None:
        super().__init__()
        self.config = config
        padded = not config.paper
        widths = [config.base_width * 2**level for level in range(config.depth + 1)]
        self.encoder = nn.ModuleList()
        channels = config.in_channels + config.guide_channels
        for width in widths[:-1]:
            self.encoder.append(DoubleConv(channels, width, batch_norm=config.batch_norm, padded=padded))
            channels = width
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(
            channels, widths[-1], batch_norm=config.batch_norm, padded=padded, dropout=config.dropout
        )
        self.decoder = nn.ModuleList(
            DecoderBlock(
                widths[level + 1],
                widths[level],
                bilinear=config.bilinear,
                batch_norm=config.batch_norm,
                padded=padded,
            )
            for level in reversed(range(config.depth))
        )
        self.head = nn.Conv2d(widths[0], config.num_classes, 1)
        if init_weights:  # not for shapes only (the meta device): it is most of the build's time
            self._init_weights()

    def _init_weights(self) -> None:
        """Kaiming-normal (fan-in, ReLU) convolution weights, zero biases, unit BatchNorm. An interactive model's
        guide weights start at zero and its image weights as an automatic model's: until clicks are trained the
        guides are empty, and random guide weights would jolt the network the moment they are not."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.config.guide_channels:
            first = self.encoder[0][0]
            assert isinstance(first, nn.Conv2d)
            image = first.weight.new_empty((first.weight.shape[0], self.config.in_channels, *first.weight.shape[2:]))
            nn.init.kaiming_normal_(image, nonlinearity="relu")
            with torch.no_grad():
                first.weight.zero_()
                first.weight[:, : self.config.in_channels] = image

    def pad_amounts(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Mirror padding (top, bottom, left, right) ``forward`` applies to an H x W input."""
        if height < 1 or width < 1:
            raise ValueError(f"input must be at least 1x1, got {height}x{width}")
        depth = self.config.depth
        if not self.config.paper:
            # In eval mode a mirrored margin on every side keeps the image's own borders away from the
            # network's: there zero padding meets the stride-2 grid at another phase on the right/bottom
            # than on the left/top, and short-trained models painted an ~8 px band of "car" along the
            # right and bottom edges of every real Carvana image (docs/model.md). Training skips it: the
            # margin made a step 18% slower and bought nothing measurable over using it at inference.
            # Then round up to a multiple of 2**depth, and to at least 2 * 2**depth so the bottleneck
            # map is >= 2x2 (BatchNorm in training mode needs more than one value per channel).
            multiple = 2**depth
            margin = 0 if self.training else BORDER_MARGIN

            def after_padded(size: int) -> int:
                total = size + 2 * margin
                return max(total + -total % multiple, 2 * multiple) - size - margin

            return margin, after_padded(height), margin, after_padded(width)
        min_size, shrink = _paper_shrink(depth)
        margin = shrink // 2

        def after(size: int) -> int:
            total = max(size + shrink, min_size)
            while _paper_output_size(total, depth) is None:
                total += 1
            return total - size - margin

        return margin, after(height), margin, after(width)

    def forward(self, x: Tensor, guide: Tensor | None = None) -> Tensor:
        """Return N x K x H x W logits for an N x C x H x W float input.

        ``guide`` (N x G x H x W, the interactive mode's mask and click maps) is allowed only when the config
        has ``guide_channels``; without it those channels are zeros: the automatic prediction.
        """
        if x.dim() != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"UNet expects an N x {self.config.in_channels} x H x W tensor, got {tuple(x.shape)}"
            )
        x = self._with_guide(x, guide)
        height, width = x.shape[-2], x.shape[-1]
        top, bottom, left, right = self.pad_amounts(height, width)
        x = mirror_pad(x, top, bottom, left, right)
        skips: list[Tensor] = []
        for i, block in enumerate(self.encoder):
            x = self._image_only(block, x) if i == 0 and x.shape[1] < block[0].in_channels else block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for block, skip in zip(self.decoder, reversed(skips), strict=True):
            x = block(x, skip)
        logits = self.head(x)
        if logits.shape[-2] != height or logits.shape[-1] != width:
            # Crop back to the input; keep the result dense (and channels_last if it was). The paper
            # variant's unpadded convolutions already consumed its margin; the padded one keeps it.
            oy, ox = (0, 0) if self.config.paper else (top, left)
            cropped = logits[..., oy : oy + height, ox : ox + width]
            fmt = torch.channels_last if _is_channels_last(logits) else torch.contiguous_format
            logits = cropped.contiguous(memory_format=fmt)
        return logits


    def _with_guide(self, x: Tensor, guide: Tensor | None) -> Tensor:
        """``x`` with the guide channels appended; ``x`` itself without a guide (see :meth:`_image_only`)."""
        channels = self.config.guide_channels
        if guide is None:
            return x
        if not channels:
            raise ValueError("this model has no interactive mode: it takes no guide channels")
        elif guide.dim() != 4 or tuple(guide.shape) != (x.shape[0], channels, x.shape[2], x.shape[3]):
            raise ValueError(f"guide must be N x {channels} x H x W like the image, got {tuple(guide.shape)}")
        fmt = torch.channels_last if _is_channels_last(x) else torch.contiguous_format
        return torch.cat([x, guide.to(x.dtype)], dim=1).contiguous(memory_format=fmt)


    @staticmethod
    def _image_only(block: nn.Sequential, x: Tensor) -> Tensor:
        """The first block of an interactive model on the image alone: its first convolution with the image's
        weights only, which is what empty guides give (zeros times the guide weights), without building and
        convolving 1 + 2K channels of zeros (+17 % a training step, +32 % a prediction for 23 classes)."""
        conv = block[0]
        assert isinstance(conv, nn.Conv2d)
        y = nn.functional.conv2d(x, conv.weight[:, : x.shape[1]].contiguous(memory_format=_layout(x)), conv.bias, conv.stride, conv.padding,
                                 conv.dilation, conv.groups)
        for layer in list(block)[1:]:
            y = layer(y)
        return y


def with_guide_channels(model: UNet, channels: int) -> UNet:
    """A copy of ``model`` with ``channels`` guide channels whose first-layer weights are zero, so it predicts
    exactly as ``model`` until trained (how an automatic checkpoint becomes interactive); ``model`` when it
    already has them."""
    config = model.config
    if config.guide_channels == channels:
        return model
    if config.guide_channels:
        raise ValueError(f"the model already has {config.guide_channels} guide channels, not {channels}")
    wider = UNet(dataclasses.replace(config, guide_channels=channels), init_weights=False)
    state = model.state_dict()
    first = "encoder.0.0.weight"  # the first 3x3 convolution: the only layer that sees the input
    old = state[first]
    grown = old.new_zeros((old.shape[0], old.shape[1] + channels, *old.shape[2:]))
    grown[:, : old.shape[1]] = old
    state = {**state, first: grown}
    wider.load_state_dict(state)
    wider.to(old.device)
    if _is_channels_last(old):
        wider.to(memory_format=torch.channels_last)
    wider.train(model.training)
    return wider


def _layout(x: Tensor) -> torch.memory_format:
    """The memory format ``x`` is laid out in (channels_last or plain)."""
    return torch.channels_last if _is_channels_last(x) else torch.contiguous_format


def _is_channels_last(x: Tensor) -> bool:
    """True when ``x`` is laid out channels_last (and not also plain contiguous)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def build_model(config: UNetConfig) -> UNet:
    """Construct a freshly initialised :class:`UNet` for ``config``."""
    return UNet(config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def check_input_size(config: UNetConfig, size_hw: tuple[int, int]) -> None:
    """Raise ``ValueError`` when running ``config`` at ``size_hw`` would need unbounded memory.

    Bounds one first-level feature map (``base_width x H x W``, see :data:`MAX_FIRST_LEVEL_ELEMENTS`):
    a checkpoint header or a ``--size`` flag cannot make predicting or training allocate tens of GB.
    """
    h, w = size_hw
    elements = config.base_width * h * w
    if elements > MAX_FIRST_LEVEL_ELEMENTS:
        raise ValueError(f"input {h}x{w} at width {config.base_width} needs {elements / 2**20:.0f} M values per "
                         f"feature map (at most {MAX_FIRST_LEVEL_ELEMENTS / 2**20:.0f} M): use a smaller size")


def state_shapes(config: UNetConfig) -> tuple[dict[str, tuple[int, ...]], int]:
    """The state-dict tensor shapes and the parameter count of ``config``'s UNet, allocating no weights.

    The model is built on PyTorch's ``meta`` device, so a checkpoint's tensors can be checked against
    its stored architecture before a real model (and its memory) exists. Remembered per architecture:
    building it runs the layers' own initialisers in Python (~20 ms, holding the GIL), and the app checks
    the same few architectures again and again.
    """
    shapes, parameters = _state_shapes(config)
    return dict(shapes), parameters


@lru_cache(maxsize=32)
def _state_shapes(config: UNetConfig) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], int]:
    with torch.device("meta"):
        model = UNet(config, init_weights=False)
    return tuple((name, tuple(t.shape)) for name, t in model.state_dict().items()), count_parameters(model)
