"""The clicking person: corrects a mask with the interactive model's clicks (RITM's clicker), traced like the tools."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unet_core.clicks.predict import ClickPredictor
from unet_core.clicks.simulator import next_click, pick_class
from unet_core.data.guides import Click
from unet_core.sim.annotator import mask_dice
from unet_core.sim.smart import SmartConfig

STALL_GAIN = 0.002
"""In the loop the person stops clicking when two clicks together gained less Dice than this (the model cannot
fix what is left) and finishes with the smart tools."""


@dataclass
class ClickRun:
    """What correcting one image with clicks took: the trace (clicks, seconds, Dice), the mask, the class switches."""

    trace: list[tuple[int, float, float]]
    mask: np.ndarray
    switches: int

    @property
    def clicks(self) -> int:
        """Clicks made."""
        return self.trace[-1][0]

    @property
    def seconds(self) -> float:
        """Seconds spent."""
        return self.trace[-1][1]


def click_correct(clicker: ClickPredictor, image: np.ndarray, initial: np.ndarray, truth: np.ndarray, k: int,
                  target: float, most: int, cfg: SmartConfig | None = None,
                  rng: np.random.Generator | None = None, stall: float | None = None) -> ClickRun:
    """Click until the mask's Dice reaches ``target`` or ``most`` clicks are spent (with ``stall``: or the last
    two clicks together gained less Dice than that).

    Each click fixes the class at the deepest error (:func:`pick_class`) at the deepest point of its largest
    error region (:func:`next_click`; with ``rng`` a random point deeper than half of it, RITM's jittered
    clicker). Clicks on one class form one group that the model sees together; a new class starts a new
    group and costs a class switch (``cfg.seconds_per_key``). Each click costs ``cfg.seconds_per_click``.
    """
    cfg = cfg or SmartConfig()
    mask = initial.copy()
    seconds, switches = 0.0, 0
    trace = [(0, 0.0, mask_dice(mask, truth, k))]
    cls: int | None = None
    group: list[Click] = []
    for n in range(1, most + 1):
        if trace[-1][2] >= target:
            break
        if stall is not None and len(trace) >= 3 and trace[-1][2] - trace[-3][2] < stall:
            break
        pick = pick_class(truth, mask, rng)
        if pick is None:
            break
        if pick != cls:
            if cls is not None:
                switches += 1
                seconds += cfg.seconds_per_key
            cls, group = pick, []
        click = next_click(truth, mask, cls, rng)
        if click is None:  # the class picked is right already: nothing a click can fix
            break
        group.append(click)
        clicker.run(image, mask, cls, group).apply(mask)
        seconds += cfg.seconds_per_click
        trace.append((n, round(seconds, 2), mask_dice(mask, truth, k)))
    return ClickRun(trace, mask, switches)


__all__ = ["STALL_GAIN", "ClickRun", "click_correct"]
