"""kill -9 during real training runs: what is on disk is always loadable, and --resume finishes the job
with nothing left behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unet_core.model.checkpoint import load_checkpoint
from unet_core.training.resume import last_path_for

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]


def _train(data: Path, out: Path, epochs: int, resume: bool, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "unet_core", "train", "--data", str(data), "--out", str(out), "--epochs",
            str(epochs), "--size", "32x48", "--arch", "unet-tiny", "--quiet", "--val-fraction", "0.34", *extra]
    return subprocess.Popen(argv + (["--resume"] if resume else []), cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kills_during_training_leave_only_loadable_files(carla_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    last = last_path_for(out)
    rng = random.Random(3)
    kills = 0
    for _ in range(3):
        stamp = last.stat().st_mtime_ns if last.exists() else 0
        proc = _train(carla_dir, out, 400, resume=last.exists())
        deadline = time.monotonic() + 120  # training has really begun once it saves an epoch (a busy machine
        while time.monotonic() < deadline and proc.poll() is None:  # may take long to import torch)
            if last.exists() and last.stat().st_mtime_ns != stamp:
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))  # then a random moment: mid-step, mid-validation or mid-save
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        for path in (out, last):
            if path.exists():
                load_checkpoint(path)  # complete: an atomic write is the old file or the whole new one
    assert kills == 3 and last.exists()
    old = time.time() - 3600
    for temp in tmp_path.glob(".*.tmp"):  # what a kill mid-save left: stale once no writer is alive
        os.utime(temp, (old, old))
    proc = _train(carla_dir, out, 400, True, "--time-limit", "3")  # resumes, trains a little, ends normally
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err, err
    load_checkpoint(out)
    assert not list(tmp_path.glob(".*.tmp")), "temporaries were left behind"
