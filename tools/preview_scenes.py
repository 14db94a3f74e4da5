"""Render a PNG contact sheet of generated Carvana/CARLA sample scenes with mask overlays (manual check tool).

    python tools/preview_scenes.py --out /tmp/scenes.png [--seed 0] [--cars 3] [--streets 4]
        [--real-carvana DIR] [--real-carla DIR]   # optional: put a few real images beside them

Not part of the product or its tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from unet_core.sample.scenes import draw_carla_scene, draw_carvana_view, random_car

_CARLA_COLORS = {
    1: (70, 70, 70), 2: (100, 40, 40), 3: (55, 90, 80), 4: (220, 20, 60), 5: (153, 153, 153),
    6: (157, 234, 50), 7: (128, 64, 128), 8: (244, 35, 232), 9: (107, 142, 35), 10: (0, 0, 142),
    11: (102, 102, 156), 12: (220, 220, 0), 13: (70, 130, 180), 14: (81, 0, 81), 15: (150, 100, 100),
    16: (230, 150, 140), 17: (180, 165, 180), 18: (250, 170, 30), 19: (110, 190, 160), 20: (170, 120, 50),
    21: (45, 60, 150), 22: (145, 170, 100),
}
_TILE = (320, 480)  # (h, w) of one Carvana tile; CARLA tiles are 240x320


def _lut() -> np.ndarray:
    lut = np.zeros((256, 3), np.uint8)
    for k, c in _CARLA_COLORS.items():
        lut[k] = c
    return lut


def _carvana_tile(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Image with the car mask outlined in red, downscaled to one tile."""
    out = img.copy()
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (255, 0, 0), max(2, img.shape[1] // 400))
    return cv2.resize(out, (_TILE[1], _TILE[0]), interpolation=cv2.INTER_AREA)


def _carla_tiles(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Image beside its palette-coloured mask, each 240x320."""
    size = (_TILE[1] * 2 // 3, _TILE[0] * 3 // 4)
    a = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    b = cv2.resize(_lut()[mask], size, interpolation=cv2.INTER_NEAREST)
    return np.hstack([a, b])


def _read_rgb(path: Path, shape_hw: tuple[int, int]) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"{path}: cannot read image")
    return cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), (shape_hw[1], shape_hw[0]), interpolation=cv2.INTER_AREA)


def _pad_row(tiles: list[np.ndarray], width: int) -> np.ndarray:
    row = np.hstack(tiles)
    if row.shape[1] < width:
        row = np.hstack([row, np.full((row.shape[0], width - row.shape[1], 3), 255, np.uint8)])
    return row


def build_sheet(seed: int, cars: int, streets: int, real_carvana: Path | None, real_carla: Path | None) -> np.ndarray:
    """Compose the contact sheet (RGB) and print generation timings."""
    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    views = (1, 3, 5, 7, 9, 13)
    times: list[float] = []
    for _ in range(cars):
        car = random_car(rng)
        tiles = []
        for v in views:
            t = time.perf_counter()
            img, mask = draw_carvana_view(rng, car, v)
            times.append(time.perf_counter() - t)
            tiles.append(_carvana_tile(img, mask))
        rows.append(np.hstack(tiles))
        print(f"car {car.kind:6s} colour {car.body_color}")
    width = rows[0].shape[1] if rows else _TILE[1] * len(views)
    if real_carvana is not None:
        files = sorted(real_carvana.glob("*.jpg"))[: len(views)]
        rows.append(_pad_row([_read_rgb(p, _TILE) for p in files], width))
    if times:
        print(f"carvana 1918x1280: median {1000 * float(np.median(times)):.1f} ms/view")
    times = []
    pair: list[np.ndarray] = []
    for _ in range(streets):
        t = time.perf_counter()
        img, mask = draw_carla_scene(rng)
        times.append(time.perf_counter() - t)
        pair.append(_carla_tiles(img, mask))
        if (len(pair) + 1) * pair[0].shape[1] > width:
            rows.append(_pad_row(pair, width))
            pair = []
    if pair:
        rows.append(_pad_row(pair, width))
    if times:
        print(f"carla 640x480: median {1000 * float(np.median(times)):.1f} ms/scene")
    if real_carla is not None:
        files = sorted(real_carla.glob("*.png"))[:6]
        tile = (_TILE[0] * 3 // 4, _TILE[1] * 2 // 3)
        rows.append(_pad_row([_read_rgb(p, tile) for p in files], width))
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/scenes_preview.png"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cars", type=int, default=3)
    ap.add_argument("--streets", type=int, default=4)
    ap.add_argument("--real-carvana", type=Path, default=None, help="folder of real Carvana .jpg to show beside")
    ap.add_argument("--real-carla", type=Path, default=None, help="folder of real CARLA CameraRGB .png")
    args = ap.parse_args(argv)
    sheet = build_sheet(args.seed, args.cars, args.streets, args.real_carvana, args.real_carla)
    if not cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        print(f"{args.out}: cannot write PNG", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
