"""Image and mask file I/O for every supported format: fast decoding, validation, atomic writing."""

from __future__ import annotations

import io
from enum import Enum
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from unet_core.data.classes import VOID, VOID_COLOR, ClassTable
from unet_core.data.file_guard import (
    PIL_ERRORS,
    imdecode,
    pil_reason,
    read_bytes,
)
from unet_core.data.image_headers import jpeg_orientation
from unet_core.data.tiff import TIFF_EXTS, read_tiff
from unet_core.errors import DataError, UnreadableFileError
from unet_core.fsutil import atomic_write_bytes


class MaskFormat(str, Enum):
    """On-disk mask encodings: Carvana palette GIF, CARLA red-channel PNG, index PNG."""

    CARVANA_GIF = "carvana_gif"
    RED_CHANNEL = "red_channel"
    INDEX_PNG = "index_png"


# Extensions that OpenCV decodes directly (anything else goes through Pillow).
CV2_IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF


# ----------------------------------------------------------------------------------------------- reading


WINDOW_PERCENTILES = (0.5, 99.5)
"""16-bit, signed, 32-bit and float images are windowed to 8 bits between these percentiles of their own values: a 12-bit
microscope or X-ray image in a 16-bit file is not near-black, a float image not clipped to 0..1."""


def _window(arr: np.ndarray) -> tuple[float, float]:
    """The (low, high) window of a 16-bit or float image: its WINDOW_PERCENTILES, over at most ~1M samples."""
    flat = arr.reshape(-1)
    step = max(1, flat.size // 1_000_000)
    sample = flat[::step].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if not sample.size:
        return 0.0, 1.0
    lo, hi = np.percentile(sample, WINDOW_PERCENTILES)
    if hi <= lo:  # nearly flat: the full range of its values; one value alone is drawn mid-grey
        lo, hi = (float(sample.min()), float(sample.max())) if sample.max() > sample.min() else (lo - 1.0, lo + 1.0)
    return float(lo), float(hi)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale 16-bit, signed, wider integer and float pixels to uint8, windowed (:data:`WINDOW_PERCENTILES`)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind in "iuf":
        lo, hi = _window(arr)
        scaled = (arr.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / (hi - lo))
        return np.nan_to_num(np.clip(scaled + 0.5, 0, 255), nan=0.0).astype(np.uint8)
    return (arr != 0).astype(np.uint8) * 255  # bool (1-bit TIFF)


def _to_rgb(arr: np.ndarray, bgr: bool) -> np.ndarray:
    """Turn decoded pixels (gray, gray + alpha, colour, colour + alpha or more channels; any depth; channels in
    BGR order from OpenCV, RGB from tifffile) into HxWx3 uint8 RGB. Of more than four channels (a
    multispectral image) the first three are shown."""
    if arr.ndim == 3 and arr.shape[2] > 4:
        arr = arr[:, :, :3]
    arr = _to_uint8(arr)
    if arr.ndim == 2 or arr.shape[2] <= 2:  # gray, or gray + alpha
        return cv2.cvtColor(np.ascontiguousarray(arr if arr.ndim == 2 else arr[:, :, 0]), cv2.COLOR_GRAY2RGB)
    arr = np.ascontiguousarray(arr[:, :, :3])
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB) if bgr else arr


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    """Convert any Pillow image (first frame) to HxWx3 uint8 RGB."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        gray = np.asarray(im)
        if gray.dtype.kind in "iu" and gray.size and int(gray.max()) > 255:
            gray = (np.clip(gray, 0, 65535).astype(np.uint32) * 255 + 32767) // 65535
        elif gray.dtype.kind == "f":
            gray = np.clip(gray, 0, 255)
        return cv2.cvtColor(gray.astype(np.uint8), cv2.COLOR_GRAY2RGB)
    return np.asarray(im.convert("RGB"))


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB.

    Alpha is dropped, grayscale expanded to three channels, 16-bit and float windowed to 8-bit
    (:data:`WINDOW_PERCENTILES`), palette images converted to RGB, a multi-page TIFF refused, and a JPEG
    turned or mirrored as its EXIF orientation says (as cameras, viewers and labelling tools show it). JPEG/PNG/BMP/TIFF/WebP are decoded with OpenCV, other
    formats (GIF, ...) with Pillow.
    A missing, empty, truncated or undecodable file raises :class:`DataError` naming it.
    """
    p = Path(path)
    data = read_bytes(p, "image")
    arr: np.ndarray | None = None
    orientation = jpeg_orientation(data)
    if p.suffix.lower() in TIFF_EXTS or data[:4] in _TIFF_SIGNATURES:
        arr, orientation = read_tiff(p, data)
        if arr is not None and arr.size:
            return oriented(_to_rgb(arr, bgr=False), orientation)
        orientation = 1  # OpenCV's and Pillow's TIFF readers turn a page by its tag themselves (even told not to)
    if p.suffix.lower() in CV2_IMAGE_EXTS:
        arr = imdecode(p, data, cv2.IMREAD_UNCHANGED)  # (a JPEG's EXIF orientation is not applied here: ours is)
    if arr is not None and arr.size:
        return oriented(_to_rgb(arr, bgr=True), orientation)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return oriented(_pil_to_rgb(im), orientation)
    except PIL_ERRORS as exc:
        raise UnreadableFileError(f"cannot read image: {pil_reason(exc)}", p) from None


