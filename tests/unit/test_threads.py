"""Free-core threads: a CPU run shares the cores with other processes instead of oversubscribing them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from unet_core.training.threads import CpuSample, FreeCoreThreads, free_core_threads, our_cpus, sample
from unet_core.training.types import StepInfo


def test_threads_follow_the_cores_others_leave_free() -> None:
    quiet = free_core_threads(CpuSample(0, 0, 0), CpuSample(10, 20, 19.5), cores=2)  # only we were busy
    busy = free_core_threads(CpuSample(0, 0, 0), CpuSample(10, 20, 10), cores=2)  # another process took a core
    swamped = free_core_threads(CpuSample(0, 0, 0), CpuSample(10, 40, 2), cores=4)  # others use ~4 cores
    assert (quiet, busy, swamped) == (2, 1, 1)
    assert free_core_threads(CpuSample(0, 0, 0), CpuSample(0.1, 1, 1), cores=2) is None  # too short to tell


def test_this_machines_cpu_counters_are_read() -> None:
    s = sample(our_cpus())
    assert s is not None and s.busy > 0 and s.own > 0
    assert sample(our_cpus(), Path("/nonexistent/stat")) is None
    assert sample([10_000], ) is None  # a CPU /proc/stat does not list


def _step(n: int) -> StepInfo:
    return StepInfo(1, n, 10, n, 1.0, 1e-3, 1.0, 1.0, 0.1, None)


@pytest.fixture
def idle_stat(tmp_path: Path) -> Iterator[Path]:
    """A /proc/stat of idle CPUs; torch's thread count is restored afterwards."""
    stat = tmp_path / "stat"
    stat.write_text("".join(f"cpu{c} 0 0 0 0 0 0 0 0\n" for c in our_cpus()))
    before = torch.get_num_threads()
    yield stat
    torch.set_num_threads(before)


def test_the_callback_sets_torch_threads_and_stays_out_of_gpu_runs(idle_stat: Path) -> None:
    cpus = our_cpus()
    torch.set_num_threads(len(cpus))
    cb = FreeCoreThreads(interval=0.0, stat=idle_stat)
    cb.on_start({"device": "cpu (2 threads)"})
    assert cb._last is not None
    busy = int(len(cpus) * 1000 * 100)  # every CPU busy for 1000 s (at 100 ticks/s) by others
    idle_stat.write_text("".join(f"cpu{c} {busy // len(cpus)} 0 0 0 0 0 0 0\n" for c in cpus))
    cb._last = CpuSample(cb._last.wall - 10, cb._last.busy, cb._last.own)
    cb.on_step(_step(1))
    assert torch.get_num_threads() == 1 and cb.changes == ([(1, 1)] if len(cpus) > 1 else [])
    gpu = FreeCoreThreads(interval=0.0, stat=idle_stat)
    gpu.on_start({"device": "cuda:0 (NVIDIA H200)"})
    gpu.on_step(_step(1))
    assert gpu.changes == []


def test_never_more_threads_than_the_run_started_with(idle_stat: Path) -> None:
    torch.set_num_threads(1)  # the user's choice (OMP_NUM_THREADS=1, say) on an idle machine
    cb = FreeCoreThreads(interval=0.0, stat=idle_stat)
    cb.on_start({"device": "cpu"})
    assert cb._last is not None
    cb._last = CpuSample(cb._last.wall - 10, cb._last.busy, cb._last.own - 20)  # we were the busy one
    cb.on_step(_step(1))
    assert torch.get_num_threads() == 1 and cb.changes == []
