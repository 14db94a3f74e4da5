"""benchmarks/gpu_check.sh without a GPU: one JSON object, the CUDA parts skipped with a reason, nothing written."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
import torch

from unet_core.model.unet import UNetConfig, check_input_size

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
CUDA_PARTS = ("tests", "finetune", "throughput", "predict_ms", "classic_carvana")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check would run its parts")


def _paths(root: Path) -> set[str]:
    """Every path in the tree but .git and bytecode (other processes may write that meanwhile)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.parts and "__pycache__" not in p.parts}


def _check(args: list[str], cwd: Path, timeout: float, **env: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = subprocess.run(["bash", str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHON": sys.executable, **env}, check=False)
    report = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert isinstance(report, dict) and len(proc.stdout.strip().splitlines()) == 1, proc.stdout
    return proc, report


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@no_cuda
def test_without_cuda_it_skips_every_cuda_part_with_a_reason_quickly_and_writes_nothing(tmp_path: Path) -> None:
    before = _paths(ROOT)
    t0 = time.monotonic()
    proc, report = _check([], cwd=tmp_path, timeout=120)  # from another folder: the script finds the tree itself
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 60
    assert report["cuda_available"] is False and report["device"] == "cpu" and report["missing"] == {}
    assert report["torch"] == torch.__version__ and report["failed"] == []
    for part in CUDA_PARTS:
        assert part not in report and "CUDA is not available" in report["skipped"][part]
    assert _paths(ROOT) == before


def test_missing_imports_are_named_in_the_json_with_exit_status_2(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "tensorboardX"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'protobuf' (a test's stand-in)\")\n")
    empty = tmp_path / "wheels"
    empty.mkdir()
    proc, report = _check([], cwd=tmp_path, timeout=120, PYTHONPATH=str(shadow.parent), GPU_CHECK_WHEELS_DIR=str(empty))
    assert proc.returncode == 2, proc.stderr
    assert list(report["missing"]) == ["tensorboardX"] and "protobuf" in report["missing"]["tensorboardX"]
    assert report["wheels"] == f"no wheels in {empty} for: tensorboardX"
    assert all("missing imports: tensorboardX" in report["skipped"][p] for p in CUDA_PARTS)


def test_the_classic_unet_trains_at_full_resolution_or_the_largest_size_the_core_allows() -> None:
    largest_size = _module().largest_size
    classic = UNetConfig.preset("unet", 2)
    h, w = largest_size(classic.base_width, (1280, 1918))
    assert h % 32 == 0 and w % 32 == 0 and abs(w / h - 1918 / 1280) < 0.02
    check_input_size(classic, (h, w))  # the core accepts it
    if (h, w) != (1280, 1920):  # capped: one step of 32 more on each side would be refused
        with pytest.raises(ValueError):
            check_input_size(classic, (h + 32, w + 32))
    assert largest_size(UNetConfig.preset("unet-small", 2).base_width, (1280, 1918)) == (1280, 1920)


@pytest.mark.slow
def test_every_part_runs_on_the_cpu_as_a_smoke_test(carvana_dir: Path, tmp_path: Path) -> None:
    proc, report = _check(["--device", "cpu", "--quick", "--carvana", str(carvana_dir)], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert report["failed"] == [] and report["skipped"] == {} and report["device"] == "cpu"
    assert report["tests"]["exit_code"] == 0 and report["tests"]["cases"]
    ft = report["finetune"]
    assert ft["steps"] > 0 and ft["losses_finite"] and ft["initial_val_dice"] is not None
    assert ft["final_val_dice"] is not None and {"events", "steps", "metrics"} <= set(ft["log_files"])
    tp = report["throughput"]
    assert tp["fp32_img_s"] > 0 and tp["amp_cl_img_s"] > 0 and tp["step_only"]["ratio"] > 0
    latency = report["predict_ms"]["unet-tiny"]
    assert 0 < latency["median_ms"] <= latency["p95_ms"]
    cv = report["classic_carvana"]
    assert cv["held_out_images"] == 4 and cv["train_images"] == 8 and 0 <= cv["held_out_dice"] <= 1
