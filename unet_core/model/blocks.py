"""Building blocks of the UNet: double convolution, up-sampling, decoder block, mirror padding, cropping."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by optional BatchNorm and ReLU, then optional Dropout2d.

    With ``padded=False`` the convolutions are unpadded (each shrinks the map by 2 pixels per axis),
    as in Ronneberger et al. 2015. Convolutions carry no bias when BatchNorm follows them.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        batch_norm: bool = True,
        padded: bool = True,
        dropout: float = 0.0,
    ) -> None:
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(2):
            layers.append(
                nn.Conv2d(channels, out_channels, 3, padding=1 if padded else 0, bias=not batch_norm)
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
            channels = out_channels
        if dropout > 0.0:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class UpSample(nn.Module):
    """Double the spatial size and halve the channels: 2x2 transposed conv, or bilinear + 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int, *, bilinear: bool = False) -> None:
        super().__init__()
        self.bilinear = bilinear
        if bilinear:
            self.up: nn.Module = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.proj: nn.Module = nn.Conv2d(in_channels, out_channels, 1)
        else:
            self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
            self.proj = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """Return the up-sampled map (2H x 2W, ``out_channels``)."""
        return self.proj(self.up(x))


class DecoderBlock(nn.Module):
    """Up-sample, concatenate with the (centre-cropped if larger) skip connection, double conv."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        bilinear: bool = False,
        batch_norm: bool = True,
        padded: bool = True,
    ) -> None:
        super().__init__()
        self.up = UpSample(in_channels, in_channels // 2, bilinear=bilinear)
        self.conv = DoubleConv(
            in_channels // 2 + out_channels, out_channels, batch_norm=batch_norm, padded=padded
        )

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        """Decode ``x`` using the encoder feature map ``skip`` of the same level."""
        x = self.up(x)
        skip = center_crop(skip, x.shape[-2], x.shape[-1])
        return self.conv(torch.cat([skip, x], dim=1))


def center_crop(x: Tensor, height: int, width: int) -> Tensor:
    """Crop the centre ``height`` x ``width`` window of an N x C x H x W tensor (no-op when equal)."""
    h, w = x.shape[-2], x.shape[-1]
    if h == height and w == width:
        return x
    if height > h or width > w:
        raise ValueError(f"cannot crop a {h}x{w} map to a larger {height}x{width}")
    top = (h - height) // 2
    left = (w - width) // 2
    return x[..., top : top + height, left : left + width]


def mirror_pad(x: Tensor, top: int, bottom: int, left: int, right: int) -> Tensor:
    """Mirror-pad (reflect) an N x C x H x W tensor by any amounts, even larger than the map.

    Reflection is repeated as needed (as in the paper's overlap-tile strategy); a side of length 1
    cannot be reflected and is replicated instead.
    """
    while top > 0 or bottom > 0 or left > 0 or right > 0:
        h, w = x.shape[-2], x.shape[-1]
        step_h = max(h - 1, 1)
        step_w = max(w - 1, 1)
        t, b = min(top, step_h), min(bottom, step_h)
        lf, r = min(left, step_w), min(right, step_w)
        if h == 1 or w == 1:
            # Reflect needs a side of at least 2; replicate grows a 1-pixel side to 2 first.
            x = _pad_single_pixel_sides(x, t, b, lf, r)
        else:
            x = F.pad(x, (lf, r, t, b), mode="reflect")
        top, bottom, left, right = top - t, bottom - b, left - lf, right - r
    return x


def _pad_single_pixel_sides(x: Tensor, top: int, bottom: int, left: int, right: int) -> Tensor:
    """Pad with replicate along 1-pixel axes and reflect along the others."""
    h, w = x.shape[-2], x.shape[-1]
    if h == 1 and (top or bottom):
        x = F.pad(x, (0, 0, top, bottom), mode="replicate")
        top = bottom = 0
    if w == 1 and (left or right):
        x = F.pad(x, (left, right, 0, 0), mode="replicate")
        left = right = 0
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom), mode="reflect")
    return x
