"""Maskloop's segmentation engine: UNet model, data formats, training, inference and CLI (no Qt)."""

__version__ = "0.1.0"

from unet_core.errors import CheckpointError, DataError, MaskloopError

__all__ = ["CheckpointError", "DataError", "MaskloopError", "__version__"]
