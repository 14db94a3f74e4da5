"""Benchmark: latency of each smart editing tool at 1918x1280 (median and p95 of one action), prints JSON.

Usage: ``python benchmarks/smart_tools.py [--image IMG --mask MASK] [--model M] [--repeats 30]``. Without
``--image`` a generated Carvana-like frame is used; with ``--model`` the tools get that model's
probabilities (else a smooth map made from the mask, as a model would give). Each action runs the Qt-free
core function the canvas calls, on a fresh copy of the mask, at positions drawn from the image (seeded).
Superpixels are computed once per image in the background; their time is reported apart, and so is that
of refine edges, a whole-mask command whose preview is computed in the background (``commands``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from unet_core.edit.cleanup import cleanup
from unet_core.edit.edge_erase import edge_stroke
from unet_core.edit.probabilities import ClassProbabilities
from unet_core.edit.refine import default_reach, refine_edges
from unet_core.edit.region import region_click, second_choice
from unet_core.edit.scissors import Scissors
from unet_core.edit.selection import apply_selection
from unet_core.edit.snap import snap_stroke
from unet_core.edit.superpixels import superpixel_stroke, superpixels
from unet_core.edit.wand import magic_wand

TARGET_MS = 100.0  # design.md section 4: one smart-tool action at 1918x1280
COMMAND_TARGET_MS = 1000.0  # a whole-mask command's preview (refine edges), shown with "refining…" meanwhile


def _frame(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    from unet_core.data.io import read_image, read_mask
    from unet_core.data.layouts import detect_layout

    if args.image:
        image = read_image(args.image)
        fmt = {".gif": "carvana_gif"}.get(args.mask.suffix.lower(), args.mask_format) if args.mask else None
        mask = read_mask(args.mask, fmt) if args.mask else np.zeros(image.shape[:2], np.uint8)
        return image, mask
    from unet_core.sample.writer import write_sample

    with tempfile.TemporaryDirectory() as tmp:
        layout = detect_layout(write_sample(Path(tmp), "carvana", count=1, seed=3, size_hw=(1280, 1918)))
        pairs, _ = layout.pairs()
        return layout.read_pair(pairs[0])


def _probabilities(args: argparse.Namespace, image: np.ndarray,
                   mask: np.ndarray) -> tuple[ClassProbabilities, np.ndarray | None]:
    """The tools' probabilities, and the model's labels when there is a model."""
    if args.model:
        from unet_core.model.predictor import Predictor

        pred = Predictor.from_checkpoint(args.model, device="cpu").predict(image)
        probs = pred.class_probabilities()
        assert probs is not None
        return probs, pred.labels
    k = max(2, int(mask.max()) + 1)
    low = cv2.resize(mask, (384, 256), interpolation=cv2.INTER_NEAREST)
    onehot = np.eye(k, dtype=np.float32)[low]
    return ClassProbabilities(cv2.GaussianBlur(onehot, (9, 9), 0).reshape(256, 384, k), mask.shape), None


def _time(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    fn()  # warm-up
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1)}


def run(argv: list[str] | None = None) -> dict[str, object]:
    """Time every tool and return the JSON object."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", type=Path)
    p.add_argument("--mask", type=Path, help="its true mask (a .gif is read as Carvana's)")
    p.add_argument("--mask-format", choices=("red_channel", "index_png"), default="index_png",
                   help="how a PNG mask holds its class ids (CARLA: red_channel)")
    p.add_argument("--model", type=Path)
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args(argv)
    image, truth = _frame(args)
    h, w = truth.shape
    probs, predicted = _probabilities(args, image, truth)
    mask = truth.copy()
    mask[:, : w // 3][mask[:, : w // 3] == 1] = 0  # a missed part to correct
    rng = np.random.default_rng(0)
    ys, xs = np.nonzero(truth == 1)
    if ys.size == 0:
        ys, xs = np.nonzero(np.ones_like(truth))

    def point() -> tuple[int, int]:
        i = int(rng.integers(ys.size))
        return int(xs[i]), int(ys[i])

    def stroke(length: int = 200) -> list[tuple[int, int]]:
        x, y = point()
        return [(min(max(x + dx, 0), w - 1), y) for dx in range(-length // 2, length // 2 + 1, 8)]

    t0 = time.perf_counter()
    labels = superpixels(image)
    superpixel_ms = (time.perf_counter() - t0) * 1000

    def wand() -> None:
        x, y = point()
        sel = magic_wand(image, x, y, 24, 1, probs=probs)
        if sel is not None:
            apply_selection(mask.copy(), sel)

    def snap() -> None:
        sel = snap_stroke(image, mask, stroke(), 10, 1, probs=probs)
        if sel is not None:
            apply_selection(mask.copy(), sel)

    def region() -> None:
        x, y = point()
        sel = region_click(mask, x, y, 1, probs=probs)
        if sel is not None:
            apply_selection(mask.copy(), sel)

    def choice() -> None:
        x, y = point()
        second_choice(mask, x, y, probs)

    def scissors() -> None:
        a = point()
        b = (min(max(a[0] + int(rng.integers(-150, 151)), 0), w - 1), min(max(a[1] + int(rng.integers(-150, 151)), 0), h - 1))
        Scissors(image).trace(a, b)  # a fresh start point: the search map is built (the worst case)

    def superpixel() -> None:
        sel = superpixel_stroke(labels, stroke(), 10, 1)
        if sel is not None:
            apply_selection(mask.copy(), sel)

    def clean() -> None:
        cleanup(mask, 1, 2000)

    def edge() -> None:
        edge_stroke(image, mask, stroke(), 20, 1, 24.0)

    tools = {"wand": wand, "snap": snap, "region": region, "second_choice": choice, "scissors": scissors,
             "superpixel": superpixel, "cleanup": clean, "edge": edge}
    results = {name: _time(fn, args.repeats) for name, fn in tools.items()}
    outline = predicted if predicted is not None else mask  # the model's outline, as a user refines it
    reach = default_reach(outline.shape)

    def refine() -> None:
        sel = refine_edges(image, outline, 1, reach)
        if sel is not None:
            apply_selection(outline.copy(), sel)

    commands = {"refine": _time(refine, args.repeats)}
    return {"size": [h, w], "repeats": args.repeats, "target_ms": TARGET_MS, "tools": results,
            "command_target_ms": COMMAND_TARGET_MS, "commands": commands,
            "superpixels_once_ms": round(superpixel_ms, 1), "model": str(args.model) if args.model else None,
            "over_target": sorted([n for n, r in results.items() if r["median_ms"] > TARGET_MS]
                                  + [n for n, r in commands.items() if r["median_ms"] > COMMAND_TARGET_MS])}


if __name__ == "__main__":
    print(json.dumps(run()))
    sys.exit(0)
