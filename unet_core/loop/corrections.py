"""The correction loop's data rules: fixed validation split, correction-weighted fine-tune and scratch jobs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from threading import Event
from typing import Any

import numpy as np

from unet_core.data.dataset import Example
from unet_core.data.io import MaskFormat
from unet_core.data.layouts import DatasetLayout
from unet_core.data.lookalikes import ImageGroups, cache_path, groups_by_name, lookalike_groups
from unet_core.data.split import split_by_group
from unet_core.loop.queue import DEFAULT_STRATEGY, order_queue
from unet_core.loop.records import ImageRecord
from unet_core.store.project import ProjectStore
from unet_core.store.state import DONE_STATUSES
from unet_core.training.calibration import Calibration
from unet_core.training.types import Callback, TrainConfig, TrainResult

VAL_FRACTION = 0.2
SPLIT_SEED = 0


@dataclass
class JobData:
    """What a run trains and validates on."""

    train: list[Example]
    val: list[Example]
    replay: list[Example]
    corrected_train: int  # corrected images used for training
    corrected_val: int  # corrected images held out for validation
    val_split: str = ""  # :func:`split_id` of the validation split the ``val`` pairs come from


def image_groups(layout: DatasetLayout, records: Sequence[ImageRecord], store: ProjectStore | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ImageGroups:
    """Near-duplicate and split groups of the images (:mod:`unet_core.data.lookalikes`), cached in ``store``.

    Decodes each image once for its signature; call it off the GUI thread.
    """
    paths = {r.stem: r.image_path for r in records}
    by_name = layout.group_of if groups_by_name(layout.kind) else None
    cache = cache_path(store.root) if store is not None else None
    return lookalike_groups(paths, by_name, cache, progress, write_cache=store is None or not store.read_only)


def _split_names(layout: DatasetLayout, stems: Sequence[str], groups: ImageGroups | None) -> list[str]:
    if groups is None:
        return [layout.group_of(s) for s in stems]
    return [groups.split.get(s, layout.group_of(s)) for s in stems]


def validation_stems(layout: DatasetLayout, records: Sequence[ImageRecord],
                     groups: ImageGroups | None = None) -> set[str]:
    """The fixed validation split: about 20 % of the images in whole groups, the same every round.

    ``groups`` (from :func:`image_groups`) keeps look-alike frames on one side; without it images
    are grouped by name only (:meth:`DatasetLayout.group_of`: Carvana cars, else one group per image).
    """
    stems = [r.stem for r in records]
    _, val = split_by_group(stems, _split_names(layout, stems, groups), VAL_FRACTION, seed=SPLIT_SEED)
    return set(val)


def split_id(val_stems: Collection[str]) -> str:
    """A short id of a validation split (its image stems): Dice values are comparable only when equal.

    The app records it with every model it trains (``TrainConfig.val_split``, kept in the checkpoint),
    so a Dice measured on the CLI's own split is never ranked against one measured on the app's.
    """
    digest = hashlib.sha256("\n".join(sorted(set(val_stems))).encode("utf-8")).hexdigest()
    return f"app-{digest[:12]}"


def done_stems(records: Sequence[ImageRecord]) -> set[str]:
    """Images the user settled (corrected or reviewed): out of the queue."""
    return {r.stem for r in records if r.status in DONE_STATUSES}


def unlearnt_stems(records: Sequence[ImageRecord], version: str | None) -> set[str]:
    """Images settled under the active model ``version``: not learnt yet, so their look-alikes wait."""
    if version is None:
        return set()
    return {r.stem for r in records if r.status in DONE_STATUSES and r.corrected_with == version}


def correction_queue(layout: DatasetLayout, records: Sequence[ImageRecord], done: Collection[str],
                     scores: Mapping[str, float] | None, strategy: str = DEFAULT_STRATEGY, seed: int = 0,
                     groups: ImageGroups | None = None, unlearnt: Collection[str] = (),
                     calibrated: bool = False) -> list[str]:
    """The images still to correct (not in ``done``, readable), in the order a person works through them.

    The app's "Next in Queue" and the simulated annotator both take their next image from here:
    :func:`unet_core.loop.queue.order_queue` over the remaining stems, ``scores`` from the active
    model (missing ones go last), the fixed validation split spread through the queue; the default
    order ranks by uncertainty only when ``calibrated`` (:func:`queue_calibration` is trusted), else shuffles. With
    ``groups``, uncertainty order also keeps look-alikes apart: one image of each group of alike
    images first, and those like an ``unlearnt`` image (corrected since the active model was trained)
    after the rest.
    """
    skip = set(done)
    remaining = [r.stem for r in records if r.stem not in skip and not r.error]
    similar = groups.lookalike if groups is not None else None
    covered = {similar.get(s, s) for s in unlearnt} if similar is not None else set()
    return order_queue(remaining, strategy, scores, seed=seed, validation=validation_stems(layout, records, groups),
                       groups=similar, covered=covered, calibrated=calibrated)


def queue_calibration(training: Mapping[str, Any] | None, split: str | None) -> Calibration | None:
    """What the active model's training (its checkpoint's ``training`` metadata) recorded of its uncertainty
    against its errors on the validation split ``split`` (:func:`split_id`); ``None`` when it recorded
    nothing, or measured it on another split (e.g. a model trained by the CLI or on another folder)."""
    calibration = None if training is None else Calibration.from_training(training)
    if calibration is None or calibration.split != split:
        return None
    return calibration


def collect(layout: DatasetLayout, store: ProjectStore, records: Sequence[ImageRecord],
            weights_from: str | None, boost: float = 4.0, groups: ImageGroups | None = None) -> JobData:
    """Corrected pairs (with correction weights), original pairs for replay, and the validation pairs.

    Validation uses the user's correction where one exists (it is the verified truth), else the
    dataset's own mask. Images in the validation split are never trained on. ``groups`` defaults to
    :func:`image_groups` (signatures cached in the store).
    """
    from unet_core.training.finetune import correction_weight_map

    if groups is None:
        groups = image_groups(layout, records, store)
    val_stems = validation_stems(layout, records, groups)
    corrected = set(store.corrected_stems())
    train, val, replay = [], [], []
    n_train = n_val = 0
    for rec in records:
        group = groups.split.get(rec.stem, layout.group_of(rec.stem))
        if rec.stem in corrected:
            if rec.stem in val_stems:
                val.append(Example(rec.image_path, store.mask_path(rec.stem), MaskFormat.INDEX_PNG, group))
                n_val += 1
                continue
            weight = None
            if weights_from is not None:
                version = store.state(rec.stem).model_version or weights_from
                cached = store.load_prediction(rec.stem, version)
                mask = store.load_mask(rec.stem)
                if cached is not None and mask is not None and cached[0].shape == mask.shape:
                    weight = correction_weight_map(cached[0], mask, boost=boost)
            train.append(Example(rec.image_path, store.mask_path(rec.stem), MaskFormat.INDEX_PNG, group,
                                 weight=weight))
            n_train += 1
        elif rec.mask_path is not None and not rec.error:
            fmt = rec.mask_format or layout.mask_format  # an imported mask: an index PNG
            ex = Example(rec.image_path, rec.mask_path, fmt, group)
            (val if rec.stem in val_stems else replay).append(ex)
    return JobData(train, val, replay, n_train, n_val, split_id(val_stems))


def count_usable(layout: DatasetLayout, store: ProjectStore, records: Sequence[ImageRecord],
                 groups: ImageGroups | None = None) -> tuple[int, int, int]:
    """(corrected for training, corrected held out, original masks) — for the panel's tooltips."""
    val_stems = validation_stems(layout, records, groups)
    corrected = set(store.corrected_stems())
    c_train = sum(1 for r in records if r.stem in corrected and r.stem not in val_stems)
    c_val = sum(1 for r in records if r.stem in corrected and r.stem in val_stems)
    originals = sum(1 for r in records if r.mask_path is not None)
    return c_train, c_val, originals


