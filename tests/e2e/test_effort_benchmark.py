"""The effort benchmark end to end: one JSON object per the design contract, and one line for bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.benchmark_run import run_benchmark
from tests.tree_hash import tree_hashes

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "effort.py"


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return run_benchmark(SCRIPT.name, args)


def test_effort_prints_the_contract_and_writes_nothing(carvana_dir: Path, tiny_model: Path) -> None:
    before = tree_hashes(carvana_dir)
    proc = _run(["--data", str(carvana_dir), "--model", str(tiny_model), "--tools", "brush", "smart",
                 "--targets", "0.9", "0.95", "--max-actions", "60", "--limit", "2", "--json"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --json: nothing but the object
    out = json.loads(proc.stdout)
    assert out["images"] == 2 and set(out["tools"]) == {"brush", "smart"}
    for figures in out["tools"].values():
        assert set(figures["noc"]) == {"0.9", "0.95"} and set(figures["failed"]) == {"0.9", "0.95"}
        assert figures["seconds_per_image"] > 0 and figures["actions_per_image"] > 0
        assert all(0 <= v <= 60 for v in figures["noc"].values())
        assert figures["noc"]["0.9"] <= figures["noc"]["0.95"]
    assert tree_hashes(carvana_dir) == before


def test_clicks_are_measured_like_the_other_tools(carvana_dir: Path, tiny_click_model: Path, tiny_model: Path) -> None:
    before = tree_hashes(carvana_dir)
    proc = _run(["--data", str(carvana_dir), "--model", str(tiny_click_model), "--tools", "click", "smart",
                 "--targets", "0.9", "0.95", "--max-actions", "20", "--limit", "2", "--jitter", "--json"])
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    click = out["tools"]["click"]
    assert out["jitter"] is True and set(click["noc"]) == {"0.9", "0.95"}
    assert all(0 <= v <= 20 for v in click["noc"].values()) and click["noc"]["0.9"] <= click["noc"]["0.95"]
    assert click["actions_by_tool"].get("click", 0) == round(click["actions_per_image"] * 2)
    assert tree_hashes(carvana_dir) == before
    automatic = _run(["--data", str(carvana_dir), "--model", str(tiny_model), "--tools", "click"])
    assert automatic.returncode == 1 and "interactive model" in automatic.stderr


def test_from_an_empty_mask_and_bad_input(carvana_dir: Path, tmp_path: Path) -> None:
    proc = _run(["--data", str(carvana_dir), "--model", "none", "--tools", "smart", "--limit", "1",
                 "--targets", "0.9", "--max-actions", "40", "--details"])
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["tools"]["smart"]["dice_start"] == 0.0 and len(out["per_image"]) == 1
    assert "smart" in proc.stderr  # the per-image progress line
    click = _run(["--data", str(carvana_dir), "--model", "none", "--tools", "click"])
    assert click.returncode == 1 and click.stderr.count("\n") == 1 and "interactive model" in click.stderr
    missing = _run(["--data", str(tmp_path / "nope"), "--model", "none"])
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and missing.stdout == ""
    not_a_model = tmp_path / "m.safetensors"
    not_a_model.write_bytes(b"not a checkpoint")
    bad = _run(["--data", str(carvana_dir), "--model", str(not_a_model)])
    assert bad.returncode == 1 and str(not_a_model) in bad.stderr and bad.stderr.count("\n") == 1


def test_the_tool_latency_benchmark_runs_every_tool() -> None:
    proc = run_benchmark("smart_tools.py", ["--repeats", "1"])
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["size"] == [1280, 1918]
    assert set(out["tools"]) == {"wand", "snap", "region", "second_choice", "scissors", "superpixel", "cleanup",
                                 "edge"}
    assert all(r["median_ms"] > 0 and r["p95_ms"] >= r["median_ms"] for r in out["tools"].values())
    assert set(out["commands"]) == {"refine"} and out["commands"]["refine"]["median_ms"] > 0


def test_the_click_latency_benchmark_times_the_canvas_job(tiny_click_model: Path, tiny_model: Path) -> None:
    proc = run_benchmark("click_latency.py", ["--repeats", "2"])
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["size"] == [1280, 1918] and out["threads"] == 2 and out["target_ms"] == 150.0
    assert 0 < out["median_ms"] <= out["p95_ms"]
    assert out["window_working"][0] <= out["model_input"][0] and out["window_working"][1] <= out["model_input"][1]
    trained = run_benchmark("click_latency.py", ["--repeats", "1", "--model", str(tiny_click_model)])
    assert trained.returncode == 0, trained.stderr
    automatic = run_benchmark("click_latency.py", ["--repeats", "1", "--model", str(tiny_model)])
    assert automatic.returncode == 1 and automatic.stderr.count("\n") == 1 and "--clicks" in automatic.stderr
