"""Benchmark: latency of predicting one 1918x1280 image with the default model (prints JSON).

Measures the whole user-visible path — decode is excluded, resize + forward + softmax + upsample (guided by
the image, as by default, and plain: ``guided`` in each result) + uncertainty included — with freshly initialised weights of the default architecture (latency does
not depend on the weights). Usage: ``python benchmarks/predict_latency.py [--device cpu] [--runs 15]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from unet_core.data.classes import CARLA_CLASSES, CARVANA_CLASSES
from unet_core.devices import select_device
from unet_core.model.checkpoint import CheckpointMeta
from unet_core.model.predictor import Predictor
from unet_core.model.unet import DEFAULT_ARCH, UNetConfig, build_model


def measure(classes, size_hw: tuple[int, int], image_hw: tuple[int, int], device: str, runs: int,
            arch: str, tta: bool, guided: bool = True) -> dict:
    torch.manual_seed(0)
    config = UNetConfig.preset(arch, classes.num_classes)
    meta = CheckpointMeta(arch=config, classes=classes, input_size=size_hw)
    predictor = Predictor(build_model(config), meta, device=select_device(device), tta=tta, guided=guided)
    image = np.random.default_rng(0).integers(0, 255, (*image_hw, 3), dtype=np.uint8)
    for _ in range(3):
        predictor.predict(image)
    times = []
    for _ in range(runs):
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        pred = predictor.predict(image)
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000)
    assert pred.labels.shape == image_hw
    return {"classes": classes.num_classes, "model_input_hw": list(size_hw), "image_hw": list(image_hw),
            "tta": tta, "guided": guided, "median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--arch", default=DEFAULT_ARCH)
    args = p.parse_args()
    results = [
        measure(CARVANA_CLASSES, (256, 384), (1280, 1918), args.device, args.runs, args.arch, False),
        measure(CARVANA_CLASSES, (256, 384), (1280, 1918), args.device, args.runs, args.arch, False, False),
        measure(CARVANA_CLASSES, (256, 384), (1280, 1918), args.device, args.runs, args.arch, True),
        measure(CARLA_CLASSES, (288, 384), (480, 640), args.device, args.runs, args.arch, False),
        measure(CARLA_CLASSES, (288, 384), (480, 640), args.device, args.runs, args.arch, False, False),
    ]
    print(json.dumps({"benchmark": "predict_latency", "arch": args.arch, "device": str(select_device(args.device)),
                      "torch_threads": torch.get_num_threads(), "target_ms": 1000, "results": results}, indent=2))


if __name__ == "__main__":
    main()
