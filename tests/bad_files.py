"""Test helper: hostile image files written without ever holding their decoded pixels in memory."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, width: int = 20000, height: int = 20000, extra: bytes = b"") -> Path:
    """A valid 1-bit grayscale PNG of ``width`` x ``height`` black pixels: a few hundred KB on disk,
    ``width * height`` bytes (400 MB at the default size) once decoded to 8 bits. ``extra`` chunks
    go between the header and the pixels."""
    row = b"\0" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height)]
    parts.append(packer.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", b"".join(parts))
                     + png_chunk(b"IEND", b""))
    return path
