"""Edge-aware upsampling: a guided filter steered by the image's colours moves the model's coarse class borders onto the image's edges, with bounded memory."""

from __future__ import annotations

import cv2
import numpy as np

from unet_core.model.upsample import BAND_BYTES

RADIUS_CELLS = 2.5
"""The filter's radius in model pixels (cells of the low-resolution map): 19 px for a 1918x1280 image at 256x171,
6 px for 640x480 at 256x192."""
EPS = 1e-3
"""The guided filter's regularisation on colours in [0, 1]: smaller follows weaker edges."""
MIN_PROBABILITY = 0.1
"""A class whose probability stays under this everywhere in the model's map is left out of the filter (its label
could win nowhere): most of a 23-class head on a street scene."""
COEFFICIENT_BYTES = 128 * 2**20
"""The filter's coefficients for every class (4 float32 planes each) fit in this; a coarser grid is taken when they
would not, and plain labels when even a grid as coarse as the model's map would not."""
MAX_GRID_PIXELS = 4_000_000
"""The coefficients' grid holds at most this many pixels (its scratch: about 25 float32 planes of it)."""


def guide_radius(size_hw: tuple[int, int], low_hw: tuple[int, int]) -> int:
    """The filter radius in image pixels for an image of ``size_hw`` predicted at ``low_hw``; 0 when the image is
    not larger than the model's map (nothing to upsample, the bilinear labels stand)."""
    factor = _factor(size_hw, low_hw)
    return round(RADIUS_CELLS * factor) if factor > 1.0 else 0


