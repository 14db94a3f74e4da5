"""Checkpoints: one ``.safetensors`` file with the weights and JSON metadata; loading never unpickles."""

from __future__ import annotations

import hashlib
import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from unet_core.data.classes import ClassTable
from unet_core.errors import CheckpointError
from unet_core.fsutil import atomic_write_bytes
from unet_core.model import UNet, UNetConfig, build_model
from unet_core.transforms import Normalization

FORMAT_NAME = "maskloop-unet"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024
OPTIM_PREFIX = "__optim__."


@dataclass
class CheckpointMeta:
    """Everything needed to rebuild and use a model, stored as JSON strings in the file's metadata."""

    arch: UNetConfig
    classes: ClassTable
    input_size: tuple[int, int]  # (H, W) the model sees
    normalization: Normalization = field(default_factory=Normalization)
    dataset_kind: str = "generic"  # carvana | carla | carla_lyft | generic: the native mask format
    training: dict[str, Any] = field(default_factory=dict)  # epochs, best_val_dice, data fingerprint, ...
    parent_hash: str | None = None
    created: float = field(default_factory=time.time)

    def to_metadata(self) -> dict[str, str]:
        """The string-to-string metadata stored in the safetensors header."""
        return {
            "format": FORMAT_NAME,
            "format_version": str(FORMAT_VERSION),
            "arch": json.dumps(self.arch.to_dict(), sort_keys=True),
            "classes": json.dumps(self.classes.to_dict()),
            "input": json.dumps(
                {"size_hw": list(self.input_size), "normalization": self.normalization.to_dict()}
            ),
            "dataset_kind": self.dataset_kind,
            "training": json.dumps(self.training, sort_keys=True, default=_json_default),
            "parent": self.parent_hash or "",
            "created": repr(float(self.created)),
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, str], path: Path) -> CheckpointMeta:
        """Parse and validate the metadata; anything missing or malformed raises :class:`CheckpointError`."""
        if meta.get("format") != FORMAT_NAME:
            raise CheckpointError("not a Maskloop checkpoint (no 'maskloop-unet' metadata)", path)
        try:
            version = int(meta.get("format_version", "0"))
        except ValueError as exc:
            raise CheckpointError("not a Maskloop checkpoint (bad format_version)", path) from exc
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint format {version} is newer than this Maskloop supports ({FORMAT_VERSION}); upgrade",
                path,
            )
        try:
            arch = UNetConfig.from_dict(json.loads(meta["arch"]))
            classes = ClassTable.from_dict(json.loads(meta["classes"]))
            inp = json.loads(meta["input"])
            size = tuple(int(v) for v in inp["size_hw"])
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"bad input size {size}")
            norm = Normalization.from_dict(inp.get("normalization", {}))
            training = json.loads(meta.get("training", "{}"))
            created = float(meta.get("created", "0") or 0)
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"corrupt checkpoint metadata ({exc})", path) from exc
        if arch.num_classes != classes.num_classes:
            raise CheckpointError(
                f"corrupt checkpoint metadata ({arch.num_classes} model outputs for {classes.num_classes} classes)",
                path,
            )
        return cls(
            arch=arch,
            classes=classes,
            input_size=(size[0], size[1]),
            normalization=norm,
            dataset_kind=meta.get("dataset_kind", "generic") or "generic",
            training=training,
            parent_hash=meta.get("parent") or None,
            created=created,
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description (what ``unet-core info --json`` prints)."""
        return {
            "arch": self.arch.to_dict(),
            "classes": self.classes.to_dict(),
            "input_size_hw": list(self.input_size),
            "normalization": self.normalization.to_dict(),
            "dataset_kind": self.dataset_kind,
            "training": self.training,
            "parent_hash": self.parent_hash,
            "created": self.created,
        }


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (a checkpoint's identity; children store it as ``parent``)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    meta: CheckpointMeta,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    extra_metadata: dict[str, str] | None = None,
) -> str:
    """Write weights + metadata atomically; return the new file's SHA-256.

    ``extra_tensors`` (e.g. optimizer state for resuming) are stored under their own names and
    ignored by :func:`load_checkpoint`.
    """
    module = model.module if hasattr(model, "module") else model
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    if extra_tensors:
        tensors.update({k: v.detach().to("cpu").contiguous() for k, v in extra_tensors.items()})
    metadata = meta.to_metadata()
    if extra_metadata:
        metadata.update(extra_metadata)
    data = st_save(tensors, metadata=metadata)
    atomic_write_bytes(Path(path), data)
    return hashlib.sha256(data).hexdigest()


def _read_header(path: Path) -> tuple[dict[str, Any], bytes]:
    """Validate the safetensors framing by hand before handing the bytes to the parser."""
    if not path.exists():
        raise CheckpointError("no such checkpoint file", path)
    if path.is_dir():
        raise CheckpointError("is a folder, not a checkpoint file", path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint ({exc.strerror or exc})", path) from exc
    if data[:2] == b"PK" or data[:1] == b"\x80":
        raise CheckpointError(
            "looks like a pickled PyTorch .pt file; Maskloop only loads .safetensors checkpoints (never unpickles)",
            path,
        )
    if len(data) < 8:
        raise CheckpointError("not a checkpoint (file too short)", path)
    (n,) = struct.unpack("<Q", data[:8])
    if n == 0 or n > _MAX_HEADER or 8 + n > len(data):
        raise CheckpointError("not a safetensors checkpoint (bad header length; truncated or another format)", path)
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError("not a safetensors checkpoint (unreadable header)", path) from exc
    if not isinstance(header, dict):
        raise CheckpointError("not a safetensors checkpoint (header is not an object)", path)
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CheckpointError(f"not a safetensors checkpoint (bad entry {name!r})", path) from exc
    if 8 + n + end > len(data):
        raise CheckpointError("truncated checkpoint (file ends before its tensors do)", path)
    return header, data


def read_metadata(path: str | Path) -> CheckpointMeta:
    """Read and validate a checkpoint's metadata without building the model."""
    p = Path(path)
    header, _ = _read_header(p)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise CheckpointError("not a Maskloop checkpoint (bad metadata)", p)
    return CheckpointMeta.from_metadata({str(k): str(v) for k, v in meta.items()}, p)


def load_checkpoint_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the raw metadata of a checkpoint (validated framing, no unpickling)."""
    p = Path(path)
    header, data = _read_header(p)
    try:
        tensors = st_load(data)
    except Exception as exc:  # the safetensors parser raises its own error types
        raise CheckpointError(f"corrupt checkpoint ({exc})", p) from exc
    meta = header.get("__metadata__") or {}
    return tensors, {str(k): str(v) for k, v in meta.items()}


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[UNet, CheckpointMeta]:
    """Rebuild the model from a checkpoint, in eval mode on ``device``; invalid files raise CheckpointError."""
    p = Path(path)
    tensors, raw_meta = load_checkpoint_tensors(p)
    meta = CheckpointMeta.from_metadata(raw_meta, p)
    model = build_model(meta.arch)
    weights = {k: v for k, v in tensors.items() if not k.startswith(OPTIM_PREFIX)}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(f"weights do not match the stored architecture ({detail})", p)
    for name, tensor in weights.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise CheckpointError(
                f"weights do not match the stored architecture ({name}: {tuple(tensor.shape)} "
                f"vs {tuple(expected[name].shape)})",
                p,
            )
    model.load_state_dict(weights)
    model.to(device)
    model.eval()
    return model, meta
