"""Guide maps: the interactive model's extra input (the corrected class's mask, positive and negative clicks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def guide_channels(num_classes: int) -> int:
    """Guide channels of an interactive model of ``num_classes`` classes: the mask of the class being corrected,
    then one positive-click map per class ("this is class c") and one negative-click map per class ("it is not
    class c"). A click is drawn in its class's own map, so the model knows which class it asks for even where
    the mask holds none of it (DeepEdit keeps one guidance channel per label for the same reason)."""
    if num_classes < 2:
        raise ValueError(f"an interactive model needs at least 2 classes, got {num_classes}")
    return 1 + 2 * num_classes

ENCODINGS = ("disk", "distance")
MAX_RADIUS = 64.0
MAX_ZOOM = 8.0


@dataclass(frozen=True)
class Click:
    """One click at pixel (``y``, ``x``): ``positive`` says "this is the class being corrected", else "it is not"."""

    y: float
    x: float
    positive: bool

    def scaled(self, sy: float, sx: float, oy: float = 0.0, ox: float = 0.0) -> Click:
        """The same click in another frame: ``(y - oy) * sy``, ``(x - ox) * sx``."""
        return Click((self.y - oy) * sy, (self.x - ox) * sx, self.positive)


@dataclass(frozen=True)
class GuideEncoding:
    """How a click is drawn into its map, in model pixels: a disk of ``radius`` (value 1), or a cone that falls
    from 1 at the click to 0 at ``4 x radius`` (``distance``). ``zoom``: the model also learnt clicks on
    windows seen at ``zoom`` times its own scale (:mod:`unet_core.clicks.focus`); 1 (models from before): not."""

    kind: str = "disk"
    radius: float = 5.0
    zoom: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ENCODINGS:
            raise ValueError(f"click encoding must be one of {', '.join(ENCODINGS)}, got {self.kind!r}")
        object.__setattr__(self, "radius", _number(self.radius, 0.5, MAX_RADIUS, "click radius", " model pixels"))
        object.__setattr__(self, "zoom", _number(self.zoom, 1.0, MAX_ZOOM, "click zoom"))

    @property
    def reach(self) -> float:
        """How far from a click its map is non-zero."""
        return self.radius if self.kind == "disk" else 4.0 * self.radius

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in interactive checkpoints; ``zoom`` only when it is not 1, so checkpoints of
        models without it read as before)."""
        return {"kind": self.kind, "radius": self.radius, **({"zoom": self.zoom} if self.zoom != 1.0 else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GuideEncoding:
        """Inverse of :meth:`to_dict`; missing keys take the defaults, bad values raise ``ValueError``."""
        if not isinstance(d, Mapping):
            raise ValueError(f"click encoding must be a mapping, got {type(d).__name__}")
        default = cls()
        return cls(kind=str(d.get("kind", default.kind)), radius=d.get("radius", default.radius),
                   zoom=d.get("zoom", default.zoom))


def _number(value: Any, low: float, high: float, what: str, unit: str = "") -> float:
    """``value`` as a float in ``low..high``, else ``ValueError`` naming ``what`` (a bool, a string or NaN fails;
    a huge number is refused before ``float()``, so nothing overflows)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    number = float(value) if ok and -1e6 < value < 1e6 else float("nan")
    if not low <= number <= high:  # NaN fails too
        raise ValueError(f"{what} must be in {low:g}..{high:g}{unit}, got {repr(value)[:20]}")
    return number


def draw_click(plane: np.ndarray, click: Click, encoding: GuideEncoding) -> None:
    """Draw one click into ``plane`` (H x W float32) in place, keeping the larger value where clicks overlap."""
    h, w = plane.shape
    reach = encoding.reach
    y0, y1 = max(0, int(np.floor(click.y - reach))), min(h, int(np.ceil(click.y + reach)) + 1)
    x0, x1 = max(0, int(np.floor(click.x - reach))), min(w, int(np.ceil(click.x + reach)) + 1)
    if y0 >= y1 or x0 >= x1:
        return  # outside the frame
    yy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(click.y)
    xx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(click.x)
    dist = np.sqrt(yy * yy + xx * xx)
    if encoding.kind == "disk":
        value = (dist <= encoding.radius).astype(np.float32)
    else:
        value = np.clip(1.0 - dist / np.float32(reach), 0.0, 1.0)
    window = plane[y0:y1, x0:x1]
    np.maximum(window, value, out=window)


def guide_maps(shape_hw: tuple[int, int], clicks: Sequence[Click], mask: np.ndarray | None,
               encoding: GuideEncoding, cls: int, num_classes: int) -> np.ndarray:
    """The G x H x W float32 guide of one image (G = :func:`guide_channels`) for clicks on class ``cls``:
    ``mask`` (H x W bool, the class's current pixels; None: empty), then the clicks, each in its class's
    positive or negative map (coordinates in the same H x W frame)."""
    if not 0 <= cls < num_classes:
        raise ValueError(f"class {cls} is not one of {num_classes}")
    h, w = shape_hw
    out = np.zeros((guide_channels(num_classes), h, w), np.float32)
    if mask is not None:
        if mask.shape != (h, w):
            raise ValueError(f"mask is {mask.shape}, the guide {h}x{w}")
        out[0] = mask
    for click in clicks:
        draw_click(out[1 + cls if click.positive else 1 + num_classes + cls], click, encoding)
    return out


__all__ = ["ENCODINGS", "Click", "GuideEncoding", "draw_click", "guide_channels", "guide_maps"]
