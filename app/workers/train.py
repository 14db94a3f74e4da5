"""TrainWorker: runs a training/fine-tuning job off the GUI thread, reporting progress via throttled signals."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.workers.common import error_text, torch_threads
from unet_core.training.types import Callback, EpochInfo, StepInfo, TrainResult

log = logging.getLogger("maskloop.workers")

TrainJob = Callable[..., TrainResult]
"""Called as ``job(callbacks=[...], stop=threading.Event)``; returns the run's TrainResult."""

STEP_INTERVAL_S = 0.05  # at most ~20 step signals per second


class _SignalBridge(Callback):
    """Forwards the core's callbacks to the worker's signals, throttling steps (runs in the worker thread)."""

    def __init__(self, worker: TrainWorker, min_interval: float) -> None:
        self._worker = worker
        self._min_interval = min_interval
        self._last_emit = -float("inf")
        self._pending: StepInfo | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        self._worker.started.emit(dict(info))

    def on_step(self, info: StepInfo) -> None:
        now = time.monotonic()
        last_of_epoch = info.step >= info.steps_per_epoch
        if last_of_epoch or now - self._last_emit >= self._min_interval:
            self._last_emit = now
            self._pending = None
            self._worker.step.emit(info)
        else:
            self._pending = info

    def flush(self) -> None:
        """Emit the last step if throttling held it back (e.g. a run stopped mid-epoch)."""
        if self._pending is not None:
            info, self._pending = self._pending, None
            self._worker.step.emit(info)

    def on_epoch(self, info: EpochInfo) -> None:
        self.flush()
        self._worker.epoch.emit(info)

    def on_end(self, result: TrainResult) -> None:
        self.flush()


class TrainWorker(QObject):
    """Runs ``job`` once in its QThread (see :func:`app.workers.start_worker`).

    ``job`` is called as ``job(callbacks=[bridge], stop=event)``, e.g.
    ``functools.partial(unet_core.training.finetune.fine_tune, ckpt, corrected, val, out, config=cfg)``.
    Connect the signals to QObject methods (e.g. the TrainingPanel's ``on_*`` slots) so Qt queues
    them to the GUI thread; ``request_stop`` may be connected to a GUI signal directly.

    Signals carry the core's plain records: ``started(dict)``, ``step(StepInfo)`` (throttled to
    ~20/s, the last step of each epoch always sent), ``epoch(EpochInfo)``, then exactly one of
    ``finished(TrainResult)`` or ``failed(str)``, then ``done()``.
    """

    started = Signal(dict)
    step = Signal(object)
    epoch = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    done = Signal()

    def __init__(
        self,
        job: TrainJob,
        threads: int | None = None,
        step_interval_s: float = STEP_INTERVAL_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._job = job
        self._threads = threads
        self._step_interval = float(step_interval_s)
        self._stop = threading.Event()
        self._running = threading.Event()
        self._ran = False
        self.result: TrainResult | None = None
        self.error: str | None = None

    @Slot()
    def run(self) -> None:
        """Run the job (once) in the calling thread with a reduced torch thread count."""
        if self._ran:
            self.failed.emit("this training job has already run")
            self.done.emit()
            return
        self._ran = True
        self._running.set()
        bridge = _SignalBridge(self, self._step_interval)
        try:
            with torch_threads(self._threads):
                result = self._job(callbacks=[bridge], stop=self._stop)
            _check_output(result)
        except Exception as exc:  # any failure becomes one message and the thread still ends
            bridge.flush()
            self.error = error_text(exc)
            self._running.clear()
            self.failed.emit(self.error)
        else:
            bridge.flush()
            self.result = result
            self._running.clear()
            self.finished.emit(result)
        finally:
            self._running.clear()
            self.done.emit()

    def request_stop(self) -> None:
        """Ask the job to stop after its current step (thread-safe; the best checkpoint is kept)."""
        self._stop.set()

    def stop_requested(self) -> bool:
        """Whether :meth:`request_stop` was called."""
        return self._stop.is_set()

    def is_running(self) -> bool:
        """Whether the job is running now (thread-safe)."""
        return self._running.is_set()


def _check_output(result: TrainResult) -> None:
    """Check the written checkpoint here, in the worker: the GUI thread adopts it next, and this first check
    of an architecture builds it on the meta device (~20 ms holding the GIL; remembered afterwards). What
    fails here fails again there, where it is reported."""
    from unet_core.model.checkpoint import inspect_checkpoint

    try:
        if result.best_path.exists():
            inspect_checkpoint(result.best_path)
    except Exception:  # whatever it is, the GUI thread's own check meets it again and reports it
        log.debug("the run's checkpoint did not pass its check in the worker", exc_info=True)


__all__ = ["STEP_INTERVAL_S", "TrainJob", "TrainWorker"]
