"""Benchmark: seconds and actions per correct mask, per tool set, for a folder with ground truth (prints JSON).

Usage: ``python benchmarks/effort.py --data DIR --model MODEL|none [--tools brush smart click] [--targets 0.9 0.95 0.99]
[--max-actions 200] [--jitter] [--json] [--limit N] [--details]``. Every image of DIR is corrected from the model's
prediction (or from an empty mask with ``--model none``) by the simulated person of
:mod:`unet_core.sim` once per tool set, and one JSON object is printed:
``{"images": N, "tools": {NAME: {"seconds_per_image", "actions_per_image", "noc": {t: f}, "failed": {t: k},
...}}}``. ``noc[t]`` is the mean number of actions to reach Dice t (foreground Dice for two classes, the
mean over classes present otherwise); an image that never reaches it counts as ``--max-actions`` and in
``failed``. Nothing is written. See docs/effort.md for the cost model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from unet_core.errors import MaskloopError
from unet_core.sim.annotator import AnnotatorConfig
from unet_core.sim.effort import ALL_TOOL_SETS, TOOL_SETS, ImageEffort, correct, summarize
from unet_core.sim.smart import SmartConfig


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="dataset folder with ground-truth masks (read only)")
    p.add_argument("--model", required=True, help="checkpoint whose predictions are corrected, or 'none'")
    p.add_argument("--tools", nargs="+", choices=ALL_TOOL_SETS, default=list(TOOL_SETS),
                   help="tool sets to measure (click: the interactive model's clicks; the model must take them)")
    p.add_argument("--jitter", action="store_true",
                   help="click at a random point deeper than half the largest error (RITM's jittered clicker) "
                        "instead of its deepest point")
    p.add_argument("--targets", nargs="+", type=float, default=[0.9, 0.95, 0.99])
    p.add_argument("--max-actions", type=int, default=200)
    p.add_argument("--json", action="store_true", help="only the JSON object (no table on stderr)")
    p.add_argument("--limit", type=int, default=0, help="correct at most this many images (0: all)")
    p.add_argument("--details", action="store_true", help="add per-image results under 'per_image'")
    p.add_argument("--seed", type=int, default=0, help="seed of the person's click jitter")
    p.add_argument("--device", default="cpu")
    p.add_argument("--drag-model", choices=("steering", "constant"), default="steering",
                   help="drag time: steering law (default) or every drag at one speed (docs/effort.md)")
    args = p.parse_args(argv)
    if not all(0.0 < t <= 1.0 for t in args.targets):
        p.error("--targets must lie in (0, 1]")
    if args.max_actions < 1:
        p.error("--max-actions must be at least 1")
    return args


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and return its JSON object."""
    from unet_core.data.layouts import detect_layout

    args = _args(argv)
    say = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    layout = detect_layout(args.data)
    pairs, skipped = layout.pairs()
    if args.limit:
        pairs = pairs[: args.limit]
    k = layout.classes.num_classes
    predictor = None
    if args.model.lower() != "none":
        from unet_core.model.predictor import Predictor

        predictor = Predictor.from_checkpoint(args.model, device=args.device)
        if predictor.num_classes != k:
            raise MaskloopError(f"{args.model}: the model has {predictor.num_classes} classes, the data {k}")
    clicker = None
    if "click" in args.tools:
        from unet_core.clicks.predict import ClickPredictor

        if predictor is None or not predictor.meta.interactive:
            raise MaskloopError("the click tool set needs an interactive model (unet-core train --clicks 0.5)")
        clicker = ClickPredictor(predictor)
    cfg = SmartConfig(brush=replace(AnnotatorConfig(), target_dice=max(args.targets), max_strokes=args.max_actions,
                                    seed=args.seed, drag_model=args.drag_model))
    efforts: dict[str, list[ImageEffort]] = {t: [] for t in args.tools}
    unreadable = 0
    t0 = time.perf_counter()
    for pair in pairs:
        try:
            image, truth = layout.read_pair(pair)
        except MaskloopError as exc:
            unreadable += 1
            say(f"skipped {pair.stem}: {exc}")
            continue
        if predictor is not None:
            pred = predictor.predict(image)
            initial, probs = pred.labels, pred.class_probabilities()
        else:
            initial, probs = np.zeros_like(truth), None
        this: dict[str, ImageEffort] = {}  # this image's efforts: the smart person's brush plan is the brush's
        for tools in args.tools:
            rng = np.random.default_rng([args.seed, len(efforts[tools])]) if args.jitter else None
            e = correct(pair.stem, initial, truth, k, tools, image, probs, cfg, clicker, rng,
                        this.get("brush") if tools == "smart" else None)
            efforts[tools].append(e)
            this[tools] = e
            say(f"{pair.stem} {tools:6s} Dice {e.dice_start:.3f} -> {e.dice_end:.4f}: {e.actions} actions, "
                f"{e.seconds:.0f} s {e.counts}")
    out: dict[str, Any] = {
        "images": len(next(iter(efforts.values()), [])),
        "tools": {t: summarize(es, args.targets, args.max_actions) for t, es in efforts.items()},
        "data": str(args.data), "model": args.model, "targets": args.targets, "max_actions": args.max_actions,
        "drag_model": args.drag_model, "jitter": args.jitter,
        "skipped": skipped + unreadable, "run_seconds": round(time.perf_counter() - t0, 1),
    }
    if "brush" in efforts and "smart" in efforts and out["tools"]["brush"]["seconds_per_image"]:
        out["smart_vs_brush_seconds"] = round(out["tools"]["smart"]["seconds_per_image"]
                                              / out["tools"]["brush"]["seconds_per_image"], 3)
    if args.details:
        out["per_image"] = [e.to_dict() for es in efforts.values() for e in es]
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the JSON object; a bad folder or model exits 1 with one line."""
    try:
        out = run(argv)
    except (MaskloopError, OSError, ValueError) as exc:
        print(f"effort: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
