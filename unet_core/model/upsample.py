"""Bilinear upsampling of low-resolution class probabilities to full resolution in bounded row bands."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

CV2_MAX_CHANNELS = 128
"""OpenCV 5 resizes at most 128 channels in one call."""

BAND_BYTES = 48 * 2**20
"""Scratch memory for one band of full-resolution probabilities (the whole map is never held at once)."""


def resize_channels(arr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an h x w x K float32 map to ``size_hw`` (any K; chunks OpenCV's channel limit)."""
    h, w = size_hw
    parts = [
        cv2.resize(np.ascontiguousarray(arr[..., i : i + CV2_MAX_CHANNELS]), (w, h), interpolation=cv2.INTER_LINEAR)
        for i in range(0, arr.shape[-1], CV2_MAX_CHANNELS)
    ]
    parts = [p[..., None] if p.ndim == 2 else p for p in parts]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)


def _row_weights(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source rows and weights of OpenCV's INTER_LINEAR (half-pixel centres, edges replicated)."""
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


def probability_bands(
    low: np.ndarray, size_hw: tuple[int, int], band_bytes: int = BAND_BYTES
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(row0, row1, band)``: rows ``row0:row1`` of ``low`` (h x w x K) resized to ``size_hw``.

    Rows are interpolated exactly as one whole-image :func:`resize_channels` would (the vertical
    step in NumPy on the small map, the horizontal one by OpenCV), so bands join without seams,
    while memory stays near ``band_bytes`` whatever the image size.
    """
    h, w = size_hw
    k = low.shape[-1]
    rows = max(1, band_bytes // max(1, 3 * w * k * 4))
    i0, i1, frac = _row_weights(h, low.shape[0])
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        top, bottom = low[i0[r0:r1]], low[i1[r0:r1]]
        vertical = top + (bottom - top) * frac[r0:r1, None, None]
        yield r0, r1, resize_channels(vertical, (r1 - r0, w))


def upsample_labels(low: np.ndarray, size_hw: tuple[int, int], band_bytes: int = BAND_BYTES) -> np.ndarray:
    """Full-resolution argmax labels (H x W uint8) of an h x w x K probability map, band by band."""
    labels = np.empty(size_hw, dtype=np.uint8)
    for r0, r1, band in probability_bands(low, size_hw, band_bytes):
        labels[r0:r1] = band.argmax(axis=-1)
    return labels


def upsample_probabilities(low: np.ndarray, size_hw: tuple[int, int], band_bytes: int = BAND_BYTES) -> np.ndarray:
    """The full H x W x K probability map (the caller asked for all of it), filled band by band."""
    out = np.empty((*size_hw, low.shape[-1]), dtype=np.float32)
    for r0, r1, band in probability_bands(low, size_hw, band_bytes):
        out[r0:r1] = band
    return out
