"""Benchmark: the correction loop with a simulated annotator, the default queue order vs random (prints JSON).

Usage: ``python benchmarks/loop.py --data DIR [--rounds 4] [--per-round K] [--target-dice 0.99]
[--strategies auto random] [--start-model M] [--size HxW] [--time-per-round SEC] [--out DIR]``
(or ``--generate carvana|carla`` instead of ``--data`` for a generated folder). The folder's images are
linked into a temporary working folder, so no ``.maskloop`` store is written into the dataset. Writes
``loop.json`` and ``loop.png`` (effort and held-out Dice per round) into ``--out``; ``--replot
loop.json`` only draws the plot again. See docs/loop.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unet_core.errors import MaskloopError
from unet_core.loop.queue import DEFAULT_STRATEGY, STRATEGIES
from unet_core.sim.annotator import AnnotatorConfig
from unet_core.sim.session import LoopConfig, simulate_strategies

COLORS = {"uncertainty": (200, 90, 20), "random": (40, 40, 200)}  # BGR
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW, e.g. 256x384, got {text!r}") from None
    if min(h, w) < 16:
        raise argparse.ArgumentTypeError("sizes must be at least 16")
    return h, w


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="dataset folder with ground-truth masks (read only)")
    src.add_argument("--generate", choices=("carvana", "carla"), help="use a generated folder instead")
    src.add_argument("--replot", type=Path, metavar="LOOP_JSON",
                     help="only draw loop.png again from a saved loop.json (into --out, default: beside it)")
    p.add_argument("--count", type=int, default=16, help="images to generate (with --generate)")
    p.add_argument("--gen-size", type=_size, default=None, help="generated image size HxW (with --generate)")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--per-round", type=int, default=3, help="images corrected between fine-tunes (K)")
    p.add_argument("--target-dice", type=float, default=0.99)
    p.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=[DEFAULT_STRATEGY, "random"],
                   help="queue orders to compare (auto: the app's default)")
    p.add_argument("--start-model", type=Path, default=None, help="round 0 predicts with this model")
    p.add_argument("--size", type=_size, default=None, help="model input size HxW")
    p.add_argument("--arch", default="unet-small")
    p.add_argument("--steps-per-round", type=int, default=144,
                   help="optimisation steps per round (0: use --epochs); reproducible, unlike a time limit")
    p.add_argument("--epochs", type=int, default=None, help="epochs per round when --steps-per-round is 0")
    p.add_argument("--time-per-round", type=float, default=600.0, help="cap on training seconds per round (0: none)")
    p.add_argument("--scratch-lr", type=float, default=2e-3)
    p.add_argument("--finetune-lr", type=float, default=1e-3)
    p.add_argument("--patience", type=int, default=None, help="early-stop patience in epochs (default: half)")
    p.add_argument("--heldout-fraction", type=float, default=0.25)
    p.add_argument("--heldout-stems", type=lambda v: tuple(x for x in v.split(",") if x), default=(),
                   help="comma-separated images to hold out instead of --heldout-fraction of the groups")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tools", choices=("brush", "smart", "click"), default="brush",
                   help="the simulated person's tool set (see docs/effort.md); click: every round trains the model "
                        "with clicks, and the person clicks while clicks help, then finishes with the smart tools")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=None, help="folder for loop.json and loop.png (default out/loop)")
    p.add_argument("--work", type=Path, default=None, help="parent of the temporary working folders")
    p.add_argument("--keep-work", action="store_true", help="keep the working folders (store, models)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args(argv)
    args.out_given = args.out is not None
    if args.out is None:
        args.out = Path("out/loop")
    return args


def loop_config(args: argparse.Namespace, strategy: str) -> LoopConfig:
    """The library configuration for one strategy."""
    return LoopConfig(
        rounds=args.rounds, per_round=args.per_round, strategy=strategy, target_dice=args.target_dice,
        heldout_fraction=args.heldout_fraction, heldout_stems=args.heldout_stems,
        seed=args.seed, arch=args.arch, size_hw=args.size,
        steps_per_round=args.steps_per_round or None, time_per_round=args.time_per_round or None,
        epochs_per_round=args.epochs, scratch_lr=args.scratch_lr,
        finetune_lr=args.finetune_lr, patience=args.patience, device=args.device, start_model=args.start_model,
        annotator=AnnotatorConfig(target_dice=args.target_dice, seed=args.seed), tools=args.tools,
    )


def compare(reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each order against random (all share round 0): held-out Dice and held-out correction effort (seconds
    per image; strokes when seconds are missing) after the last round (the same images for all), and the
    strokes spent after round 0."""
    if "random" not in reports or not reports["random"]["summary"]:
        return {}
    out: dict[str, Any] = {"final_heldout_dice": {}, "final_heldout_strokes_per_image": {},
                           "final_heldout_seconds_per_image": {}, "strokes_after_round0": {}}
    for name, report in reports.items():
        summary = report["summary"]
        if not summary:
            continue
        out["final_heldout_dice"][name] = summary["heldout_dice_after"][-1]
        out["final_heldout_strokes_per_image"][name] = summary["heldout_strokes"][-1]
        out["final_heldout_seconds_per_image"][name] = (summary.get("heldout_seconds") or [None])[-1]
        out["strokes_after_round0"][name] = summary["strokes_after_round0"]
    # effort in seconds (the smart person's brush strokes may all be zero); strokes when no seconds
    effort = out["final_heldout_seconds_per_image"]
    if any(v is None for v in effort.values()):
        effort = out["final_heldout_strokes_per_image"]
    dr, er = out["final_heldout_dice"]["random"], effort["random"]
    for name in out["final_heldout_dice"]:
        if name == "random":
            continue
        d, e = out["final_heldout_dice"][name], effort[name]
        out[f"{name}_dice_not_lower"] = None if d is None or dr is None else d >= dr - 1e-9
        out[f"{name}_heldout_effort_not_higher"] = None if e is None or er is None else e <= er + 1e-9
    return out


