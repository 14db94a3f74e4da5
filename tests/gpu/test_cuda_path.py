"""The core on CUDA: AMP + channels_last training steps, CPU-equal predictions and clicks, checkpoints that load on a CPU."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from unet_core.clicks.predict import ClickPredictor
from unet_core.data.dataset import examples_from_layout
from unet_core.data.guides import Click
from unet_core.data.io import read_image, read_mask
from unet_core.data.layouts import detect_layout
from unet_core.devices import autocast_dtype
from unet_core.model.checkpoint import CheckpointMeta, load_checkpoint_tensors, read_metadata, save_checkpoint
from unet_core.model.predictor import Predictor
from unet_core.model.unet import UNetConfig, build_model
from unet_core.training.losses import segmentation_loss
from unet_core.training.trainer import train
from unet_core.training.types import Callback, TrainConfig

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason=f"CUDA is not available here (torch {torch.__version__}, CUDA build {torch.version.cuda})"),
]
# Default Predictor on CUDA runs under bf16 autocast (8 significant bits, unit roundoff 2**-8 = 0.4 %), the CPU
# in fp32; both accumulate convolutions in fp32. The tiny model's logits reach |8|, and bf16 logits then move
# by up to ~0.08, which the softmax's slope (at most 1/4) turns into probability changes of at most ~0.02.
# Measured by emulating it on the CPU (torch.autocast("cpu", bfloat16), the same model and images): mean
# |dp| 0.0005, 99.9th percentile 0.006, max 0.015, labels 99.97 % equal. The bounds below leave 8-10x margin;
# the max is not bounded, since a pixel at p = 0.5 may flip. fp32 on CUDA uses TF32 in cuDNN convolutions
# (10-bit mantissa, 8x finer than bf16), so its bound is tighter.
BF16_MEAN, BF16_Q999, LABELS_AGREE = 0.005, 0.05, 0.995
TF32_MEAN, TF32_MAX = 0.002, 0.02


class _Steps(Callback):
    def __init__(self) -> None:
        self.start: dict[str, Any] = {}
        self.losses: list[float] = []

    def on_start(self, info: dict[str, Any]) -> None:
        self.start = info

    def on_step(self, info: Any) -> None:
        self.losses.append(info.loss)


def _start_model(path: Path, classes: Any, kind: str) -> None:
    torch.manual_seed(0)
    arch = UNetConfig.preset("unet-tiny", classes.num_classes)
    save_checkpoint(path, build_model(arch), CheckpointMeta(arch=arch, classes=classes, input_size=(64, 96),
                                                            dataset_kind=kind))


def _amp_step(model: torch.nn.Module) -> float:
    """One AMP + channels_last training step of ``model`` (on CUDA) on a synthetic batch; returns the loss."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    dtype = autocast_dtype(torch.device("cuda"))
    assert dtype in (torch.bfloat16, torch.float16)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    torch.manual_seed(1)
    x = torch.randn(4, 3, 64, 96, device="cuda").contiguous(memory_format=torch.channels_last)
    y = (x[:, 0] > 0).long()
    with torch.autocast("cuda", dtype=dtype):
        logits = model(x)
    assert logits.dtype == dtype
    loss = segmentation_loss(logits, y)
    scaler.scale(loss).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    scaler.step(opt)
    scaler.update()
    return float(loss.detach())


def _cuda_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(UNetConfig.preset("unet-tiny", 2)).to("cuda", memory_format=torch.channels_last)


def test_a_bare_amp_channels_last_step_is_finite_and_moves_the_weights() -> None:
    model = _cuda_model()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    assert math.isfinite(_amp_step(model))
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())


