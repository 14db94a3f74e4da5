"""Free-core threads: torch's CPU threads re-sized during a run to the cores other processes leave free."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from unet_core.training.types import Callback, StepInfo

PROC_STAT = Path("/proc/stat")
INTERVAL_S = 5.0
"""Seconds between two measurements of what the other processes use."""


@dataclass(frozen=True)
class CpuSample:
    """When, how busy this process's CPUs were in total, and how much of that was this process (seconds)."""

    wall: float
    busy: float
    own: float


def our_cpus() -> list[int]:
    """The CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def sample(cpus: list[int], stat: Path = PROC_STAT) -> CpuSample | None:
    """Busy seconds of ``cpus`` from ``/proc/stat`` and this process's CPU seconds; ``None`` where unreadable."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    wanted = {f"cpu{c}" for c in cpus}
    busy = 0
    seen = 0
    for line in lines:
        fields = line.split()
        if fields and fields[0] in wanted and len(fields) >= 8:
            user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
            steal = int(fields[8]) if len(fields) > 8 else 0
            busy += user + nice + system + irq + softirq + steal
            seen += 1
    if seen != len(cpus):
        return None
    t = os.times()
    return CpuSample(time.monotonic(), busy / hz, t.user + t.system)


def free_core_threads(before: CpuSample, after: CpuSample, cores: int) -> int | None:
    """Threads for the cores the other processes left free between two samples (1..cores), or ``None``."""
    wall = after.wall - before.wall
    if wall <= 0.5:
        return None
    others = max(0.0, (after.busy - before.busy) - (after.own - before.own)) / wall
    return max(1, min(cores, int(cores - others + 0.5)))


class FreeCoreThreads(Callback):
    """Every :data:`INTERVAL_S` seconds of a CPU run, set torch's threads to the cores other processes leave free.

    Two runs on the same cores then share them instead of oversubscribing them (each with as many threads
    as cores, a step took 3x as long as with half). Does nothing off Linux or on a GPU.
    """

    def __init__(self, interval: float = INTERVAL_S, stat: Path = PROC_STAT) -> None:
        self.interval = interval
        self.stat = stat
        self.cpus = our_cpus()
        self.changes: list[tuple[int, int]] = []  # (global step, threads)
        self.most = 1  # the threads the run started with (the user's or torch's choice): never more
        self._last: CpuSample | None = None
        self._active = False

    def on_start(self, info: dict[str, Any]) -> None:
        self._active = str(info.get("device", "cpu")).startswith("cpu")
        self.most = torch.get_num_threads()
        self._last = sample(self.cpus, self.stat) if self._active else None

    def on_step(self, info: StepInfo) -> None:
        if not self._active or self._last is None or time.monotonic() - self._last.wall < self.interval:
            return
        now = sample(self.cpus, self.stat)
        if now is None:
            self._active = False
            return
        threads = free_core_threads(self._last, now, min(len(self.cpus), self.most))
        self._last = now
        if threads is not None and threads != torch.get_num_threads():
            torch.set_num_threads(threads)
            self.changes.append((info.global_step, threads))


__all__ = ["CpuSample", "FreeCoreThreads", "free_core_threads", "our_cpus", "sample"]
