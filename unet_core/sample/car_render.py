"""Flat-shaded perspective rendering of a procedural car (body loft, cabin, wheels, lights) with cv2 fills."""

from __future__ import annotations

import math

import cv2
import numpy as np

from unet_core.sample.car import CarGeometry, CarSpec, bilinear, car_geometry, loft_slices, to3d
from unet_core.sample.draw import Camera, Color, clip_convex, draw_line, fill_poly, inset_convex, shade


class _Painter:
    """Projects car-frame polygons through a camera and fills them into image and mask."""

    def __init__(self, img: np.ndarray, mask: np.ndarray, cam: Camera, label: int, car: CarSpec) -> None:
        self.img, self.mask, self.cam, self.label, self.car = img, mask, cam, label, car
        self.light = cam.pos / np.linalg.norm(cam.pos) + np.array([0.0, 0.0, 1.2])
        self.light /= np.linalg.norm(self.light)
        self.px_per_m = cam.focal / max(cam.depth(np.zeros(3)), 1e-3)
        self.detail = self.px_per_m > 30.0  # small, distant cars skip the fine decals

    def lit(self, color: Color, normal: np.ndarray, gloss: float | None = None) -> Color:
        """Studio shading: diffuse light from the camera side plus a glossy reflection of the bright ceiling."""
        g = self.car.gloss if gloss is None else gloss
        diffuse = 0.55 + 0.45 * max(0.0, float(normal @ self.light))
        env = 255.0 * (0.42 + 0.58 * max(0.0, float(normal[2]))) * g
        return shade(color, diffuse * (1 - g), env)

    def poly(self, pts3: np.ndarray, color: Color) -> None:
        """Project a car-frame polygon and fill it into image (AA) and mask."""
        fill_poly(self.img, self.mask, self.cam.project_poly(pts3), color, self.label)

    def visible(self, pts3: np.ndarray, normal: np.ndarray) -> bool:
        """Back-face test for a polygon with outward ``normal``."""
        return self.cam.faces_camera(pts3.sum(axis=0) / len(pts3), normal)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _quad_normal(q: np.ndarray, inside: np.ndarray) -> np.ndarray:
    n = _cross(q[1] - q[0], q[3] - q[0])
    if float(n @ n) < 1e-20:
        n = _cross(q[2] - q[1], q[3] - q[1])
    n = n / max(math.sqrt(float(n @ n)), 1e-12)
    return n if float(n @ ((q[0] + q[2]) * 0.5 - inside)) > 0 else -n


def _draw_body(pt: _Painter, geo: CarGeometry, slices: list[tuple[float, np.ndarray]],
               only: frozenset[int] | None = None) -> None:
    """Fill the visible faces of the lower-body loft (all, or only the profile edges in ``only``)."""
    car = pt.car
    body_c, trim_c = tuple(map(float, car.body_color)), tuple(map(float, car.trim_color))
    centre = np.array([geo.body[:, 0].mean(), 0.0, geo.body[:, 1].mean()])
    if only is None:  # base silhouette first, so AA seams between faces do not show the background
        hull_px = pt.cam.project(np.concatenate([to3d(p, y) for y, p in slices]))
        fill_poly(pt.img, pt.mask, cv2.convexHull(hull_px.astype(np.float32))[:, 0, :].astype(np.float64),
                  shade(body_c, 0.8), pt.label)
    n_edges = len(geo.body)
    mid = len(slices) // 2 - 1
    for s in range(len(slices) - 1):
        (ya, pa), (yb, pb) = slices[s], slices[s + 1]
        for i in range(n_edges):
            if only is not None and i not in only:
                continue
            j = (i + 1) % n_edges
            q = np.array([(pa[i, 0], ya, pa[i, 1]), (pa[j, 0], ya, pa[j, 1]),
                          (pb[j, 0], yb, pb[j, 1]), (pb[i, 0], yb, pb[i, 1])])
            n = _quad_normal(q, centre)
            if not pt.visible(q, n):
                continue
            lower = i in (0, 1, geo.rear_edge + 1, geo.rear_edge + 2, n_edges - 1)
            base = trim_c if lower else body_c
            pt.poly(q, pt.lit(base, n))
            if i == geo.front_edge or i == geo.rear_edge:
                _fascia(pt, q, n, front=i == geo.front_edge, centre_pair=s == mid, first=s < mid)
            if i == geo.deck_edge and car.kind == "pickup" and s == mid:
                pt.poly(bilinear(q, 0.06, 0.94, 0.02, 0.96), (30.0, 30.0, 32.0))


