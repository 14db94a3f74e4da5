"""Effort per image and tool set: correct it as the simulated person, trace Dice per action, sum up seconds and NoC."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unet_core.data.io import read_image
from unet_core.edit.probabilities import ClassProbabilities
from unet_core.sim.annotator import AnnotatorConfig, annotate, brush_seconds
from unet_core.sim.smart import SmartConfig, SmartPerson

if TYPE_CHECKING:
    from unet_core.clicks.predict import ClickPredictor
    from unet_core.model.predictor import Prediction

TOOL_SETS = ("brush", "smart")
"""``brush``: the round brush, eraser and undo only; ``smart``: the brush plus every smart tool."""

ALL_TOOL_SETS = (*TOOL_SETS, "click")
"""With ``click``: only the interactive model's clicks (RITM's clicker), for models trained with clicks."""

Trace = list[tuple[int, float, float]]
"""(actions so far, seconds so far, Dice) after each action, starting at (0, 0.0, Dice of the start)."""


@dataclass
class ImageEffort:
    """What correcting one image with one tool set took."""

    stem: str
    tools: str
    trace: Trace
    dice_start: float
    dice_end: float
    seconds: float
    actions: int
    counts: dict[str, int] = field(default_factory=dict)  # actions per tool
    mask: np.ndarray | None = field(default=None, repr=False)  # the corrected mask

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the totals and the counts (the trace is summarised, not copied)."""
        return {"stem": self.stem, "tools": self.tools, "dice_start": round(self.dice_start, 4),
                "dice_end": round(self.dice_end, 4), "seconds": round(self.seconds, 1), "actions": self.actions,
                "counts": dict(self.counts)}


def correct(stem: str, initial: np.ndarray, truth: np.ndarray, k: int, tools: str, image: np.ndarray,
            probs: ClassProbabilities | None, cfg: SmartConfig, clicker: ClickPredictor | None = None,
            click_rng: np.random.Generator | None = None, brush: ImageEffort | None = None) -> ImageEffort:
    """Correct ``initial`` towards ``truth`` with tool set ``tools`` and return the effort.

    ``cfg.brush.target_dice`` is where the person stops, ``cfg.brush.max_strokes`` the action budget.
    ``click`` needs ``clicker`` (an interactive model); ``click_rng`` jitters the clicks (RITM's jittered
    clicker) instead of placing each at the deepest error point. ``brush``: this image's ``brush`` effort from the
    same start, when the caller has it (the smart person's brush-alone plan is that one, not computed again).
    """
    if tools == "click":
        from unet_core.sim.clicker import click_correct

        if clicker is None:
            raise ValueError("the click tool set needs an interactive model (trained with --clicks)")
        r = click_correct(clicker, image, initial, truth, k, cfg.brush.target_dice, cfg.brush.max_strokes, cfg,
                          click_rng)
        return ImageEffort(stem, tools, r.trace, r.trace[0][2], r.trace[-1][2], r.seconds, r.clicks,
                           {"click": r.clicks, "class switch": r.switches}, r.mask)
    if tools == "brush":
        r = annotate(initial, truth, cfg.brush, k)
        return ImageEffort(stem, tools, r.trace, r.dice_start, r.dice_end, r.seconds, r.strokes + r.undos,
                           {"brush": r.strokes + r.undos}, r.mask)
    if tools == "smart":
        if max(int(initial.max(initial=0)), int(truth.max(initial=0))) >= k:
            raise ValueError(f"class ids must lie in 0..{k - 1}")
        person = SmartPerson(initial, truth, k, cfg, image, probs)
        start = person.s.dice()
        s = person.run()
        seconds, trace, counts = brush_seconds(s, cfg.brush), s.trace, person.tool_counts()
        if cfg.brush.allow_restart and initial.any():  # the same rule as the brush annotator's restart
            fresh = SmartPerson(np.zeros_like(initial), truth, k, cfg, image, probs)
            f = fresh.run()
            clear = cfg.brush.seconds_per_stroke  # the clear is one action, as for the brush annotator
            if brush_seconds(f, cfg.brush) + clear < seconds:
                seconds = brush_seconds(f, cfg.brush) + clear
                trace = [(0, 0.0, start)] + [(a + 1, sec + clear, d) for a, sec, d in f.trace]
                counts = {**fresh.tool_counts(), "clear": 1}
                s = f
        end, mask = s.dice(), s.mask
        plain = brush or correct(stem, initial, truth, k, "brush", image, probs, cfg)  # a few strokes may be all
        if plain.seconds < seconds:  # a good prediction needs: the brush alone when that plan is cheaper
            seconds, trace, end, mask, counts = plain.seconds, plain.trace, plain.dice_end, plain.mask, plain.counts
        return ImageEffort(stem, tools, trace, start, end, round(seconds, 2), trace[-1][0], counts, mask)
    raise ValueError(f"unknown tool set {tools!r}; choose from {', '.join(ALL_TOOL_SETS)}")


