"""Lazy thumbnail loading for the file list: a LIFO request stack drained by QThreadPool workers, LRU cache."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap

from app.workers.common import lower_priority
from unet_core.data.io import read_image, read_image_reduced
from unet_core.errors import MaskloopError

THUMB_HEIGHT = 48
THUMB_MAX_WIDTH = 72
_CV2_REDUCED_EXTS = frozenset({".jpg", ".jpeg", ".jpe", ".png"})


def _error_text(exc: MaskloopError) -> str:
    """The one-line reason without the leading ``<path>: `` that :class:`MaskloopError` adds."""
    text = str(exc)
    if exc.path is not None and text.startswith(f"{exc.path}: "):
        text = text[len(f"{exc.path}: ") :]
    return text


def _fit(rgb: np.ndarray, height: int = THUMB_HEIGHT, max_width: int = THUMB_MAX_WIDTH) -> np.ndarray:
    """Resize to ``height`` pixels high (narrower if that would exceed ``max_width``), keeping aspect."""
    h, w = rgb.shape[:2]
    scale = min(height / h, max_width / w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=interp))


def decode_thumbnail(path: str | Path) -> np.ndarray:
    """Decode a small HxWx3 uint8 RGB thumbnail (48 px high) of an image file.

    JPEG/PNG are decoded at 1/8 (or 1/2 for small files) scale by OpenCV; anything else, and
    anything OpenCV cannot read, goes through :func:`unet_core.data.io.read_image`, so an
    unreadable file raises its :class:`~unet_core.errors.DataError` naming the file.
    """
    p = Path(path)
    if p.suffix.lower() in _CV2_REDUCED_EXTS:
        rgb = read_image_reduced(p, 8)
        if rgb.shape[0] < THUMB_HEIGHT:
            rgb = read_image_reduced(p, 2)
        return _fit(rgb)
    return _fit(read_image(p))  # raises a DataError with the canonical reason


def _boxed_pixmap(rgb: np.ndarray) -> QPixmap:
    """The thumbnail centred on a transparent THUMB_MAX_WIDTH x THUMB_HEIGHT pixmap (uniform rows)."""
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    box = QPixmap(THUMB_MAX_WIDTH, THUMB_HEIGHT)
    box.fill(Qt.GlobalColor.transparent)
    painter = QPainter(box)
    painter.drawImage((THUMB_MAX_WIDTH - w) // 2, (THUMB_HEIGHT - h) // 2, image)
    painter.end()
    return box


class _Relay(QObject):
    """Carries results from worker threads to the GUI thread (queued: it lives in the GUI thread)."""

    done = Signal(int, str, object, str)  # generation, key, RGB array or None, error text


class _DecodeRunnable(QRunnable):
    """Pops requests from the shared stack until it is empty; decodes each; posts the result."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self._stack = loader._stack
        self._lock = loader._lock
        self._relay = loader._relay  # keeps the parentless relay alive while the worker runs
        self._loader_state = loader._state

    def run(self) -> None:
        """Worker thread: no widgets, only plain arrays out."""
        lower_priority()
        while True:
            with self._lock:
                if not self._stack:
                    self._loader_state["running"] -= 1
                    return
                generation, key = self._stack.pop()
            rgb: np.ndarray | None = None
            error = ""
            try:
                rgb = decode_thumbnail(key)
            except MaskloopError as exc:
                error = _error_text(exc)
            except Exception as exc:  # a decoder bug must not kill the worker
                error = f"cannot read image: {exc}"
            try:
                self._relay.done.emit(generation, key, rgb, error)
            except RuntimeError:  # relay already deleted at shutdown
                return


class ThumbnailLoader(QObject):
    """Decodes thumbnails off the GUI thread, newest request first, and caches them as QPixmaps.

    :meth:`request` is cheap and idempotent while a key is pending; results arrive via
    :attr:`loaded` (``key``) or :attr:`failed` (``key, reason``) in the GUI thread. At most
    ``max_pending`` requests wait (the oldest are dropped: they were scrolled past), and the cache
    keeps the ``capacity`` most recently used pixmaps.
    """

    loaded = Signal(str)
    failed = Signal(str, str)

    def __init__(
        self, parent: QObject | None = None, *, threads: int = 1, capacity: int = 2000, max_pending: int = 256
    ) -> None:
        super().__init__(parent)
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(max(1, threads))
        self._threads = max(1, threads)
        self._capacity = max(1, capacity)
        self._max_pending = max(1, max_pending)
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._failed: dict[str, str] = {}
        self._stack: deque[tuple[int, str]] = deque()
        self._lock = threading.Lock()
        self._state = {"running": 0}
        self._generation = 0
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        self.requests = 0  # total decode requests queued (for tests and benchmarks)

    def get(self, key: str) -> QPixmap | None:
        """The cached pixmap for ``key`` (marking it recently used), or ``None``."""
        pix = self._cache.get(key)
        if pix is not None:
            self._cache.move_to_end(key)
        return pix

    def failure(self, key: str) -> str | None:
        """The reason ``key`` could not be decoded, or ``None`` if it did not fail."""
        return self._failed.get(key)

    def is_pending(self, key: str) -> bool:
        """True while a decode of ``key`` is queued or running."""
        return key in self._pending

    def request(self, key: str) -> None:
        """Queue a decode of the image file ``key`` unless it is cached or already pending."""
        if key in self._pending or key in self._cache or key in self._failed:
            return
        self._pending.add(key)
        self.requests += 1
        with self._lock:
            self._stack.append((self._generation, key))
            while len(self._stack) > self._max_pending:
                _, old = self._stack.popleft()
                self._pending.discard(old)
            start = self._state["running"] < self._threads
            if start:
                self._state["running"] += 1
        if start:
            self._pool.start(_DecodeRunnable(self))

    def clear(self) -> None:
        """Forget every cached pixmap and drop queued requests (results in flight are ignored)."""
        with self._lock:
            self._stack.clear()
        self._generation += 1
        self._pending.clear()
        self._failed.clear()
        self._cache.clear()
        self.requests = 0

    def wait(self, msecs: int = 5000) -> bool:
        """Block until the workers are idle (tests, shutdown); True if they finished in time."""
        return bool(self._pool.waitForDone(msecs))

    def shutdown(self) -> None:
        """Drop queued work and wait for the running decode to finish."""
        self.clear()
        self._pool.waitForDone(2000)

    def _on_done(self, generation: int, key: str, rgb: object, error: str) -> None:
        if generation != self._generation:
            return
        self._pending.discard(key)
        if not isinstance(rgb, np.ndarray):
            self._failed[key] = error or "cannot read image"
            self.failed.emit(key, error or "cannot read image")
            return
        self._cache[key] = _boxed_pixmap(rgb)
        self._cache.move_to_end(key)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        self.loaded.emit(key)