def _fascia(pt: _Painter, q: np.ndarray, n: np.ndarray, front: bool, centre_pair: bool, first: bool) -> None:
    """Lights, grille and plate on a front/rear fascia quad (u across the width, v bottom->top)."""
    car = pt.car
    # the rear edge runs top->bottom in profile order: flip v so that v=1 is always the top
    vq = q if front else q[[1, 0, 3, 2]]
    lamp = tuple(map(float, car.light_color if front else car.tail_color))
    if not centre_pair:
        u0, u1 = (0.0, 0.85) if first else (0.15, 1.0)
        pt.poly(bilinear(vq, u0, u1, 0.6, 0.95), pt.lit(lamp, n, 0.3))
        return
    for u0, u1 in ((0.0, 0.22), (0.78, 1.0)):
        pt.poly(bilinear(vq, u0, u1, 0.6, 0.95), (34.0, 30.0, 32.0))  # dark bezel
        pt.poly(bilinear(vq, u0 + 0.015, u1 - 0.015, 0.64, 0.91), pt.lit(lamp, n, 0.3))
        if not front:
            pt.poly(bilinear(vq, u0 + 0.04, u1 - 0.04, 0.7, 0.85), shade(lamp, 1.25, 25.0))
        if front and pt.detail:
            pt.poly(bilinear(vq, u0 + 0.06, u1 - 0.1, 0.67, 0.88), (250.0, 250.0, 246.0))
    if front:
        pt.poly(bilinear(vq, 0.3, 0.7, 0.42, 0.9), (28.0, 28.0, 30.0))
        pt.poly(bilinear(vq, 0.33, 0.67, 0.62, 0.67), pt.lit(tuple(map(float, car.rim_color)), n))
        pt.poly(bilinear(vq, 0.2, 0.8, 0.0, 0.12), (34.0, 34.0, 36.0))
    else:
        pt.poly(bilinear(vq, 0.25, 0.75, 0.72, 0.78), pt.lit(lamp, n, 0.3))
    pt.poly(bilinear(vq, 0.41, 0.59, 0.1, 0.36), (232.0, 234.0, 236.0))
    pt.poly(bilinear(vq, 0.41, 0.46, 0.1, 0.36), (40.0, 90.0, 190.0))


