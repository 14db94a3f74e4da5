"""Run one of `benchmarks/` as a user does (a fresh Python, the repository on the path) for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(name: str, args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/<name> ARGS`` from the repository root; its exit status and output, never raising."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False, env=env)
