"""End to end through the CLI: sample -> train -> evaluate -> predict -> fine-tune, and every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unet_core.cli.entry import main
from unet_core.data.io import MaskFormat, read_mask

pytestmark = pytest.mark.slow


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_loop_sample_train_evaluate_predict_finetune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "carvana"
    code, _, err = run(capsys, "sample", data, "--layout", "carvana", "--count", "8", "--seed", "3",
                       "--size", "128x192")
    assert code == 0, err
    assert len(list((data / "train").glob("*.jpg"))) == 8
    assert len(list((data / "train_masks").glob("*_mask.gif"))) == 8

    model = tmp_path / "m.safetensors"
    code, _, err = run(capsys, "train", "--data", data, "--out", model, "--epochs", "3", "--size", "64x96",
                       "--arch", "unet-tiny", "--lr", "3e-3", "--device", "cpu", "--val-fraction", "0.25",
                       "--quiet")
    assert code == 0, err
    assert model.exists() and "best validation dice" in err

    code, out, err = run(capsys, "evaluate", "--model", model, "--data", data, "--json", "--quiet")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) == {"images", "pixel_accuracy", "dice", "iou"}
    assert report["images"] == 8
    assert set(report["dice"]["per_class"]) == {"background", "car"}
    assert report["dice"]["mean"] == report["dice"]["per_class"]["car"]
    assert 0 <= report["pixel_accuracy"] <= 1
    code, out, err = run(capsys, "evaluate", "--model", model, "--data", data, "--json", "--quiet", "--no-guide")
    assert code == 0, err
    plain = json.loads(out)  # the labels of the upsampled probabilities alone: a measurement of its own
    assert plain["images"] == 8 and 0 <= plain["pixel_accuracy"] <= 1

    code, out, _ = run(capsys, "info", model, "--json")
    assert code == 0 and json.loads(out)["classes"]["names"] == ["background", "car"]

    preds = tmp_path / "preds"
    for fmt in ("index", "native", "color"):
        code, _, err = run(capsys, "predict", "--model", model, "--input", data, "--out", preds / fmt,
                           "--format", fmt, "--quiet")
        assert code == 0, err
    index = sorted((preds / "index").glob("*.png"))
    native = sorted((preds / "native").glob("*_mask.gif"))
    assert len(index) == len(native) == 8
    for ip, gp in zip(index, native, strict=True):
        labels = np.asarray(Image.open(ip))
        assert labels.shape == (128, 192) and labels.max() <= 1
        assert np.array_equal(read_mask(gp, MaskFormat.CARVANA_GIF), labels)  # native round-trips
    colour = np.asarray(Image.open(next((preds / "color").glob("*.png"))))
    assert colour.shape == (128, 192, 3)

    tuned = tmp_path / "tuned.safetensors"
    code, _, err = run(capsys, "train", "--data", data, "--out", tuned, "--from", model, "--epochs", "1",
                       "--device", "cpu", "--quiet")
    assert code == 0, err
    code, out, _ = run(capsys, "info", tuned, "--json")
    assert json.loads(out)["parent_hash"]


def test_predict_is_pixel_aligned_at_full_carvana_size(tiny_model: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "full"
    assert run(capsys, "sample", data, "--layout", "carvana", "--count", "1")[0] == 0
    image = next((data / "train").glob("*.jpg"))
    code, _, err = run(capsys, "predict", "--model", tiny_model, "--input", image, "--out", tmp_path / "o",
                       "--format", "native", "--quiet")
    assert code == 0, err
    gif = tmp_path / "o" / f"{image.stem}_mask.gif"
    mask = read_mask(gif, MaskFormat.CARVANA_GIF)
    assert mask.shape == (1280, 1918)
    truth = read_mask(data / "train_masks" / f"{image.stem}_mask.gif", MaskFormat.CARVANA_GIF)
    # aligned: the predicted car's centre of mass lies near the true one (no shift/flip/transposition)
    ys, xs = np.nonzero(mask)
    ty, tx = np.nonzero(truth)
    if len(ys):
        assert abs(ys.mean() - ty.mean()) < 128 and abs(xs.mean() - tx.mean()) < 192


def test_carla_sample_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "carla"
    assert run(capsys, "sample", data, "--layout", "carla", "--count", "2", "--size", "96x128")[0] == 0
    rgb = np.asarray(Image.open(next((data / "CameraRGB").glob("*.png"))))
    mask = np.asarray(Image.open(next((data / "CameraMask").glob("*.png"))))
    assert rgb.shape == (96, 128, 4) and mask.shape == (96, 128, 4)
    assert (mask[..., 1] == 0).all() and (mask[..., 3] == 255).all() and mask[..., 0].max() <= 22


def _one_line_naming(err: str, name: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if "error" in ln]
    assert len(lines) == 1, err
    assert name in lines[0], err


def test_bad_inputs_exit_nonzero_with_one_line_naming_the_file(
    carvana_dir: Path, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # missing folder
    missing = tmp_path / "nowhere"
    code, _, err = run(capsys, "train", "--data", missing, "--out", tmp_path / "x.safetensors")
    assert code != 0
    _one_line_naming(err, str(missing))
    assert not (tmp_path / "x.safetensors").exists()

    # a folder with no recognised layout / no pairs
    empty = tmp_path / "empty"
    (empty / "images").mkdir(parents=True)
    code, _, err = run(capsys, "evaluate", "--model", tiny_model, "--data", empty, "--json")
    assert code != 0
    _one_line_naming(err, "empty")
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    code, _, err = run(capsys, "train", "--data", nothing, "--out", tmp_path / "x.safetensors")
    assert code != 0 and "expected" in err
    _one_line_naming(err, str(nothing))

    # not a checkpoint
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"garbage" * 10)
    for argv in (("info", fake), ("evaluate", "--model", fake, "--data", carvana_dir),
                 ("predict", "--model", fake, "--input", carvana_dir, "--out", tmp_path / "p")):
        code, _, err = run(capsys, *argv)
        assert code != 0
        _one_line_naming(err, str(fake))
    assert not (tmp_path / "p").exists()

    # unreadable single image
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    code, _, err = run(capsys, "predict", "--model", tiny_model, "--input", broken, "--out", tmp_path / "p2")
    assert code != 0
    _one_line_naming(err, str(broken))


def test_folders_skip_unreadable_items_with_a_counted_warning(
    carvana_dir: Path, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "mixed"
    shutil.copytree(carvana_dir, data)
    masks = sorted((data / "train_masks").glob("*.gif"))
    images = sorted((data / "train").glob("*.jpg"))
    images[0].write_bytes(b"corrupt")  # unreadable image
    masks[1].write_bytes(b"GIF89a truncated")  # unreadable mask
    code, out, err = run(capsys, "evaluate", "--model", tiny_model, "--data", data, "--json", "--quiet")
    assert code == 0, err
    assert json.loads(out)["images"] == len(images) - 2
    assert "2 of 12 pair(s) skipped" in err
    assert images[0].name in err and masks[1].name in err

    preds = tmp_path / "preds"
    code, _, err = run(capsys, "predict", "--model", tiny_model, "--input", data, "--out", preds, "--quiet")
    assert code == 0
    assert "1 unreadable image(s) skipped" in err
    assert len(list(preds.glob("*.png"))) == len(images) - 1

    model = tmp_path / "m.safetensors"
    code, _, err = run(capsys, "train", "--data", data, "--out", model, "--epochs", "1", "--size", "48x64",
                       "--arch", "unet-tiny", "--device", "cpu", "--quiet")
    assert code == 0, err
    assert "2 unreadable pair(s) skipped" in err and model.exists()


def test_mismatched_sizes_stop_with_the_file_named(
    carvana_dir: Path, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "sizes"
    shutil.copytree(carvana_dir, data)
    bad = sorted((data / "train_masks").glob("*.gif"))[3]
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(bad)
    code, out, err = run(capsys, "evaluate", "--model", tiny_model, "--data", data, "--json", "--quiet")
    assert code != 0 and out == ""
    _one_line_naming(err, str(bad))
    assert "10x10" in err
    code, _, err = run(capsys, "train", "--data", data, "--out", tmp_path / "m.safetensors", "--epochs", "1",
                       "--size", "48x64", "--device", "cpu", "--quiet")
    assert code != 0 and not (tmp_path / "m.safetensors").exists()
    _one_line_naming(err, str(bad))


def test_class_ids_out_of_range_stop_with_the_file_named(
    tmp_path: Path, tiny_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "generic"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(data / "images" / f"im{i}.png")
        Image.fromarray(np.full((40, 60), 7 if i == 0 else 1, np.uint8)).save(data / "masks" / f"im{i}.png")
    code, out, err = run(capsys, "evaluate", "--model", tiny_model, "--data", data, "--json", "--quiet")
    assert code != 0 and out == ""
    _one_line_naming(err, str(data / "masks" / "im0.png"))
    assert "out of range" in err
    out_model = tmp_path / "g.safetensors"
    code, _, err = run(capsys, "train", "--data", data, "--out", out_model, "--from", tiny_model,
                       "--epochs", "1", "--device", "cpu", "--quiet", "--val-fraction", "0")
    assert code != 0 and not out_model.exists()
    _one_line_naming(err, "im0.png")


def test_train_keeps_look_alike_frames_on_one_side_of_the_split(carla_dir: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # two different scenes + four re-saved copies of the first one (a car at a standstill)
    data = tmp_path / "carla"
    (data / "CameraRGB").mkdir(parents=True)
    (data / "CameraMask").mkdir()
    frames = sorted((carla_dir / "CameraRGB").glob("*.png"))[:2]
    for i, src in enumerate([frames[0]] * 5 + [frames[1]]):
        shutil.copyfile(src, data / "CameraRGB" / f"{i:06d}.png")
        shutil.copyfile(carla_dir / "CameraMask" / src.name, data / "CameraMask" / f"{i:06d}.png")
    code, _, err = run(capsys, "train", "--data", data, "--out", tmp_path / "m.safetensors", "--epochs", "1",
                       "--size", "48x64", "--arch", "unet-tiny", "--device", "cpu", "--val-fraction", "0.5")
    assert code == 0, err
    # by name alone 3 of the 6 frames would validate, copies of the training frames among them; the
    # five copies form one group, too big for half, so the other scene is the validation split
    assert "5 train / 1 val images" in err and "6 frames in 2 groups of look-alikes" in err
