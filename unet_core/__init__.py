"""Maskloop's segmentation engine: UNet model, data formats, training, inference and CLI (no Qt)."""

import os
from collections.abc import Callable
from importlib import import_module
from typing import Any

from unet_core.limits import MAX_IMAGE_PIXELS

__version__ = "0.1.0"

# OpenCV reads its decoder pixel limit once, when cv2 is first imported: bound it before anything does
# (a second guard; file_guard refuses oversized images from their headers first).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))

from unet_core.errors import CheckpointError, DataError, MaskloopError

__all__ = ["CheckpointError", "DataError", "MaskloopError", "__version__", "lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each exported name from its module on first
    use, so a subpackage's ``__init__`` only re-exports and importing it stays light (no torch)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(module), name)

    return __getattr__
