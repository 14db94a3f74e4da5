"""Procedural 3-D car model: CarSpec, random_car and the derived side profiles / lofted body slices."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_PALETTE: tuple[tuple[tuple[int, int, int], float], ...] = (
    ((236, 236, 233), 0.17),  # white
    ((188, 191, 195), 0.15),  # silver
    ((112, 115, 120), 0.11),  # grey
    ((24, 24, 27), 0.14),  # black
    ((160, 22, 28), 0.10),  # red
    ((28, 58, 128), 0.08),  # blue
    ((22, 32, 62), 0.06),  # dark blue
    ((128, 148, 172), 0.06),  # blue-grey
    ((192, 174, 146), 0.05),  # beige
    ((34, 72, 48), 0.04),  # green
    ((92, 24, 30), 0.04),  # dark red
)
_KINDS = ("sedan", "suv", "hatch", "pickup", "coupe")
_KIND_P = (0.34, 0.26, 0.18, 0.11, 0.11)
#             length      width       height      clear.      wheel r     hood z      belt z
_DIMS = {
    "sedan": ((4.5, 5.1), (1.78, 1.9), (1.40, 1.50), (0.13, 0.17), (0.34, 0.38), (0.68, 0.78), (0.90, 0.98)),
    "coupe": ((4.2, 4.7), (1.76, 1.88), (1.27, 1.37), (0.11, 0.15), (0.34, 0.38), (0.64, 0.72), (0.86, 0.92)),
    "hatch": ((3.9, 4.4), (1.70, 1.82), (1.42, 1.56), (0.14, 0.18), (0.32, 0.36), (0.72, 0.82), (0.92, 1.0)),
    "suv": ((4.4, 5.0), (1.84, 2.0), (1.66, 1.86), (0.19, 0.25), (0.38, 0.42), (0.94, 1.06), (1.08, 1.18)),
    "pickup": ((5.2, 5.8), (1.90, 2.02), (1.80, 1.95), (0.24, 0.30), (0.40, 0.44), (1.04, 1.14), (1.14, 1.24)),
}


@dataclass(frozen=True)
class CarSpec:
    """One random car: body type, dimensions in metres and colours (RGB 0-255); all views share it."""

    kind: str
    length: float
    width: float
    height: float
    clearance: float
    wheel_radius: float
    wheelbase: float
    front_overhang: float
    hood_z: float
    belt_z: float
    hood_len: float
    rake: float
    roof_len: float
    corner_radius: float
    tumblehome: float
    body_color: tuple[int, int, int]
    roof_color: tuple[int, int, int]
    trim_color: tuple[int, int, int]
    glass_color: tuple[int, int, int]
    rim_color: tuple[int, int, int]
    light_color: tuple[int, int, int]
    tail_color: tuple[int, int, int]
    spokes: int
    gloss: float
    four_doors: bool


def _pick_color(rng: np.random.Generator) -> tuple[int, int, int]:
    weights = np.array([w for _, w in _PALETTE])
    base = _PALETTE[int(rng.choice(len(_PALETTE), p=weights / weights.sum()))][0]
    jitter = rng.integers(-9, 10, size=3)
    return tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(base, jitter, strict=True))  # type: ignore[return-value]


def random_car(rng: np.random.Generator) -> CarSpec:
    """Draw a random car (type, size, proportions, colours) from ``rng``; deterministic for a given state."""
    kind = _KINDS[int(rng.choice(len(_KINDS), p=_KIND_P))]
    dims = [float(rng.uniform(lo, hi)) for lo, hi in _DIMS[kind]]
    length, width, height, clearance, wheel_r, hood_z, belt_z = dims
    body = _pick_color(rng)
    dark_trim = rng.random() < (0.6 if kind in ("suv", "pickup") else 0.25)
    trim = (38, 38, 40) if dark_trim else tuple(int(c * 0.93) for c in body)
    black_roof = kind != "pickup" and rng.random() < 0.08
    tint = int(rng.integers(22, 62))
    rim = (int(rng.integers(160, 215)),) * 3 if rng.random() < 0.8 else (int(rng.integers(40, 70)),) * 3
    rake = {"suv": 0.75, "pickup": 0.7}.get(kind, 1.35) * float(rng.uniform(0.85, 1.15))
    roof_frac = {"sedan": 0.27, "coupe": 0.22, "hatch": 0.36, "suv": 0.44, "pickup": 0.2}[kind]
    return CarSpec(
        kind=kind,
        length=length,
        width=width,
        height=height,
        clearance=clearance,
        wheel_radius=wheel_r,
        wheelbase=length * float(rng.uniform(0.57, 0.62)),
        front_overhang=length * float(rng.uniform(0.17, 0.21)),
        hood_z=hood_z,
        belt_z=belt_z,
        hood_len=length * float(rng.uniform(0.24, 0.30) if kind in ("sedan", "coupe", "pickup") else 0.2),
        rake=rake,
        roof_len=length * roof_frac * float(rng.uniform(0.9, 1.1)),
        corner_radius=float(rng.uniform(0.16, 0.3)),
        tumblehome=float(rng.uniform(0.1, 0.2)),
        body_color=body,
        roof_color=(20, 20, 22) if black_roof else body,
        trim_color=trim,  # type: ignore[arg-type]
        glass_color=(tint, tint + 3, tint + 8),
        rim_color=rim,  # type: ignore[arg-type]
        light_color=(int(rng.integers(200, 235)),) * 3,
        tail_color=(int(rng.integers(150, 200)), int(rng.integers(10, 30)), int(rng.integers(15, 35))),
        spokes=int(rng.integers(5, 11)),
        gloss=float(rng.uniform(0.12, 0.26)),
        four_doors=kind != "coupe" and rng.random() < 0.85,
    )


@dataclass
class CarGeometry:
    """Derived 2-D profiles (x forward, z up) of one car."""

    body: np.ndarray  # lower-body side profile (N, 2), convex
    cabin: np.ndarray  # greenhouse side profile (M, 2), convex
    front_edge: int  # index of the front fascia edge in ``body``
    rear_edge: int  # index of the rear fascia edge in ``body``
    deck_edge: int  # index of the rear-deck / bed edge in ``body``
    wheels_x: tuple[float, float]
    cabin_y: tuple[float, float]  # half-width at the belt line and at the roof


def car_geometry(car: CarSpec) -> CarGeometry:
    """Side profiles of the lower body and the greenhouse, fascia edge indices, wheel and cabin placement."""
    xf, xr, c = car.length / 2, -car.length / 2, car.clearance
    zh, zb, zr = car.hood_z, car.belt_z, car.height
    x_ws = xf - car.hood_len
    x_rf = x_ws - (zr - zb) * car.rake
    x_rr = x_rf - car.roof_len
    if car.kind in ("sedan", "coupe"):
        x_rw = max(x_rr - (zr - zb) * 1.5, xr + 0.55)
    elif car.kind == "pickup":
        x_rw = x_rr - 0.08
    else:
        x_rw = xr + 0.22
        x_rr = max(x_rr, x_rw + (zr - zb) * 0.3)
    z_deck = zb - (0.02 if car.kind != "pickup" else 0.0)
    edge_x = xr + min(0.2, 0.45 * (x_rw - xr))
    body = np.array(
        [
            (xf - 0.22, c),
            (xf - 0.03, c + 0.1),
            (xf, c + 0.3 * (zh - c)),
            (xf - 0.025, zh - 0.05),
            (xf - 0.16, zh),
            ((x_ws + xf - 0.16) / 2, (zh + zb) / 2 + 0.025),  # hood crown
            (x_ws, zb),
            (x_rw, zb),
            (edge_x, z_deck),
            (xr + 0.01, z_deck - 0.08),
            (xr, c + 0.3 * (z_deck - c)),
            (xr + 0.06, c + 0.08),
            (xr + 0.25, c),
        ]
    )
    cabin = np.array(
        [
            (x_ws, zb - 0.02),
            (x_rf + 0.05, zr - 0.03),
            (x_rf - 0.12, zr),
            (x_rr + 0.12, zr),
            (x_rr - 0.04, zr - 0.03),
            (x_rw, zb - 0.02),
        ]
    )
    front_wheel = xf - car.front_overhang
    yb = car.width / 2 - 0.5 * car.corner_radius
    return CarGeometry(body, cabin, 2, 9, 7, (front_wheel, front_wheel - car.wheelbase), (yb, yb - car.tumblehome))


def loft_slices(body: np.ndarray, car: CarSpec) -> list[tuple[float, np.ndarray]]:
    """Slices (y, profile) across the width: full profile inside, shrunk toward the rounded edges."""
    rr, sh = car.corner_radius, min(0.09, 0.3 * car.corner_radius)
    x0, x1 = body[:, 0].min(), body[:, 0].max()
    z0, z1 = body[:, 1].min(), body[:, 1].max()
    cx = (x0 + x1) / 2
    out: list[tuple[float, np.ndarray]] = []
    for theta in (90.0, 62.0, 32.0, 0.0):
        k = 1.0 - math.cos(math.radians(theta))
        y = car.width / 2 - rr + rr * math.sin(math.radians(theta))
        p = body.copy()
        p[:, 0] = cx + (p[:, 0] - cx) * (1.0 - rr * k / ((x1 - x0) / 2))
        lo, hi = z0 + 0.03 * k, z1 - sh * k
        p[:, 1] = lo + (p[:, 1] - z0) * (hi - lo) / (z1 - z0)
        out.append((y, p))
    return [(-y, p) for y, p in out] + [(y, p) for y, p in reversed(out)]


def to3d(p2: np.ndarray, y: float | np.ndarray) -> np.ndarray:
    """Lift (x, z) profile points to 3-D at lateral offset ``y``."""
    return np.stack([p2[:, 0], np.broadcast_to(y, (len(p2),)), p2[:, 1]], axis=1)


def bilinear(quad: np.ndarray, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    """Sub-rectangle of a quad [a(u0,v0), b(u0,v1), c(u1,v1), d(u1,v0)] in its own (u, v) coordinates."""
    a, b, c, d = quad

    def at(u: float, v: float) -> np.ndarray:
        return (1 - u) * ((1 - v) * a + v * b) + u * ((1 - v) * d + v * c)

    return np.array([at(u0, v0), at(u0, v1), at(u1, v1), at(u1, v0)])


__all__ = ["CarGeometry", "CarSpec", "bilinear", "car_geometry", "loft_slices", "random_car", "to3d"]
