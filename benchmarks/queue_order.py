"""Benchmark: the default queue order against random over several seeds of the loop benchmark (prints JSON).

Usage: ``python benchmarks/queue_order.py --data DIR --seeds 0 1 2 [any option of benchmarks/loop.py]``.
Each seed is one run of ``benchmarks/loop.py`` (its own held-out split, shuffles and simulated person;
every order continues from the same round 0), written to ``--out/seed-N/loop.json`` and ``loop.png``.
Prints one JSON object: per seed, the final held-out Dice and held-out correction effort (strokes and
seconds per image) of each order, their means over the seeds, and for each order other than random
whether it was at least as good as random on both (docs/effort.md, "The queue").
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loop import in_scratch, parse_args, run_once

METRICS = ("final_heldout_dice", "final_heldout_strokes_per_image", "final_heldout_seconds_per_image")


def _seeds(argv: list[str]) -> tuple[list[int], list[str]]:
    """``--seeds N ...`` taken out of ``argv``; the rest is for the loop benchmark's parser."""
    if "--seeds" not in argv:
        return [0, 1, 2], argv
    at = argv.index("--seeds")
    values: list[int] = []
    rest = argv[:at]
    i = at + 1
    while i < len(argv) and not argv[i].startswith("--"):
        try:
            values.append(int(argv[i]))
        except ValueError:
            raise SystemExit(f"error: --seeds takes whole numbers, got {argv[i]!r}") from None
        i += 1
    if not values:
        raise SystemExit("error: --seeds needs at least one seed")
    return values, rest + argv[i:]


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.fmean(kept), 4) if kept else None


def summarize_seeds(per_seed: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Means over the seeds of each order's final held-out figures, and each order against random:
    held-out Dice not lower and held-out effort not higher, on the means and seed by seed."""
    orders = sorted({name for c in per_seed.values() for name in c.get("final_heldout_dice", {})})
    means = {m: {o: _mean([c.get(m, {}).get(o) for c in per_seed.values()]) for o in orders} for m in METRICS}
    verdict: dict[str, Any] = {}
    for o in orders:
        if o == "random":
            continue
        dice, strokes = means["final_heldout_dice"], means["final_heldout_strokes_per_image"]
        seconds = means["final_heldout_seconds_per_image"]
        verdict[o] = {
            "dice_not_lower": None if dice[o] is None or dice["random"] is None else dice[o] >= dice["random"] - 1e-9,
            "strokes_not_higher": None if strokes[o] is None or strokes["random"] is None
            else strokes[o] <= strokes["random"] + 1e-9,
            "seconds_not_higher": None if seconds[o] is None or seconds["random"] is None
            else seconds[o] <= seconds["random"] + 1e-9,
            "seeds_dice_not_lower": sum(bool(c.get(f"{o}_dice_not_lower")) for c in per_seed.values()),
            "seeds_effort_not_higher": sum(bool(c.get(f"{o}_heldout_effort_not_higher")) for c in per_seed.values()),
        }
    return {"means": means, "vs_random": verdict}


def main(argv: list[str] | None = None) -> int:
    """Run the loop benchmark once per seed; print the comparison as JSON."""
    seeds, rest = _seeds(list(sys.argv[1:] if argv is None else argv))
    args = parse_args(rest)
    if args.replot is not None or (args.data is None and args.generate is None):
        print("error: give --data DIR (or --generate) for the runs", file=sys.stderr)
        return 1
    if "random" not in args.strategies or len(args.strategies) < 2:
        print("error: --strategies must hold random and at least one other order", file=sys.stderr)
        return 1
    log = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    out = args.out if args.out_given else Path("out/queue_order")

    def run(scratch: Path) -> dict[str, Any]:
        per_seed: dict[int, dict[str, Any]] = {}
        rounds: dict[int, dict[str, Any]] = {}
        for seed in seeds:
            args.seed = seed
            log(f"seed {seed}")
            result = run_once(args, scratch, out / f"seed-{seed}", log)
            per_seed[seed] = result["comparison"]
            rounds[seed] = {name: {"heldout_dice_after": r["summary"].get("heldout_dice_after"),
                                   "heldout_seconds": r["summary"].get("heldout_seconds"),
                                   "ranked_by_uncertainty": [x.get("ranked_by_uncertainty") for x in r["rounds"]],
                                   "calibration": [x.get("calibration") for x in r["rounds"]]}
                            for name, r in result["strategies"].items()}
        summary = {"benchmark": "queue_order", "data": args.generate or str(Path(args.data).absolute()),
                   "seeds": seeds, "strategies": args.strategies, "tools": args.tools,
                   "per_seed": {str(k): v for k, v in per_seed.items()},
                   "rounds": {str(k): v for k, v in rounds.items()}, **summarize_seeds(per_seed)}
        out.mkdir(parents=True, exist_ok=True)
        (out / "queue_order.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return summary

    return in_scratch(args, "maskloop-queue-", run)


if __name__ == "__main__":
    sys.exit(main())
