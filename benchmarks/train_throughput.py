"""Benchmark: training throughput (images/s) of the core's training step, fp32 vs AMP + channels_last on a GPU.

Runs the real ``unet_core.training.trainer.train`` loop on a generated Carvana-format folder for a fixed number of
epochs and reads images/s from its step callbacks (the first epoch is warm-up and not counted). On CUDA
it compares a plain fp32 loop (``amp=False, channels_last=False``) with the default (bf16/fp16 autocast
+ channels_last). Usage: ``python benchmarks/train_throughput.py [--size 256x384] [--device auto]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from unet_core.data.dataset import examples_from_layout
from unet_core.data.layouts import detect_layout
from unet_core.devices import select_device
from unet_core.sample.writer import write_sample
from unet_core.training.trainer import train
from unet_core.training.types import Callback, StepInfo, TrainConfig


class _Rate(Callback):
    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_step(self, info: StepInfo) -> None:
        if info.epoch > 1:
            self.rates.append(info.images_per_s)


def run(data: Path, out: Path, size: tuple[int, int], batch: int, epochs: int, device: str, arch: str,
        amp: bool | None, channels_last: bool | None) -> dict:
    layout = detect_layout(data)
    pairs, _ = layout.pairs()
    examples = examples_from_layout(layout, pairs)
    rate = _Rate()
    cfg = TrainConfig(arch=arch, size_hw=size, epochs=epochs, batch_size=batch, lr=1e-3, device=device,
                      amp=amp, channels_last=channels_last, val_fraction=0.0, num_workers=2)
    train(examples, [], layout.classes, cfg, out, callbacks=[rate])
    return {"amp": amp, "channels_last": channels_last, "images_per_s_median": round(statistics.median(rate.rates), 2),
            "steps_measured": len(rate.rates)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="256x384")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--count", type=int, default=32)
    p.add_argument("--arch", default="unet-small")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    device = select_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_sample(Path(tmp) / "data", "carvana", count=args.count, seed=0, size_hw=(640, 960))
        out = Path(tmp) / "m.safetensors"
        results = []
        if device.type == "cuda":
            results.append(run(data, out, size, args.batch_size, args.epochs, args.device, args.arch, False, False))
            results.append(run(data, out, size, args.batch_size, args.epochs, args.device, args.arch, None, None))
            speedup = results[1]["images_per_s_median"] / results[0]["images_per_s_median"]
        else:
            results.append(run(data, out, size, args.batch_size, args.epochs, args.device, args.arch, None, None))
            speedup = None
    print(json.dumps({"benchmark": "train_throughput", "device": str(device),
                      "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
                      "arch": args.arch, "size_hw": list(size), "batch_size": args.batch_size,
                      "results": results, "amp_speedup": None if speedup is None else round(speedup, 2),
                      "target_speedup": 2.0}, indent=2))


if __name__ == "__main__":
    main()