# ---- plot ---------------------------------------------------------------------------------------
def _panel(img: np.ndarray, box: tuple[int, int, int, int], title: str, series: dict[str, list[float | None]],
           y_range: tuple[float, float], y_fmt: str, x_labels: list[str] | None = None) -> None:
    x0, y0, x1, y1 = box
    cv2.rectangle(img, (x0, y0), (x1, y1), (120, 120, 120), 1)
    cv2.putText(img, title, (x0, y0 - 12), _FONT, 0.55, (20, 20, 20), 1, cv2.LINE_AA)
    lo, hi = y_range
    n = max((len(v) for v in series.values()), default=1)

    def px(i: int, v: float) -> tuple[int, int]:
        fx = x0 + 30 + (x1 - x0 - 60) * (i / max(1, n - 1))
        fy = y1 - 10 - (y1 - y0 - 20) * ((v - lo) / (hi - lo) if hi > lo else 0.5)
        return round(fx), round(fy)

    for k in range(5):
        v = lo + (hi - lo) * k / 4
        _, yy = px(0, v)
        cv2.line(img, (x0, yy), (x1, yy), (225, 225, 225), 1)
        cv2.putText(img, format(v, y_fmt), (x0 - 52, yy + 4), _FONT, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
    for i in range(n):
        xx, _ = px(i, lo)
        text = x_labels[i] if x_labels and i < len(x_labels) else f"r{i}"
        cv2.putText(img, text, (xx - 4 * len(text), y1 + 18), _FONT, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    for name, values in series.items():
        color = COLORS.get(name, (0, 140, 0))
        pts = [px(i, v) for i, v in enumerate(values) if v is not None]
        for a, b in itertools.pairwise(pts):
            cv2.line(img, a, b, color, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 4, color, -1, cv2.LINE_AA)


def plot(reports: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    """Write a PNG, one line per strategy. Brush runs: strokes per corrected image, the same over what
    painting those images costs, strokes needed on the held-out images, and the held-out Dice after each
    round. Smart-tool runs (no from-scratch count): seconds and actions per corrected image, seconds on
    the held-out images, and the held-out Dice."""
    img = np.full((440, 1900, 3), 255, np.uint8)
    cv2.putText(img, title[:150], (20, 24), _FONT, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    smart = any(rep.get("config", {}).get("tools") in ("smart", "click") for rep in reports.values())
    first_key, second_key, held = ("seconds_per_image", "actions_per_image", "seconds") if smart else \
        ("strokes_per_image", "effort_vs_scratch", "strokes")
    names = (("seconds per image (round r's images)", "actions per image (round r's images)",
              "held-out images: seconds to correct, by model") if smart else
             ("strokes per image (round r's images)", "... over painting the same images",
              "held-out images: strokes to correct, by model"))
    first = {s: [r.get(first_key) for r in rep["rounds"]] for s, rep in reports.items()}
    second = {s: [r.get(second_key) for r in rep["rounds"]] for s, rep in reports.items()}
    relative = {s: [rep["rounds"][0].get(f"heldout_{held}_before")] + [r.get(f"heldout_{held}_after") for r in rep["rounds"]]
                for s, rep in reports.items() if rep["rounds"]}
    n_rounds = max((len(rep["rounds"]) for rep in reports.values()), default=0)
    dice = {s: [r["heldout_dice_after"] for r in rep["rounds"]] for s, rep in reports.items()}
    top = max([v for vals in first.values() for v in vals if v is not None] + [1.0])
    vtop = max([v for vals in second.values() for v in vals if v is not None] + [1.0])
    rtop = max([v for vals in relative.values() for v in vals if v is not None] + [1.0])
    dvals = [v for vals in dice.values() for v in vals if v is not None]
    dlo = min([*dvals, 0.9]) if dvals else 0.0
    _panel(img, (80, 70, 440, 390), names[0], first, (0.0, top * 1.05), ".0f")
    _panel(img, (540, 70, 900, 390), names[1], second, (0.0, vtop * 1.05), ".0f" if smart else ".2f")
    _panel(img, (1000, 70, 1360, 390), names[2], relative,
           (0.0, rtop * 1.05), ".0f", ["none"] + [f"r{i}" for i in range(n_rounds)])
    _panel(img, (1460, 70, 1860, 390), "held-out Dice after round r", dice, (max(0.0, dlo - 0.02), 1.0), ".3f")
    for i, name in enumerate(reports):
        color = COLORS.get(name, (0, 140, 0))
        cv2.line(img, (80 + 170 * i, 428), (110 + 170 * i, 428), color, 3)
        cv2.putText(img, name, (116 + 170 * i, 433), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise OSError(f"cannot encode {path}")
    path.write_bytes(buf.tobytes())


def plot_title(data: str, reports: dict[str, dict[str, Any]]) -> str:
    """The plot's title: the data and the settings every strategy shared."""
    cfg = next(iter(reports.values()))["config"] if reports else {}
    tools = f", {cfg['tools']} tools" if cfg.get("tools") else ""
    return f"Maskloop loop benchmark: {data} (K={cfg.get('per_round')}, target Dice {cfg.get('target_dice')}{tools})"


def replot(json_path: Path, png_path: Path) -> None:
    """Draw the plot again from a saved ``loop.json`` (no training)."""
    try:
        result = json.loads(json_path.read_text(encoding="utf-8"))
        reports = result["strategies"]
        data = result["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{json_path} is not a loop.json written by this benchmark ({exc})") from exc
    plot(reports, png_path, plot_title(data, reports))


# ---- main ---------------------------------------------------------------------------------------
def run_once(args: argparse.Namespace, scratch: Path, out: Path, log: Any) -> dict[str, Any]:
    """One run of every strategy (on ``--data``, or a folder generated with ``args.seed`` in ``scratch``);
    writes ``loop.json`` and ``loop.png`` into ``out`` and returns the report."""
    if args.generate:
        from unet_core.sample.writer import write_sample

        data = write_sample(scratch / f"data-{args.seed}", args.generate, count=args.count, seed=args.seed,
                            size_hw=args.gen_size)
    else:
        data = args.data
    reports = simulate_strategies(data, scratch / f"work-{args.seed}", loop_config(args, args.strategies[0]),
                                  args.strategies, log)
    result = {"benchmark": "loop", "data": args.generate or str(Path(data).absolute()),
              "strategies": reports, "comparison": compare(reports)}
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "loop.json", out / "loop.png"
    json_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    plot(reports, png_path, plot_title(result["data"], reports))
    result["files"] = {"json": str(json_path), "png": str(png_path)}
    return result



def main(argv: list[str] | None = None) -> int:
    """Run every strategy on the same folder; print the JSON report; write loop.json and loop.png."""
    args = parse_args(argv)
    log = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    if args.replot is not None:
        png = (args.out if args.out_given else args.replot.parent) / "loop.png"
        try:
            replot(args.replot, png)
        except (ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(json.dumps({"benchmark": "loop", "files": {"png": str(png)}}))
        return 0
    return in_scratch(args, "maskloop-loop-", lambda scratch: run_once(args, scratch, args.out, log))


def in_scratch(args: argparse.Namespace, prefix: str, body: Callable[[Path], dict[str, Any]]) -> int:
    """Run ``body`` in a fresh working folder (under ``--work``; removed after unless ``--keep-work``) and
    print its JSON report; a one-line error and exit status 1 for bad input or a file problem."""
    try:
        if args.work is not None:
            args.work.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=args.work))
    except OSError as exc:
        print(f"error: cannot create a working folder: {exc}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(body(scratch)))
    except (MaskloopError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep_work:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