def oriented(image: np.ndarray, orientation: int) -> np.ndarray:
    """``image`` as EXIF ``orientation`` (1..8) says it is shown: as stored (1), mirrored and/or turned."""
    if orientation == 2:
        return np.ascontiguousarray(image[:, ::-1])
    if orientation == 3:
        return np.ascontiguousarray(image[::-1, ::-1])
    if orientation == 4:
        return np.ascontiguousarray(image[::-1])
    if orientation == 5:
        return np.ascontiguousarray(image.swapaxes(0, 1))
    if orientation == 6:
        return np.ascontiguousarray(np.rot90(image, -1))
    if orientation == 7:
        return np.ascontiguousarray(image[::-1, ::-1].swapaxes(0, 1))
    if orientation == 8:
        return np.ascontiguousarray(np.rot90(image, 1))
    return image


_REDUCED_FLAGS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def read_image_reduced(path: str | Path, factor: int) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB at about 1/``factor`` of its size (2, 4 or 8).

    JPEGs decode directly at the reduced size (several times faster); other formats are decoded
    and shrunk. Same checks and errors as :func:`read_image`.
    """
    p = Path(path)
    if factor not in _REDUCED_FLAGS:
        raise ValueError(f"factor must be 2, 4 or 8, got {factor}")
    if p.suffix.lower() in (".jpg", ".jpeg", ".jpe", ".png"):
        data = read_bytes(p, "image")
        header = _png_color_type(data)
        flags = _REDUCED_FLAGS[factor] | cv2.IMREAD_IGNORE_ORIENTATION  # one rule for orientation: ours
        bgr = None if header is not None and header[0] == 16 else imdecode(p, data, flags)
        if bgr is not None and bgr.size:  # (a 16-bit PNG is windowed by read_image, not cut to its top byte)
            return oriented(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), jpeg_orientation(data))
    full = read_image(p)
    h, w = full.shape[:2]
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    return cv2.resize(full, size, interpolation=cv2.INTER_AREA)


def _open_mask(p: Path) -> Image.Image:
    """Open and fully decode a mask file with Pillow (first frame), or raise :class:`DataError`."""
    data = read_bytes(p, "mask")
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except PIL_ERRORS as exc:
        raise UnreadableFileError(f"cannot read mask: {pil_reason(exc)}", p) from None
    return im


def _png_color_type(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG header, or ``None`` if ``data`` is not a PNG."""
    if len(data) < 26 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    return data[24], data[25]


