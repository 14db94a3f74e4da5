"""Shared test set-up: offscreen Qt, small generated datasets and a tiny trained model (no ../shared data)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_DRIVER", "PySide6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from pathlib import Path

import pytest

SMALL_CARVANA = (160, 240)
SMALL_CARLA = (120, 160)


@pytest.fixture(scope="session")
def carvana_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated Carvana-format folder: 3 cars x 4 views at 160x240, native JPEG + GIF files."""
    from unet_core.sample.writer import write_sample

    return write_sample(tmp_path_factory.mktemp("carvana"), "carvana", count=12, seed=1, size_hw=SMALL_CARVANA)


@pytest.fixture(scope="session")
def carla_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated CARLA-format folder: 6 scenes at 120x160, RGBA PNG + red-channel masks."""
    from unet_core.sample.writer import write_sample

    return write_sample(tmp_path_factory.mktemp("carla"), "carla", count=6, seed=2, size_hw=SMALL_CARLA)


@pytest.fixture(scope="session")
def tiny_model(carvana_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A unet-tiny trained for 15 quick epochs on ``carvana_dir`` at 64x96 (validation Dice ~0.93, seconds)."""
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.data.split import split_by_group
    from unet_core.training.trainer import train
    from unet_core.training.types import TrainConfig

    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    examples = examples_from_layout(layout, pairs)
    tr, va = split_by_group(examples, [e.group for e in examples], 0.34, seed=0)
    out = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    cfg = TrainConfig(arch="unet-tiny", size_hw=(64, 96), epochs=15, lr=3e-3, batch_size=4, device="cpu")
    train(tr, va, layout.classes, cfg, out, dataset_kind=layout.kind)
    return out


@pytest.fixture(scope="session")
def tiny_click_model(carvana_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An interactive unet-tiny (half its samples trained with simulated clicks), 12 quick epochs on ``carvana_dir``."""
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.data.split import split_by_group
    from unet_core.training.trainer import train
    from unet_core.training.types import TrainConfig

    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    tr, va = split_by_group(examples, [e.group for e in examples], 0.34, seed=0)
    out = tmp_path_factory.mktemp("click_model") / "clicky.safetensors"
    cfg = TrainConfig(arch="unet-tiny", size_hw=(64, 96), epochs=12, lr=3e-3, device="cpu", clicks=0.5)
    train(tr, va, layout.classes, cfg, out, dataset_kind=layout.kind)
    return out


@pytest.fixture(scope="session")
def tiny_carla_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained unet-tiny checkpoint for the 23 CARLA classes (for commands that need any model)."""
    import torch

    from unet_core.data.classes import CARLA_CLASSES
    from unet_core.model.checkpoint import CheckpointMeta, save_checkpoint
    from unet_core.model.unet import UNetConfig, build_model

    torch.manual_seed(0)
    arch = UNetConfig.preset("unet-tiny", CARLA_CLASSES.num_classes)
    out = tmp_path_factory.mktemp("carla_model") / "carla.safetensors"
    save_checkpoint(out, build_model(arch), CheckpointMeta(arch=arch, classes=CARLA_CLASSES, input_size=(64, 96),
                                                           dataset_kind="carla"))
    return out
