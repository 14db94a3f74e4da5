"""Street furniture for the CARLA-like scenes: walls, fences, guard rails, trees, poles, signs, lights, people."""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np

from unet_core.sample.draw import SHIFT, Camera, Color, fixed_points, mix, shade


class Street(Protocol):
    """What the props need of the street they stand in (the scene's street class fits it)."""

    rng: np.random.Generator
    h: int
    w: int
    img: np.ndarray
    mask: np.ndarray
    cam: Camera
    cam_h: float
    sun: float
    has_walk: tuple[bool, bool]

    def edge(self, side: float) -> float: ...
    def outer(self, side: float) -> float: ...
    def quad(self, pts: np.ndarray | list, color: Color, label: int | None, aa: bool = True) -> None: ...
    def haze(self, color: Color, x: float) -> Color: ...

# CARLA semantic tags used here (see scene_carla.CARLA_IDS)
FENCE, OTHER, PEDESTRIAN, POLE, VEGETATION, WALL, SIGN, GUARD_RAIL, LIGHT = 2, 3, 4, 5, 9, 11, 12, 17, 18

Item = tuple[int, float, tuple[str, Any]]  # (layer, distance, (kind, spec)); drawn by layer, then far-to-near
BEHIND, SIDE_LINE, STREET = 0, 1, 2


