"""Benchmark: the best mask any superpixel tool could paint on a folder, per seed spacing (prints JSON).

Usage: ``python benchmarks/superpixel_ceiling.py --data DIR [--spacings 8 6 4 3] [--limit N]``. Each image's
superpixels (``unet_core.edit.superpixels``, the superpixel brush's own) take the class most of their true pixels
have; the Dice of that mask against the truth, as the simulated person scores it (foreground Dice for two classes,
the mean over the classes present otherwise), is the most a tool that paints whole superpixels can reach.
docs/effort.md uses it to show why CARLA's target needs pixel-level work.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from unet_core.data.io import read_image, read_mask
from unet_core.data.layouts import detect_layout
from unet_core.edit.superpixels import seed_spacing, superpixels
from unet_core.errors import MaskloopError
from unet_core.sim.annotator import mask_dice


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="dataset folder with ground-truth masks (read only)")
    p.add_argument("--spacings", type=int, nargs="+", help="seed spacings in pixels (default: the brush's own)")
    p.add_argument("--limit", type=int, default=0, help="at most this many images (0: all)")
    return p.parse_args(argv)


def majority_mask(labels: np.ndarray, truth: np.ndarray, num_classes: int) -> np.ndarray:
    """Each superpixel of ``labels`` (ids from 1) filled with the most common class of ``truth`` under it."""
    counts = np.zeros((int(labels.max()) + 1, num_classes), np.int64)
    np.add.at(counts, (labels.ravel(), truth.ravel().astype(np.int64)), 1)
    return counts.argmax(1).astype(np.uint8)[labels]


def main(argv: list[str] | None = None) -> int:
    """Print one JSON object: per spacing, the mean ceiling Dice and pixel accuracy over the images."""
    args = parse_args(argv)
    try:
        layout = detect_layout(args.data)
        pairs = [p for p in layout.pairs()[0] if p.mask is not None]
        if args.limit > 0:
            pairs = pairs[: args.limit]
        if not pairs:
            raise ValueError(f"{args.data} holds no images with masks")
        if args.spacings and min(args.spacings) < 2:
            raise ValueError("superpixel spacings must be at least 2 pixels")
        k = layout.classes.num_classes
        per_spacing: dict[int, dict[str, list[float]]] = {}
        for pair in pairs:
            image, truth = read_image(pair.image)[..., :3], read_mask(pair.mask, layout.mask_format)
            if image.shape[:2] != truth.shape:
                raise ValueError(f"{pair.image} is {image.shape[1]}x{image.shape[0]}, its mask "
                                 f"{truth.shape[1]}x{truth.shape[0]}")
            if truth.max() >= k:  # (a void label, 255, is refused too: not a class to paint)
                raise ValueError(f"{pair.mask}: class {int(truth.max())} is not one of the folder's {k}")
            for s in args.spacings or [seed_spacing(truth.shape)]:
                guess = majority_mask(superpixels(np.ascontiguousarray(image), s), truth, k)
                row = per_spacing.setdefault(s, {"dice": [], "accuracy": []})
                row["dice"].append(mask_dice(guess, truth, k))
                row["accuracy"].append(float((guess == truth).mean()))
    except (MaskloopError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result: dict[str, Any] = {"benchmark": "superpixel_ceiling", "data": str(args.data), "images": len(pairs),
                              "spacings": {str(s): {"dice_mean": round(float(np.mean(r["dice"])), 4),
                                                    "dice_min": round(float(np.min(r["dice"])), 4),
                                                    "dice_max": round(float(np.max(r["dice"])), 4),
                                                    "pixel_accuracy": round(float(np.mean(r["accuracy"])), 4)}
                                           for s, r in per_spacing.items()}}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