def _side_panel(pt: _Painter, geo: CarGeometry, y: float, cap: np.ndarray, n: np.ndarray) -> None:
    """Visible side: banded panel shading, wheel arches, door seams and handles."""
    car = pt.car
    body_c = tuple(map(float, car.body_color))
    zb = car.belt_z
    crease = zb - 0.3 * (zb - car.clearance)
    rocker = car.clearance + 0.12
    bands = (
        (crease, 99.0, 1.1, 10.0),
        (rocker, crease, 0.97, 0.0),
        (-99.0, rocker, 0.82, 0.0),
    )
    for lo, hi, f, add in bands:
        part = clip_convex(cap, np.array([(-99, lo), (99, lo), (99, hi), (-99, hi)], np.float64))
        if len(part) >= 3:
            color = tuple(map(float, car.trim_color)) if hi == rocker else body_c
            pt.poly(to3d(part, y), shade(pt.lit(color, n), f, add))
    ys = np.sign(y) * 0.004
    r = car.wheel_radius
    t = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    for xw in geo.wheels_x:
        arch = np.stack([xw + 1.13 * r * np.cos(t), r + 1.13 * r * np.sin(t)], axis=1)
        arch = clip_convex(arch, cap)
        if len(arch) >= 3:
            pt.poly(to3d(arch, y + ys), (22.0, 22.0, 24.0))
    if not pt.detail:
        return
    seam_c = shade(pt.lit(body_c, n), 0.55)
    thick = max(1.0, 0.012 * pt.px_per_m)
    x_front_door = geo.wheels_x[0] - 1.2 * r
    doors = [x_front_door, x_front_door - (1.05 if car.four_doors else 1.35)]
    if car.four_doors:
        doors.append(doors[-1] - 0.9)
    z0, z1 = car.clearance + 0.1, zb - 0.03
    for xd in doors:
        if xd > geo.wheels_x[1] + 1.05 * r:
            p = pt.cam.project(np.array([(xd, y + ys, z0), (xd, y + ys, z1)]))
            draw_line(pt.img, None, p[0], p[1], seam_c, thick)
    for xd in doors[1:]:
        h = np.array([(xd + 0.1, zb - 0.1), (xd + 0.28, zb - 0.1), (xd + 0.28, zb - 0.14), (xd + 0.1, zb - 0.14)])
        pt.poly(to3d(h, y + ys), shade(pt.lit(body_c, n), 0.75, 8.0))
    p = pt.cam.project(np.array([(geo.wheels_x[1] - 1.2 * r, y + ys, crease),
                                 (geo.wheels_x[0] + 1.2 * r, y + ys, crease)]))
    draw_line(pt.img, None, p[0], p[1], shade(pt.lit(body_c, n), 1.15, 14.0), thick)


def _draw_cabin(pt: _Painter, geo: CarGeometry) -> None:
    car = pt.car
    prof = geo.cabin
    zb, zr = prof[:, 1].min(), prof[:, 1].max()
    yb, yt = geo.cabin_y

    def half(z: np.ndarray) -> np.ndarray:
        return yb - (yb - yt) * (z - zb) / (zr - zb)

    centre = np.array([prof[:, 0].mean(), 0.0, (zb + zr) / 2])
    glass = tuple(map(float, car.glass_color))
    roof = tuple(map(float, car.roof_color))
    pillar = roof if car.roof_color != car.body_color else tuple(map(float, car.body_color))
    n_edges = len(prof)
    for i in range(n_edges - 1):
        a, b = prof[i], prof[i + 1]
        q = np.array([(a[0], -half(a[1]), a[1]), (b[0], -half(b[1]), b[1]),
                      (b[0], half(b[1]), b[1]), (a[0], half(a[1]), a[1])])
        n = _quad_normal(q, centre)
        if not pt.visible(q, n):
            continue
        is_glass = i in (0, n_edges - 2)
        pt.poly(q, pt.lit(pillar if is_glass else roof, n))
        if is_glass:
            pane = bilinear(q, 0.06, 0.94, 0.05, 0.93) if i == 0 else bilinear(q, 0.08, 0.92, 0.08, 0.94)
            pt.poly(pane, pt.lit(glass, n, 0.12))
            pt.poly(bilinear(pane, 0.0, 1.0, 0.55, 1.0) if i == 0 else bilinear(pane, 0.0, 1.0, 0.0, 0.45),
                    pt.lit(shade(glass, 1.35, 12.0), n, 0.12))
    for sign in (-1.0, 1.0):
        cap3 = np.stack([prof[:, 0], sign * half(prof[:, 1]), prof[:, 1]], axis=1)
        n = _quad_normal(cap3[[0, 1, 3, 5]], centre)
        if not pt.visible(cap3, n):
            continue
        pt.poly(cap3, pt.lit(pillar, n))
        frame = max(0.045, 0.025 * (zr - zb) / 0.4)
        pane = inset_convex(prof, frame)
        x_b = prof[0, 0] - 0.46 * (prof[0, 0] - prof[-1, 0])
        parts = [pane]
        if car.kind != "pickup" or car.four_doors:
            pw = 0.05
            parts = [clip_convex(pane, np.array([(x_b + pw, -9), (99, -9), (99, 9), (x_b + pw, 9)], np.float64)),
                     clip_convex(pane, np.array([(-99, -9), (x_b - pw, -9), (x_b - pw, 9), (-99, 9)], np.float64))]
        for part in parts:
            if len(part) >= 3:
                part3 = np.stack([part[:, 0], sign * (half(part[:, 1]) + 0.003), part[:, 1]], axis=1)
                pt.poly(part3, pt.lit(shade(glass, 1.15, 6.0), n, 0.14))
                z_cut = zb + 0.62 * (zr - zb)  # the upper part of the pane mirrors the bright studio wall
                top = clip_convex(part, np.array([(-99, z_cut + 0.04), (99, z_cut - 0.04), (99, 9), (-99, 9)]))
                if len(top) >= 3:
                    top3 = np.stack([top[:, 0], sign * (half(top[:, 1]) + 0.004), top[:, 1]], axis=1)
                    pt.poly(top3, pt.lit(shade(glass, 1.5, 22.0), n, 0.14))


