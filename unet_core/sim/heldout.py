"""Data of a simulated labelling session: held-out split, the working folder of links, held-out evaluation."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unet_core.data.io import read_image, read_mask
from unet_core.data.layouts import DatasetLayout, Pair, make_layout
from unet_core.data.split import split_by_group
from unet_core.sim.annotator import AnnotatorConfig
from unet_core.sim.effort import correct_for_loop


def split_heldout(pairs: Sequence[Pair], fraction: float, seed: int, stems: Sequence[str] = (),
                  groups: Mapping[str, str] | None = None) -> tuple[list[Pair], list[Pair]]:
    """(pool the annotator works through, held-out test pairs), split by group so a car is on one side.

    ``groups`` (stem → group, e.g. :func:`unet_core.data.lookalikes.lookalike_groups` joining look-alike
    frames) replaces the layout's name-based ``Pair.group``. ``stems``: hold out exactly these images
    instead; every one must be a labelled image of the folder.
    """
    if stems:
        known = {p.stem for p in pairs}
        missing = [s for s in stems if s not in known]
        if missing:
            raise ValueError(f"held-out images not among the labelled images: {', '.join(missing[:5])}")
        chosen = set(stems)
        if len(chosen) >= len(known):
            raise ValueError("holding out every image leaves nothing to correct")
        return [p for p in pairs if p.stem not in chosen], [p for p in pairs if p.stem in chosen]
    if fraction <= 0:
        return list(pairs), []
    names = [groups.get(p.stem, p.group) if groups is not None else p.group for p in pairs]
    return split_by_group(list(pairs), names, fraction, seed=seed + 7919)


def make_working_folder(layout: DatasetLayout, pairs: Sequence[Pair], dest: Path) -> DatasetLayout:
    """A folder of the same layout at ``dest`` holding links to ``pairs``' images and no masks.

    The store (``dest/.maskloop``) is written there, never into the source dataset. ``dest`` must
    be missing or empty; images are symlinked (copied where links are not possible).
    """
    dest = Path(dest).absolute()
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"working folder {dest} is not empty")
    work = make_layout(layout.kind, dest, layout.classes)
    work.image_dir.mkdir(parents=True, exist_ok=True)
    work.mask_dir.mkdir(parents=True, exist_ok=True)
    classes_file = layout.root / "classes.json"
    if layout.kind == "generic" and classes_file.is_file():
        shutil.copyfile(classes_file, dest / "classes.json")
    for p in pairs:
        target = work.image_dir / p.image.name
        try:
            os.symlink(p.image.absolute(), target)
        except OSError:
            shutil.copyfile(p.image, target)
    return work


def heldout_eval(model: Path | None, layout: DatasetLayout, heldout: Sequence[Pair], device: str,
                 annotator: AnnotatorConfig, tools: str = "brush") -> dict[str, Any]:
    """On the held-out pairs: the model's Dice at full resolution (the ``evaluate --json`` ``dice.mean``)
    and what correcting its predictions would cost the annotator (without a model: painting from scratch).

    The same never-shown images every round, so the effort curve compares models, not image draws.
    """
    from unet_core.training.metrics import confusion_matrix, summarize

    if not heldout:
        return {"dice": None, "strokes_per_image": None, "seconds_per_image": None, "actions_per_image": None}
    predictor, clicker = None, None
    if model is not None:
        from unet_core.model.predictor import Predictor

        predictor = Predictor.from_checkpoint(model, device=device)
        if tools == "click" and predictor.meta.interactive:
            from unet_core.clicks.predict import ClickPredictor

            clicker = ClickPredictor(predictor)
    k = layout.classes.num_classes
    matrix = np.zeros((k, k), dtype=np.int64)
    strokes, seconds, actions = [], [], []
    for pair in heldout:
        assert pair.mask is not None
        truth = read_mask(pair.mask, layout.mask_format)
        pred = None
        if predictor is None:
            start = np.zeros(truth.shape, np.uint8)
        else:
            pred = predictor.predict(read_image(pair.image))
            start = pred.labels
            matrix += confusion_matrix(truth, start, k)
        fields, _ = correct_for_loop(start, truth, k, tools, annotator, pair.image, pred, clicker)
        strokes.append(fields["strokes"])
        seconds.append(fields["seconds"])
        actions.append(fields["actions"])
    dice = summarize(matrix, layout.classes.names)["dice"]["mean"] if predictor is not None else None
    return {"dice": dice, "strokes_per_image": float(np.mean(strokes)), "seconds_per_image": float(np.mean(seconds)),
            "actions_per_image": float(np.mean(actions))}


__all__ = ["heldout_eval", "make_working_folder", "split_heldout"]
