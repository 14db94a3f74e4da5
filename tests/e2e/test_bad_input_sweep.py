"""A sweep of bad inputs through the CLI: each is skipped and counted, or stops with one line naming the file;
no traceback, no large allocation, and the dataset's own files are never changed."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.bad_files import png_bomb
from tests.tree_hash import tree_hashes
from tests.unit.test_checkpoint_hostile import _hostile_files
from unet_core.cli.entry import main

ODD_NAME = os.fsdecode(b"caf\xe9-\xff")  # Latin-1 bytes: not UTF-8


def _run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the CLI in-process; ``err`` is everything written to stderr, C libraries' output included."""
    code = main(list(argv))
    err = capfd.readouterr().err
    assert "Traceback" not in err
    return code, err


def _pair(root: Path, stem: str, image: bytes | None = None, mask: bytes | None = None) -> None:
    good_image = (root / "CameraRGB" / "000000.png").read_bytes()
    good_mask = (root / "CameraMask" / "000000.png").read_bytes()
    (root / "CameraRGB" / f"{stem}.png").write_bytes(good_image if image is None else image)
    (root / "CameraMask" / f"{stem}.png").write_bytes(good_mask if mask is None else mask)


@pytest.fixture
def bad_carla(carla_dir: Path, tmp_path: Path) -> tuple[Path, int]:
    """A CARLA folder with its 6 good pairs and unreadable items that must be skipped: returns (root, bad count)."""
    root = Path(shutil.copytree(carla_dir, tmp_path / "carla"))
    good = (root / "CameraRGB" / "000000.png").read_bytes()
    bomb = png_bomb(tmp_path / "bomb.png").read_bytes()
    _pair(root, "zero_image", image=b"")
    _pair(root, "truncated_image", image=good[: len(good) // 2])
    _pair(root, "bomb_image", image=bomb)
    _pair(root, "zero_mask", mask=b"")
    _pair(root, "truncated_mask", mask=(root / "CameraMask" / "000000.png").read_bytes()[:60])
    _pair(root, "bomb_mask", mask=bomb)
    _pair(root, "garbage_image", image=b"GIF89a" + os.urandom(200))
    os.symlink("loop.png", root / "CameraRGB" / "loop.png")  # a symlink loop
    os.symlink("nowhere.png", root / "CameraRGB" / "dangling.png")
    (root / "CameraRGB" / "folder.png").mkdir()
    (root / "CameraRGB" / f"{ODD_NAME}.png").write_bytes(good)
    _pair(root, "voiture bleue é")  # an odd but valid name: used like any other
    return root, 7


def test_unreadable_items_are_skipped_and_counted(bad_carla: tuple[Path, int], tiny_carla_model: Path,
                                                  tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    root, bad = bad_carla
    before = tree_hashes(root)
    tracemalloc.start()
    code, err = _run(capfd, "evaluate", "--model", str(tiny_carla_model), "--data", str(root), "--json",
                     "--quiet")
    assert code == 0, err
    assert f"{bad} of 14 pair(s) skipped" in err and "2 item(s) in CameraRGB/" in err, err  # loop, odd name
    assert "BytesIO" not in err and "libpng" not in err and "WARN" not in err, err
    code, err = _run(capfd, "predict", "--model", str(tiny_carla_model), "--input", str(root),
                     "--out", str(tmp_path / "preds"), "--quiet")
    assert code == 0 and "4 unreadable image(s) skipped" in err, err  # zero, truncated, bomb, garbage
    assert len(list((tmp_path / "preds").iterdir())) == 14 - 4
    code, err = _run(capfd, "train", "--data", str(root), "--out", str(tmp_path / "m.safetensors"), "--epochs",
                     "1", "--size", "32x48", "--arch", "unet-tiny", "--quiet")
    assert code == 0 and "skipped" in err, err
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**30
    assert tree_hashes(root) == before


@pytest.mark.parametrize(
    ("name", "mask"),
    [
        ("wrong_size", np.zeros((10, 10), np.uint8)),
        ("id_out_of_range", np.full((120, 160), 200, np.uint8)),
    ],
)
def test_data_that_does_not_fit_stops_with_one_line(carla_dir: Path, tiny_carla_model: Path, tmp_path: Path,
                                                    capfd: pytest.CaptureFixture[str], name: str,
                                                    mask: np.ndarray) -> None:
    root = Path(shutil.copytree(carla_dir, tmp_path / "carla"))
    _pair(root, name)
    rgba = np.zeros((*mask.shape, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = mask, 255
    Image.fromarray(rgba).save(root / "CameraMask" / f"{name}.png")
    before = tree_hashes(root)
    for argv in (["evaluate", "--model", str(tiny_carla_model), "--data", str(root)],
                 ["train", "--data", str(root), "--out", str(tmp_path / "m.safetensors"), "--epochs", "1",
                  "--size", "32x48", "--arch", "unet-tiny", "--val-fraction", "0"]):
        code, err = _run(capfd, *argv, "--quiet")
        lines = [ln for ln in err.splitlines() if "error" in ln]
        assert code == 1 and len(lines) == 1 and f"{name}.png" in lines[0], err
    assert tree_hashes(root) == before
    assert not (tmp_path / "m.safetensors").exists()


def test_hostile_checkpoints_stop_every_command_with_one_line(carla_dir: Path, tmp_path: Path,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    files = _hostile_files(tmp_path)
    assert len(files) >= 20
    before = tree_hashes(carla_dir)
    tracemalloc.start()
    for label, data in files.items():
        model = tmp_path / f"{label}.safetensors"
        model.write_bytes(data)
        for argv in (["evaluate", "--model", str(model), "--data", str(carla_dir)],
                     ["predict", "--model", str(model), "--input", str(carla_dir), "--out", str(tmp_path / "p")],
                     ["train", "--data", str(carla_dir), "--out", str(tmp_path / "m.safetensors"), "--from",
                      str(model), "--epochs", "1"]):
            code, err = _run(capfd, *argv, "--quiet")
            assert code == 1 and err.count("\n") == 1 and str(model) in err, (label, argv[0], err)
    assert tracemalloc.get_traced_memory()[1] < 2**30
    tracemalloc.stop()
    assert not (tmp_path / "p").exists() and not (tmp_path / "m.safetensors").exists()
    assert tree_hashes(carla_dir) == before


def test_a_bomb_costs_no_memory_in_a_real_process(tmp_path: Path, carla_dir: Path, tiny_carla_model: Path) -> None:
    """tracemalloc cannot see OpenCV's or torch's memory: the process's own peak RSS is measured instead."""
    import subprocess
    import sys

    folder = tmp_path / "imgs"
    folder.mkdir()
    png_bomb(folder / "bomb.png")
    shutil.copy(carla_dir / "CameraRGB" / "000000.png", folder / "ok.png")
    code = ("import resource, sys; from unet_core.cli.entry import main; c = main(sys.argv[1:]); "
            "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(c)")
    proc = subprocess.run([sys.executable, "-c", code, "predict", "--model", str(tiny_carla_model), "--input",
                           str(folder), "--out", str(tmp_path / "p"), "--quiet"],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and "1 unreadable image(s) skipped" in proc.stderr
    peak_mb = int(lines[-1].split()[-1]) / 1024
    assert peak_mb < 1024, f"peak RSS {peak_mb:.0f} MB"  # torch alone is ~300 MB; the decoded bomb would be 1.2 GB
    assert all("warning" in ln or "wrote" in ln or "maxrss" in ln for ln in lines), proc.stderr