def _near_clips(pt: _Painter, xw: float, side: float) -> list[np.ndarray]:
    """Where a near-side tyre may show: its wheel arch in the side panel, and anything below the sill line."""
    car, r = pt.car, pt.car.wheel_radius
    y = side * car.width / 2
    t = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    arch = pt.cam.project(np.stack([xw + 1.13 * r * np.cos(t), np.full_like(t, y), r + 1.13 * r * np.sin(t)], 1))
    sill = pt.cam.project(np.array([(car.length / 2, y, car.clearance + 0.03), (-car.length / 2, y, car.clearance + 0.03)]))
    d = sill[1] - sill[0]
    d = d / max(float(np.hypot(*d)), 1e-9) * 1e5
    down = np.array([0.0, 1e5])
    below = np.array([sill[0] - d, sill[0] + d, sill[0] + d + down, sill[0] - d + down])
    return [arch, below]


def _draw_wheel(pt: _Painter, xw: float, side: float, near: bool = False) -> None:
    """One wheel: tyre silhouette, then sidewall, rim, spokes and hub when its outer face is seen."""
    car = pt.car
    r = car.wheel_radius
    y_out = side * (car.width / 2 - 0.06)
    y_in = y_out - side * 0.24
    t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    circ = np.stack([xw + r * np.cos(t), np.zeros_like(t), r + r * np.sin(t)], axis=1)
    outer, inner = circ.copy(), circ.copy()
    outer[:, 1], inner[:, 1] = y_out, y_in
    hull = cv2.convexHull(pt.cam.project(np.concatenate([outer, inner])).astype(np.float32))[:, 0, :]
    hull = hull.astype(np.float64)
    for part in _near_clips(pt, xw, side) if near else [None]:
        fill_poly(pt.img, pt.mask, hull if part is None else clip_convex(hull, part), (30.0, 30.0, 32.0), pt.label)
    normal = np.array([0.0, side, 0.0])
    if not pt.cam.faces_camera(np.array([xw, y_out, r]), normal):
        return
    fill_poly(pt.img, pt.mask, pt.cam.project(outer), (40.0, 40.0, 43.0), pt.label)
    rim_c = shade(tuple(map(float, car.rim_color)), 0.9 + 0.1 * float(normal @ pt.light))
    y_rim = y_out + side * 0.005

    def disc(rad: float, a0: float = 0.0, a1: float = 2 * np.pi, r0: float = 0.0, n: int = 24) -> np.ndarray:
        a = np.linspace(a0, a1, n)
        pts = [(xw + rad * np.cos(v), y_rim, r + rad * np.sin(v)) for v in a]
        if r0 > 0:
            pts += [(xw + r0 * np.cos(v), y_rim, r + r0 * np.sin(v)) for v in a[::-1]]
        return np.array(pts)

    pt.poly(disc(0.68 * r), rim_c)
    if not pt.detail:
        return
    step = 2 * np.pi / car.spokes
    gap = step * 0.62
    for k in range(car.spokes):
        a0 = k * step + (step - gap) / 2
        pt.poly(disc(0.6 * r, a0, a0 + gap, 0.2 * r, 8), (52.0, 52.0, 55.0))
    pt.poly(disc(0.13 * r), shade(rim_c, 0.8))


