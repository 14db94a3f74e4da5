"""The correction loop, simulated end to end: predict, order the queue, annotate, save, fine-tune, evaluate held out."""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unet_core.clicks.predict import ClickPredictor
from unet_core.data.io import read_image, read_mask
from unet_core.data.layouts import detect_layout, make_layout
from unet_core.errors import DataError
from unet_core.loop.corrections import image_groups
from unet_core.loop.policy import is_correction
from unet_core.loop.queue import DEFAULT_STRATEGY, check_strategy
from unet_core.loop.records import ImageRecord
from unet_core.loop.runs import adopt_run, import_model_file, new_run_path, remove_run
from unet_core.sim.annotator import AnnotatorConfig
from unet_core.sim.effort import ALL_TOOL_SETS, correct_for_loop
from unet_core.sim.heldout import heldout_eval, make_working_folder, split_heldout
from unet_core.store.project import ProjectStore
from unet_core.training.starting_model import INTERACTIVE_CLICKS

if TYPE_CHECKING:
    from unet_core.model.predictor import Prediction

Log = Callable[[str], None]


@dataclass
class LoopConfig:
    """One simulated labelling session. See docs/loop.md for what each round does."""

    rounds: int = 4
    per_round: int = 3  # images corrected between two fine-tunes (K)
    strategy: str = DEFAULT_STRATEGY  # queue order: "auto" (the app's default), "uncertainty" or "random"
    target_dice: float = 0.99  # the annotator stops correcting an image at this Dice against the truth
    heldout_fraction: float = 0.25  # of the groups (Carvana: cars), never shown, evaluated after each round
    heldout_stems: tuple[str, ...] = ()  # hold out exactly these images instead of a fraction of the groups
    seed: int = 0
    arch: str = "unet-small"
    size_hw: tuple[int, int] | None = None  # model input size; None: chosen from the data
    steps_per_round: int | None = 144  # optimisation steps per round (epochs follow from the images); reproducible
    epochs_per_round: int | None = None  # used when steps_per_round is None (default 30)
    time_per_round: float | None = 600.0  # a safety cap on each round's training seconds (None: no cap)
    scratch_lr: float = 2e-3
    finetune_lr: float = 1e-3
    batch_size: int = 4
    patience: int | None = None  # early stop: epochs without a better validation Dice (None: half the epochs)
    replay_fraction: float = 0.3
    device: str = "cpu"
    start_model: Path | None = None  # round 0 predicts with this model; None: the user paints from scratch
    annotator: AnnotatorConfig = field(default_factory=AnnotatorConfig)
    tools: str = "brush"  # the person's tool set (unet_core.sim.effort.ALL_TOOL_SETS; click: models take clicks)

    def validate(self) -> None:
        """Raise ``ValueError`` for settings that cannot work."""
        check_strategy(self.strategy)
        if self.tools not in ALL_TOOL_SETS:
            raise ValueError(f"unknown tool set {self.tools!r}; choose from {', '.join(ALL_TOOL_SETS)}")
        if self.rounds < 1 or self.per_round < 1:
            raise ValueError("rounds and images per round must be at least 1")
        if not 0 <= self.heldout_fraction < 1:
            raise ValueError(f"held-out fraction must be in [0, 1), got {self.heldout_fraction}")
        if self.time_per_round is not None and self.time_per_round <= 0:
            raise ValueError("time per round must be positive")
        if (self.steps_per_round is not None and self.steps_per_round < 1) or \
                (self.epochs_per_round is not None and self.epochs_per_round < 1):
            raise ValueError("steps and epochs per round must be at least 1")
        replace(self.annotator, target_dice=self.target_dice).validate()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        d = asdict(self)
        d["start_model"] = str(self.start_model) if self.start_model else None
        d["size_hw"] = list(self.size_hw) if self.size_hw else None
        d["heldout_stems"] = list(self.heldout_stems)
        return d


