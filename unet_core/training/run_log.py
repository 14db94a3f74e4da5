"""A training run's log on disk: TensorBoard event files plus JSON lines a program (the app) reads back."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unet_core.fsutil import append_text
from unet_core.training.types import Callback, EpochInfo, StepInfo, TrainResult

STEPS_FILE = "steps.jsonl"  # one line per optimisation step: step, loss, lr, elapsed
EPOCHS_FILE = "metrics.jsonl"  # one line per epoch: the trainer's history record
MAX_LOG_BYTES = 64 << 20  # read back from the end of one log file at most


def overlay(image: np.ndarray, labels: np.ndarray, colors: Sequence[Sequence[int]], alpha: float = 0.5) -> np.ndarray:
    """``image`` (H x W x 3 uint8) with ``labels`` painted over it in the class ``colors`` (class 0 left clear)."""
    if image.shape[:2] != labels.shape:
        raise ValueError(f"image {image.shape[:2]} and labels {labels.shape} differ in size")
    palette = np.asarray(colors, dtype=np.float32).reshape(-1, 3)
    out = image[..., :3].astype(np.float32)
    ids = np.clip(labels.astype(np.int64), 0, len(palette) - 1)
    painted = ids > 0
    out[painted] = (1 - alpha) * out[painted] + alpha * palette[ids[painted]]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


class RunLog(Callback):
    """Writes a run into ``folder``: TensorBoard events (per-step loss and learning rate, per-epoch
    validation Dice, IoU and pixel accuracy per class, prediction overlays of a few validation images
    at epochs 1, 2, 4, 8, ...)
    and :data:`STEPS_FILE` / :data:`EPOCHS_FILE`, from which :func:`read_curves` redraws the curves."""

    def __init__(self, folder: str | Path, class_names: Sequence[str], colors: Sequence[Sequence[int]]) -> None:
        from tensorboardX import SummaryWriter  # (imported here: only runs that log need it)

        self.folder = Path(folder)
        self.names = list(class_names)
        self.colors = [tuple(int(v) for v in c) for c in colors]
        self.writer = SummaryWriter(str(self.folder), flush_secs=10)

    def on_start(self, info: dict[str, Any]) -> None:
        h, w = info.get("size_hw", (0, 0))
        self.writer.add_text("run", f"{info.get('train_images')} train / {info.get('val_images')} validation "
                                    f"images at {h}x{w} on {info.get('device')}", 0)

    def on_step(self, info: StepInfo) -> None:
        self.writer.add_scalar("train/loss", info.loss, info.global_step)
        self.writer.add_scalar("train/learning_rate", info.lr, info.global_step)
        record = {"step": info.global_step, "epoch": info.epoch, "loss": info.loss, "lr": info.lr,
                  "elapsed": round(info.elapsed, 3)}
        append_text(self.folder / STEPS_FILE, json.dumps(record) + "\n")

    def on_epoch(self, info: EpochInfo) -> None:
        step = info.epoch
        self.writer.add_scalar("train/epoch_loss", info.train_loss, step)
        metrics = info.val_metrics or {}
        if info.val_dice is not None:
            self.writer.add_scalar("val/dice", info.val_dice, step)
        if metrics.get("pixel_accuracy") is not None:
            self.writer.add_scalar("val/pixel_accuracy", metrics["pixel_accuracy"], step)
        for kind in ("dice", "iou"):
            for name, value in (metrics.get(kind) or {}).get("per_class", {}).items():
                if value is not None:
                    self.writer.add_scalar(f"val_{kind}/{name}", value, step)
        overlays = info.previews if info.epoch & (info.epoch - 1) == 0 else []  # epochs 1, 2, 4, 8, ...: a
        for i, (image, labels) in enumerate(overlays):  # long run's log stays small
            self.writer.add_image(f"val_overlay/{i}", overlay(image, labels, self.colors), step, dataformats="HWC")
        self.writer.flush()

    def on_end(self, result: TrainResult) -> None:
        self.writer.add_text("run", f"{result.stop_reason}: {result.epochs} epochs, {result.steps} steps, "
                                    f"best validation Dice {result.best_val_dice}", result.steps)
        self.writer.close()


def _read_lines(path: Path, max_points: int | None = None) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, thinned to about ``max_points`` evenly spaced lines (the
    last one kept); bad lines (a run killed mid-write) are left out. At most :data:`MAX_LOG_BYTES` of
    the file's end are read: a log is never trusted to be small."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - MAX_LOG_BYTES))
            data = f.read(MAX_LOG_BYTES)
    except OSError:
        return []
    lines = data.splitlines()
    if size > MAX_LOG_BYTES and lines:
        lines = lines[1:]  # (the first line read may be cut)
    if max_points is not None and len(lines) > max_points > 0:
        step = -(-len(lines) // max_points)
        lines = lines[::-1][::step][::-1]  # evenly spaced, ending on the last line
    out: list[dict[str, Any]] = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def read_curves(folder: str | Path, max_points: int | None = None) -> tuple[list[tuple[int, float]],
                                                                          list[tuple[int, float]]]:
    """A logged run's curves: (step, loss) pairs (about ``max_points`` of them, evenly spaced, when given)
    and (epoch, validation Dice) pairs, in order."""
    folder = Path(folder)
    losses = []
    for r in _read_lines(folder / STEPS_FILE, max_points):
        step, loss = r.get("step"), _finite(r.get("loss"))
        if isinstance(step, int) and not isinstance(step, bool) and loss is not None:
            losses.append((step, loss))
    dices = []
    for r in _read_lines(folder / EPOCHS_FILE):
        epoch, dice = r.get("epoch"), _finite(r.get("val_dice"))
        if isinstance(epoch, int) and not isinstance(epoch, bool) and dice is not None:
            dices.append((epoch, dice))
    return losses, dices


__all__ = ["EPOCHS_FILE", "MAX_LOG_BYTES", "STEPS_FILE", "RunLog", "overlay", "read_curves"]
