"""Simulated annotator: corrects a predicted mask towards the truth with counted brush strokes (Qt-free)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from unet_core.edit import brush
from unet_core.sim.brush_strokes import (
    Point,
    Region,
    RegionQueue,
    find_regions,
    path_length,
    plan_strokes,
    segment_inside,
)
from unet_core.sim.motion import drag_seconds
from unet_core.training.calibration import image_dice

#: Long side (px) at which the brush radii below are meant: a full-resolution Carvana image.
REFERENCE_LONG_SIDE = 1918


@dataclass(frozen=True)
class AnnotatorConfig:
    """How the simulated person works. Radii are in pixels of a 1918 px wide image and scale with the image.

    Regions thinner than the ``r_min`` brush are painted zoomed in with a finer brush (down to one
    pixel): a zoom is charged when a fine stroke begins beyond ``zoom_reach`` of where the person last
    zoomed in, or after a coarse stroke. Time model (an estimate, not a measurement; sources in docs/effort.md): ``seconds =
    seconds_per_stroke * strokes + drag + seconds_per_undo * undos + seconds_per_zoom * zooms``, where
    ``drag`` follows the steering law (:func:`unet_core.sim.motion.drag_seconds`: a stroke that must
    hug an edge is slow, one through the middle of a blob moves at ``drag_speed``) or, with
    ``drag_model="constant"``, is ``path / (drag_speed * long side)``.
    """

    target_dice: float = 0.99
    r_min: float = 3.0
    r_max: float = 40.0
    max_stroke_fraction: float = 0.4  # longest press-drag-release, as a fraction of the image's long side
    max_hop_fraction: float = 0.05  # the brush stays down over correct pixels between wrong bits this close
    max_strokes: int = 3000
    max_passes: int = 40
    seconds_per_stroke: float = 1.0
    seconds_per_undo: float = 1.5
    seconds_per_zoom: float = 2.0
    zoom_reach: float = 0.1  # a zoomed-in view serves fine strokes this far (share of the long side) from where it began
    drag_speed: float = 0.5  # image long sides per second while dragging (the fastest drag)
    drag_model: str = "steering"  # or "constant": every drag at drag_speed
    edge_margin: float = 0.1  # a brush of radius r is kept edge_margin * r px inside the true edge (hand precision)
    jitter_px: float = 0.0  # hand tremor: s.d. of each dab's offset (seeded)
    allow_restart: bool = True  # clear a poor prediction and paint afresh when that costs less time
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` for settings that cannot work."""
        if not 0.0 < self.target_dice <= 1.0:
            raise ValueError(f"target Dice must be in (0, 1], got {self.target_dice}")
        if not 0 < self.r_min <= self.r_max:
            raise ValueError(f"brush radii must satisfy 0 < r_min <= r_max, got {self.r_min}, {self.r_max}")
        if not 0 < self.max_stroke_fraction <= 10 or not 0 <= self.max_hop_fraction <= 10:
            raise ValueError("max_stroke_fraction must be positive and max_hop_fraction non-negative")
        if self.max_strokes < 1 or self.max_passes < 1:
            raise ValueError("max_strokes and max_passes must be at least 1")
        if self.drag_model not in ("steering", "constant"):
            raise ValueError(f"drag_model must be 'steering' or 'constant', got {self.drag_model!r}")
        if self.edge_margin < 0:
            raise ValueError("edge_margin must be non-negative")
        if self.drag_speed <= 0 or self.seconds_per_stroke < 0 or self.seconds_per_undo < 0 \
                or self.seconds_per_zoom < 0 or self.jitter_px < 0:
            raise ValueError("time model constants must be non-negative (drag speed positive)")


@dataclass
class AnnotationResult:
    """The corrected mask and what it cost."""

    mask: np.ndarray  # H x W uint8, the corrected mask
    strokes: int  # press-drag-release gestures, undone ones included
    undos: int  # strokes taken back because they made the mask worse
    zooms: int  # times the person zoomed in to paint with a brush finer than r_min
    dabs: int  # brush positions along the strokes
    path_px: float  # total drag length in image pixels
    pixels_changed: int  # pixels that differ from the starting mask
    seconds: float  # estimated editing time (see AnnotatorConfig)
    dice_start: float
    dice_end: float
    reached_target: bool
    passes: int
    restarted: bool = False  # the person cleared the prediction and painted from scratch (cheaper here)
    scratch_strokes: int = 0  # what painting this image from an empty mask costs (for comparison)
    scratch_seconds: float = 0.0
    radii: list[int] = field(default_factory=list)  # brush radius of every kept stroke
    trace: list[tuple[int, float, float]] = field(default_factory=list)  # (actions, seconds, Dice) after each action

    def to_dict(self) -> dict[str, float | int | bool]:
        """The counters as a JSON-friendly dict (no mask, no radii list)."""
        d = asdict(self)
        del d["mask"], d["radii"], d["trace"]
        d["mean_radius"] = float(np.mean(self.radii)) if self.radii else 0.0
        return d


