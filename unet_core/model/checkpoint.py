"""Checkpoints: one ``.safetensors`` file with the weights and JSON metadata; loading never unpickles."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as st_save

from unet_core.data.classes import ClassTable
from unet_core.data.framing import Framing, check_scale
from unet_core.data.guides import GuideEncoding, guide_channels
from unet_core.data.transforms import Normalization
from unet_core.errors import CheckpointError
from unet_core.fsutil import atomic_write_bytes, remove_stale_temps
from unet_core.limits import MAX_INPUT_SIDE, MAX_PARAMETERS
from unet_core.model.checkpoint_header import Header, read_header
from unet_core.model.unet import UNet, UNetConfig, build_model, check_input_size, state_shapes

FORMAT_NAME = "maskloop-unet"
FORMAT_VERSION = 2
"""2: an interactive model (guide channels); automatic models are still written as 1, which every version reads."""
OPTIM_PREFIX = "__optim__."
RESUME_KEY = "resume"
"""Optimizer tensors (names starting with OPTIM_PREFIX) and the metadata key of a run's resumable state."""


@dataclass
class CheckpointMeta:
    """Everything needed to rebuild and use a model, stored as JSON strings in the file's metadata."""

    arch: UNetConfig
    classes: ClassTable
    input_size: tuple[int, int]  # (H, W) the model sees: one tile
    normalization: Normalization = field(default_factory=Normalization)
    dataset_kind: str = "generic"  # carvana | carla | carla_lyft | generic: the native mask format
    training: dict[str, Any] = field(default_factory=dict)  # epochs, best_val_dice, data fingerprint, ...
    parent_hash: str | None = None
    created: float = field(default_factory=time.time)
    scale: float | None = None  # model pixels per image pixel (aspect kept); None: images are stretched (old files)
    guides: GuideEncoding | None = None  # how clicks are drawn, for an interactive model (arch.guide_channels)

    def __post_init__(self) -> None:
        if self.arch.guide_channels and self.guides is None:
            self.guides = GuideEncoding()

    @property
    def interactive(self) -> bool:
        """True when the model also takes clicks (its guide channels)."""
        return self.arch.guide_channels > 0

    @property
    def framing(self) -> Framing:
        """How images become this model's input."""
        return Framing(self.input_size, self.scale)

    def to_metadata(self) -> dict[str, str]:
        """The string-to-string metadata stored in the safetensors header."""
        return {
            "format": FORMAT_NAME,
            "format_version": str(FORMAT_VERSION if self.interactive else 1),
            "arch": json.dumps(self.arch.to_dict(), sort_keys=True),
            "classes": json.dumps(self.classes.to_dict()),
            "input": json.dumps({**self.framing.to_dict(), "normalization": self.normalization.to_dict(),
                                 **({"guides": self.guides.to_dict()} if self.interactive and self.guides else {})}),
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
            if len(size) != 2 or min(size) < 1 or max(size) > MAX_INPUT_SIDE:
                raise ValueError(f"bad input size {size} (each side 1..{MAX_INPUT_SIDE})")
            norm = Normalization.from_dict(inp.get("normalization", {}))
            scale = None if inp.get("scale") is None else check_scale(inp["scale"])
            expected = guide_channels(arch.num_classes)
            if arch.guide_channels not in (0, expected):
                raise ValueError(f"{arch.guide_channels} guide channels (an interactive model of "
                                 f"{arch.num_classes} classes has {expected})")
            guides = GuideEncoding.from_dict(inp.get("guides", {})) if arch.guide_channels else None
            training = json.loads(meta.get("training", "{}"))
            created = float(meta.get("created", "0") or 0)
            if not isinstance(training, dict):
                raise ValueError("training summary must be an object")
            check_input_size(arch, (size[0], size[1]))
        except (KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
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
            scale=scale,
            guides=guides,
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description (what ``unet-core info --json`` prints)."""
        return {
            "arch": self.arch.to_dict(),
            "classes": self.classes.to_dict(),
            "input_size_hw": list(self.input_size),
            "scale": self.scale,
            "normalization": self.normalization.to_dict(),
            "interactive": self.guides.to_dict() if self.interactive and self.guides else None,
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


def checkpoint_bytes(
    model: torch.nn.Module,
    meta: CheckpointMeta,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    extra_metadata: dict[str, str] | None = None,
) -> bytes:
    """A checkpoint file's bytes: the model's weights (on the CPU), ``extra_tensors`` under their own names,
    ``meta`` and then ``extra_metadata`` as its metadata (:func:`save_checkpoint` writes them)."""
    module = model.module if hasattr(model, "module") else model
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    if extra_tensors:
        tensors.update({k: v.detach().to("cpu").contiguous() for k, v in extra_tensors.items()})
    metadata = meta.to_metadata()
    if extra_metadata:
        metadata.update(extra_metadata)
    return st_save(tensors, metadata=metadata)


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    meta: CheckpointMeta,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    extra_metadata: dict[str, str] | None = None,
) -> str:
    """Write weights + metadata atomically; return the new file's SHA-256.

    ``extra_tensors`` (e.g. optimizer state for resuming) are stored under their own names and
    ignored by :func:`load_checkpoint`. Stale temporaries of earlier saves to ``path`` killed
    mid-write are removed first (:func:`unet_core.fsutil.remove_stale_temps`).
    """
    data = checkpoint_bytes(model, meta, extra_tensors, extra_metadata)
    remove_stale_temps(path)  # what a save killed mid-write left here (over a minute old: no live writer's)
    atomic_write_bytes(Path(path), data)
    return hashlib.sha256(data).hexdigest()


def _check_weights(header: Header, meta: CheckpointMeta, path: Path) -> int:
    """Compare the header's weight shapes with the stored architecture (no model built); return its parameters."""
    try:
        expected, parameters = state_shapes(meta.arch)
    except ValueError as exc:
        raise CheckpointError(f"corrupt checkpoint metadata ({exc})", path) from exc
    if parameters > MAX_PARAMETERS:
        raise CheckpointError(f"architecture too large ({parameters:,} parameters; at most {MAX_PARAMETERS:,})", path)
    weights = {k: v for k, v in header.tensors.items() if not k.startswith(OPTIM_PREFIX)}
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(f"weights do not match the stored architecture ({detail})", path)
    for name, entry in weights.items():
        if entry.shape != expected[name]:
            raise CheckpointError(
                f"weights do not match the stored architecture ({name}: {entry.shape} vs {expected[name]})", path
            )
    return parameters


def inspect_checkpoint(path: str | Path) -> tuple[CheckpointMeta, int]:
    """Metadata and parameter count of a checkpoint, fully validated from its header alone.

    Only the header is read (a 10 GB file costs no memory); every size is bounded and every weight
    shape compared with the stored architecture, so a file that passes loads with bounded memory.
    """
    p = Path(path)
    header = read_header(p)
    meta = CheckpointMeta.from_metadata(header.metadata, p)
    return meta, _check_weights(header, meta, p)


def read_metadata(path: str | Path) -> CheckpointMeta:
    """Read and validate a checkpoint's metadata (and its weight shapes) without building the model."""
    return inspect_checkpoint(path)[0]


def _read_tensors(path: Path, names: list[str]) -> dict[str, torch.Tensor]:
    """The named tensors of a validated file (memory-mapped by safetensors; nothing unpickled)."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            return {name: fh.get_tensor(name) for name in names}
    except Exception as exc:  # the safetensors parser raises its own error types
        raise CheckpointError(f"corrupt checkpoint ({' '.join(str(exc).split())})", path) from exc


def load_checkpoint_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the raw metadata of a checkpoint (validated framing, bounded sizes, no unpickling)."""
    p = Path(path)
    header = read_header(p)
    return _read_tensors(p, list(header.tensors)), dict(header.metadata)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[UNet, CheckpointMeta]:
    """Rebuild the model from a checkpoint, in eval mode on ``device``; invalid files raise CheckpointError.

    Shapes are checked against the stored architecture before the model is built, so a hostile
    header cannot make the loader allocate more than a valid model of the bounded size.
    """
    p = Path(path)
    header = read_header(p)
    meta = CheckpointMeta.from_metadata(header.metadata, p)
    _check_weights(header, meta, p)
    weights = _read_tensors(p, [k for k in header.tensors if not k.startswith(OPTIM_PREFIX)])
    with torch.device("meta"):  # no random initialisation of weights that are replaced at once (~6x faster)
        model = build_model(meta.arch)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()},
                              assign=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights do not match the stored architecture ({exc})", p) from exc
    model.to(device)
    model.eval()
    return model, meta