def round_epochs(cfg: LoopConfig, train_images: int) -> int:
    """Epochs for a round: enough for ``steps_per_round`` optimisation steps on ``train_images`` images
    (an epoch repeats a small set up to the recipe's ``EPOCH_SAMPLES`` samples, as the loader does)."""
    if cfg.steps_per_round is None:
        return cfg.epochs_per_round or 30
    from unet_core.training.recipes import EPOCH_SAMPLES

    b = cfg.batch_size
    samples = max(train_images, EPOCH_SAMPLES)
    per_epoch = samples // b if samples >= 2 * b else math.ceil(samples / b)
    return max(1, math.ceil(cfg.steps_per_round / max(1, per_epoch)))


def _train_config(cfg: LoopConfig, finetune: bool, round_index: int, train_images: int) -> Any:
    from unet_core.loop.rounds import round_config

    epochs = round_epochs(cfg, train_images)
    patience = cfg.patience if cfg.patience is not None else max(4, epochs // 2)
    return round_config(  # the app's one-click recipe
        arch=cfg.arch, size_hw=cfg.size_hw, epochs=epochs, time_limit=cfg.time_per_round,
        batch_size=cfg.batch_size, lr=cfg.finetune_lr if finetune else cfg.scratch_lr,
        seed=cfg.seed + round_index, device=cfg.device, patience=patience,
        clicks=INTERACTIVE_CLICKS if cfg.tools == "click" else None,  # the share an interactive model keeps
    )


class _Loop:
    """State of one simulated session (kept in one object so :meth:`run_round` reads top to bottom)."""

    def __init__(self, data: Path, work: Path, cfg: LoopConfig, log: Log, resume: bool = False) -> None:
        cfg.validate()
        self.cfg, self.log = cfg, log
        self.layout = detect_layout(data)
        pairs, _ = self.layout.pairs()
        labelled = [p for p in pairs if p.mask is not None]
        if len(labelled) < 2:
            raise DataError("the benchmark needs at least two images with ground-truth masks", self.layout.root)
        source_groups = image_groups(self.layout, [ImageRecord(p.stem, p.image) for p in labelled])
        self.pool, self.heldout = split_heldout(labelled, cfg.heldout_fraction, cfg.seed, cfg.heldout_stems,
                                                groups=source_groups.split)
        self.truth = {p.stem: p for p in self.pool}
        self.num_classes = self.layout.classes.num_classes
        if cfg.start_model is not None:  # check it before anything is written
            self._check_model(Path(cfg.start_model))
        if resume:  # a copy of a session's working folder: continue where it stopped
            self.work = make_layout(self.layout.kind, Path(work).absolute(), self.layout.classes)
        else:
            self.work = make_working_folder(self.layout, self.pool, work)
        self.records = [ImageRecord(p.stem, self.work.image_dir / p.image.name) for p in self.pool]
        self.store = ProjectStore.for_dataset(self.work.root)
        self.groups = image_groups(self.work, self.records, self.store)  # as the app: look-alikes together
        self.ann_cfg = replace(cfg.annotator, target_dice=cfg.target_dice, seed=cfg.seed)
        self.model: tuple[str, Path] | None = None
        self.clicker: ClickPredictor | None = None  # the current model's clicks (``tools="click"``)
        self.done: list[str] = list(self.store.corrected_stems()) if resume else []
        self.eval_cache: dict[str | None, dict[str, Any]] = {}
        current = self.store.current_model() if resume else None
        if current is not None:
            self.model = (current.id, current.path)
        if cfg.start_model is not None and not resume:
            self._import_start_model(Path(cfg.start_model))

    def _check_model(self, path: Path) -> Any:
        from unet_core.model.checkpoint import read_metadata

        meta = read_metadata(path)
        if meta.classes.num_classes != self.num_classes:
            raise DataError(f"model predicts {meta.classes.num_classes} classes, the data has {self.num_classes}", path)
        return meta

    def _import_start_model(self, path: Path) -> None:
        version, dest, _ = import_model_file(self.store, path, self.num_classes)  # the app's routine
        self.model = (version, dest)

    def heldout_report(self) -> dict[str, Any]:
        """Held-out Dice and correction effort of the current model (cached per version)."""
        version = self.model[0] if self.model else None
        if version not in self.eval_cache:
            path = self.model[1] if self.model else None
            self.eval_cache[version] = heldout_eval(path, self.layout, self.heldout, self.cfg.device, self.ann_cfg,
                                                        self.cfg.tools)
        return self.eval_cache[version]

    def predict(self, stems: Sequence[str]) -> dict[str, Any]:
        """Predict ``stems`` with the current model and cache them in the store (as the app does)."""
        if self.model is None:
            return {}
        from unet_core.model.predictor import Predictor

        version, path = self.model
        predictor = Predictor.from_checkpoint(path, device=self.cfg.device)
        self.clicker = ClickPredictor(predictor) if self.cfg.tools == "click" and predictor.meta.interactive else None
        preds = {}
        for rec in self.records:
            if rec.stem in stems:
                pred = predictor.predict(read_image(rec.image_path))
                self.store.save_prediction(rec.stem, version, pred.labels, pred.uncertainty, pred.score)
                preds[rec.stem] = pred
        return preds

    def correct(self, stem: str, pred: Prediction | None, val_stems: set[str]) -> dict[str, Any]:
        """The simulated person corrects one image; the mask and the effort go to the store."""
        pair = self.truth[stem]
        assert pair.mask is not None
        truth = read_mask(pair.mask, self.layout.mask_format)
        start = pred.labels if pred is not None else None
        initial = np.zeros(truth.shape, np.uint8) if start is None else start
        fields, mask = correct_for_loop(initial, truth, self.num_classes, self.cfg.tools, self.ann_cfg,
                                        pair.image, pred, self.clicker if pred is not None else None)
        self.store.save_mask(stem, mask)
        self.store.add_edit(stem, fields["seconds"], fields["pixels_changed"], fields["actions"])
        # the app's rule: a mask left as it started (the prediction was already right) is reviewed, not corrected
        status = "corrected" if is_correction(mask, [start]) else "reviewed"
        version = self.model[0] if self.model else None
        self.store.update_state(stem, status=status, model_version=version)
        record = next(r for r in self.records if r.stem == stem)  # as the app's record: status and model
        record.status, record.corrected_with = status, version
        self.done.append(stem)
        relative = fields["strokes"] / fields["scratch_strokes"] if fields.get("scratch_strokes") else None
        return {"stem": stem, "uncertainty": pred.score if pred is not None else None,
                "validation": stem in val_stems, **fields, "effort_vs_scratch": relative}

    def train(self, round_index: int) -> dict[str, Any]:
        """The app's one-click: fine-tune the current model (or train one from scratch) and keep it if not worse."""
        from unet_core.loop.corrections import count_usable, finetune_job, scratch_job
        from unet_core.loop.policy import keep_new_version, trained_dice

        out = new_run_path(self.store)  # a version number only if the result is kept, as in the app
        finetune = self.model is not None
        c_train, c_val, _ = count_usable(self.work, self.store, self.records, self.groups)
        config = _train_config(self.cfg, finetune, round_index, c_train)
        if self.model is not None:
            job = finetune_job(self.model[1], self.model[0], self.work, self.store, self.records, out, config,
                               self.cfg.replay_fraction)
        else:
            job = scratch_job(self.work, self.store, self.records, out, config, None)
        info: dict[str, Any] = {"mode": "fine-tune" if finetune else "train from scratch", "train_images": c_train,
                                "val_images": c_val, "epoch_budget": config.epochs, "version": None, "kept": False}
        t0 = time.perf_counter()
        try:
            result = job()
        except ValueError as exc:  # e.g. every correction so far fell in the validation split
            info["note"] = str(exc)
            remove_run(out)
            return info
        before, after = result.initial_val_dice, trained_dice(result.history)
        kept = keep_new_version(before, after)  # the app's rule: Dice did not drop, and was measured
        info.update(finetune_seconds=round(time.perf_counter() - t0, 1), train_seconds=round(result.seconds, 1),
                    epochs=result.epochs, stop_reason=result.stop_reason, val_dice_before=before,
                    val_dice_after=after, kept=kept)
        if kept:
            note = f"{info['mode']}: {result.epochs} epochs, stop: {result.stop_reason}"
            version, path = adopt_run(self.store, out, self.model[0] if self.model else None, after, note)
            self.model = (version, path)
            info["version"] = version
        remove_run(out)
        return info

    def run_round(self, r: int) -> dict[str, Any] | None:
        """One round: predict the queue, correct the next K images, fine-tune, evaluate held out."""
        from unet_core.loop.corrections import (
            correction_queue,
            queue_calibration,
            split_id,
            unlearnt_stems,
            validation_stems,
        )
        from unet_core.model.checkpoint import read_metadata

        remaining = [rec.stem for rec in self.records if rec.stem not in self.done]
        if not remaining:
            return None
        t_round = time.perf_counter()
        used_version = self.model[0] if self.model else None
        before = self.heldout_report()
        t0 = time.perf_counter()
        preds = self.predict(remaining)
        predict_s = time.perf_counter() - t0
        scores = {s: p.score for s, p in preds.items()} or None
        val_stems = validation_stems(self.work, self.records, self.groups)
        version = self.model[0] if self.model else None  # the app's queue: look-alikes of unlearnt images wait
        split = split_id(val_stems)
        calibration = queue_calibration(read_metadata(self.model[1]).training, split) if self.model else None
        queue = correction_queue(self.work, self.records, self.done, scores, self.cfg.strategy,
                                 seed=self.cfg.seed + r, groups=self.groups,
                                 unlearnt=unlearnt_stems(self.records, version),
                                 calibrated=calibration is not None and calibration.trusted)
        chosen = queue[:self.cfg.per_round]
        t0 = time.perf_counter()
        images = []
        for stem in chosen:
            pred = preds.get(stem)
            images.append(self.correct(stem, pred, val_stems))
            self.log(f"  round {r} {stem}: start Dice {images[-1]['dice_start']:.3f}, "
                     f"{images[-1]['actions']} actions ({images[-1]['strokes']} brush strokes), "
                     f"{images[-1]['seconds']:.0f} s, {images[-1]['pixels_changed']} px")
        annotate_s = time.perf_counter() - t0
        training = self.train(r)
        after = self.heldout_report()
        record = {
            "round": r, "model_version": used_version, "strategy": self.cfg.strategy, "images": images,
            "calibration": None if calibration is None else calibration.to_dict(),
            "ranked_by_uncertainty": bool(scores) and (self.cfg.strategy == "uncertainty" or (
                self.cfg.strategy == "auto" and calibration is not None and calibration.trusted)),
            "corrected_so_far": len(self.done),
            "strokes_per_image": _mean(images, "strokes"), "pixels_changed_per_image": _mean(images, "pixels_changed"),
            "seconds_per_image": _mean(images, "seconds"), "start_dice_per_image": _mean(images, "dice_start"),
            "actions_per_image": _mean(images, "actions"), "heldout_actions_after": after["actions_per_image"],
            "scratch_strokes_per_image": _mean(images, "scratch_strokes"),
            "effort_vs_scratch": _ratio(images, "strokes", "scratch_strokes"),
            "heldout_dice_before": before["dice"], "heldout_dice_after": after["dice"],
            "heldout_strokes_before": before["strokes_per_image"], "heldout_strokes_after": after["strokes_per_image"],
            "heldout_seconds_before": before["seconds_per_image"],
            "heldout_seconds_after": after["seconds_per_image"], "training": training,
            "finetune_seconds": training.get("finetune_seconds"), "predict_seconds": round(predict_s, 1),
            "annotate_seconds": round(annotate_s, 1), "round_seconds": round(time.perf_counter() - t_round, 1),
        }
        self.log(f"round {r} [{self.cfg.strategy}]: {record['strokes_per_image']:.1f} strokes, "
                 f"{record['actions_per_image']:.1f} actions, {record['seconds_per_image']:.0f} s per image "
                 f"({_fmt(record['effort_vs_scratch'])} of from-scratch), held-out Dice "
                 f"{_fmt(before['dice'])} -> {_fmt(after['dice'])}, held-out seconds/image "
                 f"{_fmt(before['seconds_per_image'])} -> {_fmt(after['seconds_per_image'])}, "
                 f"{training['mode']} {training.get('finetune_seconds')} s")
        return record


def _mean(items: Sequence[dict[str, Any]], key: str) -> float | None:
    """The mean of ``key`` over the images that have it (``None`` when none has: e.g. the smart tool set
    does not paint each image a second time from scratch); 0.0 for no images."""
    values = [it[key] for it in items if it.get(key) is not None]
    if not items:
        return 0.0
    return float(np.mean(values)) if values else None


def _ratio(items: Sequence[dict[str, Any]], num: str, den: str) -> float | None:
    """sum(num) / sum(den) over the round's images: effort relative to painting the same images from scratch."""
    pairs = [(it[num], it[den]) for it in items if it.get(den) is not None]
    total = sum(d for _, d in pairs)
    return float(sum(n for n, _ in pairs) / total) if total else None


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}" if v <= 1 else f"{v:.1f}"


