"""Safetensors framing checked by hand: reads only the header, bounds every size, never unpickles."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unet_core.data.originals import OriginalsError, is_dataset_folder
from unet_core.errors import CheckpointError
from unet_core.limits import MAX_HEADER_BYTES, MAX_PARAMETERS, MAX_TENSORS

DTYPE_BYTES: dict[str, int] = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}
_MAX_DIMS = 8
_PICKLE_HINT = ("looks like a pickled PyTorch .pt file; Maskloop only loads .safetensors checkpoints "
                "(never unpickles)")


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as the header describes it: dtype, shape and byte range in the data section."""

    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        """Number of elements (1 for a scalar)."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class Header:
    """A validated safetensors header: tensor entries, string metadata and the file's size."""

    tensors: dict[str, TensorEntry]
    metadata: dict[str, str]
    file_size: int


def _looks_pickled(head: bytes) -> bool:
    """A zip archive (``torch.save``) or a pickle stream (protocol 2-5 opcode)."""
    return head[:4] == b"PK\x03\x04" or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


def is_framed(head: bytes, size: int) -> bool:
    """True when a file starting with ``head`` (at least 9 bytes) and ``size`` bytes long is framed as
    safetensors: an 8-byte little-endian header length that fits the file, then a JSON object."""
    if len(head) < 9 or head[8:9] != b"{":
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= MAX_HEADER_BYTES and 8 + n <= size


def looks_like_safetensors(path: Path) -> bool:
    """:func:`is_framed` for a file on disk (``False`` when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return is_framed(fh.read(9), fh.seek(0, 2))
    except OSError:
        return False


def read_header(path: Path) -> Header:
    """Read and validate a safetensors file's header without reading its tensors.

    A file is taken as safetensors by its structure (8-byte little-endian length, then a JSON
    object); only a file that is not is checked for a pickle/zip signature, for a clearer message.
    Every tensor's dtype, shape and byte range is checked against the others and the file size.
    """
    if not path.exists():
        raise CheckpointError("no such checkpoint file", path)
    if path.is_dir():
        raise CheckpointError("is a folder, not a checkpoint file", path)
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(0)
            head = fh.read(9)
            (n,) = struct.unpack("<Q", head[:8]) if len(head) >= 8 else (0,)
            framed = is_framed(head, size)
            raw = head[8:9] + fh.read(n - 1) if framed else b""
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint ({exc.strerror or exc})", path) from exc
    if not framed:
        if _looks_pickled(head):
            raise CheckpointError(_PICKLE_HINT, path)
        if size < 8:
            raise CheckpointError("not a checkpoint (file too short)", path)
        if head[8:9] == b"{" and 8 + n > size:
            raise CheckpointError("truncated checkpoint (file ends inside its header)", path)
        raise CheckpointError("not a safetensors checkpoint (bad header; another format or corrupt)", path)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError("not a safetensors checkpoint (unreadable header)", path) from exc
    if not isinstance(header, dict):
        raise CheckpointError("not a safetensors checkpoint (header is not an object)", path)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError("not a Maskloop checkpoint (metadata must map strings to strings)", path)
    if len(header) > MAX_TENSORS:
        raise CheckpointError(f"not a Maskloop checkpoint ({len(header)} tensors; at most {MAX_TENSORS})", path)
    tensors = {str(name): _entry(str(name), info, path) for name, info in header.items()}
    _check_layout(tensors, size - 8 - n, path)
    return Header(tensors, {str(k): v for k, v in metadata.items()}, size)


def _entry(name: str, info: Any, path: Path) -> TensorEntry:
    """Validate one header entry (known dtype, bounded shape, byte range that fits it)."""
    try:
        dtype = info["dtype"]
        shape = tuple(info["shape"])
        start, end = info["data_offsets"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"not a safetensors checkpoint (bad entry {name!r})", path) from exc
    if dtype not in DTYPE_BYTES:
        raise CheckpointError(f"not a Maskloop checkpoint (tensor {name!r} has unknown dtype {dtype!r})", path)
    ints = (*shape, start, end)
    if len(shape) > _MAX_DIMS or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints):
        raise CheckpointError(f"not a safetensors checkpoint (bad shape or offsets of {name!r})", path)
    entry = TensorEntry(dtype, shape, start, end)
    if entry.numel > MAX_PARAMETERS:
        raise CheckpointError(f"not a Maskloop checkpoint (tensor {name!r} has {entry.numel:,} elements)", path)
    if end - start != entry.numel * DTYPE_BYTES[dtype]:
        raise CheckpointError(f"corrupt checkpoint (byte range of {name!r} does not fit its shape)", path)
    return entry


def _check_layout(tensors: dict[str, TensorEntry], data_size: int, path: Path) -> None:
    """Byte ranges must tile the data section exactly: no gaps, no overlaps, nothing missing."""
    position = 0
    for entry in sorted(tensors.values(), key=lambda e: (e.start, e.end)):
        if entry.start != position:
            raise CheckpointError("corrupt checkpoint (tensor byte ranges overlap or leave gaps)", path)
        position = entry.end
    if position > data_size:
        raise CheckpointError("truncated checkpoint (file ends before its tensors do)", path)
    if position < data_size:
        raise CheckpointError(f"corrupt checkpoint ({data_size - position} stray bytes after the tensors)", path)


def check_checkpoint_output(out: str | Path) -> None:
    """Refuse a checkpoint path that would replace a dataset file or any existing non-checkpoint file."""
    p = Path(out)
    if p.exists() and p.is_dir():
        raise OriginalsError("the output must be a file path, not a folder", p)
    if is_dataset_folder(p.absolute().parent):
        raise OriginalsError("refusing to write a checkpoint into a dataset's image or mask folder; "
                             "choose another output", p)
    if p.exists() and not looks_like_safetensors(p):
        raise OriginalsError("exists and is not a .safetensors checkpoint; refusing to replace it "
                             "(choose another output)", p)
