"""The superpixel ceiling benchmark: the best whole-superpixel mask per spacing, and one line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.benchmark_run import run_benchmark


def test_finer_superpixels_reach_at_least_as_close_to_the_truth(carla_dir: Path) -> None:
    proc = run_benchmark("superpixel_ceiling.py", ["--data", str(carla_dir), "--spacings", "12", "3", "--limit", "3"],
                         timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["images"] == 3 and set(result["spacings"]) == {"12", "3"}
    coarse, fine = result["spacings"]["12"], result["spacings"]["3"]
    assert 0 < coarse["dice_mean"] <= fine["dice_mean"] <= 1
    assert coarse["dice_min"] <= coarse["dice_mean"] <= coarse["dice_max"]
    assert fine["pixel_accuracy"] > 0.9


def test_a_majority_mask_of_one_pixel_superpixels_is_the_truth() -> None:
    from benchmarks.superpixel_ceiling import majority_mask

    truth = np.random.default_rng(0).integers(0, 4, (5, 7)).astype(np.uint8)
    labels = np.arange(1, 36, dtype=np.int32).reshape(5, 7)
    assert np.array_equal(majority_mask(labels, truth, 4), truth)
    halves = np.where(np.arange(7) < 3, 1, 2)[None].repeat(5, 0).astype(np.int32)
    truth[:, :3], truth[0, 0] = 2, 1  # one stray pixel is outvoted
    assert (majority_mask(halves, truth, 4)[:, :3] == 2).all()


def test_a_folder_without_masks_is_one_line(tmp_path: Path) -> None:
    proc = run_benchmark("superpixel_ceiling.py", ["--data", str(tmp_path)], timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error:")
