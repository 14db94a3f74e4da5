"""CLI outputs that cannot be written (read-only folder, full disk): exit 1, one line naming the file."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tests.unit.fault_helpers import deny_writes_under, fill_disk, temp_files
from unet_core.cli.entry import main

pytestmark = pytest.mark.slow

TRAIN = ("--epochs", "1", "--size", "32x48", "--arch", "unet-tiny", "--device", "cpu", "--quiet")


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _error_line(err: str, name: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if "error" in ln]
    assert len(lines) == 1 and name in lines[0], err
    return lines[0]


def test_sample_into_a_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    deny_writes_under(monkeypatch, ro, errno.EROFS)
    code, err = run(capsys, "sample", ro / "data", "--layout", "carla", "--count", "2", "--size", "32x48")
    assert code == 1
    assert "read-only" in _error_line(err, str(ro / "data"))
    monkeypatch.undo()
    assert list(ro.iterdir()) == []


def test_predict_into_a_read_only_or_full_folder(carvana_dir: Path, tiny_model: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "preds"
    out.mkdir()
    deny_writes_under(monkeypatch, out)
    code, err = run(capsys, "predict", "--model", tiny_model, "--input", carvana_dir, "--out", out, "--quiet")
    assert code == 1
    assert "read-only" in _error_line(err, str(out))
    monkeypatch.undo()
    fill_disk(monkeypatch, out)
    code, err = run(capsys, "predict", "--model", tiny_model, "--input", carvana_dir, "--out", out, "--quiet")
    assert code == 1
    assert "disk is full" in _error_line(err, str(out))
    monkeypatch.undo()
    assert list(out.iterdir()) == []


def test_train_into_a_read_only_folder_stops_before_training(
    carvana_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import unet_core.training.trainer as training

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained before finding out that the output cannot be written")

    monkeypatch.setattr(training, "_loop", no_training)
    ro = tmp_path / "ro"
    ro.mkdir()
    deny_writes_under(monkeypatch, ro)
    out = ro / "m.safetensors"
    code, err = run(capsys, "train", "--data", carvana_dir, "--out", out, *TRAIN)
    assert code == 1
    _error_line(err, str(out))
    logs = ro / "logs"
    code, err = run(capsys, "train", "--data", carvana_dir, "--out", tmp_path / "m.safetensors",
                    "--log-dir", logs, *TRAIN)
    assert code == 1
    _error_line(err, str(logs))
    monkeypatch.undo()
    assert list(ro.iterdir()) == [] and not (tmp_path / "m.safetensors").exists()


def test_train_on_a_full_disk_names_the_checkpoint(carvana_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "models"
    out_dir.mkdir()
    fill_disk(monkeypatch, out_dir)
    code, err = run(capsys, "train", "--data", carvana_dir, "--out", out_dir / "m.safetensors", *TRAIN)
    assert code == 1
    assert "disk is full" in _error_line(err, str(out_dir / "m"))
    monkeypatch.undo()
    assert temp_files(out_dir) == [] and list(out_dir.iterdir()) == []
