"""Carvana-like turntable photos: a procedural car in a light studio, with its exact {0,1} mask."""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from unet_core.sample.car import CarSpec
from unet_core.sample.car_render import render_car
from unet_core.sample.draw import Camera, add_grain, vertical_gradient

N_VIEWS = 16
_DISTANCE = 12.0  # metres from the turntable centre to the camera
_CAM_HEIGHT = 1.65
_FOCAL_PER_WIDTH = 1.86  # focal length in units of image width
_GROUND_ROW = 0.74  # where the turntable centre lands, as a fraction of image height
_WORDMARK = "MASKLOOP"


def view_camera(view: int, size_hw: tuple[int, int]) -> Camera:
    """The fixed studio camera for turntable ``view`` (1..16; 1 = front, 5 = left side, 9 = back)."""
    if not 1 <= int(view) <= N_VIEWS:
        raise ValueError(f"view must be in 1..{N_VIEWS}, got {view}")
    h, w = size_hw
    phi = math.radians((int(view) - 1) * 360.0 / N_VIEWS)
    pos = np.array([_DISTANCE * math.cos(phi), _DISTANCE * math.sin(phi), _CAM_HEIGHT])
    target = np.array([0.0, 0.0, 0.55])
    cam = Camera.look_at(pos, target, _FOCAL_PER_WIDTH * w, w / 2.0, h / 2.0)
    row = float(cam.project(np.zeros((1, 3)))[0, 1])
    return Camera(cam.pos, cam.right, cam.up, cam.fwd, cam.focal, cam.cx, cam.cy + _GROUND_ROW * h - row)


@functools.lru_cache(maxsize=4)
def _studio_base(h: int, w: int) -> np.ndarray:
    """The empty studio for one image size (cached, read-only): bright wall, grey floor, turntable, lettering."""
    sh, sw = max(8, h // 8), max(8, w // 8)
    ys = np.linspace(0.0, 1.0, sh, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, sw, dtype=np.float32)[None, :]
    floor_line = 0.33 + 0.025 * xs**2
    wall = np.array([242.0, 243.0, 244.0], np.float32) - 8.0 * np.clip(ys / 0.33, 0, 1)[..., None]
    floor_t = np.clip((ys - floor_line) / (1.0 - 0.33), 0.0, 1.0)[..., None]
    floor = np.array([203.0, 206.0, 210.0], np.float32) * (1 - floor_t) + np.array(
        [186.0, 189.0, 195.0], np.float32
    ) * floor_t
    dy = (ys - _GROUND_ROW + 0.02) / 0.21
    ring = np.sqrt((xs / 0.98) ** 2 + dy**2)
    table = np.clip((1.0 - ring) * 12.0, 0.0, 1.0)[..., None]
    floor = floor * (1 - 0.06 * table) + np.array([6.0, 3.0, 0.0], np.float32) * table
    floor += 10.0 * np.exp(-(((ring - 1.0) / 0.02) ** 2))[..., None]
    blend = np.clip((ys - floor_line) * sh / 1.5 + 0.5, 0.0, 1.0)[..., None]
    bg = wall * (1 - blend) + floor * blend
    big = cv2.resize(np.clip(bg, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
    _wordmark(big, h, w)
    big.flags.writeable = False
    return big


def _shadow(img: np.ndarray, cam: Camera, car: CarSpec) -> None:
    """Darken the floor under the car with a soft shadow of its footprint (in place)."""
    h, w = img.shape[:2]
    hl, hw = car.length / 2 + 0.15, car.width / 2 + 0.12
    foot = cam.project(np.array([(hl, hw, 0.0), (-hl, hw, 0.0), (-hl, -hw, 0.0), (hl, -hw, 0.0)]))
    sigma = 0.3 * cam.focal / _DISTANCE
    x0, y0 = np.floor(foot.min(axis=0) - 3 * sigma).astype(int)
    x1, y1 = np.ceil(foot.max(axis=0) + 3 * sigma).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    k = 4  # work at quarter resolution: the shadow is soft anyway
    sw, sh = max(2, (x1 - x0) // k), max(2, (y1 - y0) // k)
    small = np.zeros((sh, sw), np.float32)
    pts = (foot - (x0, y0)) * (sw / (x1 - x0), sh / (y1 - y0))
    cv2.fillPoly(small, [np.round(pts * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
    small = cv2.GaussianBlur(small, (0, 0), max(0.6, sigma * sw / (x1 - x0)))
    gain = cv2.resize(1.0 - 0.42 * small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    g8 = np.clip(gain * 128.0, 0, 255).astype(np.uint8)
    roi = img[y0:y1, x0:x1]
    cv2.multiply(roi, cv2.merge([g8, g8, g8]), dst=roi, scale=1.0 / 128.0)


def _wordmark(img: np.ndarray, h: int, w: int) -> None:
    """Large, widely spaced grey lettering on the studio wall, as on the real backdrop."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    thick = max(1, round(h * 0.009))
    widths = [cv2.getTextSize(ch, font, 1.0, thick)[0][0] for ch in _WORDMARK]
    scale = 0.13 * h / cv2.getTextSize("M", font, 1.0, thick)[0][1]  # tall capitals, as on the real wall
    gap = max(0.0, (0.84 * w / scale - sum(widths)) / (len(_WORDMARK) - 1))
    x = 0.08 * w
    for ch, cw in zip(_WORDMARK, widths, strict=True):
        cv2.putText(img, ch, (round(x), round(0.325 * h)), font, scale, (108, 110, 116), thick, cv2.LINE_AA)
        x += (cw + gap) * scale


def draw_carvana_view(
    rng: np.random.Generator, car: CarSpec, view: int, size_hw: tuple[int, int] = (1280, 1918)
) -> tuple[np.ndarray, np.ndarray]:
    """Render turntable ``view`` (1..16) of ``car``: (RGB uint8 HxWx3 image, uint8 HxW mask in {0, 1})."""
    h, w = int(size_hw[0]), int(size_hw[1])
    if h < 16 or w < 16:
        raise ValueError(f"size_hw must be at least 16x16, got {size_hw}")
    cam = view_camera(view, (h, w))
    img = _studio_base(h, w).copy()
    _shadow(img, cam, car)
    mask = np.zeros((h, w), np.uint8)
    render_car(img, mask, car, cam, 1)
    vertical_gradient(img, mask, 1.08, 0.86)
    add_grain(rng, img, strong=False)
    return img, mask
