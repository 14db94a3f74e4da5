"""Maskloop's PySide6 desktop shell over :mod:`unet_core`."""

import unet_core  # noqa: F401  (sets OpenCV's decoder pixel limit before any module imports cv2)
