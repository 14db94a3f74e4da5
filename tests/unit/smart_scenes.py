"""Synthetic images with known edges for the smart-tool tests: an object of one colour on a noisy ground."""

from __future__ import annotations

import cv2
import numpy as np

H, W = 240, 320


def scene(seed: int = 0, half: bool = False, noise: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image and its true mask: class 1 a red disc (centre 110,120, radius 60), class 2 a blue
    rectangle (x 210-290, y 40-200), on grey ground with noise of +-``noise``; every size halved
    (120x160) with ``half``."""
    rng = np.random.default_rng(seed)
    f = 2 if half else 1
    h, w = H // f, W // f
    truth = np.zeros((h, w), np.uint8)
    cv2.circle(truth, (110 // f, 120 // f), 60 // f, 1, -1)
    truth[40 // f : 200 // f, 210 // f : 290 // f] = 2
    colours = np.array([[120, 120, 120], [200, 40, 40], [40, 60, 200]], np.int16)
    img = colours[truth] + rng.integers(-noise, noise + 1, (h, w, 3))
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