def _binary(arr: np.ndarray) -> np.ndarray:
    """{0,1} stays; anything else is thresholded at half range (128 for 8-bit, 32768 for 16-bit)."""
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    top = int(arr.max()) if arr.size else 0
    if top <= 1:
        return arr.astype(np.uint8, copy=False)
    limit = 32768 if top > 255 else 128
    return (arr >= limit).astype(np.uint8)


def _read_carvana(im: Image.Image) -> np.ndarray:
    """Carvana mask: palette indices {0,1} (or {0,255}); other masks thresholded to {0,1}."""
    if im.mode == "P":
        idx = np.asarray(im)
        top = int(idx.max()) if idx.size else 0
        if top <= 1:
            return np.ascontiguousarray(idx, dtype=np.uint8)
        if bool(np.all((idx == 0) | (idx == 255))):
            return (idx == 255).astype(np.uint8)
        return _binary(np.asarray(im.convert("L")))
    if im.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L"):
        return _binary(np.asarray(im))
    if im.mode == "LA":
        return _binary(np.asarray(im)[:, :, 0])
    return _binary(np.asarray(im.convert("L")))


def _read_red_channel(p: Path, im: Image.Image) -> np.ndarray:
    """CARLA mask: class id in the red channel (single-channel and palette PNGs give values/indices)."""
    if im.mode in ("L", "P"):
        return np.asarray(im)
    if im.mode in ("RGB", "RGBA", "LA"):
        return np.ascontiguousarray(np.asarray(im)[:, :, 0])
    if im.mode == "1":
        return np.asarray(im).astype(np.uint8)
    if im.mode.startswith("I"):
        return _small_ints(p, np.asarray(im))
    return np.ascontiguousarray(np.asarray(im.convert("RGB"))[:, :, 0])


def _small_ints(p: Path, arr: np.ndarray) -> np.ndarray:
    """Integer mask values as uint8, or :class:`DataError` if any is above 255."""
    if arr.size and int(arr.max()) > 255:
        raise DataError(f"16-bit mask has values up to {int(arr.max())}; class ids must be below 256", p)
    if arr.size and int(arr.min()) < 0:
        raise DataError("mask has negative values", p)
    return arr.astype(np.uint8)


def _read_index(p: Path, im: Image.Image) -> np.ndarray:
    """Index PNG: 'L'/'P' values, 16-bit values below 256, or gray RGB(A) with R==G==B."""
    if im.mode in ("L", "P"):
        return np.asarray(im)
    if im.mode == "1":
        return np.asarray(im).astype(np.uint8)
    if im.mode == "LA":
        return np.ascontiguousarray(np.asarray(im)[:, :, 0])
    if im.mode.startswith("I"):
        return _small_ints(p, np.asarray(im))
    if im.mode in ("RGB", "RGBA"):
        return _gray_rgb(p, np.asarray(im), red=0)
    raise DataError(f"unsupported mask mode {im.mode}: expected a single-channel index PNG", p)


def _gray_rgb(p: Path, arr: np.ndarray, red: int) -> np.ndarray:
    """Red plane of an RGB(A) array whose three colour planes are equal, else :class:`DataError`."""
    r = arr[:, :, red]
    if not (np.array_equal(r, arr[:, :, 1]) and np.array_equal(r, arr[:, :, 2 - red])):
        raise DataError("colour mask: expected a single-channel index PNG", p)
    return np.ascontiguousarray(r)


