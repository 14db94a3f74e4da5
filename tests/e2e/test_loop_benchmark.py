"""The loop benchmark's small configuration end to end: simulated corrections, fine-tunes, JSON and plot."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.benchmark_run import run_benchmark
from unet_core.data.layouts import detect_layout
from unet_core.errors import DataError
from unet_core.loop.corrections import collect, validation_stems
from unet_core.model.checkpoint import read_metadata
from unet_core.sim.session import (
    ImageRecord,
    LoopConfig,
    make_working_folder,
    round_epochs,
    simulate_loop,
    split_heldout,
)
from unet_core.store.project import ProjectStore

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "loop.py"
SMALL = ["--rounds", "2", "--per-round", "3", "--arch", "unet-tiny", "--size", "64x96", "--steps-per-round", "24",
         "--scratch-lr", "3e-3", "--finetune-lr", "1e-3", "--quiet"]


def _run(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run_benchmark(SCRIPT.name, args, timeout=timeout)


@pytest.fixture(scope="module")
def small_run(carvana_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """Every queue order, 2 rounds of 3 images, unet-tiny at 64x96 on 12 generated 160x240 Carvana images."""
    base = tmp_path_factory.mktemp("loop")
    proc = _run(["--data", str(carvana_dir), *SMALL, "--out", str(base / "out"), "--work", str(base / "work"),
                 "--keep-work", "--strategies", "uncertainty", "random", "auto"])
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), base


def test_small_configuration_reports_every_round(small_run: tuple[dict, Path], carvana_dir: Path) -> None:
    result, base = small_run
    assert result["benchmark"] == "loop" and set(result["strategies"]) == {"uncertainty", "random", "auto"}
    assert json.loads((base / "out" / "loop.json").read_text()) == {k: v for k, v in result.items() if k != "files"}
    png = cv2.imread(str(base / "out" / "loop.png"))
    assert png is not None and png.shape[0] > 300 and png.shape[1] > 800
    assert not (carvana_dir / ".maskloop").exists()  # nothing was written into the dataset
    for report in result["strategies"].values():
        assert report["queue_images"] == 8 and report["heldout_images"] == 4  # one car of three held out
        assert not set(report["heldout_stems"]) & {im["stem"] for r in report["rounds"] for im in r["images"]}
        rounds = report["rounds"]
        assert [r["round"] for r in rounds] == [0, 1] and [r["corrected_so_far"] for r in rounds] == [3, 6]
        first, second = rounds
        assert first["model_version"] is None and first["heldout_dice_before"] is None
        assert first["start_dice_per_image"] == 0.0 and first["strokes_per_image"] > 0  # painted from scratch
        assert first["effort_vs_scratch"] == 1.0
        assert first["training"]["mode"] == "train from scratch" and first["training"]["kept"]
        assert second["model_version"] == first["training"]["version"]
        assert second["training"]["mode"] == "fine-tune"
        assert first["heldout_strokes_before"] > 0  # the held-out images painted from scratch
        for r in rounds:
            assert 0.0 <= r["heldout_dice_after"] <= 1.0 and r["heldout_strokes_after"] >= 0
            assert 0 < r["effort_vs_scratch"] <= 1.0 + 1 / r["scratch_strokes_per_image"]
            assert all(im["reached_target"] and im["dice_end"] >= 0.99 for im in r["images"])
            assert r["pixels_changed_per_image"] > 0 and r["seconds_per_image"] > 0
        assert second["images"][0]["uncertainty"] is not None
        summary = report["summary"]
        assert summary["images_corrected"] == 6 and summary["strokes_per_image"][0] == pytest.approx(first["strokes_per_image"], abs=0.01)
    u, r = (result["strategies"][s]["rounds"] for s in ("uncertainty", "random"))
    assert [im["stem"] for im in u[0]["images"]] == [im["stem"] for im in r[0]["images"]]  # same round 0
    assert u[0]["heldout_dice_after"] == r[0]["heldout_dice_after"] and u[0]["shared"] and r[0]["shared"]
    assert u[0]["training"]["version"] == r[0]["training"]["version"]  # both continue from the same round 0
    scores = [im["uncertainty"] for im in u[1]["images"] if not im["validation"]]
    assert scores and scores == sorted(scores, reverse=True)  # most uncertain first (validation spread apart)
    assert set(result["comparison"]) >= {"strokes_after_round0", "final_heldout_dice", "final_heldout_strokes_per_image",
                                         "auto_dice_not_lower", "uncertainty_heldout_effort_not_higher"}
    # the default order: the round-0 model's uncertainty was measured against its errors on the
    # validation split (3 images here: too few to trust), so round 1 stays shuffled, look-alikes apart
    auto = result["strategies"]["auto"]["rounds"]
    assert auto[1]["calibration"]["images"] < 8 and not auto[1]["ranked_by_uncertainty"]
    assert u[1]["ranked_by_uncertainty"] and not r[1]["ranked_by_uncertainty"]


def test_store_holds_the_corrections_effort_and_weighted_examples(small_run: tuple[dict, Path]) -> None:
    result, _ = small_run
    report = result["strategies"]["uncertainty"]
    layout = detect_layout(report["work"])
    with ProjectStore.for_dataset(layout.root) as store:
        corrected = {im["stem"]: im for r in report["rounds"] for im in r["images"]}
        assert set(store.corrected_stems()) == set(corrected)
        for stem, im in corrected.items():
            state = store.state(stem)
            assert state.status.value == "corrected" and state.strokes == im["strokes"]
            assert state.pixels_changed == im["pixels_changed"]
            assert state.edit_seconds == pytest.approx(im["seconds"])
        assert [m.id for m in store.models()] == [r["training"]["version"] for r in report["rounds"]
                                                  if r["training"]["kept"]]
        pairs, _ = layout.pairs()
        records = [ImageRecord(p.stem, p.image) for p in pairs]
        current = store.current_model()
        assert current is not None
        data = collect(layout, store, records, weights_from=current.id)
        val = validation_stems(layout, records)
        round1 = {im["stem"] for im in report["rounds"][1]["images"]} - val
        weighted = [ex for ex in data.train if ex.weight is not None]
        # images corrected from a cached prediction are weighted: 1 + boost on the pixels the annotator changed
        assert len(weighted) == len(round1)
        for ex in weighted:
            stem = ex.image_path.stem
            pred, _ = store.load_prediction(stem, report["rounds"][1]["model_version"])
            changed = pred != store.load_mask(stem)
            assert np.all(ex.weight[changed] == 5.0) and ex.weight.min() == 1.0


def test_replot_draws_the_plot_again_from_loop_json(small_run: tuple[dict, Path], tmp_path: Path) -> None:
    _, base = small_run
    proc = _run(["--replot", str(base / "out" / "loop.json"), "--out", str(tmp_path / "again")], timeout=60)
    assert proc.returncode == 0, proc.stderr
    again = cv2.imread(str(tmp_path / "again" / "loop.png"))
    assert again is not None and again.shape == cv2.imread(str(base / "out" / "loop.png")).shape
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    proc = _run(["--replot", str(bad), "--out", str(tmp_path / "bad")], timeout=60)
    assert proc.returncode == 1 and "not a loop.json" in proc.stderr and proc.stderr.strip().count("\n") == 0
    assert not (tmp_path / "bad").exists()


def test_bad_folder_fails_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    proc = _run(["--data", str(tmp_path / "missing"), *SMALL, "--out", str(tmp_path / "out"),
                 "--work", str(tmp_path)], timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "missing" in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []


def test_unknown_heldout_image_fails_with_one_line_and_writes_nothing(carvana_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    proc = _run(["--data", str(carvana_dir), *SMALL, "--heldout-stems", "no_such_image", "--out", str(tmp_path / "out"),
                 "--work", str(work)], timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "no_such_image" in proc.stderr
    assert not (tmp_path / "out").exists() and list(work.iterdir()) == []
    assert not (carvana_dir / ".maskloop").exists()


def test_working_folder_links_images_without_masks(carvana_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    pool, heldout = split_heldout(pairs, 0.25, seed=0)
    assert len(heldout) == 4 and {p.group for p in pool}.isdisjoint({p.group for p in heldout})
    work = make_working_folder(layout, pool, tmp_path / "work")
    linked, _ = work.pairs()
    assert [p.stem for p in linked] == [p.stem for p in pool] and all(p.mask is None for p in linked)
    assert all(p.image.is_symlink() for p in linked)
    with pytest.raises(ValueError, match="not empty"):
        make_working_folder(layout, pool, tmp_path / "work")


def test_explicit_heldout_images_replace_the_group_split(carvana_dir: Path) -> None:
    pairs, _ = detect_layout(carvana_dir).pairs()
    chosen = [pairs[1].stem, pairs[6].stem]
    pool, heldout = split_heldout(pairs, 0.25, seed=0, stems=chosen)
    assert [p.stem for p in heldout] == sorted(chosen, key=[p.stem for p in pairs].index)
    assert len(pool) == len(pairs) - 2 and not {p.stem for p in pool} & set(chosen)
    with pytest.raises(ValueError, match="not among the labelled images: nope"):
        split_heldout(pairs, 0.25, seed=0, stems=[pairs[0].stem, "nope"])
    with pytest.raises(ValueError, match="leaves nothing"):
        split_heldout(pairs, 0.25, seed=0, stems=[p.stem for p in pairs])


def test_loop_settings_are_checked_and_steps_become_epochs() -> None:
    for bad in (LoopConfig(strategy="entropy"), LoopConfig(rounds=0), LoopConfig(heldout_fraction=1.0),
                LoopConfig(target_dice=0.0), LoopConfig(steps_per_round=0)):
        with pytest.raises(ValueError):
            bad.validate()
    cfg = LoopConfig(steps_per_round=144, batch_size=4)
    assert round_epochs(cfg, 3) == 12  # a small set is repeated to 48 samples = 12 steps an epoch
    assert round_epochs(cfg, 100) == 6  # 25 steps an epoch
    assert round_epochs(LoopConfig(steps_per_round=None, epochs_per_round=7), 100) == 7


def test_a_start_model_predicts_round_0(carvana_dir: Path, carla_dir: Path, tiny_model: Path, tmp_path: Path) -> None:
    cfg = LoopConfig(rounds=1, per_round=2, arch="unet-tiny", size_hw=(64, 96), steps_per_round=12,
                     start_model=tiny_model)
    report = simulate_loop(carvana_dir, tmp_path / "work", cfg)
    (first,) = report["rounds"]
    assert first["model_version"] == "v0001" and report["models"][0]["note"].startswith("opened from file")
    assert first["heldout_dice_before"] is not None and first["start_dice_per_image"] > 0.5
    assert all(im["uncertainty"] is not None for im in first["images"])
    assert first["training"]["mode"] == "fine-tune"
    with pytest.raises(DataError, match="classes"):  # a Carvana model on a CARLA folder
        simulate_loop(carla_dir, tmp_path / "work2", replace(cfg, per_round=1))
    assert not (tmp_path / "work2").exists()  # refused before anything was written


def test_the_loop_with_smart_tools_reports_actions_and_seconds(carvana_dir: Path, tmp_path: Path) -> None:
    proc = _run(["--data", str(carvana_dir), *SMALL, "--tools", "smart", "--strategies", "random",
                 "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")])
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["strategies"]["random"]
    for r in report["rounds"]:
        assert r["actions_per_image"] > 0 and r["seconds_per_image"] > 0
        assert r["scratch_strokes_per_image"] is None and r["effort_vs_scratch"] is None  # not painted twice
        assert r["heldout_actions_after"] > 0
        assert all(im["counts"] and im["dice_end"] >= 0.99 for im in r["images"])
    summary = report["summary"]
    assert len(summary["actions_per_image"]) == 2 and len(summary["heldout_actions"]) == 2
    assert not (carvana_dir / ".maskloop").exists()


def test_the_loop_with_clicks_trains_interactive_models_and_clicks_from_round_1(carvana_dir: Path, tmp_path: Path) -> None:
    proc = _run(["--data", str(carvana_dir), *SMALL, "--tools", "click", "--strategies", "random",
                 "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"), "--keep-work"])
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["strategies"]["random"]
    first, second = report["rounds"]
    assert all("click" not in im["counts"] for im in first["images"])  # round 0: no model yet, smart tools
    assert any(im["counts"].get("click", 0) > 0 for im in second["images"])  # then the model takes clicks
    assert all(im["dice_end"] >= 0.99 for r in report["rounds"] for im in r["images"])
    assert first["training"]["kept"]
    models = sorted((tmp_path / "work").rglob("v0001*.safetensors"))
    assert models and read_metadata(models[0]).interactive
    assert not (carvana_dir / ".maskloop").exists()


def test_queue_order_compares_the_default_with_random_over_seeds(carvana_dir: Path, tmp_path: Path) -> None:
    args = ["--data", str(carvana_dir), *SMALL, "--steps-per-round", "8", "--seeds", "0", "1",
            "--out", str(tmp_path / "out")]
    proc = run_benchmark("queue_order.py", args, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["benchmark"] == "queue_order" and result["seeds"] == [0, 1]
    assert result["strategies"] == ["auto", "random"]
    for seed in ("0", "1"):
        assert set(result["per_seed"][seed]["final_heldout_dice"]) == {"auto", "random"}
        assert (tmp_path / "out" / f"seed-{seed}" / "loop.json").is_file()
        assert result["rounds"][seed]["auto"]["ranked_by_uncertainty"] == [False, False]  # 3 validation images
    means = result["means"]["final_heldout_dice"]
    per_seed = [result["per_seed"][s]["final_heldout_dice"]["auto"] for s in ("0", "1")]
    assert means["auto"] == pytest.approx(sum(per_seed) / 2, abs=1e-4)
    verdict = result["vs_random"]["auto"]
    assert verdict["dice_not_lower"] == (means["auto"] >= means["random"] - 1e-9)
    assert 0 <= verdict["seeds_dice_not_lower"] <= 2
    assert json.loads((tmp_path / "out" / "queue_order.json").read_text()) == result
    bad = run_benchmark("queue_order.py", ["--data", str(carvana_dir), "--strategies", "auto", "--seeds", "0"],
                        timeout=60)
    assert bad.returncode == 1 and "must hold random" in bad.stderr and not bad.stdout
    bad = run_benchmark("queue_order.py", ["--data", str(carvana_dir), "--seeds", "x"], timeout=60)
    assert bad.returncode != 0 and "whole numbers" in bad.stderr
