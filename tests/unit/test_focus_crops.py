"""Focused crops: a share of training crops lands on a class picked uniformly among an image's classes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unet_core.cli.entry import build_parser
from unet_core.data.dataset import Example, SegmentationDataset, frame_example
from unet_core.data.io import MaskFormat
from unet_core.training.types import TrainConfig


def _rare_corner_example(tmp_path: Path) -> Example:
    """A 200x300 image of class 1 with a 3x3 speck of class 2 near its top-left corner."""
    image = np.full((200, 300, 3), 90, np.uint8)
    mask = np.ones((200, 300), np.uint8)
    mask[4:7, 4:7] = 2
    image[mask == 2] = 250
    ip, mp = tmp_path / "im.png", tmp_path / "im_mask.png"
    cv2.imwrite(str(ip), image)
    cv2.imwrite(str(mp), mask)
    return Example(ip, mp, MaskFormat.INDEX_PNG)


def _share_with_speck(ds: SegmentationDataset, n: int = 60) -> float:
    return sum(bool((ds[0]["mask"] == 2).any()) for _ in range(n)) / n


def test_focused_crops_find_a_speck_that_random_crops_almost_never_see(tmp_path: Path) -> None:
    example = _rare_corner_example(tmp_path)
    torch.manual_seed(0)
    plain = SegmentationDataset([example], (48, 48), 3, augment=False, scale=1.0)
    focused = SegmentationDataset([example], (48, 48), 3, augment=False, scale=1.0, focus=0.8)
    assert _share_with_speck(plain) < 0.1  # a random 48x48 crop holds the speck ~0.1 % of the time
    # half of the focused crops pick the speck's class (2 of the image's 2 classes): ~0.4 of all crops
    assert 0.2 <= _share_with_speck(focused) <= 0.65
    crop = focused[0]
    assert crop["image"].shape == (3, 48, 48) and (crop["weight"] == 1).all()  # still a crop, not a pad


def test_a_crop_around_a_pixel_contains_it_at_every_position() -> None:
    h, w, size = 50, 70, (16, 24)
    mask = np.arange(h * w, dtype=np.int64).reshape(h, w)
    rng = torch.Generator().manual_seed(1)
    for y, x in [(0, 0), (49, 69), (0, 69), (25, 35), (15, 23)]:
        _, crop, _ = frame_example(np.zeros((h, w, 3), np.uint8), mask, None, size, rng, around=(y, x))
        assert crop.shape == size and (crop == y * w + x).any()
        _, crop, _ = frame_example(np.zeros((h, w, 3), np.uint8), mask, None, size, None, around=(y, x))
        assert (crop == y * w + x).any()  # without a generator: the same rule, deterministic


def test_the_share_of_focused_crops_is_checked_everywhere(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="focus"):
        SegmentationDataset([_rare_corner_example(tmp_path)], (48, 48), 3, augment=False, scale=1.0, focus=1.5)
    with pytest.raises(ValueError, match="focused crops"):
        TrainConfig(focus_crops=-0.1).validate()
    args = build_parser().parse_args(["train", "--data", "D", "--out", "M", "--focus-crops", "0.5"])
    assert args.focus_crops == 0.5
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--data", "D", "--out", "M", "--focus-crops", "2"])