def click_then_smart(stem: str, initial: np.ndarray, truth: np.ndarray, k: int, image: np.ndarray,
                     probs: ClassProbabilities | None, cfg: SmartConfig, clicker: ClickPredictor) -> ImageEffort:
    """The loop's click person: clicks while they help (:data:`unet_core.sim.clicker.STALL_GAIN`), then the
    smart tools finish what the model cannot; one trace, the actions of both counted."""
    from unet_core.sim.clicker import STALL_GAIN, click_correct

    target, budget = cfg.brush.target_dice, cfg.brush.max_strokes
    r = click_correct(clicker, image, initial, truth, k, target, budget, cfg, stall=STALL_GAIN)
    counts = {"click": r.clicks, "class switch": r.switches}
    if r.trace[-1][2] >= target or r.clicks >= budget:
        return ImageEffort(stem, "click", r.trace, r.trace[0][2], r.trace[-1][2], r.seconds, r.clicks, counts, r.mask)
    rest = replace(cfg, brush=replace(cfg.brush, max_strokes=budget - r.clicks))
    e = correct(stem, r.mask, truth, k, "smart", image, probs, rest)
    trace = r.trace + [(a + r.clicks, round(sec + r.seconds, 2), d) for a, sec, d in e.trace[1:]]
    return ImageEffort(stem, "click", trace, r.trace[0][2], e.dice_end, round(r.seconds + e.seconds, 2),
                       r.clicks + e.actions, {**counts, **e.counts}, e.mask)


def correct_for_loop(initial: np.ndarray, truth: np.ndarray, k: int, tools: str, cfg: AnnotatorConfig,
                     image_path: Path, pred: Prediction | None,
                     clicker: ClickPredictor | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """One image of the simulated loop: the effort fields it records and the corrected mask.

    The brush keeps the brush annotator's full record; the smart tools read the image and use the
    prediction's probabilities (``pred``, or none when painting from scratch); ``click`` clicks with the
    interactive model (``clicker``) while clicks help and finishes with the smart tools (without a model it
    is the smart tools alone).
    """
    if tools == "brush":
        r = annotate(initial, truth, cfg, k)
        return {**r.to_dict(), "actions": r.strokes + r.undos}, r.mask
    probs = pred.class_probabilities() if pred is not None else None
    if tools == "click" and clicker is not None:
        e = click_then_smart("", initial, truth, k, read_image(image_path), probs, SmartConfig(brush=cfg), clicker)
    else:
        e = correct("", initial, truth, k, "smart" if tools == "click" else tools, read_image(image_path), probs,
                    SmartConfig(brush=cfg))
    assert e.mask is not None
    fields = {"strokes": e.counts.get("brush", 0), "actions": e.actions, "seconds": e.seconds,
              "pixels_changed": int((e.mask != initial).sum()), "dice_start": e.dice_start, "dice_end": e.dice_end,
              "reached_target": e.dice_end >= cfg.target_dice, "counts": e.counts, "scratch_strokes": None}
    return fields, e.mask


def reached(trace: Trace, target: float) -> tuple[int, float] | None:
    """(actions, seconds) when Dice first reached ``target``, or ``None`` if it never did."""
    return next(((a, s) for a, s, d in trace if d >= target), None)


def summarize(efforts: list[ImageEffort], targets: list[float], max_actions: int) -> dict[str, Any]:
    """The benchmark's figures for one tool set: mean seconds and actions per image, and per target the
    mean number of actions to reach it (``noc``; an image that never does counts ``max_actions`` and
    is counted in ``failed``) and the mean seconds to reach it (failures count their whole time)."""
    out: dict[str, Any] = {
        "seconds_per_image": round(float(np.mean([e.seconds for e in efforts])), 2) if efforts else None,
        "actions_per_image": round(float(np.mean([e.actions for e in efforts])), 2) if efforts else None,
        "noc": {}, "failed": {}, "seconds_to": {},
    }
    for t in targets:
        key = f"{t:g}"
        hits = [reached(e.trace, t) for e in efforts]
        out["noc"][key] = round(float(np.mean([h[0] if h else max_actions for h in hits])), 2) if efforts else None
        out["failed"][key] = sum(h is None for h in hits)
        out["seconds_to"][key] = round(float(np.mean([h[1] if h else e.seconds for h, e in
                                                      zip(hits, efforts, strict=True)])), 2) if efforts else None
    counts: dict[str, int] = {}
    for e in efforts:
        for tool, n in e.counts.items():
            counts[tool] = counts.get(tool, 0) + n
    out["actions_by_tool"] = counts
    out["dice_start"] = round(float(np.mean([e.dice_start for e in efforts])), 4) if efforts else None
    out["dice_end"] = round(float(np.mean([e.dice_end for e in efforts])), 4) if efforts else None
    return out
