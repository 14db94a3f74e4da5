"""The held-out error breakdown script: effort, error regions by class, spurious classes, smoothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.benchmark_run import run_benchmark

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "heldout_errors.py"


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return run_benchmark(SCRIPT.name, args, timeout=300)


def test_reports_effort_and_error_regions_per_model(carvana_dir: Path, tiny_model: Path) -> None:
    from unet_core.data.layouts import detect_layout

    stems = [p.stem for p in detect_layout(carvana_dir).pairs()[0]][:2]
    proc = _run(["--data", str(carvana_dir), "--stems", ",".join(stems), "--model", str(tiny_model),
                 str(tiny_model), "--target-dice", "0.95", "--smooth", "5"])
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["stems"] == stems and len(result["models"]) == 2
    first, second = result["models"]
    assert first == second  # the same model gives the same answer
    assert first["strokes_per_image"] >= 0 and "strokes_per_image_smoothed_5px" in first
    assert set(first["error_regions_by_true_class"]) <= {"background", "car"}
    assert all(n > 0 for n in first["error_regions_by_true_class"].values())


def test_unknown_image_is_refused_in_one_line(carvana_dir: Path, tiny_model: Path) -> None:
    proc = _run(["--data", str(carvana_dir), "--stems", "nope", "--model", str(tiny_model)])
    assert proc.returncode == 1 and proc.stdout == ""
    assert "nope" in proc.stderr and proc.stderr.strip().count("\n") == 0
