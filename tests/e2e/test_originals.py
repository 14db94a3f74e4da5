"""No command replaces a dataset's original files by default; on explicit request they are backed up first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tree_hash import tree_hashes
from unet_core.cli.entry import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip()


@pytest.fixture
def carla_copy(carla_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(carla_dir, tmp_path / "carla"))


def test_predict_into_the_datasets_mask_folder_is_refused(carla_copy: Path, tiny_carla_model: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = tree_hashes(carla_copy)
    for fmt in ("native", "index", "color"):
        code, err = _run(capsys, "predict", "--model", str(tiny_carla_model), "--input", str(carla_copy),
                         "--out", str(carla_copy / "CameraMask"), "--format", fmt, "--quiet")
        assert code == 1 and "\n" not in err and "original file" in err and "CameraMask" in err, err
        assert "--overwrite-originals" in err
    code, err = _run(capsys, "predict", "--model", str(tiny_carla_model), "--input", str(carla_copy),
                     "--out", str(carla_copy / "CameraRGB"), "--quiet")
    assert code == 1 and "CameraRGB" in err
    assert tree_hashes(carla_copy) == before
    assert not (carla_copy / ".maskloop").exists()


def test_overwrite_originals_backs_them_up_first(carla_copy: Path, tiny_carla_model: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    masks = carla_copy / "CameraMask"
    originals = {p.name: p.read_bytes() for p in masks.iterdir()}
    code, err = _run(capsys, "predict", "--model", str(tiny_carla_model), "--input", str(carla_copy),
                     "--out", str(masks), "--format", "native", "--overwrite-originals", "--quiet")
    assert code == 0, err
    backups = list((carla_copy / ".maskloop" / "originals-backup").glob("*/CameraMask"))
    assert len(backups) == 1
    assert {p.name: p.read_bytes() for p in backups[0].iterdir()} == originals
    assert any(masks.joinpath(n).read_bytes() != data for n, data in originals.items())


def test_predict_never_replaces_its_own_input_images(tmp_path: Path, carla_dir: Path, tiny_carla_model: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in sorted((carla_dir / "CameraRGB").iterdir())[:2]:
        shutil.copy(p, flat / p.name)
    before = tree_hashes(flat)
    code, err = _run(capsys, "predict", "--model", str(tiny_carla_model), "--input", str(flat),
                     "--out", str(flat), "--quiet")
    assert code == 1 and "would replace 2 original" in err, err
    assert tree_hashes(flat) == before


def test_train_out_never_replaces_an_image_or_another_file(carla_copy: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    before = tree_hashes(carla_copy)
    image = sorted((carla_copy / "CameraRGB").iterdir())[0]
    code, err = _run(capsys, "train", "--data", str(carla_copy), "--out", str(image), "--epochs", "1")
    assert code == 1 and "image or mask folder" in err and "\n" not in err, err
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    code, err = _run(capsys, "train", "--data", str(carla_copy), "--out", str(notes), "--epochs", "1")
    assert code == 1 and "not a .safetensors checkpoint" in err and str(notes) in err, err
    assert notes.read_text() == "mine" and tree_hashes(carla_copy) == before


def test_sample_never_writes_over_an_existing_dataset(carla_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = tree_hashes(carla_copy)
    code, err = _run(capsys, "sample", str(carla_copy), "--layout", "carla", "--count", "2", "--size", "32x48")
    assert code == 1 and "already holds a dataset" in err, err
    assert tree_hashes(carla_copy) == before


def test_a_link_to_the_mask_folder_is_the_mask_folder(carla_copy: Path, tiny_carla_model: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    link = tmp_path / "masks_link"
    link.symlink_to(carla_copy / "CameraMask", target_is_directory=True)
    before = tree_hashes(carla_copy)
    code, err = _run(capsys, "predict", "--model", str(tiny_carla_model), "--input", str(carla_copy),
                     "--out", str(link), "--format", "native", "--quiet")
    assert code == 1 and "original file" in err, err
    assert tree_hashes(carla_copy) == before