def finetune_job(checkpoint: Path, version: str | None, layout: DatasetLayout, store: ProjectStore,
                 records: Sequence[ImageRecord], out: Path, config: TrainConfig,
                 replay_fraction: float) -> Callable[..., TrainResult]:
    """A job (callbacks, stop) -> TrainResult fine-tuning ``checkpoint`` on the corrections (``version``: the
    store's version it is, whose cached predictions weight the corrected pixels; None: no weighting)."""
    from unet_core.loop.classes import shown_classes
    from unet_core.model.checkpoint import read_metadata
    from unet_core.training.finetune import fine_tune

    snapshot = list(records)

    def job(callbacks: Sequence[Callback] = (), stop: Event | None = None) -> TrainResult:
        classes = shown_classes(layout, read_metadata(checkpoint).classes)  # classes added since grow the model
        data = collect(layout, store, snapshot, weights_from=version)
        if not data.train:
            raise ValueError("no corrected images outside the validation split to fine-tune on")
        return fine_tune(checkpoint, data.train, data.val, out, replay_pool=data.replay,
                         replay_fraction=replay_fraction, config=replace(config, val_split=data.val_split),
                         callbacks=callbacks, stop=stop, classes=classes)

    return job


def scratch_job(layout: DatasetLayout, store: ProjectStore, records: Sequence[ImageRecord], out: Path,
                config: TrainConfig, current: Path | None) -> Callable[..., TrainResult]:
    """A job training a new model on corrections + original masks; the current model is scored on the same split."""
    from unet_core.training.trainer import train

    snapshot = list(records)

    def job(callbacks: Sequence[Callback] = (), stop: Event | None = None) -> TrainResult:
        data = collect(layout, store, snapshot, weights_from=None)
        examples = data.train + data.replay
        if not examples:
            raise ValueError("no masks to train on: correct some images or open a folder with masks")
        result = train(examples, data.val, layout.classes, replace(config, val_split=data.val_split), out,
                       callbacks=callbacks, stop=stop, dataset_kind=layout.kind)
        if current is not None and data.val and result.epochs > 0:
            # measured even when stopped: without it a run stopped after one poor epoch would have
            # nothing to compare with and replace a better model without asking
            result.initial_val_dice = score(current, data.val, config.device)
        return result

    return job


def score(checkpoint: Path, val: Sequence[Example], device: str) -> float | None:
    """Validation Dice of a checkpoint on ``val`` (full resolution)."""
    from unet_core.model.predictor import Predictor
    from unet_core.training.metrics import summarize
    from unet_core.training.validation import ValidationSet, validate

    predictor = Predictor.from_checkpoint(checkpoint, device=device)
    vset, _ = ValidationSet.build(val, predictor.framing, predictor.num_classes)
    if not len(vset):
        return None
    return summarize(validate(predictor, vset), predictor.meta.classes.names)["dice"]["mean"]


def effort_per_round(store: ProjectStore) -> list[tuple[str, int, float]]:
    """(model version, corrected images, mean editing seconds per image) in version order."""
    by_version: dict[str, list[float]] = {}
    for st in store.states().values():
        if st.status.value in DONE_STATUSES and st.edit_seconds > 0:
            by_version.setdefault(st.model_version or "none", []).append(st.edit_seconds)
    order = ["none"] + [m.id for m in store.models()]
    return [(v, len(by_version[v]), float(np.mean(by_version[v]))) for v in order if v in by_version]