def _read_mask_fast(p: Path, data: bytes, fmt: MaskFormat) -> np.ndarray | None:
    """OpenCV fast path for 8-bit RGB(A) PNG masks (red-channel and gray-RGB index); ``None`` if n/a."""
    header = _png_color_type(data)
    if header not in ((8, 2), (8, 6)):
        return None
    arr = imdecode(p, data, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3 or arr.shape[2] < 3:
        return None  # let Pillow produce the error message
    if fmt is MaskFormat.RED_CHANNEL:
        return np.ascontiguousarray(arr[:, :, 2])  # OpenCV gives BGR(A): red is index 2
    return _gray_rgb(p, arr, red=2)


def read_mask(path: str | Path, fmt: MaskFormat | str) -> np.ndarray:
    """Read a mask as an HxW uint8 array of class ids, decoding it per ``fmt``.

    ``CARVANA_GIF`` always yields {0,1}; ``RED_CHANNEL`` takes the red channel (CARLA);
    ``INDEX_PNG`` takes single-channel values or palette indices. Missing, unreadable or
    unsuitable files raise :class:`DataError` naming the file.
    """
    p = Path(path)
    fmt = MaskFormat(fmt)
    if fmt is not MaskFormat.CARVANA_GIF:
        data = read_bytes(p, "mask")
        fast = _read_mask_fast(p, data, fmt)
        if fast is not None:
            return fast
    im = _open_mask(p)
    try:
        if fmt is MaskFormat.CARVANA_GIF:
            return _read_carvana(im)
        if fmt is MaskFormat.RED_CHANNEL:
            return _read_red_channel(p, im)
        return _read_index(p, im)
    finally:
        im.close()


# -------------------------------------------------------------------------------------------- validation


def class_id_max(mask: np.ndarray) -> int:
    """The largest class id in ``mask``, the ignore label (:data:`~unet_core.data.classes.VOID`) left out."""
    return int(mask.max(where=mask != VOID, initial=0)) if mask.size else 0


def check_mask(mask: np.ndarray, num_classes: int, path: str | Path | None) -> None:
    """Raise :class:`DataError` naming the largest class id that is ``>= num_classes`` (the ignore label
    :data:`~unet_core.data.classes.VOID` is allowed)."""
    if mask.size == 0:
        return
    top = class_id_max(mask)
    if top >= num_classes:
        raise DataError(f"class id {top} out of range 0..{num_classes - 1}", path)
    if mask.dtype.kind == "i" and int(mask.min()) < 0:
        raise DataError(f"class id {int(mask.min())} out of range 0..{num_classes - 1}", path)


def check_same_size(
    image: np.ndarray, mask: np.ndarray, image_path: str | Path | None, mask_path: str | Path | None
) -> None:
    """Raise :class:`DataError` naming the mask file and both sizes (WxH) if they differ."""
    ih, iw = image.shape[:2]
    mh, mw = mask.shape[:2]
    if (ih, iw) != (mh, mw):
        image_name = Path(image_path).name if image_path is not None else "the image"
        raise DataError(f"mask is {mw}x{mh} but image {image_name} is {iw}x{ih}", mask_path)


# ----------------------------------------------------------------------------------------------- writing


def _check_mask_array(mask: np.ndarray) -> None:
    """Masks to write must be 2-D uint8 arrays."""
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype != np.uint8:
        shape = getattr(mask, "shape", None)
        dtype = getattr(mask, "dtype", type(mask).__name__)
        raise ValueError(f"mask must be a 2-D uint8 array, got shape {shape} dtype {dtype}")


def encode_png(array: np.ndarray, compression: int = 3) -> bytes:
    """PNG bytes for an HxW gray, HxWx3 RGB or HxWx4 RGBA uint8 array."""
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise ValueError("encode_png needs a uint8 array")
    if array.ndim == 3 and array.shape[2] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)
    elif array.ndim != 2:
        raise ValueError(f"encode_png needs HxW, HxWx3 or HxWx4, got shape {array.shape}")
    ok, buf = cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def encode_mask(mask: np.ndarray, fmt: MaskFormat | str, classes: ClassTable | None = None) -> bytes:
    """Encode a class-id mask to the bytes of a file in format ``fmt`` (see :func:`write_mask`)."""
    _check_mask_array(mask)
    fmt = MaskFormat(fmt)
    top = int(mask.max()) if mask.size else 0
    if fmt is MaskFormat.CARVANA_GIF:
        if top > 1:
            raise ValueError(f"Carvana masks hold only 0 and 1, got class id {top}")
        im = Image.fromarray(np.ascontiguousarray(mask))
        im.putpalette([0, 0, 0, 255, 255, 255])
        buf = io.BytesIO()
        im.save(buf, format="GIF", optimize=False)
        return buf.getvalue()
    if fmt is MaskFormat.RED_CHANNEL:
        rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
        rgba[:, :, 0] = mask
        rgba[:, :, 3] = 255
        return encode_png(rgba)
    if classes is None:
        return encode_png(mask)
    top = class_id_max(mask)
    if top >= classes.num_classes:
        raise ValueError(f"class id {top} out of range 0..{classes.num_classes - 1}")
    palette = classes.palette()
    palette[VOID] = VOID_COLOR
    im = Image.fromarray(np.ascontiguousarray(mask))
    im.putpalette(palette.tobytes())
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def write_mask(
    path: str | Path, mask: np.ndarray, fmt: MaskFormat | str, classes: ClassTable | None = None
) -> None:
    """Atomically write a class-id mask.

    ``CARVANA_GIF``: single-frame palette GIF, indices {0,1} (0 black, 1 white) as Kaggle's.
    ``RED_CHANNEL``: RGBA PNG with R = class id, G = B = 0, A = 255 (as CARLA).
    ``INDEX_PNG``: palette PNG coloured with ``classes`` if given, else an 'L' PNG.
    ``mask`` must be a 2-D uint8 array (``ValueError`` otherwise, nothing written).
    """
    data = encode_mask(mask, fmt, classes)
    atomic_write_bytes(Path(path), data)


