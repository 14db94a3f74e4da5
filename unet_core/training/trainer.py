"""The training loop: CE + Dice, Adam with warm-up/cosine, full-res validation, callbacks, stop, DDP, AMP."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from unet_core.clicks.focus import FOCUS_SHARE, FocusSource, zooms
from unet_core.clicks.training import SCRATCH_START, ClickPlan, simulate_guides
from unet_core.data.classes import ClassTable
from unet_core.data.dataset import Example, SegmentationDataset
from unet_core.data.guides import GuideEncoding
from unet_core.devices import autocast_dtype, describe_device, select_device
from unet_core.errors import DataError
from unet_core.fsutil import append_text, check_writable, remove_stale_temps
from unet_core.model.checkpoint import (
    CheckpointMeta,
    read_metadata,
    save_checkpoint,
)
from unet_core.model.predictor import Predictor
from unet_core.priority import INTERACTIVE
from unet_core.training.averaging import AVERAGE_DECAY, WeightAverage
from unet_core.training.calibration import Calibration
from unet_core.training.distributed import (
    DistInfo,
    any_rank,
    barrier,
    dist_from_env,
    init_distributed,
    shutdown,
)
from unet_core.training.losses import balanced_class_weights, segmentation_loss
from unet_core.training.metrics import summarize
from unet_core.training.resume import (
    last_path_for,
    load_resume_state,
    require_resume_state,
    resume_tensors,
    trained_path_for,
)
from unet_core.training.run_log import EPOCHS_FILE, RunLog
from unet_core.training.starting_model import starting_model
from unet_core.training.types import Callback, EpochInfo, StepInfo, TrainConfig, TrainResult, learning_rate
from unet_core.training.validation import ValidationSet, validate


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run can be repeated exactly (on the same device)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def data_fingerprint(examples: Sequence[Example]) -> str:
    """A short hash of the file names, sizes and modification times used for training."""
    import hashlib

    h = hashlib.sha256()
    for ex in sorted(examples, key=lambda e: str(e.image_path)):
        for p in (ex.image_path, ex.mask_path):
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{int(st.st_mtime)};".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:16]


class _Run:
    """State of one training run (kept in one object so the loop reads top to bottom)."""

    def __init__(
        self,
        train_set: Sequence[Example],
        val_set: Sequence[Example],
        classes: ClassTable,
        config: TrainConfig,
        out: Path,
        init: Path | None,
        resume: bool,
        callbacks: Sequence[Callback],
        stop: threading.Event | None,
        dataset_kind: str,
    ) -> None:
        config.validate()
        if not train_set:
            raise ValueError("no training images with masks")
        self.config, self.classes, self.out = config, classes, Path(out)
        self.callbacks = list(callbacks)
        self.stop = stop or threading.Event()
        self.dist: DistInfo = dist_from_env()
        self.resumed: CheckpointMeta | None = None
        if resume:  # nothing to resume: stop before anything is written (out is an earlier run's best)
            self.resumed = read_metadata(require_resume_state(self.out))  # its framing continues
        if self.dist.is_main:  # an output that cannot be written stops the run now, not after training
            check_writable(self.out)
            if config.log_dir is not None:
                check_writable(Path(config.log_dir) / EPOCHS_FILE)
                self.callbacks.append(RunLog(config.log_dir, classes.names, classes.colors))
        self.device = init_distributed(self.dist, select_device(config.device))
        self.amp_dtype = autocast_dtype(self.device, config.amp)
        # channels_last is faster on CUDA and on CPU (measured in benchmarks/model_widths.py)
        self.channels_last = config.channels_last if config.channels_last is not None else self.device.type != "mps"
        seed_everything(config.seed + self.dist.rank)
        self.initial_dice: float | None = None
        self.previews: list[tuple[np.ndarray, np.ndarray]] = []  # a few validation predictions, for the log
        start = starting_model(config, classes, train_set, init, dataset_kind, self.resumed)
        self.model, self.meta, self.parent_hash, self.clicks = start.model, start.meta, start.parent_hash, start.clicks
        self.model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.meta.training = {
            "config": config.to_dict(),
            "train_images": len(train_set),
            "val_images": len(val_set),
            "data_fingerprint": data_fingerprint(list(train_set) + list(val_set)),
        }
        self.click_plan: ClickPlan | None = None
        if self.meta.interactive and self.clicks > 0:
            start = SCRATCH_START if init is None else 0.0  # a trained model already sees the images
            self.click_plan = ClickPlan(self.clicks, encoding=self.meta.guides or GuideEncoding(), start=start)
            self.meta.training["clicks"] = self.clicks
            self.meta.training["clicks_from"] = start
        self.click_rng = np.random.default_rng(config.seed + self.dist.rank)
        self.run_progress = 0.0  # of the step being made (clicks start at a point of it)
        self.size = self.meta.input_size
        self.train_data = SegmentationDataset(
            list(train_set), self.size, classes.num_classes, augment=config.augment, norm=self.meta.normalization,
            scale=self.meta.scale, focus=config.focus_crops, augment_strength=config.augment_strength,
        )
        # decode everything once up front: unreadable files are skipped (and reported), wrong data stops here
        self.skipped = [str(e) for e in self.train_data.preload(skip_bad=True)]
        self.focus = self._focus_source()
        self.class_weights: torch.Tensor | None = None
        if config.class_balance > 0 and classes.num_classes > 2 and len(self.train_data):
            weights = balanced_class_weights(self.train_data.class_pixel_counts(), config.class_balance)
            self.class_weights = torch.from_numpy(weights).to(self.device)
            self.meta.training["class_weights"] = [round(float(v), 4) for v in weights]
        if len(self.train_data) == 0:
            raise DataError("none of the training images could be read", Path(train_set[0].image_path).parent)
        self.val_data = None
        if self.dist.is_main and val_set:
            self.val_data, val_skipped = ValidationSet.build(val_set, self.meta.framing, classes.num_classes)
            self.skipped += [str(e) for e in val_skipped]
        self.has_val = bool(self.val_data) if self.dist.is_main else bool(val_set)
        self.net: nn.Module = self.model
        if self.dist.enabled:
            self.net = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        decay = config.average if config.average is not None else AVERAGE_DECAY if self.click_plan is not None else 0.0
        # only rank 0 validates and saves, so only it keeps an average
        self.average = WeightAverage(self.model, decay) if decay > 0 and self.dist.is_main else None
        if decay > 0:
            self.meta.training["average"] = decay
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.loader = self._make_loader()
        self.epoch, self.global_step, self.elapsed_before = 0, 0, 0.0
        self.best: float | None = None
        self.history: list[dict[str, Any]] = []
        self.last_path = last_path_for(self.out)
        self.trained_path = trained_path_for(self.out)
        self.trained_best: float | None = None  # the best Dice of this run's own epochs
        if resume:
            self._resume()

    # -- setup -----------------------------------------------------------------------------------
    def _focus_source(self) -> FocusSource | None:
        """Where focus samples come from: an interactive model whose encoding has a zoom, framed at a scale
        (a model that stretches images has no finer scale to zoom to), trained with clicks."""
        guides = self.meta.guides
        if guides is not None and guides.zoom > 1 and not zooms(self.meta.scale, guides.zoom):
            self.meta.guides = guides = replace(guides, zoom=1.0)  # no finer view at this scale: none recorded
        if self.click_plan is None or guides is None or guides.zoom <= 1 or self.meta.scale is None \
                or not self.train_data.examples:
            return None
        self.meta.training["focus_share"] = FOCUS_SHARE
        return FocusSource(self.train_data.examples, self.size, self.classes.num_classes, self.meta.scale, guides.zoom,
                           self.meta.normalization)

    def _make_loader(self) -> DataLoader:
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.seed)
        if self.dist.enabled:
            sampler: Any = DistributedSampler(
                self.train_data, num_replicas=self.dist.world_size, rank=self.dist.rank, seed=cfg.seed
            )
        else:
            n = max(len(self.train_data), cfg.min_epoch_samples)
            sampler = RandomSampler(self.train_data, num_samples=n, generator=generator)
        per_rank = len(sampler)  # DistributedSampler already counts one rank's share
        return DataLoader(
            self.train_data,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.num_workers,
            drop_last=per_rank >= 2 * cfg.batch_size,
            pin_memory=self.device.type == "cuda",
            persistent_workers=cfg.num_workers > 0,
            worker_init_fn=_seed_worker,
            generator=generator,
        )

    def _resume(self) -> None:
        state = load_resume_state(require_resume_state(self.out), self.model, self.optimizer)
        self.epoch = state["epoch"]
        self.global_step = state["global_step"]
        self.elapsed_before = state["elapsed"]
        self.best = state["best_val_dice"]
        self.history = list(state["history"])
        dices = [float(r["val_dice"]) for r in self.history if r.get("val_dice") is not None]
        self.trained_best = max(dices, default=None)  # the .trained file's epoch, if one was kept
        if self.average is not None:  # the resume state keeps the weights, not their average: it starts again
            self.average.restart(self.model)

    @property
    def kept(self) -> nn.Module:
        """The weights a run validates and saves: their average (:class:`WeightAverage`), or the model's own."""
        return self.average.module if self.average is not None else self.model

    # -- progress --------------------------------------------------------------------------------
    def progress(self, elapsed: float, steps_per_epoch: int, step_in_epoch: int) -> float:
        cfg = self.config
        by_epoch = (self.epoch + step_in_epoch / max(1, steps_per_epoch)) / cfg.max_epochs()
        by_time = elapsed / cfg.time_limit if cfg.time_limit else 0.0
        return min(1.0, max(by_epoch, by_time))

    # -- one epoch -------------------------------------------------------------------------------
    def train_epoch(self, t0: float, reserve: float) -> tuple[float, str | None]:
        """Train one epoch; returns (mean loss, stop reason or None)."""
        cfg = self.config
        self.net.train()
        if hasattr(self.train_data, "set_epoch"):
            self.train_data.set_epoch(self.epoch)
        if isinstance(self.loader.sampler, DistributedSampler):
            self.loader.sampler.set_epoch(self.epoch)
        steps = len(self.loader)
        total, count, reason = 0.0, 0, None
        tick = time.perf_counter()
        for i, batch in enumerate(self.loader, 1):
            elapsed = self.elapsed_before + time.perf_counter() - t0
            self.run_progress = self.progress(elapsed, steps, i - 1)
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(cfg, self.run_progress)
            INTERACTIVE.wait_clear()  # a click of the interactive model runs first (same process: the app)
            loss = self._step(batch)
            total, count = total + loss, count + 1
            self.global_step += 1
            now = time.perf_counter()
            elapsed = self.elapsed_before + now - t0
            ips = batch["image"].shape[0] * self.dist.world_size / max(1e-9, now - tick)
            tick = now
            progress = self.progress(elapsed, steps, i)
            if self.dist.is_main:
                eta = elapsed * (1 - progress) / progress if progress > 0 else None
                info = StepInfo(self.epoch + 1, i, steps, self.global_step, loss, self.optimizer.param_groups[0]["lr"],
                                ips, elapsed, progress, eta)
                for cb in self.callbacks:
                    cb.on_step(info)
            user_stop = self.stop.is_set()
            out_of_time = cfg.time_limit is not None and elapsed + reserve >= cfg.time_limit
            if any_rank(user_stop, self.dist, self.device):
                reason = "stopped"
            elif any_rank(out_of_time, self.dist, self.device):
                reason = "time_limit"
            if reason:
                break
        return (total / count if count else float("nan")), reason

    def _step(self, batch: dict[str, torch.Tensor]) -> float:
        clicking = self.click_plan is not None and self.click_plan.active(self.run_progress)
        starts, share = self._with_focus(batch) if clicking else (None, None)
        x = batch["image"].to(self.device, non_blocking=True)
        y = batch["mask"].to(self.device, non_blocking=True)
        w = batch["weight"].to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        guide = None
        if clicking and self.click_plan is not None:  # RITM: passes without gradients place the clicks
            guide = simulate_guides(self.model, x, y, self.click_plan, self.click_rng, self.amp_dtype, w, starts, share)
        self.optimizer.zero_grad(set_to_none=True)
        if self.amp_dtype is not None:
            with torch.autocast(self.device.type, dtype=self.amp_dtype):
                logits = self.net(x, guide)
        else:
            logits = self.net(x, guide)
        loss = segmentation_loss(logits, y, w, self.config.dice_weight, self.class_weights)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.average is not None:
            self.average.update(self.model)
        return float(loss.detach())

    def _with_focus(self, batch: dict[str, torch.Tensor]) -> tuple[dict[str, Any] | None, float | None]:
        """Replace the batch's last samples by focus samples (in place) for a share of the click samples; their
        starting masks and classes by index, and the click share that keeps the automatic samples' share."""
        assert self.click_plan is not None  # only called while clicking
        share = self.click_plan.share_at(self.run_progress)
        if self.focus is None:
            return None, share
        n = batch["image"].shape[0]
        samples = self.focus.batch(int(self.click_rng.binomial(n, share * FOCUS_SHARE)), self.click_rng)
        rest = min(1.0, max(0.0, (share * n - len(samples)) / max(1, n - len(samples))))  # from those drawn
        if not samples:
            return None, rest
        first = n - len(samples)
        for key, value in zip(("image", "mask", "weight"), self.focus.tensors(samples), strict=True):
            batch[key] = torch.cat([batch[key][:first], value.to(batch[key].dtype)])
        return {first + i: (s.current, s.cls) for i, s in enumerate(samples)}, rest

    def evaluate(self) -> tuple[float | None, dict[str, Any] | None]:
        """Validation Dice and metrics of the kept weights (rank 0 only; None without a split)."""
        if self.val_data is None:
            return None, None
        predictor = Predictor(self.kept, self.meta, device=self.device, amp=self.config.amp)
        per_image: list[tuple[float, float]] = []
        previews: list[tuple[np.ndarray, np.ndarray]] | None = [] if self.config.log_dir is not None else None
        matrix = validate(predictor, self.val_data, batch_size=self.config.batch_size, per_image=per_image,
                          previews=previews)
        metrics = summarize(matrix, self.classes.names)
        # saved with these weights: the queue trusts their uncertainty only if it ranks their errors
        calibration = Calibration.measure([s for s, _ in per_image], [d for _, d in per_image], self.config.val_split)
        self.meta.training["uncertainty_calibration"] = metrics["uncertainty_calibration"] = calibration.to_dict()
        self.previews = previews or []
        return metrics["dice"]["mean"], metrics

    def save(self, path: Path, with_state: bool, extra: dict[str, Any] | None = None) -> None:
        self.meta.training.update(
            {"epochs": self.epoch, "steps": self.global_step, "best_val_dice": self.best}
        )
        if with_state:
            tensors, metadata = resume_tensors(self.optimizer, extra or {})
            save_checkpoint(path, self.model, self.meta, tensors, metadata)  # the weights a resumed run goes on from
        else:
            save_checkpoint(path, self.kept, self.meta)

    def log(self, record: dict[str, Any]) -> None:
        if self.config.log_dir is None or not self.dist.is_main:
            return
        append_text(Path(self.config.log_dir) / EPOCHS_FILE, json.dumps(record) + "\n")


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % (2**32)
    np.random.seed(seed)
    random.seed(seed)


