"""Benchmark: latency of one click of the interactive model at 1918x1280 on the CPU (median and p95), prints JSON.

Usage: ``python benchmarks/click_latency.py [--model M] [--image IMG --mask MASK] [--repeats 30] [--threads 2]
[--while-training]``.
Each action is what the canvas's click job runs off the GUI thread (:meth:`ClickPredictor.selection`: the model
re-run on the window around the object's clicks, then the changed pixels as a selection), for groups of 1 to 5
clicks on the object. Without ``--model`` the default architecture is built untrained with the
input size and scale the short recipe picks for a 1918x1280 folder (latency does not depend on the weights).
``--while-training`` also times the clicks while a training run works in the same process (as in the app: the
default recipe on generated Carvana frames), once with the interactive gate (:mod:`unet_core.priority`: the
run pauses between steps while a click runs) and once without it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from unet_core.clicks.predict import ClickPredictor
from unet_core.clicks.simulator import next_click
from unet_core.data.classes import CARVANA_CLASSES
from unet_core.data.framing import typical_scale
from unet_core.data.guides import Click, guide_channels
from unet_core.model.checkpoint import CheckpointMeta
from unet_core.model.predictor import Predictor
from unet_core.model.unet import DEFAULT_ARCH, UNet, UNetConfig
from unet_core.training.recipes import DEFAULT_RECIPE, recipe

TARGET_MS = 150.0  # design.md section 4: one click of the interactive model, 1918x1280, 2 CPU cores
SIZE_HW = (1280, 1918)


def _frame(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    from unet_core.data.io import read_image, read_mask
    from unet_core.data.layouts import detect_layout

    if args.image:
        return read_image(args.image), read_mask(args.mask, "carvana_gif")
    from unet_core.sample.writer import write_sample

    with tempfile.TemporaryDirectory() as tmp:
        layout = detect_layout(write_sample(Path(tmp), "carvana", count=1, seed=3, size_hw=SIZE_HW))
        return layout.read_pair(layout.pairs()[0][0])


def _clicker(args: argparse.Namespace) -> ClickPredictor:
    if args.model:
        return ClickPredictor(Predictor.from_checkpoint(args.model, device="cpu"))
    from unet_core.training.starting_model import auto_size

    long_side = recipe(DEFAULT_RECIPE).long_side
    size = auto_size([], long_side, sizes=[SIZE_HW])
    arch = UNetConfig.preset(DEFAULT_ARCH, 2, guide_channels=guide_channels(2))
    meta = CheckpointMeta(arch=arch, classes=CARVANA_CLASSES, input_size=size, scale=typical_scale([SIZE_HW], size))
    return ClickPredictor(Predictor(UNet(arch).eval(), meta, device="cpu"))


def run(argv: list[str] | None = None) -> dict[str, object]:
    """Time clicks and return the JSON object."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help="an interactive checkpoint (default: the default model, untrained)")
    p.add_argument("--image", type=Path)
    p.add_argument("--mask", type=Path, help="its Carvana .gif mask (needed with --image)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--threads", type=int, default=2, help="torch threads (the target is for 2 CPU cores)")
    p.add_argument("--while-training", action="store_true",
                   help="also time clicks while a run trains in this process, with and without the gate")
    args = p.parse_args(argv)
    if args.image and not args.mask:
        p.error("--image needs --mask")
    torch.set_num_threads(args.threads)
    image, truth = _frame(args)
    clicker = _clicker(args)
    start = np.zeros_like(truth)
    start[truth == 1] = 1
    start[:, : truth.shape[1] // 3] = 0  # a missed part to correct
    clicks: list[Click] = []
    mask = start.copy()
    for _ in range(5):  # the clicks a person makes on this object, each from the mask the last one left
        c = next_click(truth, mask, 1)
        if c is None:
            break
        clicks.append(c)
        clicker.run(image, mask, 1, clicks).apply(mask)
    groups = [clicks[: n + 1] for n in range(len(clicks))] or [[Click(10.0, 10.0, True)]]
    clicker.selection(image, start, 1, groups[0])  # warm-up

    def timed() -> dict[str, float]:
        ms: list[float] = []
        for i in range(args.repeats):
            group = groups[i % len(groups)]
            t0 = time.perf_counter()
            clicker.selection(image, start, 1, group)
            ms.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.3)  # a person's pace: the run trains between clicks
        ms.sort()
        return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1)}

    window = clicker.window(start, 1, groups[-1])
    out: dict[str, object] = {"size": list(truth.shape), "threads": args.threads, "repeats": args.repeats,
                              "target_ms": TARGET_MS, **timed(),
                              "model_input": list(clicker.predictor.meta.input_size), "window": list(window.shape),
                              "window_working": list(window.working()), "model": str(args.model) if args.model else None}
    if args.while_training:
        out["while_training"] = _while_training(timed)
    return out


def _while_training(timed: Callable[[], dict[str, float]]) -> dict[str, object]:
    """Click timings while a run of the default recipe trains on a background thread of this process, with the
    interactive gate and without it, and the run's steps per second in each phase."""
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.priority import INTERACTIVE
    from unet_core.sample.writer import write_sample
    from unet_core.training.trainer import train
    from unet_core.training.types import Callback, StepInfo, TrainConfig

    class Steps(Callback):
        def __init__(self) -> None:
            self.count = 0

        def on_step(self, info: StepInfo) -> None:
            self.count += 1

    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        layout = detect_layout(write_sample(Path(tmp) / "data", "carvana", count=8, seed=5, size_hw=(640, 960)))
        examples = examples_from_layout(layout, layout.pairs()[0])
        stop, steps = threading.Event(), Steps()
        config = TrainConfig(time_limit=3600, device="cpu")
        run = threading.Thread(target=lambda: train(examples[:6], examples[6:], layout.classes, config,
                                                    Path(tmp) / "m.safetensors", callbacks=[steps], stop=stop),
                               daemon=True)
        run.start()
        while steps.count < 3 and run.is_alive():  # the run is making steps
            time.sleep(0.2)
        try:
            for name, gate in (("gate", True), ("no_gate", False)):
                INTERACTIVE.enabled = gate
                before, t0 = steps.count, time.perf_counter()
                result[name] = {**timed(), "train_steps_per_s": round((steps.count - before)
                                                                      / (time.perf_counter() - t0), 2)}
        finally:
            INTERACTIVE.enabled = True
            stop.set()
            run.join(timeout=60)
    return result


def main(argv: list[str] | None = None) -> int:
    """Print the JSON object; a model that takes no clicks, or a bad file, exits 1 with one line."""
    from unet_core.errors import MaskloopError

    try:
        out = run(argv)
    except (MaskloopError, OSError, ValueError) as exc:
        print(f"click_latency: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
