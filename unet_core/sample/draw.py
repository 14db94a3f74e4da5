"""Shared drawing helpers for the procedural sample scenes: noise, clipping, pinhole projection, AA fills."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SHIFT = 4  # sub-pixel bits used for every polygon fill
_FIX = float(1 << SHIFT)
_LIMIT = 1.0e6  # clamp far off-screen coordinates so fixed-point ints never overflow

Color = tuple[float, float, float]


def fixed_points(pts: np.ndarray) -> np.ndarray:
    """Convert float pixel coordinates (N, 2) to cv2's fixed-point int32 form for ``shift=SHIFT``."""
    return np.round(np.minimum(np.maximum(pts, -_LIMIT), _LIMIT) * _FIX).astype(np.int32)


def fill_poly(
    img: np.ndarray,
    mask: np.ndarray | None,
    pts: np.ndarray,
    color: Color,
    label: int | None = None,
    aa: bool = True,
) -> None:
    """Fill one polygon: anti-aliased in ``img``, hard-edged with ``label`` in ``mask`` (when both given)."""
    if pts is None or len(pts) < 3:
        return
    p = fixed_points(pts)
    cv2.fillPoly(img, [p], color, cv2.LINE_AA if aa else cv2.LINE_8, SHIFT)
    if mask is not None and label is not None:
        cv2.fillPoly(mask, [p], int(label), cv2.LINE_8, SHIFT)


def draw_line(
    img: np.ndarray,
    mask: np.ndarray | None,
    p0: np.ndarray,
    p1: np.ndarray,
    color: Color,
    thickness: float,
    label: int | None = None,
) -> None:
    """Draw an anti-aliased line segment (and the same line, hard, into ``mask`` when a label is given)."""
    a = tuple(int(v) for v in fixed_points(np.asarray(p0, np.float64)))
    b = tuple(int(v) for v in fixed_points(np.asarray(p1, np.float64)))
    t = max(1, round(thickness))
    cv2.line(img, a, b, color, t, cv2.LINE_AA, SHIFT)
    if mask is not None and label is not None:
        cv2.line(mask, a, b, int(label), t, cv2.LINE_8, SHIFT)


def clip_halfspace(poly: np.ndarray, normal: np.ndarray, offset: float) -> np.ndarray:
    """Sutherland-Hodgman: keep the part of polygon ``poly`` (N, D) where ``p @ normal + offset >= 0``."""
    d = poly @ normal + offset
    if (d >= 0).all():
        return poly
    if (d < 0).all():
        return poly[:0]
    out: list[np.ndarray] = []
    n = len(poly)
    for i in range(n):
        j = (i + 1) % n
        if d[i] >= 0:
            out.append(poly[i])
        if (d[i] >= 0) != (d[j] >= 0):
            t = d[i] / (d[i] - d[j])
            out.append(poly[i] + t * (poly[j] - poly[i]))
    return np.asarray(out, dtype=np.float64).reshape(-1, poly.shape[1])


def clip_convex(subject: np.ndarray, clipper: np.ndarray) -> np.ndarray:
    """Clip 2-D polygon ``subject`` to the convex polygon ``clipper`` (either winding)."""
    c = np.asarray(clipper, np.float64)
    area = np.sum(c[:, 0] * np.roll(c[:, 1], -1) - np.roll(c[:, 0], -1) * c[:, 1])
    sign = 1.0 if area > 0 else -1.0
    out = np.asarray(subject, np.float64)
    for i in range(len(c)):
        a, b = c[i], c[(i + 1) % len(c)]
        normal = sign * np.array([-(b[1] - a[1]), b[0] - a[0]])
        out = clip_halfspace(out, normal, -float(normal @ a))
        if len(out) < 3:
            return out[:0]
    return out


def inset_convex(poly: np.ndarray, dist: float) -> np.ndarray:
    """Move every edge of a convex 2-D polygon inward by ``dist`` (vertex = intersection of offset edges)."""
    p = np.asarray(poly, np.float64)
    area = np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1])
    edge = np.roll(p, -1, axis=0) - p
    length = np.maximum(np.linalg.norm(edge, axis=1, keepdims=True), 1e-9)
    inward = np.stack([-edge[:, 1], edge[:, 0]], axis=1) / length * (1.0 if area > 0 else -1.0)
    prev_n, cur_n = np.roll(inward, 1, axis=0), inward
    bis = prev_n + cur_n
    denom = np.maximum(np.sum(bis * cur_n, axis=1, keepdims=True), 0.2)
    return p + bis * (dist / denom)


