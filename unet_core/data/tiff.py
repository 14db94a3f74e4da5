"""TIFF decoding with tifffile: planar, float16, many-channel and scientific TIFFs OpenCV misreads or refuses."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tifffile

from unet_core.errors import UnreadableFileError
from unet_core.limits import MAX_IMAGE_PIXELS

TIFF_EXTS = frozenset({".tif", ".tiff"})

MAX_TIFF_SAMPLES = 64
"""Samples per pixel of a TIFF we decode (RGB has 3; a multispectral image a few dozen)."""

MAX_TIFF_BYTES = 4 * 3 * MAX_IMAGE_PIXELS
"""Decoded bytes of one TIFF page: float32 RGB at the pixel limit (960 MB); a 64-sample float64 page at 20
megapixels would be 10 GB."""

_PALETTE, _MINISWHITE = 3, 0
_SHOWN = frozenset({0, 1, 2, 3})
"""Photometric interpretations decoded here (min-is-white, min-is-black, RGB, palette); others (CMYK, YCbCr,
CIELab) are left to OpenCV and Pillow, which convert them."""


@contextmanager
def _quiet() -> Iterator[None]:
    """tifffile logs what it finds damaged; our error says it once, naming the file."""
    log = logging.getLogger("tifffile")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _open(path: Path, data: bytes) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(io.BytesIO(data))
    except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError, EOFError) as exc:
        raise UnreadableFileError(f"cannot read TIFF: {exc}", path) from None


def read_tiff(path: Path, data: bytes) -> tuple[np.ndarray | None, int]:
    """(pixels, orientation) of a one-page TIFF: pixels HxW or HxWxC in RGB order at the file's own depth
    (``None`` when tifffile lacks the page's codec or colour model: OpenCV and Pillow decode those), and the
    TIFF orientation tag (1..8; 1 when absent).

    A file of several pages (a stack, a time series; reduced-resolution previews are not counted) is refused
    with its page count: reading only its first page would silently drop the rest. A page's size, samples and
    decoded bytes are checked before it is decoded. Damage raises :class:`UnreadableFileError`.
    """
    with _quiet(), _open(path, data) as tif:
        pages = _full_pages(path, tif)
        if not pages:
            raise UnreadableFileError("cannot read TIFF: no image in it (damaged?)", path)
        if len(pages) > 1:
            count = f"{len(pages)}+" if len(pages) >= MAX_COUNTED_PAGES else str(len(pages))
            raise UnreadableFileError(f"a multi-page TIFF ({count} pages): Maskloop reads one image per file; "
                                      "save each page as its own file", path)
        page = pages[0]
        _check_bounds(path, page)
        orientation = _orientation(page)
        if int(page.photometric) not in _SHOWN or page.axes not in ("YX", "YXS", "SYX"):
            return None, orientation
        try:
            arr = page.asarray()
        except MemoryError:
            raise
        except Exception as exc:  # tifffile's errors, and its codecs' (zlib.error, ...) on damaged data
            if "imagecodecs" in str(exc):  # LZW, JPEG, ... : OpenCV's libtiff has them
                return None, orientation
            raise UnreadableFileError(f"cannot decode TIFF, truncated or damaged: {exc}", path) from None
        if page.axes == "SYX":
            arr = np.moveaxis(arr, 0, -1)
        if int(page.photometric) == _PALETTE and page.colormap is not None and arr.ndim == 2:
            arr = _apply_colormap(arr, np.asarray(page.colormap))
        elif int(page.photometric) == _MINISWHITE and arr.ndim == 2:
            arr = _inverted(arr)
        return np.ascontiguousarray(arr), orientation


MAX_COUNTED_PAGES = 1000
"""Pages counted before a TIFF is called multi-page (a file of a million one-pixel pages is not parsed whole)."""


def _full_pages(path: Path, tif: tifffile.TiffFile) -> list[tifffile.TiffPage]:
    """The pages that are images of their own (reduced-resolution previews left out), at most
    :data:`MAX_COUNTED_PAGES`; damage raises :class:`UnreadableFileError`."""
    pages: list[tifffile.TiffPage] = []
    try:
        for page in tif.pages:
            if not getattr(page, "is_reduced", False):
                pages.append(page)
                if len(pages) >= MAX_COUNTED_PAGES:
                    break
    except MemoryError:
        raise
    except Exception as exc:  # a damaged IFD chain
        raise UnreadableFileError(f"cannot read TIFF: {exc}", path) from None
    return pages


def _check_bounds(path: Path, page: tifffile.TiffPage) -> None:
    """Refuse a page too large to decode, from its header alone."""
    width, height = int(page.imagewidth), int(page.imagelength)
    samples, depth = int(page.samplesperpixel), int(getattr(page, "imagedepth", 1) or 1)
    if depth > 1:
        raise UnreadableFileError(f"a volumetric TIFF ({depth} slices): Maskloop reads 2-D images; save each "
                                  "slice as its own file", path)
    if width < 1 or height < 1:
        raise UnreadableFileError(f"cannot read TIFF: its size is {width}x{height}", path)
    if width * height > MAX_IMAGE_PIXELS:
        raise UnreadableFileError(f"cannot read image: {width}x{height}, {width * height / 1e6:.0f} megapixels is "
                                  f"more than the {MAX_IMAGE_PIXELS / 1e6:.0f} megapixel limit", path)
    if samples > MAX_TIFF_SAMPLES:
        raise UnreadableFileError(f"cannot read TIFF: {samples} samples per pixel, more than {MAX_TIFF_SAMPLES}",
                                  path)
    size = width * height * samples * np.dtype(page.dtype).itemsize if page.dtype is not None else 0
    if size > MAX_TIFF_BYTES:
        raise UnreadableFileError(f"cannot read TIFF: it decodes to {size / 2**30:.1f} GB, more than "
                                  f"{MAX_TIFF_BYTES / 2**30:.1f} GB", path)


def _orientation(page: tifffile.TiffPage) -> int:
    tag = page.tags.get(274)
    try:
        value = int(tag.value) if tag is not None else 1
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_colormap(index: np.ndarray, colormap: np.ndarray) -> np.ndarray:
    """RGB uint8 of a palette page: its 3xN colour map (16-bit, or 8-bit in older files) looked up per pixel."""
    if colormap.ndim != 2 or colormap.shape[0] != 3 or index.dtype.kind not in "ui":
        return index
    table = colormap.astype(np.uint32)
    if table.max() > 255:
        table = table >> 8
    lut = np.zeros((max(256, table.shape[1]), 3), np.uint8)
    lut[: table.shape[1]] = table.T.astype(np.uint8)
    return lut[np.clip(index.astype(np.int64), 0, lut.shape[0] - 1)]


def _inverted(arr: np.ndarray) -> np.ndarray:
    """A min-is-white page as min-is-black (0 is white in the file)."""
    if arr.dtype.kind == "u":
        return np.iinfo(arr.dtype).max - arr
    if arr.dtype.kind == "b":
        return ~arr
    return -arr


def tiff_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a TIFF's first page as shown (sides swapped when its orientation tag turns it a
    quarter), from its header alone; ``None`` when ``data`` is not a TIFF tifffile can parse."""
    if data[:2] not in (b"II", b"MM"):
        return None
    try:
        with _quiet(), tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = next(p for p in tif.pages if not getattr(p, "is_reduced", False))  # as read_tiff picks it
            w, h, turned = int(page.imagewidth), int(page.imagelength), _orientation(page) >= 5
    except Exception:  # not a TIFF we can parse: the caller asks another decoder
        return None
    return (h, w) if turned else (w, h)


__all__ = ["MAX_TIFF_BYTES", "MAX_TIFF_SAMPLES", "TIFF_EXTS", "read_tiff", "tiff_size"]
