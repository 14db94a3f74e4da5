"""Run a plain function on Qt's thread pool and get its result (or error) back on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.workers.common import lower_priority

log = logging.getLogger(__name__)
_alive: set[_Relay] = set()


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.fn, self.relay = fn, relay

    def run(self) -> None:
        lower_priority()  # a pool thread: below the GUI thread, like every worker
        try:
            result = self.fn()
        except Exception as exc:
            log.debug("background task failed", exc_info=True)
            self._emit(self.relay.failed, " ".join(str(exc).split()) or type(exc).__name__)
        else:
            self._emit(self.relay.done, result)

    @staticmethod
    def _emit(signal: Any, value: Any) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the app quit while this ran: its relay is gone and nobody waits for the result
            log.debug("background task finished after its receiver was deleted")


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[str], None] | None = None,
    pool: QThreadPool | None = None,
) -> None:
    """Call ``fn()`` on a pool thread; ``on_done(result)`` or ``on_error(message)`` run on the GUI thread."""
    relay = _Relay()
    _alive.add(relay)

    def finish_ok(result: Any) -> None:
        _alive.discard(relay)
        on_done(result)

    def finish_err(message: str) -> None:
        _alive.discard(relay)
        if on_error is not None:
            on_error(message)

    relay.done.connect(finish_ok)
    relay.failed.connect(finish_err)
    (pool or QThreadPool.globalInstance()).start(_Task(fn, relay))
