"""Autosave: writes mask snapshots to the project store on one background thread, in order, atomically."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from unet_core.store.project import ProjectStore

log = logging.getLogger(__name__)


class MaskWriter:
    """Serialises saves so the last snapshot of an image always wins; the GUI thread only copies the array."""

    def __init__(self, store: ProjectStore, on_error: Callable[[str, str], None] | None = None) -> None:
        self.store = store
        self.on_error = on_error
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maskloop-autosave")
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()

    def save(self, stem: str, mask: np.ndarray, base: np.ndarray | None, state: dict) -> Future[None]:
        """Queue an atomic write of ``mask`` (a private copy) plus a state update for ``stem``.

        ``base`` is what the edit started from (prediction or original); the number of pixels that
        differ from it is stored as ``pixels_changed``.
        """
        snapshot = mask.copy()
        fut = self._pool.submit(self._write, stem, snapshot, base, dict(state))
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()] + [fut]
        return fut

    def discard(self, stem: str, state: dict) -> Future[None]:
        """Queue the removal of ``stem``'s stored correction (its mask equals where it started), with a
        state update (the status it returns to); ordered with the saves, so a pending save cannot bring
        the file back."""
        fut = self._pool.submit(self._drop, stem, dict(state))
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()] + [fut]
        return fut

    def submit(self, fn: Callable[[], object]) -> Future[None]:
        """Queue any other store write (e.g. a prediction cache entry) behind the pending saves."""

        def guarded() -> None:
            try:
                fn()
            except Exception as exc:
                log.warning("background store write failed: %s", exc)

        fut = self._pool.submit(guarded)
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()] + [fut]
        return fut

    def _write(self, stem: str, mask: np.ndarray, base: np.ndarray | None, state: dict) -> None:
        try:
            self.store.save_mask(stem, mask)
            if base is not None and base.shape == mask.shape:
                state["pixels_changed"] = int(np.count_nonzero(base != mask))
            seconds = float(state.pop("add_seconds", 0.0))
            strokes = int(state.pop("add_strokes", 0))
            if seconds or strokes:
                self.store.add_edit(stem, seconds=seconds, pixels=0, strokes=strokes)
            if state:
                self.store.update_state(stem, **state)
        except Exception as exc:  # reported to the user; never lost silently
            log.exception("autosave of %s failed", stem)
            if self.on_error is not None:
                self.on_error(stem, " ".join(str(exc).split()))

    def _drop(self, stem: str, state: dict) -> None:
        try:
            seconds = float(state.pop("add_seconds", 0.0))
            strokes = int(state.pop("add_strokes", 0))
            if seconds or strokes:
                self.store.add_edit(stem, seconds=seconds, pixels=0, strokes=strokes)
            self.store.drop_correction(stem, pixels_changed=0, **state)
        except Exception as exc:  # reported to the user; never lost silently
            log.exception("removing the correction of %s failed", stem)
            if self.on_error is not None:
                self.on_error(stem, " ".join(str(exc).split()))

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every queued save is on disk; False if that took longer than ``timeout``."""
        with self._lock:
            pending = list(self._futures)
        for fut in pending:
            try:
                fut.result(timeout=timeout)
            except TimeoutError:
                return False
        return True

    def shutdown(self) -> None:
        """Finish queued saves and stop the thread."""
        self.flush(timeout=None)
        self._pool.shutdown(wait=True)
