"""Tiles: overlapping model-sized windows over a large working image, blended into seamless probability rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from unet_core.data.framing import pad_to

Forward = Callable[[list[np.ndarray]], np.ndarray]
"""Model pass over a list of tile-sized uint8 RGB crops -> N x K x th x tw float32 probabilities."""

MIN_WEIGHT = 1e-3
"""Weight of a tile's outermost pixels: every pixel keeps a positive total weight, so blending never divides by 0."""


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``length`` with at least ``overlap`` pixels shared."""
    if length <= tile:
        return [0]
    step = max(1, tile - max(0, overlap))
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def ramp(tile: int, margin: int) -> np.ndarray:
    """A 1-D blending weight: rises linearly over ``margin`` pixels from each end, 1 in between."""
    i = np.arange(tile, dtype=np.float32)
    edge = np.minimum(i + 0.5, tile - i - 0.5) / max(1, margin)
    return np.clip(edge, MIN_WEIGHT, 1.0).astype(np.float32)


def default_overlap(tile_hw: Sequence[int]) -> int:
    """Pixels shared by neighbouring tiles: a quarter of the shorter side (the network's context at the edge)."""
    return max(1, min(int(tile_hw[0]), int(tile_hw[1])) // 4)


def tile_count(image_hw: Sequence[int], tile_hw: Sequence[int], overlap: int) -> int:
    """How many model passes a tiled prediction of an image of ``image_hw`` makes."""
    return len(tile_starts(int(image_hw[0]), int(tile_hw[0]), overlap)) * len(
        tile_starts(int(image_hw[1]), int(tile_hw[1]), overlap)
    )


def blended_rows(
    forward: Forward,
    image: np.ndarray,
    tile_hw: Sequence[int],
    num_classes: int,
    overlap: int | None = None,
    batch_size: int = 4,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(row0, probs)``: finished rows of the blended K x n x W probabilities, top to bottom.

    Tiles of one tile row are predicted in batches and added with a separable ramp weight into one
    band of ``tile height`` rows; the rows no later tile touches are normalised and yielded, and the
    band moves down. Memory is one band (K x th x W float32) whatever the image's height. The yielded
    array is a view that the next step overwrites: use it before asking for more.
    """
    th, tw = int(tile_hw[0]), int(tile_hw[1])
    h, w = image.shape[:2]
    margin = default_overlap(tile_hw) if overlap is None else int(overlap)
    ys, xs = tile_starts(h, th, margin), tile_starts(w, tw, margin)
    window = ramp(th, margin)[:, None] * ramp(tw, margin)[None, :]
    acc = np.zeros((num_classes, th, w), dtype=np.float32)
    weight = np.zeros((th, w), dtype=np.float32)
    for i, y0 in enumerate(ys):
        vh = min(th, h - y0)
        for b in range(0, len(xs), max(1, batch_size)):
            chunk = xs[b : b + batch_size]
            crops = [pad_to(image[y0 : y0 + th, x0 : x0 + tw], (th, tw)) for x0 in chunk]
            probs = forward(crops)
            for p, x0 in zip(probs, chunk, strict=True):
                vw = min(tw, w - x0)
                part = window[:vh, :vw]
                acc[:, :vh, x0 : x0 + vw] += p[:, :vh, :vw] * part
                weight[:vh, x0 : x0 + vw] += part
            del probs
        end = ys[i + 1] if i + 1 < len(ys) else h
        n = end - y0
        acc[:, :n] /= weight[None, :n]
        yield y0, acc[:, :n]
        keep = th - n  # rows already touched by this tile row that the next one continues
        for r in range(keep):  # row by row, top down: no band-sized temporary
            acc[:, r] = acc[:, n + r]
            weight[r] = weight[n + r]
        acc[:, keep:] = 0.0
        weight[keep:] = 0.0


__all__ = ["Forward", "blended_rows", "default_overlap", "ramp", "tile_count", "tile_starts"]
