"""CARLA-like driving-camera street scenes with per-pixel CARLA semantic tag masks (ids 0..22)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from unet_core.sample.car import random_car
from unet_core.sample.car_render import camera_in_car_frame, render_car
from unet_core.sample.carla_props import BEHIND, STREET, Item, Props
from unet_core.sample.draw import (
    Camera,
    Color,
    add_grain,
    apply_gain,
    fill_poly,
    mix,
    shade,
    smooth_field,
)

CARLA_IDS: dict[str, int] = {
    "unlabeled": 0,
    "building": 1,
    "fence": 2,
    "other": 3,
    "pedestrian": 4,
    "pole": 5,
    "road line": 6,
    "road": 7,
    "sidewalk": 8,
    "vegetation": 9,
    "vehicle": 10,
    "wall": 11,
    "traffic sign": 12,
    "sky": 13,
    "ground": 14,
    "bridge": 15,
    "rail track": 16,
    "guard rail": 17,
    "traffic light": 18,
    "static": 19,
    "dynamic": 20,
    "water": 21,
    "terrain": 22,
}
_ID = CARLA_IDS
_FAR = 3000.0
_FACADES: tuple[Color, ...] = (
    (150.0, 92.0, 72.0), (176.0, 160.0, 138.0), (122.0, 122.0, 128.0), (204.0, 198.0, 186.0),
    (112.0, 80.0, 66.0), (164.0, 150.0, 118.0), (190.0, 140.0, 110.0), (96.0, 100.0, 110.0),
)


class _Street:
    """One random street: camera, road cross-section and the painter that fills image and mask."""

    def __init__(self, rng: np.random.Generator, h: int, w: int) -> None:
        self.rng, self.h, self.w = rng, h, w
        self.img = np.zeros((h, w, 3), np.uint8)
        self.mask = np.full((h, w), _ID["sky"], np.uint8)
        fov = math.radians(rng.uniform(82.0, 96.0))
        focal = w / 2 / math.tan(fov / 2)
        self.cam_h = float(rng.uniform(1.2, 2.0))
        horizon = float(rng.uniform(0.44, 0.54)) * h
        self.cam = Camera(np.array([0.0, 0.0, self.cam_h]), np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0]),
                          np.array([1.0, 0.0, 0.0]), focal, w / 2 + rng.uniform(-0.03, 0.03) * w, horizon, 0.4)
        self.lane_w = float(rng.uniform(3.1, 3.7))
        self.lanes = int(rng.choice([2, 3, 3, 4]))
        road_w = self.lanes * self.lane_w
        self.left = float(road_w * rng.uniform(0.3, 0.75))  # road edge on the left (+y) of the camera
        self.right = road_w - self.left
        self.walk = (float(rng.uniform(1.5, 3.2)), float(rng.uniform(1.5, 3.2)))
        self.has_walk = (bool(rng.random() < 0.85), bool(rng.random() < 0.85))
        self.sun = 1.0 if rng.random() < 0.5 else -1.0
        pale = float(rng.uniform(180, 212))
        self.sky_horizon: Color = (pale, pale + float(rng.uniform(8, 18)), 232.0)
        self.props = Props(self)

    # -- geometry helpers -------------------------------------------------------------------------------
    def edge(self, side: float) -> float:
        """|y| of the road edge on ``side`` (+1 left, -1 right)."""
        return self.left if side > 0 else self.right

    def outer(self, side: float) -> float:
        """|y| of the outer edge of the sidewalk (or road edge when there is none)."""
        i = 0 if side > 0 else 1
        return self.edge(side) + (self.walk[i] if self.has_walk[i] else 0.0)

    def quad(self, pts: np.ndarray | list, color: Color, label: int | None, aa: bool = True) -> None:
        """Project and fill one world polygon."""
        fill_poly(self.img, self.mask, self.cam.project_poly(np.asarray(pts, np.float64)), color, label, aa)

    def ground_strip(self, y0: float, y1: float, z: float, color: Color, label: int, x0: float = 0.0,
                     x1: float = _FAR) -> None:
        """A ground band between lateral offsets ``y0``..``y1`` from ``x0`` to ``x1`` at height ``z``."""
        self.quad([(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)], color, label)

    def haze(self, color: Color, x: float) -> Color:
        """Fade a colour toward the horizon sky with distance ``x``."""
        return mix(color, self.sky_horizon, min(0.75, x / 450.0))

    # -- layers -----------------------------------------------------------------------------------------
    def sky(self) -> None:
        """Blue gradient sky with horizontal soft clouds over the whole frame (mask stays sky)."""
        h, w, rng = self.h, self.w, self.rng
        sh, sw = max(4, h // 4), max(4, w // 4)
        t = np.clip(np.linspace(0, 1, sh, dtype=np.float32) * h / max(self.cam.cy, 1.0), 0, 1)[:, None, None]
        top = np.array([rng.uniform(40, 80), rng.uniform(100, 135), rng.uniform(170, 210)], np.float32)
        sky = top * (1 - t**0.7) + np.array(self.sky_horizon, np.float32) * t**0.7
        # more cells down than across: clouds come out as long horizontal streaks, as in CARLA's skies
        cloud = smooth_field(rng, (sh, sw), (int(rng.integers(5, 9)), int(rng.integers(2, 4))))
        cloud += 0.5 * smooth_field(rng, (sh, sw), (14, 5)) + 0.25 * smooth_field(rng, (sh, sw), (30, 9))
        amount = np.clip((cloud - rng.uniform(0.0, 0.7)) * 1.3, 0, 0.9)[..., None] * (1 - 0.6 * t)
        sky = sky * (1 - amount) + np.array([236.0, 238.0, 242.0], np.float32) * amount
        self.img[:] = cv2.resize(np.clip(sky, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)

    def horizon_band(self) -> None:
        """Distant hills and a tree line along the horizon."""
        rng, w, cy = self.rng, self.w, self.cam.cy
        xs = np.linspace(-2, w + 2, 48)
        if rng.random() < 0.5:
            top = cy - self.h * (0.02 + 0.05 * (0.5 + 0.5 * np.sin(xs / w * rng.uniform(2, 6) + rng.uniform(0, 6))))
            col = mix((110.0, 125.0, 90.0), self.sky_horizon, 0.55)
            fill_poly(self.img, self.mask, np.vstack([np.c_[xs, top], [(w + 2, cy + 2), (-2, cy + 2)]]), col,
                      _ID["terrain"])
        if rng.random() < 0.8:
            n = int(rng.integers(60, 140))
            xs = np.linspace(-2, w + 2, n)
            top = cy - self.h * rng.uniform(0.008, 0.035) * (0.6 + 0.8 * rng.random(n))
            col = mix((55.0, 85.0, 45.0), self.sky_horizon, float(rng.uniform(0.25, 0.5)))
            fill_poly(self.img, self.mask, np.vstack([np.c_[xs, top], [(w + 2, cy + 2), (-2, cy + 2)]]), col,
                      _ID["vegetation"])

    def ground(self) -> None:
        """Terrain, road with asphalt texture, lane markings, sidewalks and curbs."""
        rng, h, w, cy = self.rng, self.h, self.w, self.cam.cy
        grass = (float(rng.uniform(85, 130)), float(rng.uniform(105, 135)), float(rng.uniform(60, 85)))
        fill_poly(self.img, self.mask, np.array([(-2, cy), (w + 2, cy), (w + 2, h + 2), (-2, h + 2)]), grass,
                  _ID["terrain"])
        self.ground_strip(self.left, -self.right, 0.0, (110.0, 110.0, 112.0), _ID["road"])
        base = float(rng.uniform(85, 130))
        tint = np.array([1.0, 1.0, 1.0 + rng.uniform(-0.02, 0.06)], np.float32)
        sh, sw = max(2, h // 2), max(2, w // 2)  # asphalt texture at half resolution
        rows = np.linspace(0, h, sh, dtype=np.float32)[:, None]
        haze = np.exp(-np.maximum(rows - cy, 0) / (0.08 * h))
        lum = base * (1 + 0.04 * smooth_field(rng, (sh, sw), (7, 5)) + 0.025 * smooth_field(rng, (sh, sw), (40, 50)))
        lum = lum * (1 - 0.35 * haze) + 180.0 * 0.35 * haze
        tex = cv2.resize(np.clip(lum[..., None] * tint, 0, 255).astype(np.uint8), (w, h))
        np.copyto(self.img, tex, where=(self.mask == _ID["road"])[..., None])
        self.lines()
        curb = (float(rng.uniform(150, 185)),) * 3
        walk_col = curb if rng.random() < 0.7 else (float(rng.uniform(150, 175)), 120.0, 110.0)
        for i, side in enumerate((1.0, -1.0)):
            if self.has_walk[i]:
                e, o = side * self.edge(side), side * self.outer(side)
                self.ground_strip(e, o, 0.15, walk_col, _ID["sidewalk"])
                self.quad([(0.0, e, 0.0), (_FAR, e, 0.0), (_FAR, e, 0.15), (0.0, e, 0.15)], shade(curb, 0.8),
                          _ID["sidewalk"])
        self.shadows()

    def lines(self) -> None:
        """Dashed lane markings (sometimes a solid yellow centre line) and optional solid edge lines."""
        rng = self.rng
        white = (float(rng.uniform(190, 225)),) * 3
        yellow = (215.0, 175.0, 60.0)
        width = float(rng.uniform(0.1, 0.16))
        period, dash = float(rng.uniform(8, 13)), float(rng.uniform(2.5, 4.0))
        for k in range(1, self.lanes):
            y = self.left - k * self.lane_w
            centre = k == self.lanes // 2 and rng.random() < 0.3
            col = yellow if centre else white
            if centre or rng.random() < 0.15:
                self.ground_strip(y - width / 2, y + width / 2, 0.005, col, _ID["road line"], 1.0, 400.0)
                continue
            x = -float(rng.uniform(0, period))
            while x < 220:
                self.ground_strip(y - width / 2, y + width / 2, 0.005, col, _ID["road line"], max(x, 0.5), x + dash)
                x += period
        if rng.random() < 0.6:
            for y in (self.left - 0.3, -self.right + 0.3):
                self.ground_strip(y - width / 2, y + width / 2, 0.005, white, _ID["road line"], 1.0, 400.0)

    def shadows(self) -> None:
        """Soft cast shadows across the ground from the sun side."""
        rng, h, w = self.rng, self.h, self.w
        shadow = np.zeros((h // 2 + 1, w // 2 + 1), np.float32)
        o = self.outer(self.sun) + 2.0
        x = float(rng.uniform(0, 10))
        for _ in range(int(rng.integers(0, 5))):
            length, reach = float(rng.uniform(4, 20)), float(rng.uniform(2, 9))
            pts = np.array([(x, self.sun * o, 0), (x + length, self.sun * o, 0),
                            (x + length + 2, self.sun * (o - reach), 0), (x + 2, self.sun * (o - reach), 0)])
            px = self.cam.project_poly(pts) / 2
            if len(px) >= 3:
                cv2.fillPoly(shadow, [np.round(px * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
            x += length + float(rng.uniform(3, 25))
        if shadow.any():
            shadow = cv2.GaussianBlur(shadow, (0, 0), 1.5)
            apply_gain(self.img, 1.0 - 0.38 * shadow)

    def buildings(self, side: float) -> list[tuple[float, np.ndarray]]:
        """Plan a row of buildings on ``side``; returns (x0, params) records drawn later far-to-near."""
        rng = self.rng
        y = self.outer(side) + float(rng.uniform(1.0, 8.0))
        x = float(rng.uniform(0, 25))
        tall = float(rng.uniform(6, 26))
        out: list[tuple[float, np.ndarray]] = []
        while x < 260:
            length = float(rng.uniform(10, 35))
            height = float(np.clip(rng.normal(tall * 0.8, tall * 0.25), 4, 45))
            out.append((x, np.array([x, x + length, side * y, height, rng.integers(len(_FACADES)),
                                     rng.uniform(0.8, 1.1), rng.uniform(2.6, 3.6), rng.random()])))
            x += length + float(rng.choice([0.0, 0.0, rng.uniform(2, 15)]))
            y = self.outer(side) + float(rng.uniform(1.0, 10.0))
        return out

    def draw_building(self, p: np.ndarray) -> None:
        """Facade, visible end wall, cornice and windows of one planned building."""
        x0, x1, y, height, ci, tone, floor_h, style = p
        side = 1.0 if y > 0 else -1.0
        base = shade(_FACADES[int(ci)], float(tone))
        lit = 1.0 if side == self.sun else 0.72
        depth = 15.0
        facade = self.haze(shade(base, lit), x0)
        self.quad([(x0, y, 0), (x1, y, 0), (x1, y, height), (x0, y, height)], facade, _ID["building"])
        if x0 > 0.5:
            end = self.haze(shade(base, 0.6 if side == self.sun else 0.85), x0)
            self.quad([(x0, y, 0), (x0, y + side * depth, 0), (x0, y + side * depth, height), (x0, y, height)],
                      end, _ID["building"])
        self.quad([(x0, y, height - 0.5), (x1, y, height - 0.5), (x1, y, height), (x0, y, height)],
                  shade(facade, 1.12, 6.0), _ID["building"])
        self.windows(x0, x1, y, height, floor_h, style, facade)

    def windows(self, x0: float, x1: float, y: float, height: float, floor_h: float, style: float,
                facade: Color) -> None:
        """All windows of one facade in two cv2.fillPoly calls (dark panes and sky reflections)."""
        spacing = 2.2 + 1.6 * style
        win_w, win_h = spacing * 0.5, floor_h * 0.5
        xs = np.arange(max(x0, 1.0) + 0.8, x1 - win_w - 0.4, spacing)
        zs = np.arange(1.0, height - floor_h * 0.7, floor_h)
        if len(xs) == 0 or len(zs) == 0:
            return
        gx, gz = np.meshgrid(xs, zs)
        gx, gz = gx.ravel(), gz.ravel()
        corners = np.stack([np.stack([gx, gz], 1), np.stack([gx + win_w, gz], 1),
                            np.stack([gx + win_w, gz + win_h], 1), np.stack([gx, gz + win_h], 1)], axis=1)
        pts3 = np.concatenate([corners[..., :1], np.full((*corners.shape[:2], 1), y * 0.999),
                               corners[..., 1:]], axis=2)
        px = self.cam.project(pts3.reshape(-1, 3)).reshape(-1, 4, 2)
        big = (px[:, 2, 0] - px[:, 0, 0]) ** 2 + (px[:, 2, 1] - px[:, 0, 1]) ** 2 > 2.0
        px = px[big]
        if len(px) == 0:
            return
        pane = self.haze(mix(facade, (40.0, 50.0, 62.0), 0.75), x0)
        glint = self.haze(mix(facade, (150.0, 170.0, 190.0), 0.6), x0)
        refl = self.rng.random(len(px)) < 0.3
        for sel, col in ((~refl, pane), (refl, glint)):
            if sel.any():
                polys = [np.round(q * 16).astype(np.int32) for q in px[sel]]
                cv2.fillPoly(self.img, polys, col, cv2.LINE_AA, 4)

    def vehicles(self) -> list[tuple[float, object]]:
        """Plan vehicles in lanes (oncoming on the left half) and parked at the curbs."""
        rng = self.rng
        n = int(rng.choice([0, 1, 2, 2, 3, 3, 4, 5]))
        out: list[tuple[float, object]] = []
        used: list[tuple[int, float]] = []
        for _ in range(n + 4):
            if len(out) >= n:
                break
            lane = int(rng.integers(self.lanes))
            yc = self.left - (lane + 0.5) * self.lane_w
            x = float(rng.uniform(7.0 if abs(yc) < self.lane_w / 2 else 4.5, 55.0))
            if any(lane == ln and abs(x - xx) < 9 for ln, xx in used):
                continue
            used.append((lane, x))
            oncoming = lane < self.lanes // 2 and self.lanes > 1
            yaw = (math.pi if oncoming else 0.0) + float(rng.uniform(-0.04, 0.04))
            out.append((x, (random_car(rng), np.array([x, yc + rng.uniform(-0.3, 0.3), 0.0]), yaw)))
        return out

    def draw_vehicle(self, spec: tuple) -> None:
        """Render one planned car (spec, position, heading) with the shared 3-D car model."""
        car, origin, yaw = spec
        render_car(self.img, self.mask, car, camera_in_car_frame(self.cam, origin, yaw), _ID["vehicle"])


def draw_carla_scene(rng: np.random.Generator, size_hw: tuple[int, int] = (480, 640)) -> tuple[np.ndarray, np.ndarray]:
    """Render a random street: (RGB uint8 HxWx3 image, uint8 HxW mask of CARLA tag ids 0..22)."""
    h, w = int(size_hw[0]), int(size_hw[1])
    if h < 16 or w < 16:
        raise ValueError(f"size_hw must be at least 16x16, got {size_hw}")
    st = _Street(rng, h, w)
    st.sky()
    st.horizon_band()
    st.ground()
    kinds = [str(rng.choice(["buildings", "buildings", "wall", "fence", "open", "open"])) for _ in range(2)]
    items: list[Item] = []
    for side, kind in zip((1.0, -1.0), kinds, strict=True):
        if kind == "buildings" or rng.random() < 0.25:
            items += [(BEHIND, x, ("building", p)) for x, p in st.buildings(side)]
        items += st.props.plan_side(side, kind)
    items += [(STREET, x, ("vehicle", v)) for x, v in st.vehicles()]
    items += st.props.plan_street()
    for _, _, (what, spec) in sorted(items, key=lambda it: (it[0], -it[1])):
        if what == "building":
            st.draw_building(spec)
        elif what == "vehicle":
            st.draw_vehicle(spec)
        else:
            st.props.draw(what, spec)
    apply_gain(st.img, 1.0 + 0.05 * smooth_field(rng, (max(2, h // 16), max(2, w // 16)), (5, 7)))
    add_grain(rng, st.img, strong=False)
    return st.img, st.mask
