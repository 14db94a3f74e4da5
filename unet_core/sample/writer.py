"""Writes generated Carvana- and CARLA-format sample folders in the datasets' exact native file formats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from unet_core.data.io import MaskFormat, write_image, write_mask

LAYOUTS = ("carvana", "carla")
CARVANA_SIZE = (1280, 1918)
CARLA_SIZE = (480, 640)
VIEWS_PER_CAR = 4
_CARVANA_VIEWS = (1, 5, 9, 13, 3, 7, 11, 15, 2, 4, 6, 8, 10, 12, 14, 16)


def write_sample(
    out: str | Path,
    layout: str,
    count: int = 16,
    seed: int = 0,
    size_hw: tuple[int, int] | None = None,
    views_per_car: int = VIEWS_PER_CAR,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Generate ``count`` image/mask pairs into ``out`` and return the layout folder.

    carvana: ``train/<car id>_<nn>.jpg`` + ``train_masks/<car id>_<nn>_mask.gif`` (palette GIF {0,1}),
    ``views_per_car`` turntable views per car. carla: ``CameraRGB/<n>.png`` (RGBA) + ``CameraMask/<n>.png``
    (class id in the red channel). Existing files of the same names are replaced atomically.
    """
    from unet_core.sample import scenes  # drawing code is only needed here

    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if count < 1:
        raise ValueError("count must be at least 1")
    root = Path(out)
    rng = np.random.default_rng(seed)
    if layout == "carvana":
        size = size_hw or CARVANA_SIZE
        car = None
        car_id = ""
        for i in range(count):
            view_slot = i % max(1, views_per_car)
            if view_slot == 0:
                car = scenes.random_car(rng)
                car_id = "".join(rng.choice(list("0123456789abcdef"), size=12))
            view = _CARVANA_VIEWS[view_slot % len(_CARVANA_VIEWS)]
            image, mask = scenes.draw_carvana_view(rng, car, view, size)
            stem = f"{car_id}_{view:02d}"
            write_image(root / "train" / f"{stem}.jpg", image, quality=92)
            write_mask(root / "train_masks" / f"{stem}_mask.gif", mask, MaskFormat.CARVANA_GIF)
            if progress:
                progress(i + 1, count)
    else:
        size = size_hw or CARLA_SIZE
        for i in range(count):
            image, mask = scenes.draw_carla_scene(rng, size)
            stem = f"{i:06d}"
            write_image(root / "CameraRGB" / f"{stem}.png", image, alpha=True)
            write_mask(root / "CameraMask" / f"{stem}.png", mask, MaskFormat.RED_CHANNEL)
            if progress:
                progress(i + 1, count)
    return root
