"""Generic folders: mask values that cannot be class ids, and a broken classes.json, are reported as such."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from unet_core.cli.entry import main
from unet_core.data.layouts import detect_layout
from unet_core.errors import DataError


def _generic(root: Path, mask: np.ndarray) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rgb = np.random.default_rng(0).integers(0, 255, (*mask.shape, 3), dtype=np.uint8)
    cv2.imwrite(str(root / "images" / "a.png"), rgb)
    cv2.imwrite(str(root / "masks" / "a.png"), mask)
    return root


def _jpeg_noisy_mask() -> np.ndarray:
    """A binary 0/255 mask after a trip through JPEG: dozens of grey values along the edges."""
    mask = np.zeros((64, 96), np.uint8)
    mask[10:40, 20:70] = 255
    ok, buf = cv2.imencode(".jpg", mask, [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def test_jpeg_noisy_masks_are_refused_with_what_was_found(tmp_path: Path) -> None:
    mask = _jpeg_noisy_mask()
    assert len(np.unique(mask)) > 10
    root = _generic(tmp_path / "g", mask)
    with pytest.raises(DataError, match=r"masks hold \d+ different values up to 2\d\d .*classes.json") as info:
        detect_layout(root)
    assert "\n" not in str(info.value) and str(root / "masks") in str(info.value)


def test_a_class_file_overrides_the_guess(tmp_path: Path) -> None:
    root = _generic(tmp_path / "g", _jpeg_noisy_mask())
    (root / "classes.json").write_text(json.dumps(["background", "object"]))
    assert detect_layout(root).classes.names == ("background", "object")


def test_few_ids_are_still_guessed(tmp_path: Path) -> None:
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 3
    assert detect_layout(_generic(tmp_path / "g", mask)).classes.num_classes == 4


def test_a_broken_class_file_is_named_not_called_no_images(tmp_path: Path, tiny_model: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = _generic(tmp_path / "g", np.zeros((16, 16), np.uint8))
    (root / "classes.json").write_text('{"broken')
    for argv in (["predict", "--model", str(tiny_model), "--input", str(root), "--out", str(tmp_path / "p")],
                 ["evaluate", "--model", str(tiny_model), "--data", str(root)]):
        assert main([*argv, "--quiet"]) == 1
        err = capsys.readouterr().err.strip()
        assert "classes.json: cannot read class file" in err and "no images" not in err, err
