"""Training configuration, progress records and the callback protocol the CLI and the app's worker use."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from unet_core.data.framing import check_scale


@dataclass
class TrainConfig:
    """What a training or fine-tuning run does. Defaults suit a CPU; see docs/training.md."""

    arch: str = "unet-small"
    size_hw: tuple[int, int] | None = None  # None: chosen from the data (long side `long_side`, multiple of 32)
    long_side: int = 256  # the automatic input size's long side
    scale: float | None = None  # model pixels per image pixel; None: the typical image fills the input (aspect kept)
    epochs: int | None = None  # None: 40, or unlimited when a time limit is set
    time_limit: float | None = None  # seconds for the whole run, validation included
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"  # "cosine" (with warm-up, by step or time progress) or "constant"
    warmup_fraction: float = 0.03
    dice_weight: float = 1.0
    class_balance: float = 0.0  # > 0: cross-entropy class weights frequency ** -class_balance (more than 2 classes)
    focus_crops: float = 0.0  # share of training crops placed on a class picked uniformly among an image's classes
    clicks: float | None = None  # share of samples trained with simulated clicks (interactive mode); None: 0.5
    # when the starting model is interactive, else 0 (automatic only); > 0 makes an automatic model interactive
    click_encoding: str = "disk"  # how a new interactive model draws clicks: "disk" or "distance" (unet_core.clicks)
    click_zoom: float = 4.0  # a new interactive model also learns clicks on windows seen this many times finer
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    amp: bool | None = None  # None: on for CUDA (bf16 where supported), off elsewhere
    channels_last: bool | None = None  # None: on for CUDA and CPU
    patience: int | None = None  # stop after this many validations without improvement
    min_epoch_samples: int = 0  # tiny sets: repeat images so an epoch has at least this many (recipes: 48)
    augment: bool = True
    augment_strength: str = "default"  # "light", "default" or "strong" (unet_core.data.transforms); off: augment=False
    dropout: float = 0.0
    average: float | None = None  # decay of the weights' moving average that is validated and saved; 0: the weights
    # as trained; None: AVERAGE_DECAY for a run with clicks, else 0 (docs/training.md, *Weight average*)
    log_dir: Path | None = None
    val_split: str | None = None  # id of the validation split the run's Dice is measured on (recorded)

    def max_epochs(self) -> int:
        """The epoch cap: explicit, else 40 without a time limit, else effectively unlimited."""
        if self.epochs is not None:
            return self.epochs
        return 40 if self.time_limit is None else 1_000_000

    def validate(self) -> None:
        """Raise ValueError for settings that cannot work."""
        if self.epochs is not None and self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ValueError("time limit must be positive")
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if not (0 < self.lr < 1):
            raise ValueError("learning rate must be in (0, 1)")
        if not (0 <= self.val_fraction < 1):
            raise ValueError("validation fraction must be in [0, 1)")
        if not (32 <= self.long_side <= 4096):
            raise ValueError("the automatic input size's long side must be 32..4096")
        if self.size_hw is not None and (len(self.size_hw) != 2 or min(self.size_hw) < 16):
            raise ValueError("input size must be two numbers of at least 16 (HxW)")
        if self.scale is not None:
            check_scale(self.scale)
        if not (0 <= self.class_balance <= 2):
            raise ValueError("class balance must be in [0, 2]")
        if not (0 <= self.focus_crops <= 1):
            raise ValueError("the share of focused crops must be in [0, 1]")
        if self.clicks is not None and not (0 <= self.clicks <= 1):
            raise ValueError("the share of samples with clicks must be in [0, 1]")
        from unet_core.data.guides import ENCODINGS, MAX_ZOOM

        if self.click_encoding not in ENCODINGS:
            raise ValueError(f"click encoding must be one of {', '.join(ENCODINGS)}")
        if not (1 <= self.click_zoom <= MAX_ZOOM):
            raise ValueError(f"click zoom must be in 1..{MAX_ZOOM:g}")
        if self.average is not None and not (0 <= self.average < 1):
            raise ValueError("the weight average's decay must be in [0, 1) (0: no average)")
        from unet_core.data.transforms import AUGMENT_STRENGTHS

        if self.augment_strength not in AUGMENT_STRENGTHS:
            raise ValueError(f"augmentation strength must be one of {', '.join(AUGMENT_STRENGTHS)}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError("schedule must be 'cosine' or 'constant'")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (stored in checkpoints and logs)."""
        d = asdict(self)
        d["log_dir"] = str(self.log_dir) if self.log_dir else None
        d["size_hw"] = list(self.size_hw) if self.size_hw else None
        return d


def learning_rate(config: TrainConfig, progress: float) -> float:
    """The learning rate at ``progress`` in [0, 1] of the run: linear warm-up, then cosine to 5 %."""
    if config.schedule == "constant":
        return config.lr
    p = min(max(progress, 0.0), 1.0)
    if config.warmup_fraction > 0 and p < config.warmup_fraction:
        return config.lr * max(p / config.warmup_fraction, 0.05)
    span = max(1e-9, 1 - config.warmup_fraction)
    q = (p - config.warmup_fraction) / span
    return config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(q, 1.0))))


@dataclass
class StepInfo:
    """After each optimisation step."""

    epoch: int
    step: int  # within the epoch, from 1
    steps_per_epoch: int
    global_step: int
    loss: float
    lr: float
    images_per_s: float
    elapsed: float
    progress: float  # 0..1 of the whole run (by epochs or time, whichever is further)
    eta: float | None  # seconds left, None when unknown


@dataclass
class EpochInfo:
    """After each epoch's validation."""

    epoch: int
    train_loss: float
    val_dice: float | None
    val_metrics: dict[str, Any] | None
    best_val_dice: float | None
    is_best: bool
    elapsed: float
    progress: float
    previews: list[Any] = field(default_factory=list)  # (image, labels) of a few validation images, model size


@dataclass
class TrainResult:
    """How a run ended and where its checkpoints are."""

    best_path: Path
    last_path: Path
    best_val_dice: float | None
    initial_val_dice: float | None  # the starting model's Dice on the same split (fine-tuning), else None
    epochs: int
    steps: int
    seconds: float
    stop_reason: str  # "completed" | "time_limit" | "stopped" | "early_stop"
    history: list[dict[str, Any]] = field(default_factory=list)
    trained_path: Path | None = None  # a fine-tune's best epoch when none beat the start (``best_path`` holds it)


class Callback:
    """Override any of these; the training loop calls them on the process of rank 0 only."""

    def on_start(self, info: dict[str, Any]) -> None:
        """Before the first step: sizes, device, number of images."""

    def on_step(self, info: StepInfo) -> None:
        """After each step."""

    def on_epoch(self, info: EpochInfo) -> None:
        """After each validation."""

    def on_end(self, result: TrainResult) -> None:
        """Once, after the last checkpoint is written."""