def brush_radii(shape_hw: tuple[int, ...], config: AnnotatorConfig | None = None) -> tuple[int, int]:
    """Smallest and largest brush radius for an image of ``shape_hw`` (scaled from the 1918 px reference)."""
    cfg = config or AnnotatorConfig()
    scale = max(int(shape_hw[0]), int(shape_hw[1])) / REFERENCE_LONG_SIDE
    r_min = max(1, round(cfg.r_min * scale))
    return r_min, max(r_min, round(cfg.r_max * scale))


def brush_sizes(shape_hw: tuple[int, ...], config: AnnotatorConfig | None = None) -> list[int]:
    """The brush radii the person switches between: fine zoomed-in ones (0, 1, 2 px) below the scaled
    ``r_min``, then a geometric ladder of about 1.5x steps from ``r_min`` to ``r_max``."""
    r_min, r_max = brush_radii(shape_hw, config)
    ladder = {r for r in (0, 1, 2) if r < r_min}
    r = float(r_min)
    while round(r) < r_max:
        ladder.add(round(r))
        r *= 1.5
    ladder.add(r_max)
    return sorted(ladder)


def dice_from_confusion(matrix: np.ndarray) -> float:
    """Mask Dice from a K x K confusion matrix [truth, mask]: the one per-image Dice rule
    (:func:`unet_core.training.calibration.image_dice`: foreground Dice for two classes, else the mean
    over classes present in the truth or the mask; 1.0 when nothing is present)."""
    return image_dice(matrix)