def encode_image(image: np.ndarray, suffix: str, *, alpha: bool = False, quality: int = 95) -> bytes:
    """Encode an HxWx3 RGB (or HxW gray) uint8 image for the file extension ``suffix``."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("image must be a uint8 array")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image must be HxWx3 RGB or HxW gray, got shape {image.shape}")
    ext = suffix.lower() if suffix.startswith(".") else f".{suffix.lower()}"
    if ext not in CV2_IMAGE_EXTS:
        raise ValueError(f"unsupported image extension {suffix!r}")
    if image.ndim == 3:
        code = cv2.COLOR_RGB2BGRA if alpha else cv2.COLOR_RGB2BGR
        out = cv2.cvtColor(image, code)
    else:
        out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA) if alpha else image
    if alpha and ext in (".jpg", ".jpeg", ".jpe"):
        raise ValueError("JPEG files have no alpha channel")
    params: list[int] = []
    if ext in (".jpg", ".jpeg", ".jpe"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    ok, buf = cv2.imencode(ext, out, params)
    if not ok:
        raise ValueError(f"encoding {ext} failed")
    return buf.tobytes()


def write_image(path: str | Path, image: np.ndarray, *, alpha: bool = False, quality: int = 95) -> None:
    """Atomically write an RGB image, format chosen by extension (.jpg/.jpeg quality, .png, ...).

    ``alpha=True`` writes RGBA with A = 255 everywhere (as CARLA's camera PNGs).
    """
    p = Path(path)
    atomic_write_bytes(p, encode_image(image, p.suffix, alpha=alpha, quality=quality))


def colorize(mask: np.ndarray, classes: ClassTable) -> np.ndarray:
    """HxWx3 uint8 RGB rendering of a class-id mask (ids without a class are black)."""
    if mask.dtype != np.uint8:
        mask = np.clip(mask, 0, 255).astype(np.uint8)
    return classes.palette()[mask]


def write_color_mask(path: str | Path, mask: np.ndarray, classes: ClassTable) -> None:
    """Atomically write the palette-coloured rendering of ``mask`` as an RGB PNG."""
    _check_mask_array(mask)
    atomic_write_bytes(Path(path), encode_png(colorize(mask, classes)))


__all__ = [
    "MaskFormat",
    "check_mask",
    "check_same_size",
    "colorize",
    "encode_image",
    "encode_mask",
    "encode_png",
    "read_image",
    "read_image_reduced",
    "read_mask",
    "write_color_mask",
    "write_image",
    "write_mask",
]
