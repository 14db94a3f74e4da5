"""Interactive work first: a click's model run holds the gate, and training steps in the same process wait
for it to clear, so a click does not share the cores with a training step it could have waited out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MOST_WAIT_S = 2.0
"""Longest a training step waits for interactive work: clicks in a row never stop a run for good."""


class Gate:
    """Counts the interactive jobs running; :meth:`wait_clear` blocks while there is one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holders = 0
        self.enabled = True  # off: training never waits (benchmarks compare both)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Mark interactive work under way for the ``with`` block."""
        with self._cond:
            self._holders += 1
        try:
            yield
        finally:
            with self._cond:
                self._holders -= 1
                self._cond.notify_all()

    def busy(self) -> bool:
        """Whether interactive work is under way."""
        return self._holders > 0

    def wait_clear(self, most_s: float = MOST_WAIT_S) -> float:
        """Wait while interactive work is under way, at most ``most_s``; the seconds waited."""
        if not self.enabled or not self._holders:
            return 0.0
        t0 = time.perf_counter()
        with self._cond:
            self._cond.wait_for(lambda: self._holders == 0, timeout=most_s)
        return time.perf_counter() - t0


INTERACTIVE = Gate()
"""The process's gate: the click tool's model runs hold it; the trainer waits on it before each step."""

__all__ = ["INTERACTIVE", "MOST_WAIT_S", "Gate"]
