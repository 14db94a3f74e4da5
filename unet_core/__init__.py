"""Maskloop's segmentation engine: UNet model, data formats, training, inference and CLI (no Qt)."""

import os

from unet_core.limits import MAX_IMAGE_PIXELS

__version__ = "0.1.0"

# OpenCV reads its decoder pixel limit once, when cv2 is first imported: bound it before anything does
# (a second guard; file_guard refuses oversized images from their headers first).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))

from unet_core.errors import CheckpointError, DataError, MaskloopError

__all__ = ["CheckpointError", "DataError", "MaskloopError", "__version__"]
