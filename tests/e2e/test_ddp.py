"""DistributedDataParallel: `unet-core train` under torchrun with 2 CPU processes on gloo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unet_core.model.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow


def _torchrun(carvana_dir: Path, out: Path, logs: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "unet_core", "train", "--data", str(carvana_dir), "--out", str(out),
           "--epochs", "2", "--size", "48x64", "--arch", "unet-tiny", "--device", "cpu", "--batch-size", "2",
           "--quiet", "--log-dir", str(logs)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def test_torchrun_two_processes_on_gloo(carvana_dir: Path, tmp_path: Path) -> None:
    out, logs = tmp_path / "ddp.safetensors", tmp_path / "logs"
    proc = _torchrun(carvana_dir, out, logs)
    if proc.returncode != 0 and not (logs / "metrics.jsonl").exists():
        # the launcher itself failed before the first epoch (seen once in ~10 full-suite runs on a busy
        # 2-core machine, e.g. a rendezvous port race); one more try, and both outputs if it fails again
        first = proc.stderr[-2000:]
        out, logs = tmp_path / "ddp2.safetensors", tmp_path / "logs2"
        proc = _torchrun(carvana_dir, out, logs)
        assert proc.returncode == 0, f"first try:\n{first}\nsecond try:\n{proc.stderr[-2000:]}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 processes" in proc.stderr
    assert proc.stderr.count("wrote ") == 1, proc.stderr  # only rank 0 reports (and writes) the checkpoint
    assert "terminate called" not in proc.stderr
    _, meta = load_checkpoint(out)
    assert meta.training["epochs"] == 2
    records = [json.loads(line) for line in (logs / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]  # only rank 0 logs
    # each rank saw half the 8 training images per epoch: 2 steps of 2 per epoch, 4 in all
    assert records[-1]["steps"] == 4
