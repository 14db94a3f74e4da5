"""Superpixels (compact watershed from a seed grid, OpenCV only) and the brush that paints them whole."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from unet_core.edit.brush import Pixel, stamp_path
from unet_core.edit.patches import clip
from unet_core.edit.selection import Selection, selection_from

DEFAULT_SIZE = 24
"""Seed spacing in pixels of a 1918 px wide image: about 4,000 superpixels on a Carvana frame."""
REFERENCE_SIDE = 1918
MIN_SIZE = 6


def seed_spacing(shape_hw: tuple[int, ...]) -> int:
    """The seed spacing for an image of ``shape_hw``: :data:`DEFAULT_SIZE` scaled with its long side
    (a 640 px CARLA frame gets 8 px, about as many superpixels as a Carvana frame), at least :data:`MIN_SIZE`."""
    return max(MIN_SIZE, round(DEFAULT_SIZE * max(int(shape_hw[0]), int(shape_hw[1])) / REFERENCE_SIDE))


def superpixels(image: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Label every pixel of the H x W x 3 uint8 ``image`` with a superpixel id (int32, from 1).

    Seeds sit on a grid ``size`` px apart; OpenCV's watershed grows them over the lightly smoothed
    colours, so region borders follow the image's edges. Its border pixels join a neighbour.
    """
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise ValueError(f"superpixels need an H x W x 3 uint8 image, got {image.shape} {image.dtype}")
    step = max(2, int(size))
    h, w = image.shape[:2]
    markers = np.zeros((h, w), np.int32)
    ys, xs = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    if ys.size == 0:
        ys, xs = np.array([[h // 2]]), np.array([[w // 2]])
    markers[ys, xs] = np.arange(1, ys.size + 1, dtype=np.int32).reshape(ys.shape)
    smooth = cv2.GaussianBlur(np.ascontiguousarray(image[..., :3]), (3, 3), 0)
    cv2.watershed(smooth, markers)
    edge = markers <= 0
    if edge.any():  # watershed lines (-1) take the largest neighbouring id
        grown = cv2.dilate(markers.astype(np.float32), np.ones((3, 3), np.uint8))
        markers[edge] = grown[edge].astype(np.int32)
        markers[markers <= 0] = 1
    return markers


def superpixel_stroke(
    labels: np.ndarray, points: Sequence[Pixel], radius: int, value: int
) -> Selection | None:
    """Every superpixel the round brush of ``radius`` touches along ``points`` becomes class ``value``."""
    if not points:
        return None
    h, w = labels.shape
    xs = [int(p[0]) for p in points]
    ys = [int(p[1]) for p in points]
    r = max(0, int(radius))
    box = clip(min(xs) - r, min(ys) - r, max(xs) + r + 1, max(ys) + r + 1, labels.shape)
    if box is None:
        return None
    bx0, by0, bx1, by1 = box
    brush = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
    stamp_path(brush, [(x - bx0, y - by0) for x, y in zip(xs, ys, strict=True)], r, 1)
    touched = np.unique(labels[by0:by1, bx0:bx1][brush.astype(bool)])
    margin = 2 * DEFAULT_SIZE
    while True:  # grow the window until no chosen superpixel reaches its (inner) border
        win = clip(bx0 - margin, by0 - margin, bx1 + margin, by1 + margin, labels.shape)
        assert win is not None
        x0, y0, x1, y1 = win
        sel = np.isin(labels[y0:y1, x0:x1], touched)
        edges = [sel[0, :].any() and y0 > 0, sel[-1, :].any() and y1 < h,
                 sel[:, 0].any() and x0 > 0, sel[:, -1].any() and x1 < w]
        if not any(edges):
            return selection_from(sel, int(value), x0, y0)
        margin *= 2
