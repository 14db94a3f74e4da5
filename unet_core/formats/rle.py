"""Kaggle's run-length encoding (Carvana's train_masks.csv and submissions): 1-based start, length; row-major."""

from __future__ import annotations

import numpy as np

from unet_core.limits import MAX_IMAGE_PIXELS


def rle_encode(mask: np.ndarray) -> str:
    """``"start length start length ..."`` of the true pixels of a 2-D mask, pixels numbered 1.. row by row
    (Carvana's order: ``mask.flatten()``); ``""`` for an empty mask."""
    if mask.ndim != 2:
        raise ValueError(f"a run-length mask must be 2-D, got shape {mask.shape}")
    flat = np.concatenate([[False], mask.reshape(-1).astype(bool), [False]])
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1  # 1-based starts and ends (exclusive) in turn
    edges[1::2] -= edges[::2]
    return " ".join(map(str, edges.tolist()))


def rle_decode(text: str, shape_hw: tuple[int, int]) -> np.ndarray:
    """The H x W bool mask of a run-length string; ``ValueError`` (saying what is wrong) for runs that are not
    pairs, not positive, overlapping or out of order, or past the image's end."""
    h, w = (int(v) for v in shape_hw)
    if not (h > 0 and w > 0 and h * w <= MAX_IMAGE_PIXELS):
        raise ValueError(f"image size {h}x{w} is out of range")
    parts = text.split()
    if len(parts) % 2:
        raise ValueError(f"run-length data holds {len(parts)} numbers, not start/length pairs")
    try:
        runs = np.asarray(parts, dtype=np.int64).reshape(-1, 2)
    except (ValueError, OverflowError):
        raise ValueError("run-length data holds something that is not a whole number in range") from None
    flat = np.zeros(h * w, bool)
    if not len(runs):
        return flat.reshape(h, w)
    if (runs > h * w).any():  # bounded before any sum: nothing overflows
        raise ValueError(f"a run starts or runs past the {h}x{w} image's {h * w} pixels")
    starts, lengths = runs[:, 0] - 1, runs[:, 1]
    ends = starts + lengths
    if (starts < 0).any() or (lengths <= 0).any():
        raise ValueError("run-length starts must be >= 1 and lengths >= 1")
    if (starts[1:] < ends[:-1]).any():
        raise ValueError("run-length runs overlap or are out of order")
    if ends[-1] > h * w:
        raise ValueError(f"a run ends at pixel {int(ends[-1])}, past the {h}x{w} image's {h * w}")
    marks = np.zeros(h * w + 1, np.int8)
    np.add.at(marks, starts, 1)
    np.add.at(marks, ends, -1)
    flat[:] = np.cumsum(marks[:-1]) > 0
    return flat.reshape(h, w)


__all__ = ["rle_decode", "rle_encode"]
