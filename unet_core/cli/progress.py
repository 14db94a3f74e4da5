"""Terminal progress for the CLI: a tqdm bar fed by the training callbacks, and skip warnings."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from unet_core.training.types import Callback, EpochInfo, StepInfo, TrainResult


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a duration."""
    total = max(0, round(seconds))
    h, rest = divmod(total, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def step_line(info: StepInfo, time_limit: float | None, epochs: int | None, dice: float | None) -> str:
    """What the bar shows after a step: the step (of how many, when the run is counted in epochs), the
    time (of the limit, or the estimate left), the epoch, the loss, the speed and the last validation Dice."""
    steps = f"step {info.global_step}"
    if epochs is not None:
        steps += f"/{epochs * info.steps_per_epoch}"
    if time_limit is not None:
        when = f"{clock(info.elapsed)} of {clock(time_limit)}"
    else:
        when = clock(info.elapsed) + (f", ~{clock(info.eta)} left" if info.eta is not None and info.eta >= 0 else "")
    shown = f"{dice:.4f}" if dice is not None else "-"
    return (f"{steps} · {when} · epoch {info.epoch} · loss {info.loss:.4f} · {info.images_per_s:.1f} img/s"
            f" · val Dice {shown}")


class TerminalProgress(Callback):
    """A progress bar of the run (by steps, or by time under a time limit) with the step, the time, loss,
    speed and validation Dice beside it; epoch lines are written above it, never through it."""

    RESOLUTION = 1000  # bar positions

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None
        self.last_dice: float | None = None
        self.time_limit: float | None = None
        self.epochs: int | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        h, w = info["size_hw"]
        arch = info["arch"]
        amp = f", AMP {info['amp']}" if info.get("amp") else ""
        world = f", {info['world_size']} processes" if info.get("world_size", 1) > 1 else ""
        self.time_limit, self.epochs = info.get("time_limit"), info.get("epochs")
        budget = f", {clock(self.time_limit)} time limit" if self.time_limit else (
            f", {self.epochs} epochs" if self.epochs else "")
        print(
            f"training on {info['device']}{amp}{world}: {info['train_images']} train / {info['val_images']} val images "
            f"at {h}x{w}, UNet width {arch['base_width']} depth {arch['depth']}{budget}",
            file=sys.stderr,
        )
        for message in info.get("skipped", []):
            warn("train", f"skipped {message}")
        if info.get("skipped"):
            warn("train", f"{len(info['skipped'])} unreadable pair(s) skipped")
        if not self.quiet:
            self.bar = tqdm(total=self.RESOLUTION, file=sys.stderr, dynamic_ncols=True, bar_format="|{bar}| {desc}")

    def on_step(self, info: StepInfo) -> None:
        if self.bar is None:
            return
        self.bar.n = round(self.RESOLUTION * min(max(info.progress, 0.0), 1.0))
        self.bar.set_description_str(step_line(info, self.time_limit, self.epochs, self.last_dice), refresh=False)
        self.bar.refresh()

    def on_epoch(self, info: EpochInfo) -> None:
        self.last_dice = info.val_dice
        if self.quiet:
            return
        dice = f"{info.val_dice:.4f}" if info.val_dice is not None else "n/a"
        line = (f"epoch {info.epoch} ({clock(info.elapsed)}): train loss {info.train_loss:.4f}, val Dice {dice}"
                f"{' (best)' if info.is_best else ''}")
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)  # above the bar, which is redrawn below it
        else:
            print(line, file=sys.stderr)

    def on_end(self, result: TrainResult) -> None:
        if self.bar is not None:
            if result.stop_reason in ("completed", "time_limit"):
                self.bar.n = self.RESOLUTION
            self.bar.refresh()
            self.bar.close()


def warn(command: str, message: str) -> None:
    """One warning line on stderr."""
    print(f"unet-core {command}: warning: {' '.join(message.split())}", file=sys.stderr)


def bar(total: int, desc: str, quiet: bool) -> tqdm:
    """A plain item progress bar on stderr (disabled when quiet)."""
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=quiet, dynamic_ncols=True)
