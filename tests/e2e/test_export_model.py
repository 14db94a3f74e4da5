"""``unet-core export-model``: ONNX and TorchScript files that compute what PyTorch computes (within 1e-4)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from unet_core.model.checkpoint import load_checkpoint
from unet_core.model.interchange import TOLERANCE, export_model, exported_metadata

HAS_ORT = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "unet_core", "export-model", *map(str, args)], capture_output=True,
                          text=True, timeout=300, check=False)


def test_torchscript_matches_pytorch_and_carries_the_checkpoints_metadata(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    proc = _cli("--model", tiny_model, "--out", out, "--format", "torchscript")
    assert proc.returncode == 0, proc.stderr
    assert "largest logit difference to PyTorch" in proc.stderr
    model, meta = load_checkpoint(tiny_model, device="cpu")
    loaded = torch.jit.load(str(out))
    x = torch.randn(1, 3, 48, 80)
    with torch.no_grad():
        assert float((loaded(x) - model.eval()(x)).abs().max()) <= TOLERANCE
    assert exported_metadata(out)["classes"] == meta.to_metadata()["classes"]


@pytest.mark.skipif(not HAS_ORT, reason="onnx and onnxruntime are not installed (pip install maskloop[onnx])")
def test_onnx_matches_pytorch_in_onnxruntime(tiny_model: Path, tmp_path: Path) -> None:
    import onnxruntime

    report = export_model(tiny_model, tmp_path / "m.onnx", "onnx")
    assert report.unchecked is None and max(report.max_abs_diff.values()) <= TOLERANCE
    session = onnxruntime.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    model, _ = load_checkpoint(tiny_model, device="cpu")
    x = torch.randn(3, 3, 64, 112)
    with torch.no_grad():
        want = model.eval()(x).numpy()
    got = session.run(None, {"image": x.numpy()})[0]
    assert got.shape == want.shape and float(np.abs(got - want).max()) <= TOLERANCE
    assert "classes" in exported_metadata(report.path)


def test_export_model_refuses_to_replace_a_checkpoint_and_names_bad_input(tiny_model: Path, tmp_path: Path) -> None:
    proc = _cli("--model", tiny_model, "--out", tiny_model, "--format", "torchscript")
    assert proc.returncode == 1 and "replace a checkpoint" in proc.stderr
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    proc = _cli("--model", tmp_path / "junk.safetensors", "--out", tmp_path / "x.pt", "--format", "torchscript")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and not (tmp_path / "x.pt").exists()