def summarize_rounds(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Round-over-round figures: effort of the last round against round 0, held-out Dice first and last."""
    if not rounds:
        return {}
    first, last = rounds[0], rounds[-1]
    ratio = last["strokes_per_image"] / first["strokes_per_image"] if first["strokes_per_image"] else None
    sec_ratio = last["seconds_per_image"] / first["seconds_per_image"] if first["seconds_per_image"] else None
    return {
        "rounds": len(rounds),
        "images_corrected": sum(len(r["images"]) for r in rounds),
        "strokes_per_image": [round(r["strokes_per_image"], 2) for r in rounds],
        "effort_vs_scratch": [None if r["effort_vs_scratch"] is None else round(r["effort_vs_scratch"], 3)
                              for r in rounds],
        "seconds_per_image": [round(r["seconds_per_image"], 1) for r in rounds],
        "actions_per_image": [round(r["actions_per_image"], 2) for r in rounds],
        "heldout_dice_after": [r["heldout_dice_after"] for r in rounds],
        "heldout_strokes": [rounds[0]["heldout_strokes_before"]] + [r["heldout_strokes_after"] for r in rounds],
        "heldout_seconds": [r["heldout_seconds_after"] for r in rounds],
        "heldout_actions": [r["heldout_actions_after"] for r in rounds],
        "strokes_last_vs_first": ratio,
        "seconds_last_vs_first": sec_ratio,
        "total_strokes": int(sum(im["strokes"] for r in rounds for im in r["images"])),
        "total_seconds": round(sum(im["seconds"] for r in rounds for im in r["images"]), 1),
        "strokes_after_round0": int(sum(im["strokes"] for r in rounds[1:] for im in r["images"])),
    }


def simulate_loop(data: str | Path, work: str | Path, config: LoopConfig | None = None,
                  log: Log | None = None, resume_from: dict[str, Any] | None = None) -> dict[str, Any]:
    """Play the user on ``data`` (a folder with ground truth) for ``config.rounds`` rounds; return a JSON-able report.

    The folder's images (minus a held-out set of groups) are linked into ``work`` without their
    masks; the store, corrections and model versions live in ``work/.maskloop``. Each round the
    current model predicts the remaining images (cached in the store), the queue is ordered
    (:func:`unet_core.loop.queue.order_queue`), the next ``per_round`` images are corrected by
    :func:`unet_core.sim.annotator.annotate` and saved through the store, then the app's one-click job
    (:func:`unet_core.loop.corrections.finetune_job`, or ``scratch_job`` without a model) runs and the
    new version is kept when its validation Dice did not drop. Held-out Dice and correction effort
    are measured at full resolution before and after every round.

    ``resume_from``: the report of an earlier session whose working folder was copied to ``work``;
    its rounds are kept and the session continues from there (see :func:`simulate_strategies`).
    """
    cfg = config or LoopConfig()
    say = log or (lambda _msg: None)
    loop = _Loop(Path(data), Path(work), cfg, say, resume=resume_from is not None)
    say(f"{loop.layout.kind}: {len(loop.pool)} images in the queue, {len(loop.heldout)} held out; "
        f"order {cfg.strategy}, {cfg.rounds} rounds of {cfg.per_round}")
    t0 = time.perf_counter()
    rounds = [{**r, "strategy": cfg.strategy, "shared": True} for r in (resume_from or {}).get("rounds", [])]
    if rounds and loop.model is not None:
        last = rounds[-1]
        loop.eval_cache[loop.model[0]] = {"dice": last["heldout_dice_after"],
                                          "strokes_per_image": last["heldout_strokes_after"],
                                          "seconds_per_image": last["heldout_seconds_after"],
                                          "actions_per_image": last.get("heldout_actions_after")}
    try:
        for r in range(len(rounds), cfg.rounds):
            record = loop.run_round(r)
            if record is None:
                say(f"queue empty after {r} rounds")
                break
            rounds.append(record)
        models = [{"id": m.id, "parent": m.parent, "val_dice": m.val_dice, "note": m.note} for m in loop.store.models()]
    finally:
        loop.store.close()
    return {
        "data": str(Path(data).absolute()), "layout": loop.layout.kind, "work": str(loop.work.root),
        "strategy": cfg.strategy, "config": cfg.to_dict(), "queue_images": len(loop.pool),
        "heldout_images": len(loop.heldout), "heldout_stems": [p.stem for p in loop.heldout],
        "rounds": rounds, "summary": summarize_rounds(rounds), "models": models,
        "seconds": round(time.perf_counter() - t0, 1) + (resume_from or {}).get("seconds", 0.0),
    }


def simulate_strategies(data: str | Path, work: str | Path, config: LoopConfig, strategies: Sequence[str],
                        log: Log | None = None) -> dict[str, dict[str, Any]]:
    """:func:`simulate_loop` once per queue order, in ``work/work-<strategy>``.

    Without a start model, round 0 does not depend on the order (the user paints from scratch in
    the seeded random order), so it runs once and every strategy continues from a copy of it:
    the comparison then starts from the very same model, which CPU training under varying load
    does not guarantee bit for bit.
    """
    work = Path(work)
    for s in strategies:
        check_strategy(s)
    if config.start_model is not None or len(strategies) < 2 or config.rounds < 2:
        return {s: simulate_loop(data, work / f"work-{s}", replace(config, strategy=s), log) for s in strategies}
    first = simulate_loop(data, work / "round0", replace(config, strategy="random", rounds=1), log)
    reports = {}
    for s in strategies:
        shutil.copytree(work / "round0", work / f"work-{s}", symlinks=True)
        reports[s] = simulate_loop(data, work / f"work-{s}", replace(config, strategy=s), log, resume_from=first)
    return reports


__all__ = [
    "ImageRecord",
    "LoopConfig",
    "heldout_eval",
    "make_working_folder",
    "round_epochs",
    "simulate_loop",
    "simulate_strategies",
    "split_heldout",
    "summarize_rounds",
]
