"""Decoded images and original masks for the workspace: an LRU cache with background prefetch."""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.workers.common import lower_priority
from unet_core.data.io import MaskFormat, class_id_max, read_image, read_mask
from unet_core.errors import DataError


@dataclass
class LoadedImage:
    """One image's pixels and its dataset mask (``None`` when the dataset has none or it is unreadable)."""

    image: np.ndarray  # H x W x 3 uint8 RGB
    original_mask: np.ndarray | None
    mask_error: str | None = None


def load_image(image_path: Path, mask_path: Path | None, mask_format: MaskFormat, num_classes: int) -> LoadedImage:
    """Decode an image and its original mask; an unreadable image raises :class:`DataError`.

    A bad original mask does not stop the image from opening: it is reported in ``mask_error``.
    """
    image = read_image(image_path)
    mask: np.ndarray | None = None
    error: str | None = None
    if mask_path is not None:
        try:
            mask = read_mask(mask_path, mask_format)
            if mask.shape != image.shape[:2]:
                error = f"{mask_path.name}: mask is {mask.shape[1]}x{mask.shape[0]}, image is {image.shape[1]}x{image.shape[0]}"
                mask = None
            elif (top := class_id_max(mask)) >= num_classes:  # void (255) is allowed
                error = f"{mask_path.name}: class id {top} out of range 0..{num_classes - 1}"
                mask = None
        except DataError as err:
            error = str(err)
    return LoadedImage(image, mask, error)


class ImageCache:
    """Keeps the last ``capacity`` decoded images; :meth:`prefetch` decodes others on a background thread."""

    def __init__(self, mask_format: MaskFormat, num_classes: int, capacity: int = 6) -> None:
        self.mask_format = mask_format
        self.num_classes = num_classes
        self.capacity = capacity
        self._items: OrderedDict[Path, LoadedImage] = OrderedDict()
        self._pending: dict[Path, Future[LoadedImage]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maskloop-prefetch", initializer=lower_priority)

    def get(self, image_path: Path, mask_path: Path | None, mask_format: MaskFormat | None = None) -> LoadedImage:
        """The decoded image (from cache, a finished/ongoing prefetch, or decoded now); its mask in
        ``mask_format`` (default: the folder's)."""
        with self._lock:
            hit = self._items.get(image_path)
            if hit is not None:
                self._items.move_to_end(image_path)
                return hit
            pending = self._pending.pop(image_path, None)
        if pending is not None:
            loaded = pending.result()  # usually done already; otherwise it was started ahead of us
        else:
            loaded = load_image(image_path, mask_path, mask_format or self.mask_format, self.num_classes)
        self._put(image_path, loaded)
        return loaded

    def is_cached(self, image_path: Path) -> bool:
        """True when :meth:`get` will not decode."""
        with self._lock:
            return image_path in self._items

    def prefetch(self, image_path: Path, mask_path: Path | None, mask_format: MaskFormat | None = None) -> None:
        """Start decoding in the background (errors surface later, at :meth:`get`)."""
        with self._lock:
            if image_path in self._items or image_path in self._pending:
                return
            fut = self._pool.submit(load_image, image_path, mask_path, mask_format or self.mask_format, self.num_classes)
            self._pending[image_path] = fut
        fut.add_done_callback(lambda f, p=image_path: self._finish(p, f))

    def _finish(self, path: Path, fut: Future[LoadedImage]) -> None:
        with self._lock:
            if self._pending.get(path) is not fut:
                return
            del self._pending[path]
        if fut.exception() is None:
            self._put(path, fut.result())

    def _put(self, path: Path, loaded: LoadedImage) -> None:
        with self._lock:
            self._items[path] = loaded
            self._items.move_to_end(path)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (e.g. a new folder)."""
        with self._lock:
            self._items.clear()
            self._pending.clear()

    def shutdown(self) -> None:
        """Stop the prefetch thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)
