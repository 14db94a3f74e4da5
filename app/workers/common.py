"""Thread plumbing shared by the app's workers: start/stop QThreads, torch thread budget, one-line errors."""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread

from unet_core.errors import MaskloopError

log = logging.getLogger("maskloop.workers")

_threads_lock = threading.Lock()
_threads_users = 0
_threads_original: int | None = None


def default_threads() -> int:
    """Torch threads for background work: all cores but one, so the GUI thread always keeps a core."""
    return max(1, (os.cpu_count() or 1) - 1)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``torch.set_num_threads(threads or default_threads())`` in this thread.

    Torch's OpenMP pool size is per calling thread once set, so a worker limiting itself does not
    slow the GUI thread. Nested/concurrent workers share one saved original, restored by the last
    one to leave.
    """
    global _threads_users, _threads_original
    n = max(1, int(threads)) if threads else default_threads()
    with _threads_lock:
        if _threads_users == 0:
            _threads_original = torch.get_num_threads()
        _threads_users += 1
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        with _threads_lock:
            _threads_users -= 1
            restore = _threads_original if _threads_users == 0 else None
        if restore is not None:
            torch.set_num_threads(restore)


BACKGROUND_NICE = 10
"""The Linux nice value of the app's background threads (the GUI thread keeps 0): whenever both want a core
the scheduler gives the GUI thread ~10x the CPU share, so a repaint is not sliced among busy workers."""


def lower_priority(nice: int = BACKGROUND_NICE) -> int | None:
    """Run the calling thread at CPU priority ``nice`` or lower (call it first in a background thread; again
    in a pooled thread is harmless). Returns the thread's nice value, or ``None`` where threads have none of
    their own (not Linux) or the system refuses. Threads and processes it starts later inherit it. On other
    systems :func:`start_worker` starts the QThread at ``QThread.Priority.LowPriority`` instead."""
    if not sys.platform.startswith("linux"):
        return None
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < nice:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, nice))  # on Linux PRIO_PROCESS with a thread id: that thread
        return max(current, min(19, nice))
    except OSError as err:
        log.info("thread priority unchanged: %s", err)
        return None


_preload_lock = threading.Lock()
_preloaded = False


def preload_training_modules() -> float:
    """Import what a first training run would import lazily; returns the seconds spent (0 when done before).

    Importing holds Python's GIL for up to ~250 ms at a time (measured: ``torch._dynamo``, pulled in by
    ``torch.optim.Optimizer.__init__``, ~1.9 s in total with sympy; albumentations ~0.8 s; tensorboardX, which
    imports botocore where it is installed, stalled the window 233 ms). Done in the
    worker thread, that freezes the GUI; so call this once at startup, before showing the window (or
    in a background thread right after, accepting short stalls then). Thread-safe and idempotent.
    """
    global _preloaded
    with _preload_lock:
        if _preloaded:
            return 0.0
        t0 = time.perf_counter()
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
        import albumentations  # noqa: F401  (unet_core.data.transforms imports it lazily)
        import tensorboardX  # noqa: F401  (every app run logs; RunLog imports it lazily)
        import torch._dynamo  # noqa: F401  (torch.optim imports it lazily)

        import unet_core.training.finetune  # noqa: F401  (imports the trainer, losses and metrics)

        _preloaded = True
        return time.perf_counter() - t0


def error_text(exc: BaseException) -> str:
    """One line for the user: the text of expected errors, else ``unexpected error: ...`` (traceback logged)."""
    if isinstance(exc, (MaskloopError, ValueError, FileNotFoundError)):
        text = str(exc) or type(exc).__name__
    else:
        log.error("unexpected error in a worker", exc_info=exc)
        text = f"unexpected error: {type(exc).__name__}: {exc}"
    return " ".join(text.split())


def start_worker(worker: QObject, entry: str = "run") -> QThread:
    """Run ``worker.<entry>`` in a new QThread and return the started thread.

    The worker object itself keeps the GUI thread's affinity: only its entry method runs in the new
    thread (called directly from ``QThread.started``). So a GUI signal connected the ordinary way to
    a worker's thread-safe methods (``request_stop``, ``request``, ``cancel``) calls them at once; were
    the object moved to the thread, such calls would be queued to an event loop that never runs
    while ``entry`` works. Signals the worker emits from its thread still reach GUI receivers queued.
    If the worker has a ``done`` signal (emitted as ``entry`` returns) the thread's event loop is
    quit right then, so ``thread.wait()`` returns without the GUI loop's help. The thread is kept
    on the worker (``worker._qthread``): keep a reference to the worker while it runs.
    The thread runs at a lower CPU priority than the GUI thread (:func:`lower_priority`).
    """
    if worker.parent() is not None:
        raise ValueError("a worker run on a thread must not have a parent (it could be deleted mid-run)")
    slot = getattr(worker, entry, None)
    if not callable(slot):
        raise ValueError(f"worker has no method {entry!r}")
    thread = QThread()
    thread.setObjectName(f"{type(worker).__name__}Thread")
    thread.started.connect(lower_priority, Qt.ConnectionType.DirectConnection)  # connected first: runs first
    thread.started.connect(slot, Qt.ConnectionType.DirectConnection)
    done = getattr(worker, "done", None)
    if done is not None:
        done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    worker._qthread = thread  # type: ignore[attr-defined]
    thread.start(QThread.Priority.LowPriority)  # what other systems have instead of a thread's nice value
    return thread


def stop_thread(thread: QThread | None, timeout_ms: int = 5000) -> bool:
    """Quit ``thread``'s event loop and wait up to ``timeout_ms``; True if it has ended (or never ran)."""
    if thread is None:
        return True
    if thread is QThread.currentThread():
        raise RuntimeError("a thread cannot wait for itself")
    app = QCoreApplication.instance()
    if app is not None and thread is app.thread():
        raise RuntimeError("refusing to stop the GUI thread")
    thread.quit()
    return bool(thread.wait(max(0, int(timeout_ms))))


GIL_SWITCH_S = 0.001
"""How long a thread running Python may keep the GIL while another waits for it (Python's default: 5 ms).
The GUI thread takes the GIL again for every slot and every Python paint handler of an event-loop pass; with
training and prediction threads running Python, each take could wait up to the whole interval."""


def tune_for_responsiveness() -> int:
    """Settings for a GUI process with busy worker threads, applied once when start-up is done: the start-up
    objects are frozen (:func:`freeze_startup_objects`) and the GIL changes hands after ``GIL_SWITCH_S``.
    Returns how many objects were frozen."""
    sys.setswitchinterval(GIL_SWITCH_S)
    return freeze_startup_objects()


def freeze_startup_objects() -> int:
    """Move every object alive now (the imported modules, the built window) out of the cyclic garbage
    collector's reach; returns how many. Call it once when start-up is done.

    A full collection holds the GIL while it walks every tracked object: with torch, albumentations and
    the window imported that is ~400,000 objects and 100–200 ms on these cores, an event-loop stall that
    comes at random while a run allocates. Frozen start-up objects are never walked again (they live as
    long as the app anyway), so later collections only see what was made since.
    """
    gc.collect()
    frozen = len(gc.get_objects())
    gc.freeze()
    return frozen


__all__ = [
    "BACKGROUND_NICE",
    "GIL_SWITCH_S",
    "default_threads",
    "error_text",
    "freeze_startup_objects",
    "lower_priority",
    "preload_training_modules",
    "start_worker",
    "stop_thread",
    "torch_threads",
    "tune_for_responsiveness",
]