def test_the_core_training_loop_on_cuda_uses_amp_and_updates_weights(carvana_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    start, out = tmp_path / "start.safetensors", tmp_path / "out.safetensors"
    _start_model(start, layout.classes, layout.kind)
    steps = _Steps()
    cfg = TrainConfig(arch="unet-tiny", size_hw=(64, 96), epochs=2, batch_size=4, lr=1e-3, device="cuda")
    result = train(examples_from_layout(layout, pairs), [], layout.classes, cfg, out, init=start, callbacks=[steps],
                   dataset_kind=layout.kind)
    assert steps.start["device"].startswith("cuda") and steps.start["amp"] in ("torch.bfloat16", "torch.float16")
    assert result.steps == len(steps.losses) >= 2 and all(math.isfinite(v) for v in steps.losses)
    before, _ = load_checkpoint_tensors(start)
    after, _ = load_checkpoint_tensors(out)
    floats = [k for k in before if before[k].is_floating_point()]
    assert any(not torch.equal(before[k], after[k]) for k in floats)
    assert all(torch.isfinite(after[k]).all() for k in floats)


def test_predictions_on_cuda_match_the_cpu(carvana_dir: Path, tiny_model: Path) -> None:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    images = [read_image(p.image) for p in pairs]
    cpu = Predictor.from_checkpoint(tiny_model, device="cpu")
    gpu = Predictor.from_checkpoint(tiny_model, device="cuda")  # as the app: bf16 autocast on CUDA
    same = sum(int((cpu.predict(im).labels == gpu.predict(im).labels).sum()) for im in images)
    assert same / sum(im.shape[0] * im.shape[1] for im in images) >= LABELS_AGREE
    batch = np.stack([cpu.preprocess(im) for im in images])
    ref = cpu.probabilities_lowres(batch)
    diff = (gpu.probabilities_lowres(batch) - ref).abs()
    assert float(diff.mean()) <= BF16_MEAN and float(torch.quantile(diff.flatten(), 0.999)) <= BF16_Q999
    fp32 = Predictor(gpu.model, gpu.meta, device="cuda", amp=False)
    diff32 = (fp32.probabilities_lowres(batch) - ref).abs()
    assert float(diff32.mean()) <= TF32_MEAN and float(diff32.max()) <= TF32_MAX


def test_training_with_clicks_on_cuda_runs_its_passes_under_amp(carvana_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    out = tmp_path / "clicky.safetensors"
    steps = _Steps()
    cfg = TrainConfig(arch="unet-tiny", size_hw=(64, 96), epochs=2, batch_size=4, lr=1e-3, device="cuda", clicks=1.0)
    result = train(examples_from_layout(layout, pairs), [], layout.classes, cfg, out, callbacks=[steps],
                   dataset_kind=layout.kind)
    assert steps.start["amp"] in ("torch.bfloat16", "torch.float16")
    assert result.steps == len(steps.losses) >= 2 and all(math.isfinite(v) for v in steps.losses)
    assert read_metadata(out).interactive
    after, _ = load_checkpoint_tensors(out)
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())


def test_clicks_on_cuda_match_the_cpu(carvana_dir: Path, tiny_click_model: Path) -> None:
    layout = detect_layout(carvana_dir)
    cpu = ClickPredictor(Predictor.from_checkpoint(tiny_click_model, device="cpu"))
    gpu = ClickPredictor(Predictor.from_checkpoint(tiny_click_model, device="cuda"))  # bf16, as the app runs it
    same = total = 0
    for pair in layout.pairs()[0][:4]:
        image, truth = read_image(pair.image), read_mask(pair.mask, layout.mask_format)
        ys, xs = np.nonzero(truth == 1)
        clicks = [Click(float(ys[len(ys) // 2]), float(xs[len(xs) // 2]), True)]
        mask = np.zeros_like(truth)
        a, b = cpu.run(image, mask, 1, clicks), gpu.run(image, mask, 1, clicks)
        assert a.window == b.window
        same += int((a.labels == b.labels).sum())
        total += a.labels.size
    assert same / total >= LABELS_AGREE


LOAD_ON_CPU = """
import sys, numpy as np, torch
from unet_core.model.checkpoint import load_checkpoint
from unet_core.model.predictor import Predictor
assert not torch.cuda.is_available()
model, meta = load_checkpoint(sys.argv[1], device="cpu")
labels = Predictor(model, meta, device="cpu").predict(np.zeros((100, 150, 3), np.uint8)).labels
assert labels.shape == (100, 150)
np.savez(sys.argv[2], **{k: v.numpy() for k, v in model.state_dict().items()})
"""


def test_a_checkpoint_saved_on_cuda_loads_on_a_machine_without_it(carvana_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carvana_dir)
    model = _cuda_model()
    _amp_step(model)  # trained weights and BatchNorm statistics, channels_last on the GPU
    out = tmp_path / "cuda.safetensors"
    save_checkpoint(out, model, CheckpointMeta(arch=model.config, classes=layout.classes, input_size=(64, 96),
                                               dataset_kind=layout.kind))
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # with any wheels' folder
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": path}
    npz = tmp_path / "loaded.npz"
    proc = subprocess.run([sys.executable, "-c", LOAD_ON_CPU, str(out), str(npz)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded = np.load(npz)
    state = model.state_dict()
    assert set(loaded.files) == set(state)
    for name, value in state.items():
        np.testing.assert_array_equal(loaded[name], value.detach().cpu().numpy(), err_msg=name)