def guide_step(size_hw: tuple[int, int], low_hw: tuple[int, int], classes: int = 2) -> int:
    """The fast filter's step for an image of ``size_hw`` predicted at ``low_hw`` with ``classes`` classes: its
    coefficients are found on every step-th pixel, a grid 2-4 times as fine as the model's map (it holds nothing
    finer; every pixel when the image is under 4 times the map), coarser when the coefficients of every class
    would not fit :data:`COEFFICIENT_BYTES` or the grid :data:`MAX_GRID_PIXELS`; 0 when only a grid coarser than
    the map would fit (then the plain labels stand)."""
    planes = 1 if classes == 2 else classes
    step = max(1, int(_factor(size_hw, low_hw) // 2))
    limit = min(MAX_GRID_PIXELS, COEFFICIENT_BYTES // (16 * planes))
    while -(-size_hw[0] // step) * -(-size_hw[1] // step) > limit:
        step += 1
    return step if step <= max(1.0, _factor(size_hw, low_hw)) else 0


def _factor(size_hw: tuple[int, int], low_hw: tuple[int, int]) -> float:
    """How many image pixels one model pixel spans (the lesser of the two axes, for a stretched image)."""
    return min(size_hw[0] / max(1, low_hw[0]), size_hw[1] / max(1, low_hw[1]))


def guided_labels(low: np.ndarray, size_hw: tuple[int, int], guide: np.ndarray, radius: int, eps: float = EPS,
                  step: int = 1, band_bytes: int = BAND_BYTES) -> np.ndarray:
    """Full-resolution labels (H x W uint8) of an h x w x K probability map: each class's bilinearly upsampled
    probability guided-filtered (He, Sun and Tang, *Guided Image Filtering*, ECCV 2010: the colour form, so an
    edge between colours of one brightness counts) by ``guide`` (the H x W image, RGB or grey, uint8), then the
    argmax.

    It is the *fast* guided filter (He and Sun, arXiv 1505.00996, 2015): the filter's coefficients are found on
    every ``step``-th pixel of the whole image (:func:`guide_step` bounds that grid and the coefficients), and
    only their interpolation, the product with the full-size guide and the argmax run at full size, one class at
    a time in row bands of about ``band_bytes``.
    """
    h, w = size_hw
    if guide.shape[:2] != (h, w):
        raise ValueError(f"the guide is {guide.shape[:2]}, the output {size_hw}")
    if radius < 1 or step < 1:
        raise ValueError(f"the radius and step must be at least 1 pixel, not {radius} and {step}")
    k = low.shape[-1]
    small = _colour(guide[::step, ::step])
    channels = [np.ascontiguousarray(small[..., i]) for i in range(3)]
    r = max(1, round(radius / step))
    inverse, means = _inverse_covariance(channels, r, eps)
    if k == 2:  # two classes: the second's probability decides (the filter is linear)
        planes = [1]
    else:  # a class under MIN_PROBABILITY everywhere wins no pixel: not filtered
        planes = [c for c in range(k) if float(low[..., c].max()) >= MIN_PROBABILITY] or [int(low.max(axis=(0, 1)).argmax())]
    coefficients = []
    for c in planes:
        p = _sampled(np.ascontiguousarray(low[..., c]), size_hw, step)
        mean_p = _box(p, r)
        cov = [_box(channels[i] * p, r) - means[i] * mean_p for i in range(3)]
        a = [inverse[i][0] * cov[0] + inverse[i][1] * cov[1] + inverse[i][2] * cov[2] for i in range(3)]
        b = mean_p - a[0] * means[0] - a[1] * means[1] - a[2] * means[2]
        coefficients.append(([_box(a_i, r) for a_i in a], _box(b, r)))
    labels = np.empty((h, w), np.uint8)
    rows = max(1, band_bytes // max(1, 12 * w * 4))
    xs = np.minimum(np.arange(w, dtype=np.float32) / step, small.shape[1] - 1)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        if step > 1:
            ys = np.minimum(np.arange(r0, r1, dtype=np.float32) / step, small.shape[0] - 1)
            map_x, map_y = np.meshgrid(xs, ys)
            at = lambda x, mx=map_x, my=map_y: _remap(x, mx, my)  # noqa: E731
        else:  # the grid is the image: its rows as they are
            at = lambda x, a=r0, z=r1: x[a:z]  # noqa: E731
        colour = _colour(guide[r0:r1])
        best = None
        for c, (mean_a, mean_b) in zip(planes, coefficients, strict=True):
            q = at(mean_b) + at(mean_a[0]) * colour[..., 0] + at(mean_a[1]) * colour[..., 1] \
                + at(mean_a[2]) * colour[..., 2]
            if k == 2:
                labels[r0:r1] = q > 0.5
                break
            if len(planes) == 1:
                labels[r0:r1] = c
                break
            if best is None:
                best = q
                labels[r0:r1] = c
                continue
            better = q > best
            best[better] = q[better]
            labels[r0:r1][better] = c
    return labels


def _inverse_covariance(channels: list[np.ndarray], r: int, eps: float) -> tuple[list[list[np.ndarray]], list[np.ndarray]]:
    """Per pixel: the inverse (rows of planes) of its window's colour covariance plus ``eps``, by cofactors, and
    the window's mean colour (a plane per channel)."""
    means = [_box(ch, r) for ch in channels]

    def cov(i: int, j: int) -> np.ndarray:
        return _box(channels[i] * channels[j], r) - means[i] * means[j]

    e = np.float32(eps)
    rr, rg, rb, gg, gb, bb = cov(0, 0) + e, cov(0, 1), cov(0, 2), cov(1, 1) + e, cov(1, 2), cov(2, 2) + e
    i_rr, i_rg, i_rb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    i_gg, i_gb, i_bb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    det = rr * i_rr + rg * i_rg + rb * i_rb  # positive: a covariance plus eps on the diagonal
    for m in (i_rr, i_rg, i_rb, i_gg, i_gb, i_bb):
        m /= det
    return [[i_rr, i_rg, i_rb], [i_rg, i_gg, i_gb], [i_rb, i_gb, i_bb]], means


def _sampled(plane: np.ndarray, size_hw: tuple[int, int], step: int) -> np.ndarray:
    """The bilinear upsampling of one h x w plane to ``size_hw`` (OpenCV's half-pixel centres, edges
    replicated), read only at every ``step``-th pixel."""
    h, w = size_hw
    lh, lw = plane.shape
    ys = ((np.arange(0, h, step, dtype=np.float32) + 0.5) * (lh / h) - 0.5).clip(0, lh - 1)
    xs = ((np.arange(0, w, step, dtype=np.float32) + 0.5) * (lw / w) - 0.5).clip(0, lw - 1)
    map_x, map_y = np.meshgrid(xs, ys)
    return _remap(plane, map_x, map_y)


def _remap(x: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    return cv2.remap(x, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _colour(rows: np.ndarray) -> np.ndarray:
    """Rows of the guide as H x W x 3 float32 in [0, 1] (a grey guide repeated)."""
    if rows.ndim == 2:
        rows = rows[..., None]
    rows = rows[..., :3]
    if rows.shape[-1] != 3:
        rows = np.repeat(rows[..., :1], 3, axis=-1)
    return rows.astype(np.float32) * np.float32(1.0 / 255.0)


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), normalize=True, borderType=cv2.BORDER_REFLECT)