def confusion(truth: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    t = truth.astype(np.int64).ravel()
    return np.bincount(t * k + mask.astype(np.int64).ravel(), minlength=k * k).reshape(k, k)


def mask_dice(mask: np.ndarray, truth: np.ndarray, num_classes: int | None = None) -> float:
    """Dice of ``mask`` against ``truth`` as the annotator judges it (see :func:`dice_from_confusion`)."""
    _check_pair(mask, truth)
    k = num_classes or _infer_classes(mask, truth)
    return dice_from_confusion(confusion(truth, mask, k))


def _check_pair(mask: np.ndarray, truth: np.ndarray) -> None:
    for name, arr in (("mask", mask), ("truth", truth)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 2:
            got = arr.shape if isinstance(arr, np.ndarray) else type(arr).__name__
            raise ValueError(f"{name} must be a 2-D array of class ids, got {got}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name} must hold integer class ids, got dtype {arr.dtype}")
    if mask.shape != truth.shape:
        raise ValueError(f"mask {mask.shape} and truth {truth.shape} differ in size")


def _infer_classes(mask: np.ndarray, truth: np.ndarray) -> int:
    return max(2, int(max(mask.max(initial=0), truth.max(initial=0))) + 1)


def _room(depths: np.ndarray) -> float:
    """How far from another class a region's wrong pixels typically reach (90th percentile of their depth):
    the person picks a brush for the region's width, not for its single deepest pixel."""
    return float(np.percentile(depths, 90)) if depths.size > 1 else float(depths.max())


# ---- the annotator ---------------------------------------------------------------------------------
@dataclass
class _Stroke:
    label: int
    radius: int
    points: list[Point]  # image coordinates (x, y)


class BrushSession:
    """One image being corrected: the mask, its confusion matrix and the effort counters."""

    def __init__(self, initial: np.ndarray, truth: np.ndarray, k: int, cfg: AnnotatorConfig) -> None:
        self.mask = initial.astype(np.uint8, copy=True)
        self.truth = truth
        self.k = k
        self.cfg = cfg
        self.cm = confusion(truth, self.mask, k)
        self.r_min, self.r_max = brush_radii(truth.shape, cfg)
        self.sizes = brush_sizes(truth.shape, cfg)
        self.long_side = max(truth.shape)
        self.max_length = cfg.max_stroke_fraction * self.long_side
        self.max_hop = cfg.max_hop_fraction * self.long_side
        self.min_area = max(1, round(self.r_min**2 / 2))
        self.rng = np.random.default_rng(cfg.seed)
        self.depth_cache: dict[int, np.ndarray] = {}
        self.given_up = np.zeros(truth.shape, dtype=bool)
        self.strokes = self.undos = self.dabs = self.zooms = self.passes = 0
        self.path = 0.0
        self.drag = 0.0  # seconds spent dragging (see AnnotatorConfig)
        self.zoomed_at: Point | None = None  # where the person is zoomed in (None: zoomed out)
        self.radii: list[int] = []
        self.queue = RegionQueue(self.max_hop)  # regions waiting in the current pass
        self.other_actions, self.other_seconds = 0, 0.0  # what tools beyond the brush cost (unet_core.sim.smart)
        self.deadline = math.inf  # seconds after which the person stops (a look-ahead's horizon)
        self.goal = math.inf  # right pixels at which the person stops (a look-ahead's goal)
        self.trace: list[tuple[int, float, float]] = [(0, 0.0, self.dice())]

    def actions(self) -> int:
        """Actions so far: strokes, undos and those of other tools."""
        return self.strokes + self.undos + self.other_actions

    def record(self) -> None:
        """Note (actions so far, seconds so far, Dice) after an action."""
        self.trace.append((self.actions(), brush_seconds(self, self.cfg), self.dice()))

    def dice(self) -> float:
        return dice_from_confusion(self.cm)

    def done(self) -> bool:
        return self.dice() >= self.cfg.target_dice or self.actions() >= self.cfg.max_strokes \
            or brush_seconds(self, self.cfg) >= self.deadline or int(np.trace(self.cm)) >= self.goal

    def depth(self, label: int) -> np.ndarray:
        """Distance (px) from each pixel of true class ``label`` to the nearest pixel of another class."""
        if label not in self.depth_cache:
            region = np.pad((self.truth == label).astype(np.uint8), 1, constant_values=1)
            dist = cv2.distanceTransform(region, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            self.depth_cache[label] = dist[1:-1, 1:-1]
        return self.depth_cache[label]

    def components(self) -> list[Region]:
        """Connected regions of wrong pixels, per true class, largest first (given-up pixels left out)."""
        wrong = (self.mask != self.truth) & ~self.given_up
        found: list[Region] = []
        for label in np.unique(self.truth[wrong]):
            found += find_regions(wrong & (self.truth == label), int(label), 0, 0, self.min_area)
        found.sort(key=lambda c: (-c.area, c.label, c.y0, c.x0))
        return found

    def residual(self, comp: Region) -> list[Region]:
        """What is still wrong of ``comp`` after painting it, as smaller regions."""
        h, w = comp.pixels.shape
        window = (slice(comp.y0, comp.y0 + h), slice(comp.x0, comp.x0 + w))
        left = comp.pixels & (self.mask[window] != comp.label) & ~self.given_up[window]
        return [c for c in find_regions(left, comp.label, comp.y0, comp.x0, self.min_area) if c.area < comp.area]

    def plan(self, comp: Region, radius: int | None = None) -> list[_Stroke]:
        """Strokes over one region with the largest brush that stays inside its true class around it
        (or with ``radius``, which must fit)."""
        h, w = self.truth.shape
        ch, cw = comp.pixels.shape
        pad = self.r_max + 2
        y0, x0 = max(0, comp.y0 - pad), max(0, comp.x0 - pad)
        y1, x1 = min(h, comp.y0 + ch + pad), min(w, comp.x0 + cw + pad)
        region = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        region[comp.y0 - y0:comp.y0 - y0 + ch, comp.x0 - x0:comp.x0 - x0 + cw] = comp.pixels
        region &= self.mask[y0:y1, x0:x1] != comp.label
        if not region.any():
            return []
        depth = self.depth(comp.label)[y0:y1, x0:x1]
        r = self.brush_for(_room(depth[region])) if radius is None else radius
        margin = self.cfg.edge_margin * r  # a bigger brush is held further from the edge
        valid = region & (depth >= r + 1 + margin)  # dab centres whose disc stays inside the true class
        plans = plan_strokes(valid, r, self.max_length, depth, margin)
        return [_Stroke(comp.label, r, [(x + x0, y + y0) for x, y in pts]) for pts in plans]

    def view(self, radius: int, at: Point) -> None:
        """Zoom in for a brush finer than ``r_min`` unless already zoomed in near ``at`` (a zoomed view spans
        about ``zoom_reach`` of the long side each way); a coarse stroke is painted zoomed out."""
        if radius >= self.r_min:
            self.zoomed_at = None
            return
        if self.zoom_needed(radius, at):
            self.zooms += 1
            self.zoomed_at = at

    def zoom_needed(self, radius: int, at: Point) -> bool:
        """Whether a stroke of ``radius`` beginning at ``at`` needs a new zoom-in (see :meth:`view`)."""
        return radius < self.r_min and (
            self.zoomed_at is None or math.dist(self.zoomed_at, at) > self.cfg.zoom_reach * self.long_side)

    def drag_time(self, points: list[Point], radius: int, label: int, width: float | None = None) -> float:
        """Seconds to drag a brush of ``radius`` along ``points`` inside true class ``label`` (or, with
        ``width``, through a tunnel that wide: :func:`unet_core.sim.motion.drag_seconds`)."""
        speed = self.cfg.drag_speed * self.long_side
        if self.cfg.drag_model != "steering":
            return drag_seconds(points, radius, None, speed)
        if width is not None:
            return drag_seconds(points, radius, None, speed, width=width)
        return drag_seconds(points, radius, self.depth(label), speed)

    def brush_for(self, room: float) -> int:
        """The largest brush of the person's set (:func:`brush_sizes`) that fits ``room`` px from another class."""
        fit = (room - 1.0) / (1.0 + self.cfg.edge_margin)
        return max([b for b in self.sizes if b <= fit], default=0)

    def fit(self, comp: Region) -> int:
        """The largest brush that fits ``comp`` (cached)."""
        if comp.fit < 0:
            h, w = comp.pixels.shape
            depth = self.depth(comp.label)[comp.y0:comp.y0 + h, comp.x0:comp.x0 + w]
            comp.fit = self.brush_for(_room(depth[comp.pixels]))
        return comp.fit

    def work(self, comps: list[Region]) -> None:
        """Paint the regions, largest first; what is left of a painted region is queued again by its size."""
        self.queue = RegionQueue(self.max_hop)
        for c in comps:
            self.queue.push(c)
        while not self.done():
            comp = self.queue.take_largest()
            if comp is None:
                break
            strokes = self.plan(comp)
            painted = [comp]
            if strokes:
                self.extend(strokes, painted)
            for stroke in strokes:
                if self.done():
                    break
                self.apply(stroke)
            for c in painted:
                for rest in self.residual(c):
                    self.queue.push(rest)

    def extend(self, strokes: list[_Stroke], painted: list[Region]) -> None:
        """Keep the brush down: drag the last stroke on to the nearest queued region of the same class
        that the brush fits, while the drag stays inside the class and the stroke within its length."""
        last = strokes[-1]
        r, label = last.radius, last.label
        depth, need = self.depth(label), max(1.0, r + self.cfg.edge_margin * r)
        skip: set[int] = set()
        while True:
            tail = last.points[-1]
            near = self.queue.near(tail, self.max_hop, label)
            best = next((cid for _, cid in near if cid not in skip and self.fit(self.queue.live[cid]) >= r), None)
            if best is None:
                return
            plans = self.plan(self.queue.live[best], radius=r)
            if not plans:
                painted.append(self.queue.live[best])
                self.queue.take(best)
                continue
            k, flip = min(((i, f) for i in range(len(plans)) for f in (False, True)),
                          key=lambda kf: math.dist(tail, plans[kf[0]].points[-1 if kf[1] else 0]))
            head = plans[k].points[::-1] if flip else plans[k].points
            hop = math.dist(tail, head[0])
            if hop > self.max_hop or not segment_inside(tail, head[0], depth, need) or \
                    path_length(last.points) + hop + path_length(head) > self.max_length:
                skip.add(best)
                continue
            painted.append(self.queue.live[best])
            self.queue.take(best)
            last.points.extend(head)
            strokes.extend(p for i, p in enumerate(plans) if i != k)

    def apply(self, stroke: _Stroke) -> None:
        """Paint one stroke with the canvas's brush; if it breaks at least as many pixels as it fixes, undo it."""
        pts = self._jitter(stroke.points)
        patch = brush.paint_stroke(self.mask, pts, stroke.radius, stroke.label)  # the app's own brush
        if patch is None:
            return  # nothing left to paint there: the person skips it
        x0, y0, x1, y1 = patch.rect
        truth, change = self.truth[y0:y1, x0:x1], patch.changed
        self.strokes += 1
        self.dabs += len(pts)
        self.path += path_length(pts)
        self.drag += self.drag_time(pts, stroke.radius, stroke.label)
        self.view(stroke.radius, pts[0])
        t, old = truth[change], patch.old[change]
        fixed = int((t == stroke.label).sum())
        broken = int((old == t).sum())
        if fixed <= broken:
            self.undos += 1
            patch.undo(self.mask)  # the app's undo: the patch's old pixels go back
            self.given_up[y0:y1, x0:x1] |= change & (truth == stroke.label)
            self.record()
            return
        self.cm -= confusion(t, old, self.k)
        self.cm[:, stroke.label] += np.bincount(t.astype(np.int64), minlength=self.k)
        self.radii.append(stroke.radius)
        self.record()

    def _jitter(self, points: list[Point]) -> list[Point]:
        if self.cfg.jitter_px <= 0:
            return points
        h, w = self.truth.shape
        off = np.rint(self.rng.normal(0.0, self.cfg.jitter_px, (len(points), 2))).astype(int)
        return [(int(np.clip(x + dx, 0, w - 1)), int(np.clip(y + dy, 0, h - 1)))
                for (x, y), (dx, dy) in zip(points, off, strict=True)]


def annotate(initial: np.ndarray, truth: np.ndarray, config: AnnotatorConfig | None = None,
             num_classes: int | None = None) -> AnnotationResult:
    """Correct ``initial`` towards ``truth`` as a person with a round brush would, and count the effort.

    Wrong pixels are grouped into connected regions per true class and painted largest first, each
    with the widest round brush that fits the region (at most the scaled ``r_max``; below the scaled
    ``r_min`` the person zooms in, which costs time), in strokes of dabs (:func:`plan_strokes`) whose
    discs stay inside the true class. Each region's strokes are undone if they leave it worse, and the
    region is then left alone. Stops once :func:`mask_dice` reaches ``target_dice``, or when no wrong
    region of at least ``r_min**2 / 2`` pixels is left. When the prediction is so poor that clearing
    it (one action) and painting from scratch takes less estimated time, the person does that instead
    (``restarted``; with ``allow_restart``). Deterministic for a given config (and its seed).
    """
    cfg = config or AnnotatorConfig()
    cfg.validate()
    _check_pair(initial, truth)
    k = num_classes or _infer_classes(initial, truth)
    if max(int(initial.max(initial=0)), int(truth.max(initial=0))) >= k:
        raise ValueError(f"class ids must lie in 0..{k - 1}")
    dice_start = dice_from_confusion(confusion(truth, initial, k))
    s = _correct(initial, truth, k, cfg)
    fresh = _correct(np.zeros_like(initial), truth, k, cfg) if initial.any() else s
    scratch = (fresh.strokes, round(brush_seconds(fresh, cfg), 2))  # the same image painted from scratch
    restarted = False
    if cfg.allow_restart and fresh is not s and brush_seconds(fresh, cfg) + cfg.seconds_per_stroke < brush_seconds(s, cfg):
        s, restarted = fresh, True  # a poor prediction: clearing it and painting afresh is cheaper
        s.strokes += 1  # the clear is one action
        s.trace = [(0, 0.0, dice_start)] + [(a + 1, sec + cfg.seconds_per_stroke, d) for a, sec, d in s.trace]
    dice_end = s.dice()
    return AnnotationResult(
        mask=s.mask, strokes=s.strokes, undos=s.undos, zooms=s.zooms, dabs=s.dabs, path_px=round(s.path, 1),
        pixels_changed=int((s.mask != initial).sum()), seconds=round(brush_seconds(s, cfg), 2), dice_start=dice_start,
        dice_end=dice_end, reached_target=dice_end >= cfg.target_dice, passes=s.passes, restarted=restarted,
        scratch_strokes=scratch[0], scratch_seconds=scratch[1], radii=s.radii, trace=s.trace,
    )


def _correct(start: np.ndarray, truth: np.ndarray, k: int, cfg: AnnotatorConfig) -> BrushSession:
    """Correct ``start`` pass by pass (:meth:`BrushSession.work`), then look at the whole image again."""
    s = BrushSession(start, truth, k, cfg)
    while not s.done() and s.passes < cfg.max_passes:
        comps = s.components()
        if not comps:
            break
        s.passes += 1
        s.work(comps)
    return s


def brush_seconds(s: BrushSession, cfg: AnnotatorConfig) -> float:
    """The time model (see :class:`AnnotatorConfig`), plus what other tools cost."""
    return (s.other_seconds + cfg.seconds_per_stroke * s.strokes + s.drag
            + cfg.seconds_per_undo * s.undos + cfg.seconds_per_zoom * s.zooms)


__all__ = [
    "REFERENCE_LONG_SIDE",
    "AnnotationResult",
    "AnnotatorConfig",
    "BrushSession",
    "annotate",
    "brush_radii",
    "brush_seconds",
    "brush_sizes",
    "confusion",
    "dice_from_confusion",
    "mask_dice",
]
