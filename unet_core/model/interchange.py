"""Model interchange: a checkpoint's UNet as TorchScript or ONNX for other runtimes, checked against PyTorch."""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from unet_core.errors import MaskloopError
from unet_core.fsutil import atomic_write_bytes
from unet_core.model.checkpoint import CheckpointMeta, load_checkpoint

MODEL_FORMATS = ("onnx", "torchscript")
TOLERANCE = 1e-4
"""Largest difference of any logit between an exported model and PyTorch that counts as the same model."""
META_KEY = "maskloop"
"""Where an exported file keeps the checkpoint's metadata (ONNX metadata_props, a TorchScript extra file)."""


@dataclass
class ModelExport:
    """What was written and how closely it reproduces PyTorch: the largest logit difference at each checked
    input size, or why it could not be checked."""

    path: Path
    fmt: str
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    unchecked: str | None = None


def export_model(checkpoint: str | Path, out: str | Path, fmt: str) -> ModelExport:
    """Write ``checkpoint``'s model (automatic mode, on the CPU, fp32) to ``out`` as ``fmt`` and compare its
    logits with PyTorch's on two input sizes; ``MaskloopError`` (nothing written) when they differ by more than
    :data:`TOLERANCE`. The input is ``N x 3 x H x W`` RGB normalised as the checkpoint says, H and W multiples
    of the model's stride (2 ** depth: 16 for every preset); the output the ``N x K x H x W`` logits. The checkpoint's metadata (classes,
    input size, scale, normalisation) travels in the file; the checkpoint stays the source of truth."""
    if fmt not in MODEL_FORMATS:
        raise ValueError(f"--format must be one of {', '.join(MODEL_FORMATS)}, got {fmt!r}")
    model, meta = load_checkpoint(checkpoint, device="cpu")
    model = model.float().eval()
    sizes = _check_sizes(meta)
    example = torch.randn(1, 3, *sizes[0], generator=torch.Generator().manual_seed(0))
    stride = 2 ** meta.arch.depth
    about = json.dumps({"checkpoint": Path(checkpoint).name, **meta.to_metadata(), "input_layout": "N,3,H,W RGB "
                        f"normalised; H, W multiples of {stride}", "output": "N,K,H,W logits"})
    with warnings.catch_warnings():  # tracing warns that shape checks become constants: inputs are multiples of 16
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript-based ONNX exporter (dynamo=False)
        warnings.simplefilter("ignore", FutureWarning)
        data = _torchscript(model, example, about) if fmt == "torchscript" else _onnx(model, example, about)
    report = ModelExport(Path(out), fmt)
    run = _runner(fmt, data)
    if run is None:
        report.unchecked = "onnxruntime is not installed: the file was not run (pip install onnxruntime)"
    else:
        rng = torch.Generator().manual_seed(1)
        for h, w in sizes:
            x = torch.randn(2, 3, h, w, generator=rng)
            with torch.no_grad():
                want = model(x).numpy()
            got = run(x.numpy())
            if got.shape != want.shape:
                raise MaskloopError(f"the exported model gives {got.shape} for {h}x{w}, PyTorch {want.shape}", out)
            report.max_abs_diff[f"{h}x{w}"] = float(np.abs(got - want).max())
        worst = max(report.max_abs_diff.values())
        if worst > TOLERANCE:
            raise MaskloopError(f"the exported model's logits differ from PyTorch's by {worst:.2e} "
                                f"(more than {TOLERANCE:g}); nothing was written", out)
    atomic_write_bytes(Path(out), data)
    return report


def _check_sizes(meta: CheckpointMeta) -> list[tuple[int, int]]:
    """The checkpoint's own input size and a smaller one of another aspect (both multiples of the stride)."""
    h, w, s = *meta.input_size, 2 ** meta.arch.depth
    return [(h, w), (max(2 * s, (h // 2) // s * s), max(3 * s, (w // 3) // s * s))]


def _torchscript(model: torch.nn.Module, example: torch.Tensor, about: str) -> bytes:
    with torch.no_grad():
        traced = torch.jit.trace(model, (example,), check_trace=False)
    buf = io.BytesIO()
    torch.jit.save(traced, buf, _extra_files={f"{META_KEY}.json": about})
    return buf.getvalue()


def _onnx(model: torch.nn.Module, example: torch.Tensor, about: str) -> bytes:
    try:
        import onnx
    except ImportError:
        raise MaskloopError("ONNX export needs the onnx package: pip install onnx (or maskloop[onnx])") from None
    buf = io.BytesIO()
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(model, (example,), buf, dynamo=False, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": axes, "logits": axes}, opset_version=17)
    proto = onnx.load_from_string(buf.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, about
    return proto.SerializeToString()


def _runner(fmt: str, data: bytes):  # type: ignore[no-untyped-def]
    """A function running the exported bytes on an input array, or None when no runtime is installed."""
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates TorchScript; still asked for
            loaded = torch.jit.load(io.BytesIO(data))

        def run(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return loaded(torch.from_numpy(x)).numpy()

        return run
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"image": x})[0]


def exported_metadata(path: str | Path) -> dict:
    """The checkpoint metadata an exported file carries."""
    p = Path(path)
    if p.suffix.lower() == ".onnx":
        import onnx

        props = {e.key: e.value for e in onnx.load(str(p), load_external_data=False).metadata_props}
        return json.loads(props[META_KEY])
    files = {f"{META_KEY}.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.load(str(p), _extra_files=files)
    return json.loads(files[f"{META_KEY}.json"])


__all__ = ["MODEL_FORMATS", "TOLERANCE", "ModelExport", "export_model", "exported_metadata"]
