"""Fine-tuning on corrected masks: correction-weighted loss, replay of original labels, parent kept as baseline."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from unet_core.data.classes import ClassTable
from unet_core.data.dataset import Example
from unet_core.model.checkpoint import read_metadata
from unet_core.training.recipes import EPOCH_SAMPLES
from unet_core.training.trainer import train
from unet_core.training.types import Callback, TrainConfig, TrainResult


def correction_weight_map(
    predicted: np.ndarray | None, corrected: np.ndarray, boost: float = 4.0, boundary_px: int = 3
) -> np.ndarray:
    """Per-pixel loss weights: 1, plus ``boost`` on pixels the user changed and a ``boundary_px`` band around them.

    ``predicted`` and ``corrected`` are H x W label maps; without a prediction every pixel weighs 1.
    """
    weight = np.ones(corrected.shape, dtype=np.float32)
    if predicted is None:
        return weight
    if predicted.shape != corrected.shape:
        raise ValueError(f"prediction {predicted.shape} and correction {corrected.shape} differ in size")
    changed = (predicted != corrected).astype(np.uint8)
    if boundary_px > 0 and changed.any():
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * boundary_px + 1, 2 * boundary_px + 1))
        changed = cv2.dilate(changed, k)
    weight += boost * changed.astype(np.float32)
    return weight


def replay_sample(pool: Sequence[Example], n_corrected: int, fraction: float, seed: int) -> list[Example]:
    """Pick original labelled pairs so they make up ``fraction`` of the fine-tuning set."""
    if not pool or fraction <= 0 or n_corrected == 0:
        return []
    if not (0 <= fraction < 1):
        raise ValueError("replay fraction must be in [0, 1)")
    want = max(1, round(n_corrected * fraction / (1 - fraction)))
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(pool), size=min(want, len(pool)), replace=False)
    return [pool[i] for i in sorted(idx)]


def default_finetune_config(base: TrainConfig | None = None) -> TrainConfig:
    """Settings for a short fine-tune: a few epochs of at least 48 samples each, early stop after 4 flat ones."""
    cfg = base or TrainConfig()
    epochs = cfg.epochs if cfg.epochs is not None else (None if cfg.time_limit else 10)
    return replace(cfg, epochs=epochs, patience=cfg.patience if cfg.patience is not None else 4,
                   min_epoch_samples=cfg.min_epoch_samples or EPOCH_SAMPLES)


def fine_tune(
    checkpoint: str | Path,
    corrected: Sequence[Example],
    val_set: Sequence[Example],
    out: str | Path,
    *,
    replay_pool: Sequence[Example] = (),
    replay_fraction: float = 0.3,
    config: TrainConfig | None = None,
    callbacks: Sequence[Callback] = (),
    stop: threading.Event | None = None,
    classes: ClassTable | None = None,
) -> TrainResult:
    """Fine-tune ``checkpoint`` on ``corrected`` pairs (their ``weight`` maps raise corrected pixels' loss).

    ``classes`` (default: the checkpoint's) is the project's class table; classes added to it since the
    checkpoint was trained grow the model's head (:func:`unet_core.model.grow.with_classes`).

    A replay sample of ``replay_pool`` (original labelled pairs) is mixed in so the model does not
    forget. The starting model is evaluated on ``val_set`` first and written to ``out``; an epoch
    replaces it only when its validation Dice is at least as good, so ``out`` never gets worse on
    that split. ``result.initial_val_dice`` and ``result.best_val_dice`` say before and after.
    """
    if not corrected:
        raise ValueError("no corrected masks to fine-tune on")
    meta = read_metadata(checkpoint)
    cfg = default_finetune_config(config)
    replay = replay_sample(replay_pool, len(corrected), replay_fraction, cfg.seed)
    return train(
        list(corrected) + replay,
        val_set,
        classes or meta.classes,
        cfg,
        out,
        init=checkpoint,
        callbacks=callbacks,
        stop=stop,
        dataset_kind=meta.dataset_kind,
        evaluate_initial=bool(val_set),
    )
