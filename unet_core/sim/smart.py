"""The simulated person with smart tools: per wrong region, the cheapest tool whose result it can foresee, else the brush."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np

from unet_core.edit.cleanup import cleanup
from unet_core.edit.edge_erase import edge_stroke
from unet_core.edit.patches import Patch, union
from unet_core.edit.polygon import fill_polygon
from unet_core.edit.probabilities import ClassProbabilities
from unet_core.edit.refine import WORK_PIXELS, default_reach, refine_edges, step_reach
from unet_core.edit.region import region_click
from unet_core.edit.scissors import Scissors
from unet_core.edit.selection import Selection, apply_selection, selection_from
from unet_core.edit.snap import snap_stroke
from unet_core.edit.superpixels import seed_spacing, superpixel_stroke, superpixels
from unet_core.edit.wand import magic_wand
from unet_core.sim.annotator import (
    REFERENCE_LONG_SIDE,
    AnnotatorConfig,
    BrushSession,
    brush_seconds,
    confusion,
)
from unet_core.sim.brush_strokes import Region, find_regions, path_length
from unet_core.sim.candidates import Candidate, merge, outline, wire_vertices

SMART_TOOLS = ("region", "wand", "snap", "scissors", "superpixel", "edge", "cleanup", "refine")
"""The smart tools the person may use (the brush is always there)."""


@dataclass(frozen=True)
class SmartConfig:
    """How the person with smart tools works and what each action costs (see docs/effort.md for sources).

    Brush strokes, undos and zooms cost what :class:`AnnotatorConfig` says. A click on a chosen point
    costs ``seconds_per_click``; the next vertex of a traced outline ``seconds_per_vertex`` (the eye is
    already on the contour); a single-key command or a tool/class switch ``seconds_per_key``; dragging
    the wand's tolerance while watching its preview ``seconds_per_adjust``; judging a preview before
    taking a smart tool's result, or a whole-image preview (cleanup), ``seconds_per_look``.
    """

    brush: AnnotatorConfig = field(default_factory=AnnotatorConfig)
    tools: tuple[str, ...] = SMART_TOOLS
    seconds_per_click: float = 1.5
    seconds_per_vertex: float = 1.0
    seconds_per_key: float = 0.5
    seconds_per_adjust: float = 1.0
    seconds_per_look: float = 1.0
    click_jitter: float = 0.15  # s.d. of a click's offset, as a share of the region's inscribed radius (>= 1 px)
    min_precision: float = 0.75  # a foreseen result is taken when this share of the pixels it changes become right
    wand_tolerances: tuple[float, ...] = (8.0, 16.0, 24.0, 36.0, 52.0)
    default_tolerance: float = 24.0
    edge_tolerance: float = 24.0
    snap_min_area: float = 0.0005  # share of the image: smaller regions get no snapping stroke
    scissors_min_area: float = 0.0002  # share of the image: smaller regions are not traced
    vertex_spacing: float = 0.05  # scissors vertices this far apart along an outline (share of the long side)
    cleanup_area: float = 0.0003  # cleanup's N as a share of the image
    refine_steps: tuple[int, ...] = (-1, 0, 1)  # refine edges' reaches tried: [ and ] presses from the default
    refine_wait: float = 0.7  # seconds waited for one refine preview at 1918x1280 (benchmarks/smart_tools.py), by area
    smart_min_area: float = 0.00005  # share of the image: smaller regions are left to the brush
    lookahead: int = 6  # tools whose best foreseen result and its finishing are played out before choosing
    horizon: float = 60.0  # at most this many seconds of a tool and the brush work it leaves are weighed
    goal_share: float = 0.97  # ... until this share of the region is fixed

    def validate(self) -> None:
        """Raise ``ValueError`` for settings that cannot work."""
        self.brush.validate()
        unknown = set(self.tools) - set(SMART_TOOLS)
        if unknown:
            raise ValueError(f"unknown smart tools {sorted(unknown)}; choose from {', '.join(SMART_TOOLS)}")
        if not 0.5 <= self.min_precision <= 1.0 or self.click_jitter < 0 or not self.wand_tolerances:
            raise ValueError("min_precision must be in [0.5, 1], click_jitter >= 0, and wand tolerances given")


class SmartPerson:
    """Corrects one image with the brush and smart tools; the counters live in a :class:`BrushSession`."""

    def __init__(self, initial: np.ndarray, truth: np.ndarray, k: int, cfg: SmartConfig,
                 image: np.ndarray, probs: ClassProbabilities | None) -> None:
        cfg.validate()
        if image.shape[:2] != truth.shape:
            raise ValueError(f"image {image.shape[:2]} and truth {truth.shape} differ in size")
        self.s = BrushSession(initial, truth, k, cfg.brush)
        self.cfg, self.image, self.probs = cfg, np.ascontiguousarray(image[..., :3]), probs
        self.truth = truth
        self.size = truth.size
        self.scale = max(truth.shape) / REFERENCE_LONG_SIDE
        self.rng = np.random.default_rng(cfg.brush.seed + 1)
        self.used: Counter[str] = Counter()
        self.spent: Counter[str] = Counter()  # seconds per tool, its switch keys included
        self.tool, self.active = "brush", 1
        self.tried: set[tuple[str, int, int, int, int, int]] = set()
        self._superpixels: np.ndarray | None = None
        self._scissors: Scissors | None = None
        self._edges: dict[int, np.ndarray] = {}

    # ---- costs and bookkeeping ----------------------------------------------------------------
    def switch(self, tool: str, value: int) -> float:
        """Seconds to pick ``tool`` and class ``value`` (a key each when they change)."""
        cost = self.cfg.seconds_per_key * ((tool != self.tool) + (value != self.active))
        self.tool, self.active = tool, value
        return cost

    def judge(self, sel: Selection) -> tuple[int, int]:
        """(pixels the selection makes right, pixels it makes wrong), as the person sees in its preview."""
        x0, y0, x1, y1 = sel.rect
        sub, t = self.s.mask[y0:y1, x0:x1], self.truth[y0:y1, x0:x1]
        new = sel.values()
        ch = sel.pixels & (sub != new)
        return int((new[ch] == t[ch]).sum()), int((sub[ch] == t[ch]).sum())

    def commit(self, sel: Selection, tool: str, actions: int, seconds: float) -> None:
        """Apply ``sel`` as one edit and charge it."""
        patch = apply_selection(self.s.mask, sel)
        if patch is not None:
            x0, y0, x1, y1 = patch.rect
            change = patch.changed
            t = self.truth[y0:y1, x0:x1][change]
            self.s.cm -= confusion(t, patch.old[change], self.s.k)
            self.s.cm += confusion(t, patch.new[change], self.s.k)
        self.charge(tool, actions, seconds)

    def charge(self, tool: str, actions: int, seconds: float) -> None:
        """Count ``actions`` of ``tool`` taking ``seconds`` and note the Dice reached."""
        self.s.other_actions += actions
        self.s.other_seconds += seconds
        self.used[tool] += actions
        self.spent[tool] += seconds
        self.s.record()

    def stroke_seconds(self, points: list[tuple[int, int]], radius: int, label: int) -> float:
        """What one press-drag-release of a brush of ``radius`` inside true class ``label`` costs under the
        brush time model: the simulated result is that of this exact path, so the hand is charged the
        brush's own slack (a superpixel, edge-aware or snapping stroke no less than a brush stroke)."""
        b = self.cfg.brush
        zoom = b.seconds_per_zoom if self.s.zoom_needed(radius, points[0]) else 0.0
        return b.seconds_per_stroke + self.s.drag_time(points, radius, label) + zoom

    def loose(self, points: list[tuple[int, int]], width: float) -> list[tuple[int, int]]:
        """``points`` as a hand drags them through a tunnel ``width`` px wide: each point off by a normal
        offset of a quarter of the width (the result is simulated on this path, not the planned one)."""
        h, w = self.truth.shape
        off = self.rng.normal(0.0, width / 4.0, (len(points), 2))
        return [(int(np.clip(round(x + dx), 0, w - 1)), int(np.clip(round(y + dy), 0, h - 1)))
                for (x, y), (dx, dy) in zip(points, off, strict=True)]

    def loose_seconds(self, points: list[tuple[int, int]], width: float) -> float:
        """A press-drag-release through a tunnel ``width`` px wide under the brush time model (no zoom)."""
        return self.cfg.brush.seconds_per_stroke + self.s.drag_time(points, 0, 0, width)

    # ---- the person -----------------------------------------------------------------------------
    def run(self) -> BrushSession:
        """Correct the image until the target Dice, the action budget, or nothing left to fix."""
        if "cleanup" in self.cfg.tools:
            self.clean()
        if "refine" in self.cfg.tools:
            self.refine()
        min_area = max(1, round(self.cfg.smart_min_area * self.size))
        while not self.s.done() and self.s.passes < self.cfg.brush.max_passes:
            self.s.passes += 1
            declined: set[tuple[int, int, int, int]] = set()
            while not self.s.done():  # largest region first: a smart tool where one is foreseen to beat the brush
                comp = next((c for c in self.s.components() if c.area >= min_area
                             and (c.label, c.x0, c.y0, c.area) not in declined), None)
                if comp is None:
                    break
                if not self.try_tools(comp):
                    declined.add((comp.label, comp.x0, comp.y0, comp.area))
            comps = [] if self.s.done() else self.s.components()
            if not comps:
                break
            if self.tool != "brush":  # back to the brush: one key (its class keys are not charged, as for
                self.s.other_seconds += self.cfg.seconds_per_key  # the brush annotator)
                self.tool = "brush"
            self.s.work(comps)  # the rest with the brush, as the brush annotator paints
        return self.s

    def tool_counts(self) -> dict[str, int]:
        """Actions per tool so far (brush strokes and their undos included)."""
        counts = dict(self.used)
        if self.s.strokes or self.s.undos:
            counts["brush"] = self.s.strokes + self.s.undos
        return counts

    def _wrong_left(self, comp: Region) -> int:
        h, w = comp.pixels.shape
        return int((comp.pixels & (self.s.mask[comp.y0:comp.y0 + h, comp.x0:comp.x0 + w] != comp.label)).sum())

    def clean(self) -> None:
        """One cleanup per class present (key + look at the preview), taken when it does more good than harm;
        not tried where the specks and holes it would take are too few to see (under ``smart_min_area``)."""
        n = max(1, round(self.cfg.cleanup_area * self.size))
        visible = self.cfg.smart_min_area * self.size
        for value in np.unique(self.s.mask):
            sel = cleanup(self.s.mask, int(value), n)
            if sel is None or sel.area < visible:
                continue
            fixed, broken = self.judge(sel)
            seconds = self.switch("cleanup", int(value)) + self.cfg.seconds_per_key + self.cfg.seconds_per_look
            if fixed > broken:
                self.commit(sel, "cleanup", 1, seconds)
            else:
                self.charge("cleanup", 1, seconds + self.cfg.seconds_per_key)  # looked at, then Esc

    def refine(self) -> None:
        """Refine edges once per class present (key + look at the preview, the reach changed while watching
        it), taken at the reach that does the most net good, when it does any."""
        base = default_reach(self.truth.shape)
        wait = self.cfg.refine_wait * min(self.size, WORK_PIXELS) / (1918 * 1280)  # each preview the person sees
        for value in np.unique(self.s.mask):
            if self.s.done():
                return
            if value == 0:
                continue  # the background's outline is the other classes' outlines
            best, best_net, best_seconds = None, 0, 0.0
            for presses in self.cfg.refine_steps:
                reach = base
                for _ in range(abs(presses)):
                    reach = step_reach(reach, presses > 0)
                sel = refine_edges(self.image, self.s.mask, int(value), reach)
                if sel is None:
                    continue
                fixed, broken = self.judge(sel)
                if fixed - broken > best_net:
                    best, best_net = sel, fixed - broken
                    best_seconds = abs(presses) * (self.cfg.seconds_per_adjust + wait)
            seconds = self.switch("refine", int(value)) + self.cfg.seconds_per_key + self.cfg.seconds_per_look + wait
            if best is not None:
                self.commit(best, "refine", 1, seconds + best_seconds)
            else:
                self.charge("refine", 1, seconds + self.cfg.seconds_per_key)  # looked at, then Esc

    def try_tools(self, comp: Region) -> bool:
        """Fix ``comp`` with a smart tool when one is foreseen to beat the brush; False to use the brush."""
        tools = self.cfg.tools
        label = comp.label
        px, py = self.click_point(comp)
        strokes = self.s.plan(comp)
        found: list[Candidate] = []
        here = int(self.s.mask[py, px])
        if "region" in tools:
            for value in dict.fromkeys((label, here)):
                self.consider(found, region_click(self.s.mask, px, py, value, probs=self.probs), "region", value,
                              1, self.cfg.seconds_per_click)
        if "wand" in tools:
            for tol in self.cfg.wand_tolerances:
                adjust = self.cfg.seconds_per_adjust if tol != self.cfg.default_tolerance else 0.0
                self.consider(found, magic_wand(self.image, px, py, tol, label, probs=self.probs), "wand", label,
                              1, self.cfg.seconds_per_click + adjust)
        if strokes:
            if "superpixel" in tools:  # the stroke need only touch the right superpixels: a looser, faster hand
                labels = self.superpixel_labels()
                width = float(seed_spacing(self.image.shape))
                paths = [self.loose(st.points, width) for st in strokes]
                sels = [superpixel_stroke(labels, p, st.radius, label) for p, st in zip(paths, strokes, strict=True)]
                gesture = sum(self.loose_seconds(p, width) for p in paths)
                self.consider(found, merge(sels, label), "superpixel", label, len(strokes), gesture)
            if "edge" in tools:  # the colour test keeps the edge, so the brush may be wider and the hand looser
                paths = [(self.loose(st.points, 2.0 * max(st.radius, 2)), 2 * max(st.radius, 2)) for st in strokes]
                sels = [edge_stroke(self.image, self.s.mask, p, r, label, self.cfg.edge_tolerance) for p, r in paths]
                gesture = sum(self.loose_seconds(p, 2.0 * r) for p, r in paths)
                self.consider(found, merge(sels, label), "edge", label, len(strokes), gesture)
        big = comp.area >= self.cfg.scissors_min_area * self.size
        if "scissors" in tools and big and self._fresh("scissors", comp):
            self.consider_scissors(found, comp)
        per_tool: dict[str, Candidate] = {}
        for cand in sorted(found, key=lambda c: -c.rate):  # the best foreseen result of each tool
            per_tool.setdefault(cand.tool, cand)
        shortlist = list(per_tool.values())[: self.cfg.lookahead]
        best, best_rate = None, self.lookahead(comp, None)
        for cand in shortlist:
            rate = self.lookahead(comp, cand)
            if rate > best_rate:
                best, best_rate = cand, rate
        if (best is None or best.fixed < 0.6 * comp.area) and "snap" in tools and strokes \
                and comp.area >= self.cfg.snap_min_area * self.size and self._fresh("snap", comp) \
                and self.try_snap(comp, strokes):
            return True
        if best is not None and self.judge(best.sel)[0] == best.fixed:  # (a failed snap changed nothing)
            self.commit(best.sel, best.tool, best.actions,
                        best.seconds + self.switch(best.tool, best.value) + self.cfg.seconds_per_look)
            return True
        return False

    def lookahead(self, comp: Region, cand: Candidate | None) -> float:
        """Net pixels per second of fixing ``comp`` with ``cand`` (``None``: the brush alone) and then the
        brush on what is left of it, until ``goal_share`` of the region is fixed or ``horizon`` seconds
        pass: the person's experience of how much finishing a tool leaves, played out on a copy of the
        mask with the brush annotator's own strokes."""
        trial = BrushSession(self.s.mask, self.truth, self.s.k, self.cfg.brush)
        spent = 0.0 if cand is None else cand.seconds + self.cfg.seconds_per_look + self.cfg.seconds_per_key * (
            (cand.tool != self.tool) + (cand.value != self.active))
        trial.deadline = self.cfg.horizon - spent
        trial.depth_cache = self.s.depth_cache
        trial.given_up = self.s.given_up.copy()
        right = int(np.trace(trial.cm))
        trial.goal = right + self.cfg.goal_share * comp.area
        h, w = comp.pixels.shape
        box = (comp.x0, comp.y0, comp.x0 + w, comp.y0 + h)
        if cand is None:
            todo = [comp]
        else:
            patch = apply_selection(trial.mask, cand.sel)
            if patch is not None:
                x0, y0, x1, y1 = patch.rect
                t = self.truth[y0:y1, x0:x1][patch.changed]
                trial.cm -= confusion(t, patch.old[patch.changed], trial.k)
                trial.cm += confusion(t, patch.new[patch.changed], trial.k)
                box = union(box, patch.rect)
            todo = _left_of(comp, patch, trial, box)
        if not trial.done():
            trial.work(todo)
        seconds = spent + brush_seconds(trial, self.cfg.brush)
        return (int(np.trace(trial.cm)) - right) / seconds if seconds > 0 else 0.0

    def consider(self, found: list[Candidate], sel: Selection | None, tool: str, value: int,
                 actions: int, seconds: float) -> None:
        """Keep ``sel`` as a candidate when its preview shows it does clearly more good than harm."""
        if sel is None:
            return
        fixed, broken = self.judge(sel)
        if fixed <= broken or fixed < self.cfg.min_precision * (fixed + broken):
            return
        cost = seconds + self.cfg.seconds_per_key * ((tool != self.tool) + (value != self.active))
        found.append(Candidate(sel, tool, value, actions, seconds, fixed, broken, (fixed - broken) / cost))

    def consider_scissors(self, found: list[Candidate], comp: Region) -> None:
        """Trace the region's outline with the scissors and fill it: vertices (jittered) as far apart as
        the live wire still follows the true edge, or cuts across pixels already of the class."""
        points = outline(comp)
        if len(points) < 3:
            return
        if self._scissors is None:
            self._scissors = Scissors(self.image)
        sc, h, w = self._scissors, self.truth.shape[0], self.truth.shape[1]
        jitter = max(1.0, self.cfg.click_jitter * 4 * self.scale)
        clicked = np.clip(points + self.rng.normal(0.0, jitter, points.shape), 0, (w - 1, h - 1))
        near = self.edge_distance(comp.label) <= max(2.0, 2.5 * self.scale)
        fine = near | (self.s.mask == comp.label)
        fine[comp.y0:comp.y0 + comp.pixels.shape[0], comp.x0:comp.x0 + comp.pixels.shape[1]] |= comp.pixels
        paths: dict[tuple[int, int], list[tuple[int, int]]] = {}

        def follows(i: int, j: int) -> bool:
            path = sc.trace(tuple(clicked[i]), tuple(clicked[j % len(points)]))
            paths[(i, j % len(points))] = path
            xs, ys = np.array([p[0] for p in path]), np.array([p[1] for p in path])
            return bool(fine[ys, xs].mean() >= 0.95)

        step = max(2, round(self.cfg.vertex_spacing * self.s.long_side / 4))
        picks = wire_vertices(points, follows, step, 16)
        if len(picks) < 3:
            return
        ring: list[tuple[int, int]] = []
        for a, b in zip(picks, picks[1:] + picks[:1], strict=True):
            path = paths.get((a, b)) or sc.trace(tuple(clicked[a]), tuple(clicked[b]))
            ring += path[:-1]
        canvas = np.zeros(self.truth.shape, np.uint8)  # filled as the canvas's scissors fill: pixel centres
        rect = fill_polygon(canvas, [(x + 0.5, y + 0.5) for x, y in ring], 1)
        if rect is None:
            return
        x0, y0, x1, y1 = rect
        sel = selection_from(canvas[y0:y1, x0:x1].astype(bool), comp.label, x0, y0)
        if sel is None:
            return
        seconds = self.cfg.seconds_per_click + self.cfg.seconds_per_vertex * (len(picks) - 1) \
            + self.cfg.seconds_per_key  # Enter applies the outline
        self.consider(found, sel, "scissors", comp.label, len(picks) + 1, seconds)

    def edge_distance(self, label: int) -> np.ndarray:
        """Distance (px) from each pixel to the nearest true edge of class ``label`` (cached)."""
        if label not in self._edges:
            inside = (self.truth == label).view(np.uint8)
            edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
            self._edges[label] = cv2.distanceTransform(1 - edge, cv2.DIST_L2, 3)
        return self._edges[label]

    def try_snap(self, comp: Region, strokes: list) -> bool:  # type: ignore[type-arg]
        """A snapping stroke along the region's longest planned stroke; its result shows only after it,
        so a poor one is undone (and charged). True when it was kept."""
        stroke = max(strokes, key=lambda st: path_length(st.points))
        here = np.bincount(self.s.mask[[p[1] for p in stroke.points], [p[0] for p in stroke.points]]).argmax()
        erase = int(here) != comp.label and comp.label == 0
        sel = snap_stroke(self.image, self.s.mask, stroke.points, stroke.radius, comp.label,
                          probs=self.probs, erase=erase)
        seconds = self.stroke_seconds(stroke.points, stroke.radius, comp.label) + self.switch("snap", comp.label)
        if sel is None:
            self.charge("snap", 1, seconds)  # made, and nothing changed
            return False
        fixed, broken = self.judge(sel)
        if fixed > broken and fixed >= self.cfg.min_precision * (fixed + broken):
            self.commit(sel, "snap", 1, seconds)
            return True
        self.charge("snap", 1, seconds)  # tried, looked at,
        self.charge("undo", 1, self.cfg.brush.seconds_per_undo)  # and undone
        return False

    def click_point(self, comp: Region) -> tuple[int, int]:
        """Where the person clicks: near the region's innermost pixel, jittered (people do not hit the centre)."""
        pad = np.pad(comp.pixels.view(np.uint8), 1)
        dist = cv2.distanceTransform(pad, cv2.DIST_L2, 3)[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        sd = max(1.0, self.cfg.click_jitter * float(dist[y, x]))
        h, w = comp.pixels.shape
        jx = int(np.clip(round(x + self.rng.normal(0, sd)), 0, w - 1))
        jy = int(np.clip(round(y + self.rng.normal(0, sd)), 0, h - 1))
        return comp.x0 + jx, comp.y0 + jy

    def superpixel_labels(self) -> np.ndarray:
        """The image's superpixels (computed once, as the app does in the background)."""
        if self._superpixels is None:
            self._superpixels = superpixels(self.image, seed_spacing(self.image.shape))
        return self._superpixels

    def _fresh(self, tool: str, comp: Region) -> bool:
        h, w = comp.pixels.shape
        key = (tool, comp.label, comp.x0, comp.y0, w, h)  # the region's box: small fixes inside keep it
        if key in self.tried:
            return False
        self.tried.add(key)
        return h * w > 0


def _left_of(comp: Region, patch: Patch | None, trial: BrushSession, box: tuple[int, int, int, int]) -> list[Region]:
    """What is wrong after an edit of ``comp``: its own pixels still wrong, and those the edit broke."""
    x0, y0, x1, y1 = box
    relevant = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    h, w = comp.pixels.shape
    relevant[comp.y0 - y0:comp.y0 - y0 + h, comp.x0 - x0:comp.x0 + w - x0] = comp.pixels
    if patch is not None:
        px0, py0, px1, py1 = patch.rect
        relevant[py0 - y0:py1 - y0, px0 - x0:px1 - x0] |= patch.changed
    truth = trial.truth[y0:y1, x0:x1]
    left = relevant & (trial.mask[y0:y1, x0:x1] != truth) & ~trial.given_up[y0:y1, x0:x1]
    found: list[Region] = []
    for label in np.unique(truth[left]):
        found += find_regions(left & (truth == label), int(label), y0, x0, trial.min_area)
    found.sort(key=lambda c: -c.area)
    return found
