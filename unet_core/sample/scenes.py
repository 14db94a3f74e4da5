"""Public entry point for procedural sample scenes (Carvana-like turntable views, CARLA-like streets).

Everything here is pure numpy/cv2 and deterministic for a given ``np.random.Generator`` state:

    rng = np.random.default_rng(0)
    car = random_car(rng)
    image, mask = draw_carvana_view(rng, car, view=5)          # (H, W, 3) uint8 RGB, (H, W) uint8 {0, 1}
    image, mask = draw_carla_scene(rng, size_hw=(480, 640))    # mask holds CARLA tag ids 0..22
"""

from __future__ import annotations

from unet_core.sample.car import CarSpec, random_car
from unet_core.sample.carla import CARLA_IDS, draw_carla_scene
from unet_core.sample.carvana import N_VIEWS, draw_carvana_view

__all__ = ["CARLA_IDS", "N_VIEWS", "CarSpec", "draw_carla_scene", "draw_carvana_view", "random_car"]
