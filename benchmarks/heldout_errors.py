"""Benchmark: where correction effort goes on held-out images, per model version (prints JSON).

Usage: ``python benchmarks/heldout_errors.py --data DIR --stems A,B,... --model M1 [M2 ...]
[--target-dice 0.9] [--smooth 9]``. For each model: the simulated annotator's strokes per image to
correct its predictions, the wrong 8-connected regions counted by true class, and classes predicted
on images that do not contain them (with their pixels). ``--smooth K`` also reports the strokes when
the class probabilities are box-filtered over K px before the argmax. docs/loop.md uses it to explain
why CARLA effort stops falling.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unet_core.data.io import read_image, read_mask
from unet_core.data.layouts import detect_layout
from unet_core.errors import MaskloopError
from unet_core.sim.annotator import AnnotatorConfig, annotate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="dataset folder with ground-truth masks")
    p.add_argument("--stems", required=True, help="comma-separated images to examine")
    p.add_argument("--model", type=Path, nargs="+", required=True, help="checkpoints to compare")
    p.add_argument("--target-dice", type=float, default=0.9)
    p.add_argument("--smooth", type=int, default=0, help="also report strokes after a KxK box filter on the probabilities")
    p.add_argument("--top", type=int, default=10, help="classes listed per model")
    return p.parse_args(argv)


def smoothed_labels(probabilities: np.ndarray, k: int) -> np.ndarray:
    """Argmax of the H x W x K probabilities after a ``k`` x ``k`` box filter per class."""
    planes = [cv2.blur(probabilities[..., c], (k, k)) for c in range(probabilities.shape[-1])]
    return np.stack(planes, -1).argmax(-1).astype(np.uint8)


def error_regions(mask: np.ndarray, truth: np.ndarray) -> dict[int, int]:
    """Wrong 8-connected regions of ``mask`` per true class."""
    wrong = mask != truth
    out: dict[int, int] = {}
    for c in np.unique(truth[wrong]):
        n, _ = cv2.connectedComponents((wrong & (truth == c)).astype(np.uint8), connectivity=8)
        out[int(c)] = n - 1
    return out


def examine(model: Path, pairs: list[Any], mask_format: Any, names: tuple[str, ...], args: argparse.Namespace) -> dict[str, Any]:
    """One model's effort, error regions by class and spurious classes on ``pairs``."""
    from unet_core.model.predictor import Predictor

    predictor = Predictor.from_checkpoint(model, device="cpu")
    cfg = AnnotatorConfig(target_dice=args.target_dice)
    k = len(names)
    strokes, smoothed, regions, spurious = [], [], {}, {}
    for pair in pairs:
        truth = read_mask(pair.mask, mask_format)
        pred = predictor.predict(read_image(pair.image), with_probabilities=args.smooth > 1)
        strokes.append(annotate(pred.labels, truth, cfg, k).strokes)
        if args.smooth > 1 and pred.probabilities is not None:
            smoothed.append(annotate(smoothed_labels(pred.probabilities, args.smooth), truth, cfg, k).strokes)
        for c, n in error_regions(pred.labels, truth).items():
            regions[names[c]] = regions.get(names[c], 0) + n
        present = set(np.unique(truth).tolist())
        for c in np.unique(pred.labels).tolist():
            if c not in present:
                spurious[names[c]] = spurious.get(names[c], 0) + int((pred.labels == c).sum())
    top = dict(sorted(regions.items(), key=lambda kv: -kv[1])[: args.top])
    result: dict[str, Any] = {"model": str(model), "strokes_per_image": float(np.mean(strokes)),
                              "error_regions_by_true_class": top, "spurious_pixels_by_class": spurious}
    if smoothed:
        result[f"strokes_per_image_smoothed_{args.smooth}px"] = float(np.mean(smoothed))
    return result


def main(argv: list[str] | None = None) -> int:
    """Print one JSON object: the images examined and one entry per model."""
    args = parse_args(argv)
    try:
        layout = detect_layout(args.data)
        pairs, _ = layout.pairs()
        wanted = [s for s in args.stems.split(",") if s]
        by_stem = {p.stem: p for p in pairs if p.mask is not None}
        missing = [s for s in wanted if s not in by_stem]
        if missing or not wanted:
            raise ValueError(f"not labelled images of {args.data}: {', '.join(missing) or '(none given)'}")
        chosen = [by_stem[s] for s in wanted]
        models = [examine(m, chosen, layout.mask_format, layout.classes.names, args) for m in args.model]
    except (MaskloopError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"benchmark": "heldout_errors", "data": str(args.data), "stems": wanted,
                      "target_dice": args.target_dice, "models": models}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