class Props:
    """Plans and draws the props of one street (``st`` is the owning street)."""

    def __init__(self, st: Street) -> None:
        self.st = st
        self.rng = st.rng

    # -- planning --------------------------------------------------------------------------------------
    def plan_side(self, side: float, kind: str) -> list[Item]:
        """Side structures and greenery beyond the sidewalk for a side of ``kind``."""
        st, rng = self.st, self.rng
        out: list[Item] = []
        line = side * (st.outer(side) + 0.1)
        x0 = float(rng.uniform(-4, 12))
        if kind == "wall":
            col = (float(rng.uniform(150, 200)), float(rng.uniform(140, 185)), float(rng.uniform(125, 170)))
            if rng.random() < 0.35:
                col = (float(rng.uniform(140, 175)), 95.0, 75.0)
            out.append((SIDE_LINE, x0, ("wall", (x0, line, float(rng.uniform(1.0, 2.8)), col))))
        elif kind == "fence":
            col = (110.0, 80.0, 58.0) if rng.random() < 0.5 else (140.0, 142.0, 146.0)
            out.append((SIDE_LINE, x0, ("fence", (x0, line, float(rng.uniform(0.9, 1.7)), col))))
        elif kind == "open" and not st.has_walk[0 if side > 0 else 1] and rng.random() < 0.7:
            out.append((SIDE_LINE, 0.0, ("guardrail", (side * (st.edge(side) + 0.4),))))
        if kind != "buildings" or rng.random() < 0.4:
            conifer = rng.random() < 0.6
            x = float(rng.uniform(0, 8))
            while x < 260:
                y = side * (st.outer(side) + float(rng.uniform(1.5, 9.0)))
                out.append((BEHIND, x, ("tree", self._tree(x, y, conifer))))
                x += float(rng.uniform(3, 14)) * (1 + x / 80)
        if kind == "buildings" and st.has_walk[0 if side > 0 else 1] and rng.random() < 0.4:
            x = float(rng.uniform(4, 15))
            while x < 150:
                out.append((STREET, x, ("tree", self._tree(x, line - side * 0.9, rng.random() < 0.3))))
                x += float(rng.uniform(10, 25))
        return out

    def _tree(self, x: float, y: float, conifer: bool) -> tuple:
        rng = self.rng
        h = float(rng.uniform(4, 13))
        green = (float(rng.uniform(40, 95)), float(rng.uniform(80, 135)), float(rng.uniform(30, 60)))
        return (x, y, h, h * float(rng.uniform(0.2, 0.32)), conifer, green, int(rng.integers(1 << 30)))

    def plan_street(self) -> list[Item]:
        """Lamp posts, signs, traffic lights, pedestrians and small objects along the sidewalks."""
        st, rng = self.st, self.rng
        out: list[Item] = []
        for i, side in enumerate((1.0, -1.0)):
            curb = side * (st.edge(side) + 0.45)
            if rng.random() < 0.75:
                x = float(rng.uniform(3, 25))
                spacing = float(rng.uniform(22, 40))
                height = float(rng.uniform(6.5, 9.5))
                while x < 220:
                    out.append((STREET, x, ("lamp", (x, curb, height, side))))
                    x += spacing
            if st.has_walk[i]:
                walk = (side * st.edge(side) + 0.6 * side, side * st.outer(side) - 0.4 * side)
                for _ in range(int(rng.choice([0, 0, 1, 2, 3]))):
                    x = float(rng.uniform(5, 45))
                    out.append((STREET, x, ("person", (x, float(rng.uniform(*sorted(walk))), *self._person()))))
                if rng.random() < 0.3:
                    x = float(rng.uniform(5, 40))
                    col = (float(rng.uniform(40, 120)), float(rng.uniform(60, 120)), float(rng.uniform(40, 90)))
                    out.append((STREET, x, ("other", (x, walk[1], float(rng.uniform(0.6, 1.2)), col))))
        for _ in range(int(rng.choice([0, 1, 1, 2]))):
            side = 1.0 if rng.random() < 0.4 else -1.0
            x = float(rng.uniform(7, 45))
            out.append((STREET, x, ("sign", (x, side * (st.edge(side) + 0.5), int(rng.integers(4))))))
        if rng.random() < 0.4:
            side = 1.0 if rng.random() < 0.3 else -1.0
            x = float(rng.uniform(14, 45))
            out.append((STREET, x, ("light", (x, side * (st.edge(side) + 0.5), side, int(rng.integers(3))))))
        return out

    def _person(self) -> tuple:
        rng = self.rng
        shirt = tuple(float(v) for v in rng.integers(20, 230, 3))
        pants = tuple(float(v) for v in (rng.integers(20, 70, 3) if rng.random() < 0.7 else rng.integers(80, 200, 3)))
        skin = mix((235.0, 195.0, 165.0), (95.0, 60.0, 40.0), float(rng.uniform(0, 1)))
        return (float(rng.uniform(1.55, 1.9)), shirt, pants, skin)

    # -- drawing ---------------------------------------------------------------------------------------
    def draw(self, what: str, spec: tuple) -> None:
        """Draw one planned prop."""
        getattr(self, "_draw_" + what)(*spec)

    def _bill(self, x: float, y0: float, y1: float, z0: float, z1: float, col: Color, label: int) -> None:
        """An upright rectangle facing the camera (plane x = const)."""
        self.st.quad([(x, y0, z0), (x, y1, z0), (x, y1, z1), (x, y0, z1)], col, label)

    def _disc(self, x: float, y: float, z: float, r: float, col: Color, label: int) -> None:
        cam = self.st.cam
        if x < cam.near + r:
            return
        c = cam.project(np.array([(x, y, z)]))[0]
        rad = max(0.5, r * cam.focal / x)
        if not (-rad < c[0] < self.st.w + rad and -rad < c[1] < self.st.h + rad):
            return
        cc = tuple(int(v) for v in fixed_points(c))
        rr = round(rad * (1 << SHIFT))
        cv2.circle(self.st.img, cc, rr, col, -1, cv2.LINE_AA, SHIFT)
        cv2.circle(self.st.mask, cc, rr, label, -1, cv2.LINE_8, SHIFT)

    def _draw_wall(self, x0: float, y: float, height: float, col: Color) -> None:
        st = self.st
        side = 1.0 if y > 0 else -1.0
        face = shade(col, 1.0 if side == st.sun else 0.8)
        st.quad([(x0, y, 0), (2000, y, 0), (2000, y, height), (x0, y, height)], face, WALL)
        if height < st.cam_h:
            st.quad([(x0, y, height), (2000, y, height), (2000, y + side * 0.3, height), (x0, y + side * 0.3, height)],
                    shade(col, 1.15, 8), WALL)
        if x0 > st.cam.near:
            self._bill(x0, y, y + side * 0.3, 0, height, shade(col, 0.7), WALL)
        seam = shade(face, 0.8)
        for xs in np.arange(max(x0, 1.0) + 3.0, 120.0, 4.0):
            st.quad([(xs, y * 0.999, 0), (xs + 0.08, y * 0.999, 0), (xs + 0.08, y * 0.999, height),
                     (xs, y * 0.999, height)], seam, WALL)

    def _draw_fence(self, x0: float, y: float, height: float, col: Color) -> None:
        st = self.st
        for z in (height * 0.35, height * 0.9):
            st.quad([(x0, y, z), (2000, y, z), (2000, y, z + 0.1), (x0, y, z + 0.1)], col, FENCE)
        for xp in np.arange(max(x0, 1.0), 150.0, 2.5):
            self._bill(float(xp), y - 0.05, y + 0.05, 0.0, height, shade(col, 0.85), FENCE)

    def _draw_guardrail(self, y: float) -> None:
        st = self.st
        col = (172.0, 174.0, 180.0)
        st.quad([(1.0, y, 0.45), (2000, y, 0.45), (2000, y, 0.78), (1.0, y, 0.78)], col, GUARD_RAIL)
        st.quad([(1.0, y, 0.58), (2000, y, 0.58), (2000, y, 0.64), (1.0, y, 0.64)], shade(col, 0.8), GUARD_RAIL)
        for xp in np.arange(2.0, 150.0, 4.0):
            self._bill(float(xp), y - 0.06, y + 0.06, 0.0, 0.5, (90.0, 90.0, 95.0), GUARD_RAIL)

    def _draw_tree(self, x: float, y: float, h: float, r: float, conifer: bool, green: Color, seed: int) -> None:
        rng = np.random.default_rng(seed)
        green = self.st.haze(green, x)
        trunk_top = h * (0.25 if conifer else 0.45)
        self._bill(x, y - 0.12, y + 0.12, 0.0, trunk_top + r * 0.5, self.st.haze((85.0, 62.0, 45.0), x), VEGETATION)
        if conifer:
            layers = 4
            for k in range(layers):
                z0 = trunk_top + k * (h - trunk_top) / (layers + 0.6)
                wk = r * (1.25 - k * 0.22)
                col = shade(green, 0.8 + 0.12 * k)
                self.st.quad([(x, y - wk, z0), (x, y + wk, z0), (x, y, z0 + (h - trunk_top) * 0.45)], col, VEGETATION)
            return
        for _ in range(6):
            dy, dz = rng.uniform(-0.55, 0.55) * r, rng.uniform(-0.45, 0.55) * r
            self._disc(x, y + dy, h - r + dz, r * float(rng.uniform(0.5, 0.75)),
                       shade(green, 0.85 + 0.3 * (dz / r + 0.45)), VEGETATION)

    def _draw_lamp(self, x: float, y: float, height: float, side: float) -> None:
        col = (128.0, 130.0, 134.0)
        self._bill(x, y - 0.09, y + 0.09, 0.0, height, col, POLE)
        arm = y - side * 1.6
        self.st.quad([(x, y, height - 0.1), (x, arm, height + 0.15), (x, arm, height + 0.25), (x, y, height)],
                     col, POLE)
        self._bill(x, arm - 0.3, arm + 0.3, height + 0.02, height + 0.2, (200.0, 200.0, 190.0), POLE)

    def _draw_sign(self, x: float, y: float, shape: int) -> None:
        self._bill(x, y - 0.04, y + 0.04, 0.0, 2.4, (140.0, 140.0, 145.0), POLE)
        z, r = 2.4, 0.38
        red, white, blue = (200.0, 30.0, 35.0), (235.0, 235.0, 235.0), (30.0, 80.0, 170.0)
        if shape == 0:
            self._disc(x, y, z, r, red, SIGN)
            self._disc(x, y, z, r * 0.72, white, SIGN)
        elif shape == 1:
            self._disc(x, y, z, r, blue, SIGN)
        elif shape == 2:
            tri = [(x, y - r, z - r * 0.6), (x, y + r, z - r * 0.6), (x, y, z + r * 0.9)]
            self.st.quad(tri, red, SIGN)
            self.st.quad([(x, y - r * 0.6, z - r * 0.4), (x, y + r * 0.6, z - r * 0.4), (x, y, z + r * 0.5)],
                         white, SIGN)
        else:
            self._bill(x, y - r, y + r, z - r * 0.7, z + r * 0.7, (30.0, 120.0, 70.0), SIGN)

    def _draw_light(self, x: float, y: float, side: float, state: int) -> None:
        col = (70.0, 72.0, 76.0)
        self._bill(x, y - 0.1, y + 0.1, 0.0, 6.0, col, POLE)
        arm = y - side * 4.5
        self.st.quad([(x, y, 5.8), (x, arm, 5.8), (x, arm, 5.95), (x, y, 5.95)], col, POLE)
        for yy, zz in ((arm + side * 0.4, 4.9), (y, 2.6)):
            self._bill(x - 0.05, yy - 0.18, yy + 0.18, zz, zz + 0.95, (35.0, 35.0, 38.0), LIGHT)
            for k, lamp in enumerate(((230.0, 40.0, 30.0), (240.0, 180.0, 30.0), (40.0, 220.0, 90.0))):
                on = k == state
                self._disc(x - 0.1, yy, zz + 0.78 - k * 0.3, 0.1, lamp if on else shade(lamp, 0.3), LIGHT)

    def _draw_person(self, x: float, y: float, h: float, shirt: Color, pants: Color, skin: Color) -> None:
        b = self._bill
        b(x, y - 0.17, y - 0.03, 0.0, 0.48 * h, pants, PEDESTRIAN)
        b(x, y + 0.03, y + 0.17, 0.0, 0.48 * h, shade(pants, 0.85), PEDESTRIAN)
        self.st.quad([(x, y - 0.2, 0.46 * h), (x, y + 0.2, 0.46 * h), (x, y + 0.22, 0.82 * h), (x, y - 0.22, 0.82 * h)],
                     shirt, PEDESTRIAN)
        for s in (-1.0, 1.0):
            b(x, y + s * 0.22, y + s * 0.3, 0.5 * h, 0.8 * h, shade(shirt, 0.85), PEDESTRIAN)
        self._disc(x, y, 0.9 * h, 0.07 * h, skin, PEDESTRIAN)
        self._disc(x, y, 0.93 * h, 0.06 * h, shade(skin, 0.35), PEDESTRIAN)

    def _draw_other(self, x: float, y: float, size: float, col: Color) -> None:
        side = 1.0 if y > 0 else -1.0
        self._bill(x, y - size / 2, y + size / 2, 0.0, size, col, OTHER)
        self.st.quad([(x, y - side * size / 2, 0.0), (x + size, y - side * size / 2, 0.0),
                      (x + size, y - side * size / 2, size), (x, y - side * size / 2, size)], shade(col, 0.8), OTHER)
