"""Dataset formats, layouts, class tables and the torch Dataset (imported lazily: no torch at import)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from unet_core.data.classes import CARLA_CLASSES, CARVANA_CLASSES, LYFT_CLASSES, ClassTable
from unet_core.data.io import (
    MaskFormat,
    check_mask,
    check_same_size,
    colorize,
    read_image,
    read_mask,
    write_color_mask,
    write_image,
    write_mask,
)
from unet_core.data.layouts import DatasetLayout, Pair, detect_layout, make_layout
from unet_core.data.split import split_by_group

if TYPE_CHECKING:
    from unet_core.data.dataset import Example, SegmentationDataset, examples_from_layout

_LAZY = {"Example", "SegmentationDataset", "examples_from_layout", "load_example"}


def __getattr__(name: str) -> Any:
    """Import the torch-dependent dataset names on first use."""
    if name in _LAZY:
        from unet_core.data import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'unet_core.data' has no attribute {name!r}")


__all__ = [
    "CARLA_CLASSES",
    "CARVANA_CLASSES",
    "LYFT_CLASSES",
    "ClassTable",
    "DatasetLayout",
    "Example",
    "MaskFormat",
    "Pair",
    "SegmentationDataset",
    "check_mask",
    "check_same_size",
    "colorize",
    "detect_layout",
    "examples_from_layout",
    "make_layout",
    "read_image",
    "read_mask",
    "split_by_group",
    "write_color_mask",
    "write_image",
    "write_mask",
]
