"""Image sizes (and a JPEG's EXIF orientation) read from PNG and JPEG headers by hand, and PNGs checked chunk by chunk before a decoder sees them."""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEPT_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"})
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class DamagedImage(ValueError):
    """The file's own structure says it is truncated or damaged (the reason is the message)."""


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or ``None`` if ``data`` is not a PNG."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's first start-of-frame marker, or ``None`` if not found."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _JPEG_SOF and i + 9 <= n:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        if marker == 0xDA:  # start of scan before any frame header
            return None
        i += 2 + length
    return None


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation (1..8; 1 = as stored) of a JPEG from its APP1 block, 1 when absent or unreadable."""
    if data[:2] != b"\xff\xd8":
        return 1
    i, n = 2, len(data)
    while i + 4 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker == 0xE1 and data[i + 4 : i + 10] == b"Exif\x00\x00":
            return _tiff_orientation(data[i + 10 : i + 2 + length])
        if marker == 0xDA or marker in _JPEG_SOF:  # image data or the frame: no EXIF before it
            return 1
        i += 2 + length
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    """Tag 0x0112 of a TIFF structure's first IFD (EXIF's), 1 when absent or malformed."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    end = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack(end + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(end + "H", tiff[ifd : ifd + 2])
    for k in range(min(count, 512)):
        at = ifd + 2 + 12 * k
        if at + 12 > len(tiff):
            return 1
        tag, kind = struct.unpack(end + "HH", tiff[at : at + 4])
        if tag == 0x0112 and kind == 3:  # SHORT
            (value,) = struct.unpack(end + "H", tiff[at + 8 : at + 10])
            return value if 1 <= value <= 8 else 1
    return 1


def clean_png(data: bytes) -> bytes:
    """The PNG with only the chunks a decoder needs (IHDR, PLTE, tRNS, IDAT, IEND), each CRC-checked.

    Ancillary chunks (colour profiles, text, ...) are dropped: Maskloop uses none of them, and libpng
    prints warnings about damaged or unusual ones straight to stderr. A truncated file or a damaged
    needed chunk raises :class:`DamagedImage`, so no decoder ever prints an error of its own.
    """
    if data[:8] != PNG_SIGNATURE:
        return data
    kept = [PNG_SIGNATURE]
    dropped = False
    i = 8
    n = len(data)
    while True:
        if i + 12 > n:
            raise DamagedImage("truncated PNG")
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > n:
            raise DamagedImage("truncated PNG")
        if kind in _KEPT_CHUNKS:
            (crc,) = struct.unpack(">I", data[end - 4 : end])
            if zlib.crc32(data[i + 4 : end - 4]) != crc:
                raise DamagedImage(f"damaged PNG ({kind.decode('latin-1')} chunk fails its checksum)")
            kept.append(data[i:end])
        else:
            dropped = True
        if kind == b"IEND":
            break
        i = end
    if dropped:
        return b"".join(kept)
    return data if end == len(data) else data[:end]  # no copy of a clean file on every read
