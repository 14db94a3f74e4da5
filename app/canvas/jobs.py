"""Background work of the smart tools: previews one job at a time (the latest request wins), edits to apply in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QElapsedTimer, QTimer

from unet_core.priority import INTERACTIVE

FRAME_MS = 16  # previews (wand, live wire) are recomputed at most once a frame

Runner = Callable[[Callable[[], Any], Callable[[Any], None], Callable[[str], None]], None]
"""``runner(fn, on_done, on_error)``: call ``fn()`` off the GUI thread, then ``on_done(result)`` or
``on_error(message)`` on it (the window passes ``Workspace.run_in_background``)."""


def interactive(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` run as interactive work: a training run in this process waits between its steps meanwhile
    (:data:`unet_core.priority.INTERACTIVE`), so a tool's preview or edit does not share the cores with it."""

    def held() -> Any:
        with INTERACTIVE.hold():
            return fn()

    return held


def run_soon(fn: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[str], None]) -> None:
    """The runner of a canvas used on its own: ``fn`` runs on the GUI thread at the next event-loop turn."""

    def call() -> None:
        try:
            result = fn()
        except Exception as exc:  # reported like a worker's error
            on_error(" ".join(str(exc).split()) or type(exc).__name__)
        else:
            on_done(result)

    QTimer.singleShot(0, call)


class LatestJob:
    """Runs at most one job at a time; a request made while one runs waits, replacing an older waiting
    one, so a stream of requests (a tolerance dragged, a pointer moved) costs at most one job in flight
    and always ends with the latest; with ``min_interval_ms`` jobs also start at most that often (one
    frame: a preview recomputed at most once a frame). Every finished job's result is handed over (``busy`` is still true
    then when a newer request waits). :meth:`cancel` drops the waiting job and ignores the running one's
    result."""

    def __init__(self, runner: Runner, on_error: Callable[[str], None] | None = None, min_interval_ms: int = 0,
                 alive: Callable[[], bool] | None = None) -> None:
        self.runner = runner
        self._alive = alive or (lambda: True)  # False once the owner is gone: results are dropped
        self._on_error = on_error
        self._interval = max(0, int(min_interval_ms))  # e.g. one frame: at most one start per frame
        self._clock = QElapsedTimer()
        self._delayed = False
        self._running = False
        self._waiting: tuple[Callable[[], Any], Callable[[Any], None]] | None = None
        self._ticket = 0

    @property
    def busy(self) -> bool:
        """Whether a job runs or waits."""
        return self._running or self._waiting is not None or self._delayed

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        """Run ``fn`` off the GUI thread and hand its result to ``on_done`` (unless cancelled or replaced)."""
        self._waiting = (fn, on_done)
        if not self._running and not self._delayed:
            self._start()

    def cancel(self) -> None:
        """Forget the waiting job; the running one's result will be dropped."""
        self._waiting = None
        self._ticket += 1

    def _start(self) -> None:
        if self._waiting is None:
            return
        if self._interval and self._clock.isValid():
            wait = self._interval - self._clock.elapsed()
            if wait > 0:  # the last job started less than the interval ago: start this one then
                self._delayed = True
                QTimer.singleShot(int(wait), self._start_delayed)
                return
        self._clock.start()
        fn, on_done = self._waiting
        self._waiting = None
        self._running = True
        ticket = self._ticket

        def done(result: Any) -> None:
            self._running = False
            if not self._alive():
                return
            if ticket == self._ticket:
                on_done(result)  # a newer request may wait (``busy``): this result is a step on the way
            self._start()

        def failed(message: str) -> None:
            self._running = False
            if not self._alive():
                return
            if ticket == self._ticket and self._on_error is not None:
                self._on_error(message)
            self._start()

        self.runner(interactive(fn), done, failed)

    def _start_delayed(self) -> None:
        self._delayed = False
        if not self._running and self._alive():
            self._start()


class JobQueue:
    """Runs jobs one after another in the order they came, keeping every one (edits to apply: two
    snapping strokes released in quick succession both land). :meth:`cancel` drops them all."""

    def __init__(self, runner: Runner, on_error: Callable[[str], None] | None = None,
                 alive: Callable[[], bool] | None = None) -> None:
        self.runner = runner
        self._on_error = on_error
        self._alive = alive or (lambda: True)
        self._queue: list[tuple[Callable[[], Any], Callable[[Any], None]]] = []
        self._running = False
        self._ticket = 0

    @property
    def busy(self) -> bool:
        """Whether a job runs or waits."""
        return self._running or bool(self._queue)

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        """Run ``fn`` off the GUI thread after the jobs before it; ``on_done(result)`` on the GUI thread."""
        self._queue.append((fn, on_done))
        if not self._running:
            self._next()

    def cancel(self) -> None:
        """Drop the waiting jobs and the running one's result."""
        self._queue.clear()
        self._ticket += 1

    def _next(self) -> None:
        if not self._queue or not self._alive():
            return
        fn, on_done = self._queue.pop(0)
        self._running = True
        ticket = self._ticket

        def done(result: Any) -> None:
            self._running = False
            if self._alive() and ticket == self._ticket:
                on_done(result)
                self._next()

        def failed(message: str) -> None:
            self._running = False
            if self._alive() and ticket == self._ticket:
                if self._on_error is not None:
                    self._on_error(message)
                self._next()

        self.runner(interactive(fn), done, failed)
