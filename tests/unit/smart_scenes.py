"""Synthetic images with known edges for the smart-tool tests: an object of one colour on a noisy ground."""

from __future__ import annotations

import cv2
import numpy as np

H, W = 240, 320


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image and its true mask: class 1 a red disc (centre 110,120, radius 60), class 2 a blue
    rectangle (x 210-290, y 40-200), on grey ground with mild noise."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((H, W), np.uint8)
    cv2.circle(truth, (110, 120), 60, 1, -1)
    truth[40:200, 210:290] = 2
    colours = np.array([[120, 120, 120], [200, 40, 40], [40, 60, 200]], np.int16)
    img = colours[truth] + rng.integers(-6, 7, (H, W, 3))
    return np.clip(img, 0, 255).astype(np.uint8), truth


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool images."""
    return float((a & b).sum() / max(1, (a | b).sum()))


def probs_for(truth: np.ndarray, k: int = 3, factor: int = 4, sure: float = 0.9) -> np.ndarray:
    """A low-resolution probability map (h x w x k) that gives the true class ``sure``."""
    low = cv2.resize(truth, (truth.shape[1] // factor, truth.shape[0] // factor), interpolation=cv2.INTER_NEAREST)
    p = np.full((*low.shape, k), (1 - sure) / (k - 1), np.float32)
    np.put_along_axis(p, low[..., None].astype(np.int64), sure, axis=-1)
    return p
