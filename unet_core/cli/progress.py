"""Terminal progress for the CLI: a tqdm bar fed by the training callbacks, and skip warnings."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from unet_core.training.types import Callback, EpochInfo, StepInfo, TrainResult


class TerminalProgress(Callback):
    """A percent-of-run progress bar with loss, speed and validation Dice; epoch lines below it."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None
        self.last_dice: float | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        h, w = info["size_hw"]
        arch = info["arch"]
        amp = f", AMP {info['amp']}" if info.get("amp") else ""
        world = f", {info['world_size']} processes" if info.get("world_size", 1) > 1 else ""
        print(
            f"training on {info['device']}{amp}{world}: {info['train_images']} train / {info['val_images']} val images "
            f"at {h}x{w}, UNet width {arch['base_width']} depth {arch['depth']}",
            file=sys.stderr,
        )
        for message in info.get("skipped", []):
            warn("train", f"skipped {message}")
        if info.get("skipped"):
            warn("train", f"{len(info['skipped'])} unreadable pair(s) skipped")
        if not self.quiet:
            self.bar = tqdm(total=100, unit="%", file=sys.stderr, dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}% [{elapsed}<{remaining}{postfix}]")

    def on_step(self, info: StepInfo) -> None:
        if self.bar is None:
            return
        self.bar.n = round(100 * info.progress, 1)
        dice = f"{self.last_dice:.4f}" if self.last_dice is not None else "-"
        self.bar.set_postfix_str(
            f"epoch {info.epoch} loss {info.loss:.4f} {info.images_per_s:.1f} img/s val dice {dice}", refresh=False
        )
        self.bar.refresh()

    def on_epoch(self, info: EpochInfo) -> None:
        self.last_dice = info.val_dice
        if self.quiet:
            return
        dice = f"{info.val_dice:.4f}" if info.val_dice is not None else "n/a"
        line = f"epoch {info.epoch}: train loss {info.train_loss:.4f}, val dice {dice}{' (best)' if info.is_best else ''}"
        (self.bar.write if self.bar else print)(line, file=sys.stderr)

    def on_end(self, result: TrainResult) -> None:
        if self.bar is not None:
            self.bar.n = 100 if result.stop_reason == "completed" else self.bar.n
            self.bar.close()


def warn(command: str, message: str) -> None:
    """One warning line on stderr."""
    print(f"unet-core {command}: warning: {' '.join(message.split())}", file=sys.stderr)


def bar(total: int, desc: str, quiet: bool) -> tqdm:
    """A plain item progress bar on stderr (disabled when quiet)."""
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=quiet, dynamic_ncols=True)