def smooth_field(rng: np.random.Generator, shape_hw: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a random ``cells`` grid upsampled smoothly to ``shape_hw``."""
    grid = rng.uniform(-1.0, 1.0, size=(max(2, cells[0]), max(2, cells[1]))).astype(np.float32)
    return cv2.resize(grid, (shape_hw[1], shape_hw[0]), interpolation=cv2.INTER_CUBIC)


def add_grain(rng: np.random.Generator, img: np.ndarray, strong: bool = False) -> None:
    """Add zero-mean luminance sensor noise to a uint8 RGB image in place (no float temporaries)."""
    h, w = img.shape[:2]
    b = np.frombuffer(rng.bytes(h * w), np.uint8).reshape(h, w)
    if strong:
        n, mean = cv2.add(b & 15, b >> 4), 15
    else:
        n, mean = cv2.add(b & 7, b >> 5), 7
    cv2.add(img, cv2.merge([n, n, n]), dst=img)
    cv2.subtract(img, (mean, mean, mean, 0), dst=img)


def apply_gain(img: np.ndarray, gain: np.ndarray) -> None:
    """Multiply a uint8 RGB image in place by a float gain map (H', W') resized to the image (0..2)."""
    h, w = img.shape[:2]
    g = cv2.resize(gain.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    g8 = np.clip(g * 128.0, 0, 255).astype(np.uint8)
    cv2.multiply(img, cv2.merge([g8, g8, g8]), dst=img, scale=1.0 / 128.0)


def vertical_gradient(img: np.ndarray, region: np.ndarray, top_gain: float, bottom_gain: float) -> None:
    """Multiply the pixels of ``img`` where ``region`` is set by a gain going from top to bottom of its box."""
    x, y, w, h = cv2.boundingRect(region)
    if w == 0 or h == 0:
        return
    t = np.linspace(top_gain, bottom_gain, h, dtype=np.float32)[:, None]
    gain = 1.0 + (region[y : y + h, x : x + w] > 0) * (t - 1.0)
    g8 = np.clip(gain * 128.0, 0, 255).astype(np.uint8)
    roi = img[y : y + h, x : x + w]
    cv2.multiply(roi, cv2.merge([g8, g8, g8]), dst=roi, scale=1.0 / 128.0)


def shade(color: Color, factor: float, add: float = 0.0) -> Color:
    """Scale a colour by ``factor`` and add a grey ``add``, clamped to 0..255."""
    return tuple(float(min(255.0, max(0.0, c * factor + add))) for c in color)  # type: ignore[return-value]


def mix(a: Color, b: Color, t: float) -> Color:
    """Linear blend of two colours, ``t`` = 0 gives ``a``."""
    return tuple(float(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


@dataclass(frozen=True)
class Camera:
    """A pinhole camera in a z-up world: ``project`` maps world points (N, 3) to pixel coordinates."""

    pos: np.ndarray
    right: np.ndarray
    up: np.ndarray
    fwd: np.ndarray
    focal: float
    cx: float
    cy: float
    near: float = 0.3

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rot_t", np.stack([self.right, self.up, self.fwd]).T.copy())

    @staticmethod
    def look_at(pos: np.ndarray, target: np.ndarray, focal: float, cx: float, cy: float) -> Camera:
        """Build a level (no roll) camera at ``pos`` looking at ``target``."""
        pos = np.asarray(pos, np.float64)
        fwd = np.asarray(target, np.float64) - pos
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, np.array([0.0, 0.0, 1.0]))
        right /= np.linalg.norm(right)
        up = np.cross(right, fwd)
        return Camera(pos, right, up, fwd, float(focal), float(cx), float(cy))

    def to_cam(self, pts: np.ndarray) -> np.ndarray:
        """World (N, 3) -> camera coordinates (x right, y up, z depth)."""
        return (np.asarray(pts, np.float64) - self.pos) @ self._rot_t  # type: ignore[attr-defined]

    def cam_to_px(self, cam: np.ndarray) -> np.ndarray:
        """Camera coordinates (N, 3) with positive depth -> pixels (N, 2)."""
        out = cam[:, :2] * (self.focal / np.maximum(cam[:, 2:3], 1e-6))
        out[:, 0] += self.cx
        out[:, 1] = self.cy - out[:, 1]
        return out

    def project(self, pts: np.ndarray) -> np.ndarray:
        """World points (N, 3) in front of the camera -> pixel coordinates (N, 2)."""
        return self.cam_to_px(self.to_cam(pts))

    def project_poly(self, poly: np.ndarray) -> np.ndarray:
        """Project a world polygon, clipping it at the near plane first; empty (0, 2) when fully behind."""
        cam = self.to_cam(poly)
        if (cam[:, 2] < self.near).any():
            cam = clip_halfspace(cam, np.array([0.0, 0.0, 1.0]), -self.near)
            if len(cam) < 3:
                return np.zeros((0, 2))
        return self.cam_to_px(cam)

    def faces_camera(self, point: np.ndarray, normal: np.ndarray) -> bool:
        """True when a surface at ``point`` with outward ``normal`` is seen from its front side."""
        return float(np.dot(self.pos - point, normal)) > 1e-9

    def depth(self, point: np.ndarray) -> float:
        """Distance of a world point along the viewing direction."""
        return float(np.dot(np.asarray(point, np.float64) - self.pos, self.fwd))
