"""PredictWorker: a queue of images to predict in one background thread (urgent first, batches, cancel)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.workers.common import error_text, stop_thread, torch_threads
from unet_core.data.io import read_image
from unet_core.model.predictor import Predictor


@dataclass
class _Item:
    path: Path
    in_batch: bool


class PredictWorker(QObject):
    """Predicts queued images with the current :class:`Predictor` in its own thread.

    Start it with ``start_worker(worker)`` (entry ``run``: a loop that sleeps on a condition until
    work arrives) and end it with :meth:`shutdown` (e.g. in the main window's closeEvent). Every
    public method is thread-safe; call it directly or connect GUI signals to it the ordinary way
    (the object keeps GUI-thread affinity, see ``start_worker``). Results come back as signals
    (connect them to QObject methods, which Qt queues to the GUI thread; a plain lambda would run in
    the worker thread). The worker never touches widgets.
    """

    predicted = Signal(str, object)  # key, unet_core.model.predictor.Prediction
    failed = Signal(str, str)  # key, one-line message
    progress = Signal(int, int)  # done, total (batch items only)
    batchFinished = Signal(bool)  # True: every batch item done; False: cancelled
    done = Signal()  # the loop has ended (after shutdown)

    def __init__(
        self, predictor: Predictor | None = None, threads: int | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._queue: OrderedDict[str, _Item] = OrderedDict()
        self._predictor = predictor
        self._threads = threads
        self._generation = 0  # bumped by cancel(): results of older work are dropped
        self._batch_total = 0
        self._batch_done = 0
        self._batch_cancelled = False
        self._finish_empty_batch = False
        self._stopping = False
        self._running = False
        self._current: str | None = None

    # -- requests (any thread) -------------------------------------------------------------------
    def set_predictor(self, predictor: Predictor | None) -> None:
        """Use ``predictor`` from the next image on (``None``: requests fail with "no model loaded")."""
        with self._cond:
            self._predictor = predictor

    def request(self, key: str, image_path: str | Path, *, urgent: bool = False) -> None:
        """Queue one image. Queued duplicates are ignored; ``urgent`` puts the key at the front."""
        with self._cond:
            if key in self._queue:
                if urgent:
                    self._queue.move_to_end(key, last=False)
            else:
                self._queue[key] = _Item(Path(image_path), in_batch=False)
                if urgent:
                    self._queue.move_to_end(key, last=False)
            self._cond.notify_all()

    def predict_all(self, items: list[tuple[str, Path]]) -> None:
        """Queue a batch (after what is queued); ``progress(done, total)`` follows, then ``batchFinished``.

        A batch started while one runs joins it (the total grows). An empty list finishes at once.
        """
        with self._cond:
            added = 0
            for key, path in items:
                queued = self._queue.get(key)
                if queued is None:
                    self._queue[key] = _Item(Path(path), in_batch=True)
                    added += 1
                elif not queued.in_batch:
                    queued.in_batch = True
                    added += 1
            self._batch_total += added
            if self._batch_total == 0:
                self._batch_done = 0
                self._batch_cancelled = False
                self._finish_empty_batch = True
            self._cond.notify_all()

    def cancel(self) -> None:
        """Drop the queue and cancel the batch; the image being predicted now is finished but not reported."""
        with self._cond:
            self._queue.clear()
            self._generation += 1
            if self._batch_total:
                self._batch_cancelled = True
            self._batch_total = self._batch_done = 0
            self._cond.notify_all()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the loop (after the current image) and end the worker's thread; True if it ended in time."""
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._generation += 1
            self._cond.notify_all()
        thread = getattr(self, "_qthread", None)
        if thread is None:
            return True
        return stop_thread(thread, timeout_ms)

    def pending(self) -> int:
        """Number of queued images (not counting the one being predicted)."""
        with self._cond:
            return len(self._queue)

    def queued_keys(self) -> list[str]:
        """Queued keys in the order they will run."""
        with self._cond:
            return list(self._queue)

    def is_running(self) -> bool:
        """Whether the loop is running."""
        with self._cond:
            return self._running

    # -- the loop (worker thread) ----------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        """The worker loop: wait for work, predict, report; returns after :meth:`shutdown`."""
        with self._cond:
            self._running = True
        try:
            with torch_threads(self._threads):
                while self._next():
                    pass
        finally:
            with self._cond:
                self._running = False
            self.done.emit()

    def _next(self) -> bool:
        """Handle one unit of work; False when the loop must end."""
        with self._cond:
            while not (self._stopping or self._queue or self._batch_cancelled or self._finish_empty_batch):
                self._cond.wait()
            if self._stopping:
                return False
            if self._batch_cancelled or self._finish_empty_batch:
                completed = self._finish_empty_batch and not self._batch_cancelled
                self._batch_cancelled = self._finish_empty_batch = False
                notice: bool | None = completed
            else:
                notice = None
                key, item = self._queue.popitem(last=False)
                predictor, generation = self._predictor, self._generation
                self._current = key
        if notice is not None:
            self.batchFinished.emit(notice)
            return True
        prediction, message = self._predict(predictor, item.path)
        self._report(key, item, generation, prediction, message)
        return True

    @staticmethod
    def _predict(predictor: Predictor | None, path: Path) -> tuple[object | None, str | None]:
        if predictor is None:
            return None, "no model loaded"
        try:
            return predictor.predict(read_image(path)), None
        except Exception as exc:  # one message per image; the loop goes on
            return None, error_text(exc)

    def _report(self, key: str, item: _Item, generation: int, prediction: object | None, message: str | None) -> None:
        with self._cond:
            self._current = None
            if generation != self._generation:
                return  # cancelled while this image was running
            progress: tuple[int, int] | None = None
            finished = False
            if item.in_batch and self._batch_total:
                self._batch_done += 1
                progress = (self._batch_done, self._batch_total)
                if self._batch_done >= self._batch_total:
                    finished = True
                    self._batch_total = self._batch_done = 0
        if message is None:
            self.predicted.emit(key, prediction)
        else:
            self.failed.emit(key, message)
        if progress is not None:
            self.progress.emit(*progress)
        if finished:
            self.batchFinished.emit(True)


__all__ = ["PredictWorker"]
