"""Checkpoints: safetensors round trip, and refusal of pickles, truncated files and garbage (nothing executed)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from unet_core.data.classes import CARVANA_CLASSES
from unet_core.errors import CheckpointError
from unet_core.model.checkpoint import CheckpointMeta, load_checkpoint, read_metadata, save_checkpoint
from unet_core.model.unet import UNetConfig, build_model


def _meta() -> CheckpointMeta:
    return CheckpointMeta(arch=UNetConfig.preset("unet-tiny", 2), classes=CARVANA_CLASSES, input_size=(64, 96),
                          dataset_kind="carvana", training={"epochs": 3, "best_val_dice": 0.9})


def _save(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(_meta().arch)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, _meta())
    return path, model


def test_round_trip_restores_weights_and_metadata(tmp_path: Path) -> None:
    path, model = _save(tmp_path)
    loaded, meta = load_checkpoint(path)
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert meta.classes == CARVANA_CLASSES and meta.input_size == (64, 96)
    assert meta.arch == _meta().arch and meta.training["best_val_dice"] == 0.9
    assert read_metadata(path).dataset_kind == "carvana"
    assert not loaded.training


class _Exploit:
    def __reduce__(self):  # would create a file if anything unpickled it
        return (Path.touch, (Path(self.marker),))


def test_pickle_is_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    exploit = _Exploit()
    exploit.marker = str(marker)
    bad = tmp_path / "model.pt"
    bad.write_bytes(pickle.dumps({"state": exploit}))
    with pytest.raises(CheckpointError, match="pickle") as info:
        load_checkpoint(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
    torch.save({"w": torch.zeros(2)}, tmp_path / "zip.pt")
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(tmp_path / "zip.pt")
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 5, 100, -10])
def test_truncated_file_is_refused(tmp_path: Path, cut: int) -> None:
    path, _ = _save(tmp_path)
    data = path.read_bytes()
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(data[:cut])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(bad)
    assert str(bad) in str(info.value)


def test_garbage_missing_and_folder_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "g.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!" + b"x" * 50)
    with pytest.raises(CheckpointError, match="header"):
        load_checkpoint(garbage)
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)


def test_foreign_safetensors_and_mismatched_weights_are_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a Maskloop checkpoint"):
        load_checkpoint(foreign)
    meta = _meta()
    wrong = tmp_path / "wrong.safetensors"
    save_checkpoint(wrong, build_model(UNetConfig.preset("unet-small", 2)), meta)  # weights of another width
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(wrong)