def train(
    train_set: Sequence[Example],
    val_set: Sequence[Example],
    classes: ClassTable,
    config: TrainConfig,
    out: str | Path,
    *,
    init: str | Path | None = None,
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
    stop: threading.Event | None = None,
    dataset_kind: str = "generic",
    evaluate_initial: bool = False,
) -> TrainResult:
    """Train (from scratch, or from ``init``) and write the best checkpoint to ``out``.

    The last state (weights + optimizer) goes to ``<out stem>.last.safetensors`` after every epoch so
    ``resume=True`` continues where a run stopped. ``stop`` is honoured after the current step. Under
    torchrun the run is data-parallel; only rank 0 validates, calls callbacks and writes files.
    """
    run = _Run(train_set, val_set, classes, config, Path(out), Path(init) if init else None, resume,
               callbacks, stop, dataset_kind)
    try:
        return _loop(run, evaluate_initial)
    finally:
        shutdown(run.dist)


def _loop(run: _Run, evaluate_initial: bool) -> TrainResult:
    cfg, main = run.config, run.dist.is_main
    t0 = time.perf_counter()
    if main:  # what an earlier run killed mid-save left beside either file (a resumed run may never save `out`)
        for path in (run.out, run.last_path, run.trained_path):
            remove_stale_temps(path)
    if evaluate_initial and main:
        # the starting model is the best so far: a run stopped early still leaves a usable `out`
        run.initial_dice, _ = run.evaluate()
        if run.best is None:
            run.best = run.initial_dice
        run.save(run.out, with_state=False)
    if main:
        for cb in run.callbacks:
            cb.on_start({"device": describe_device(run.device), "train_images": len(run.train_data),
                         "val_images": len(run.val_data or []), "size_hw": list(run.size), "scale": run.meta.scale,
                         "arch": run.meta.arch.to_dict(), "amp": str(run.amp_dtype) if run.amp_dtype else None,
                         "world_size": run.dist.world_size, "skipped": run.skipped,
                         "time_limit": cfg.time_limit, "epochs": None if cfg.time_limit else cfg.max_epochs(),
                         "initial_val_dice": run.initial_dice})
    reserve, reason = 0.0, None
    epochs_done_at_start = run.epoch
    plan = run.click_plan  # an interactive run from scratch: epochs before its clicks began never learnt them
    late = plan is not None and plan.start > 0
    clicks_pending = late and not any(r.get("clicks") for r in run.history)  # (a resumed run: its epochs say)
    while run.epoch < cfg.max_epochs():
        loss, reason = run.train_epoch(t0, reserve)
        if reason == "stopped":
            break
        run.epoch += 1
        v0 = time.perf_counter()
        dice, metrics = run.evaluate() if main else (None, None)
        clicked = plan is not None and plan.active(run.run_progress)
        if clicks_pending and clicked:
            clicks_pending = False  # the first epoch that learnt clicks: those before do not compete with it
            run.best = None
        is_best = main and (not run.has_val or (dice is not None and (run.best is None or dice >= run.best)))
        if is_best and run.has_val:
            run.best = dice
        elapsed = run.elapsed_before + time.perf_counter() - t0
        record = {"epoch": run.epoch, "train_loss": loss, "val_dice": dice, "best_val_dice": run.best,
                  "elapsed": elapsed, "steps": run.global_step, **({"clicks": True} if clicked else {})}
        run.history.append(record)
        if main:
            best_trained = dice is not None and (run.trained_best is None or dice >= run.trained_best)
            if is_best:
                run.save(run.out, with_state=False)
            elif best_trained:
                run.save(run.trained_path, with_state=False)  # below the start, but the best this run trained
            if best_trained:
                run.trained_best = dice
            run.save(run.last_path, with_state=True, extra={"epoch": run.epoch, "global_step": run.global_step,
                                                            "elapsed": elapsed, "best_val_dice": run.best,
                                                            "history": run.history})
            run.log(record)
            info = EpochInfo(run.epoch, loss, dice, metrics, run.best, bool(is_best), elapsed,
                             run.progress(elapsed, 1, 0), previews=run.previews)
            for cb in run.callbacks:
                cb.on_epoch(info)
        barrier(run.dist)
        reserve = 1.2 * (time.perf_counter() - v0)
        if reason == "time_limit":
            break
        if cfg.patience is not None and main:
            counted = [r for r in run.history if r.get("clicks")] if late else run.history  # as the best is
            recent = [r["val_dice"] for r in counted[-(cfg.patience + 1):]]
            if len(recent) > cfg.patience and all(v is not None for v in recent) and \
                    max(recent[1:]) <= recent[0]:
                reason = "early_stop"
        if any_rank(reason == "early_stop", run.dist, run.device):
            reason = "early_stop"
            break
        if cfg.time_limit is not None and run.elapsed_before + time.perf_counter() - t0 + reserve >= cfg.time_limit:
            reason = "time_limit"
            break
    if main and not run.out.exists():
        # stopped before the first validation: keep the (initial or partial) weights so nothing is lost
        run.save(run.out, with_state=False)
    result = TrainResult(
        best_path=run.out, last_path=run.last_path, best_val_dice=run.best, initial_val_dice=run.initial_dice,
        trained_path=run.trained_path if main and run.trained_path.exists() else None,
        epochs=run.epoch - epochs_done_at_start, steps=run.global_step,
        seconds=run.elapsed_before + time.perf_counter() - t0, stop_reason=reason or "completed",
        history=run.history,
    )
    if main:
        for cb in run.callbacks:
            cb.on_end(result)
    return result