def _draw_mirror(pt: _Painter, geo: CarGeometry, side: float) -> None:
    car = pt.car
    if pt.px_per_m < 8.0:
        return
    x0 = geo.cabin[0, 0] - 0.12
    z0 = car.belt_z + 0.05
    y0 = side * (car.width / 2 - 0.08)
    y1 = side * (car.width / 2 + 0.14)
    box = np.array([(x, y, z) for x in (x0, x0 - 0.14) for y in (y0, y1) for z in (z0, z0 + 0.13)])
    px = pt.cam.project(box).astype(np.float32)
    fill_poly(pt.img, pt.mask, cv2.convexHull(px)[:, 0, :].astype(np.float64),
              pt.lit(tuple(map(float, car.body_color)), np.array([0.3, side * 0.7, 0.3])), pt.label)


def render_car(img: np.ndarray, mask: np.ndarray, car: CarSpec, cam: Camera, label: int = 1) -> None:
    """Draw ``car`` (car frame: x forward, y left, z up, ground z=0) seen by ``cam`` into img and mask."""
    geo = car_geometry(car)
    slices = loft_slices(geo.body, car)
    pt = _Painter(img, mask, cam, label, car)
    near_side: dict[float, bool] = {}
    for side in (-1.0, 1.0):
        cap = slices[0 if side < 0 else -1]
        n = np.array([0.0, side, 0.0])
        near_side[side] = cam.faces_camera(to3d(cap[1], cap[0]).mean(axis=0), n)
    wheels = [(xw, side) for xw in geo.wheels_x for side in (-1.0, 1.0)]
    wheels.sort(key=lambda w: -cam.depth(np.array([w[0], w[1] * car.width / 2, car.wheel_radius])))
    for xw, side in wheels:
        if not near_side[side]:
            _draw_wheel(pt, xw, side)
    _draw_body(pt, geo, slices)
    for side in (-1.0, 1.0):
        if near_side[side]:
            y, cap = slices[0 if side < 0 else -1]
            _side_panel(pt, geo, y, cap, np.array([0.0, side, 0.0]))
    mirrors = sorted((-1.0, 1.0), key=lambda s: -cam.depth(np.array([0.0, s * car.width, car.belt_z])))
    cabin_depth = cam.depth(np.array([geo.cabin[:, 0].mean(), 0.0, car.belt_z]))
    for side in mirrors:
        if cam.depth(np.array([geo.cabin[0, 0], side * car.width / 2, car.belt_z])) > cabin_depth:
            _draw_mirror(pt, geo, side)
    _draw_cabin(pt, geo)
    for side in mirrors:
        if cam.depth(np.array([geo.cabin[0, 0], side * car.width / 2, car.belt_z])) <= cabin_depth:
            _draw_mirror(pt, geo, side)
    if any(near_side.values()):
        for xw, side in wheels:
            if near_side[side]:  # the tyre shows through the open wheel arch, so it is painted over the body
                _draw_wheel(pt, xw, side, near=True)
        # ... but the bumper corners are in front of it in three-quarter views: paint them again
        ends = frozenset((0, 1, 2, 3, geo.rear_edge - 1, geo.rear_edge, geo.rear_edge + 1, geo.rear_edge + 2,
                          len(geo.body) - 1))
        _draw_body(pt, geo, slices, ends)


def camera_in_car_frame(cam: Camera, origin: np.ndarray, yaw: float) -> Camera:
    """Express a world camera in the frame of a car placed at ``origin`` (x, y, z) with heading ``yaw``."""
    c, s = math.cos(yaw), math.sin(yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # car -> world

    def inv(v: np.ndarray) -> np.ndarray:
        return rot.T @ v

    return Camera(inv(cam.pos - np.asarray(origin, np.float64)), inv(cam.right), inv(cam.up), inv(cam.fwd),
                  cam.focal, cam.cx, cam.cy, cam.near)


__all__ = ["camera_in_car_frame", "render_car"]
