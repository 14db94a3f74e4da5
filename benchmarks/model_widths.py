"""Benchmark: UNet parameters, CPU inference latency and training-step time per width; prints one JSON."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from unet_core.model.unet import UNetConfig, build_model, count_parameters


def _median_seconds(fn: Callable[[], None], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(
    width: int,
    height: int,
    img_width: int,
    *,
    infer_repeats: int = 5,
    train_repeats: int = 3,
    train_batch: int = 4,
    channels_last: bool = False,
) -> dict[str, Any]:
    """Measure one 2-class, depth-4 UNet of ``width`` at ``height`` x ``img_width`` on the CPU."""
    torch.manual_seed(0)
    model = build_model(UNetConfig(num_classes=2, base_width=width))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x1 = torch.randn(1, 3, height, img_width).contiguous(memory_format=fmt)

    model.eval()

    def infer() -> None:
        with torch.inference_mode():
            model(x1)

    infer_s = _median_seconds(infer, infer_repeats)

    model.train()
    xb = torch.randn(train_batch, 3, height, img_width).contiguous(memory_format=fmt)
    yb = torch.randint(0, 2, (train_batch, height, img_width))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()

    train_s = _median_seconds(step, train_repeats)
    return {
        "base_width": width,
        "params": count_parameters(model),
        "input_hw": [height, img_width],
        "infer_batch1_ms": round(infer_s * 1000, 1),
        f"train_step_batch{train_batch}_s": round(train_s, 3),
        "train_steps_per_10min": int(600 / train_s),
        "train_images_per_10min": int(600 / train_s) * train_batch,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements and print one JSON object on stdout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--widths", default="8,16,32", help="comma-separated base widths")
    parser.add_argument("--size", default="256x384", help="input H x W")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--wide-size", default="128x192", help="smaller H x W for width 64 ('' skips it)")
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    h, w = (int(v) for v in args.size.lower().split("x"))
    results = [
        measure(int(width), h, w, channels_last=args.channels_last) for width in args.widths.split(",")
    ]
    if args.wide_size:
        wh, ww = (int(v) for v in args.wide_size.lower().split("x"))
        results.append(
            measure(64, wh, ww, infer_repeats=3, train_repeats=2, channels_last=args.channels_last)
        )
    report = {
        "benchmark": "model_widths",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "channels_last": args.channels_last,
        "depth": 4,
        "results": results,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
