"""Reading image files safely: size and pixel limits checked before decoding, decoder errors named."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from unet_core.data.image_headers import DamagedImage, clean_png, jpeg_orientation, jpeg_size, png_size
from unet_core.data.tiff import tiff_size
from unet_core.errors import UnreadableFileError
from unet_core.limits import MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS

# Decoder complaints go to our one-line errors, not to stderr ("libpng error: ...", "[ WARN:0@...] ...").
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, UnidentifiedImageError, Image.DecompressionBombError)
"""What Pillow raises for files it cannot open or decode."""


def read_bytes(path: Path, what: str) -> bytes:
    """Read a whole file (at most :data:`MAX_IMAGE_FILE_BYTES`), every failure a :class:`DataError` naming it.

    An image whose header promises more than :data:`MAX_IMAGE_PIXELS` pixels is refused here,
    before anything is decoded (a 400 KB PNG can decode to gigabytes).
    """
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_FILE_BYTES:
            raise UnreadableFileError(
                f"cannot read {what}: file is {size / 2**20:.0f} MB, over the {MAX_IMAGE_FILE_BYTES >> 20} MB limit",
                path)
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFileError(f"cannot read {what}: file not found", path) from None
    except IsADirectoryError:
        raise UnreadableFileError(f"cannot read {what}: is a folder", path) from None
    except OSError as exc:
        raise UnreadableFileError(f"cannot read {what}: {exc.strerror or exc}", path) from None
    if not data:
        raise UnreadableFileError(f"cannot read {what}: empty file", path)
    if jpeg_is_truncated(data):  # the decoder would print to stderr, then fail
        raise UnreadableFileError(f"cannot read {what}: truncated JPEG", path)
    try:
        data = clean_png(data)  # damaged or truncated PNGs stop here, before libpng prints anything
    except DamagedImage as exc:
        raise UnreadableFileError(f"cannot read {what}: {exc}", path) from None
    check_pixels(path, data, what)
    return data


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an image file's header without decoding it; ``None`` if not recognised.

    PNG and JPEG sizes are parsed by hand, TIFF sizes by tifffile (Pillow refuses some files that OpenCV still decodes);
    other formats ask Pillow. For a file past Pillow's own bomb limit (twice ours) only the pixel
    count is known: ``(pixels, 1)``.
    """
    size = png_size(data)
    if size is not None:
        return size
    size = tiff_size(data)
    if size is not None:
        return size
    size = jpeg_size(data)
    if size is not None:  # as shown: a JPEG turned a quarter by its EXIF orientation has its sides swapped
        return (size[1], size[0]) if jpeg_orientation(data) in TURNED else size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bomb warnings and damaged-TIFF complaints: our errors say it
            with Image.open(io.BytesIO(data)) as im:
                return int(im.size[0]), int(im.size[1])
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        return (int(found.group(1)) if found else MAX_IMAGE_PIXELS + 1, 1)
    except PIL_ERRORS:
        return None


TURNED = frozenset({5, 6, 7, 8})
"""EXIF orientations that turn an image a quarter (its width and height swap)."""

HEAD_BYTES = 1 << 18
"""Bytes read from a file's start to find its size (JPEG frame headers follow EXIF blocks of up to 64 KB)."""


def file_size_hw(path: Path) -> tuple[int, int] | None:
    """(height, width) of an image file from its first bytes alone (:func:`header_size`); ``None`` if unknown
    or over the pixel limit."""
    try:
        with open(path, "rb") as f:
            size = header_size(f.read(HEAD_BYTES))
    except OSError:
        return None
    if size is None or size[0] * size[1] > MAX_IMAGE_PIXELS or min(size) < 1:
        return None
    return size[1], size[0]


def check_pixels(path: Path, data: bytes, what: str) -> None:
    """Refuse a file whose header promises more than :data:`MAX_IMAGE_PIXELS` pixels."""
    size = header_size(data)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        w, h = size
        shown = f"{w}x{h}, " if h > 1 else ""
        raise UnreadableFileError(
            f"cannot read {what}: {shown}{w * h / 1e6:.0f} megapixels is more than the "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixel limit", path)


def imdecode(path: Path, data: bytes, flags: int) -> np.ndarray | None:
    """``cv2.imdecode`` whose own errors (pixel limit, corrupt stream) become :class:`UnreadableFileError`."""
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "decoder error"
        raise UnreadableFileError(f"cannot decode: {reason}", path) from None


def jpeg_is_truncated(data: bytes) -> bool:
    """A JPEG must end with an EOI marker (only trailing padding may follow it)."""
    return data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-4096:]


def pil_reason(exc: BaseException) -> str:
    """Pillow's complaint as a short reason, without the in-memory buffer's repr it sometimes names."""
    if isinstance(exc, UnidentifiedImageError):
        return "not an image, or a format Maskloop cannot read"
    return re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc)).strip() or type(exc).__name__
