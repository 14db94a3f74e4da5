"""The ignore label (255, Pascal VOC's void): allowed in masks, never trained on, left out of metrics, kept by
import and export, drawn in its own colour."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unet_core.data.classes import VOID, VOID_COLOR, ClassTable
from unet_core.data.dataset import Example, load_example
from unet_core.data.io import MaskFormat, check_mask, read_mask, write_image, write_mask
from unet_core.data.layouts import detect_layout
from unet_core.errors import DataError
from unet_core.formats.export import encode_color
from unet_core.formats.importer import import_masks
from unet_core.formats.labelme import labelme_document, labelme_mask
from unet_core.loop.truth import project_pairs
from unet_core.store.project import ProjectStore
from unet_core.training.metrics import confusion_matrix

TWO = ClassTable(("background", "thing"), ((0, 0, 0), (250, 0, 0)))


def _voc_mask() -> np.ndarray:
    mask = np.zeros((24, 32), np.uint8)
    mask[6:18, 8:24] = 1
    mask[5, 7:25] = mask[18, 7:25] = VOID  # VOC's border band
    return mask


def test_masks_may_hold_void_besides_their_class_ids() -> None:
    check_mask(_voc_mask(), 2, "m.png")
    bad = _voc_mask()
    bad[0, 0] = 7
    with pytest.raises(DataError, match="class id 7 out of range"):
        check_mask(bad, 2, "m.png")


def test_void_pixels_get_no_weight_and_no_metric(tmp_path: Path) -> None:
    write_image(tmp_path / "i.png", np.full((24, 32, 3), 90, np.uint8))
    write_mask(tmp_path / "m.png", _voc_mask(), MaskFormat.INDEX_PNG)
    _, mask, weight = load_example(Example(tmp_path / "i.png", tmp_path / "m.png", MaskFormat.INDEX_PNG, "g"), (24, 32), 2)
    void = _voc_mask() == VOID
    assert weight is not None and (weight[void] == 0).all() and (weight[~void] == 1).all()
    assert (mask[void] == 0).all() and (mask[~void] == _voc_mask()[~void]).all()
    truth, pred = _voc_mask(), np.ones((24, 32), np.uint8)
    matrix = confusion_matrix(truth, pred, 2)
    assert matrix.sum() == (~void).sum() and matrix[0, 1] == (truth == 0).sum()


def test_void_survives_import_export_and_labelme(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(labelme_document("x.png", _voc_mask(), TWO)))
    assert "__ignore__" in {s["label"] for s in doc["shapes"]}
    assert np.array_equal(labelme_mask(doc, TWO), _voc_mask())
    rgb = np.frombuffer(encode_color(_voc_mask(), TWO), np.uint8)  # a PNG: decode it back
    import io

    from PIL import Image

    colours = np.asarray(Image.open(io.BytesIO(rgb.tobytes())).convert("RGB"))
    assert tuple(colours[5, 10]) == VOID_COLOR
    root = tmp_path / "photos"
    write_image(root / "a.jpg", np.full((24, 32, 3), 90, np.uint8))
    write_mask(tmp_path / "voc" / "a.png", _voc_mask(), MaskFormat.INDEX_PNG)
    with ProjectStore.for_dataset(root) as store:
        result, layout = import_masks(detect_layout(root), store, tmp_path / "voc")
        assert result.count == 1 and not result.skipped
        pairs, _ = project_pairs(layout, store)
    assert np.array_equal(read_mask(pairs[0].mask, MaskFormat.INDEX_PNG), _voc_mask())


def test_a_voc_folder_with_void_trains_and_evaluates_with_void_left_out(tmp_path: Path) -> None:
    root = tmp_path / "generic"
    rng = np.random.default_rng(0)
    for i in range(4):
        image = rng.integers(0, 60, (24, 32, 3), dtype=np.uint8)
        image[6:18, 8:24] += 150
        write_image(root / "images" / f"i{i}.png", image)
        write_mask(root / "masks" / f"i{i}.png", _voc_mask(), MaskFormat.INDEX_PNG)
    (root / "classes.json").write_text(json.dumps(["background", "thing"]))
    run = [sys.executable, "-m", "unet_core"]
    out = tmp_path / "m.safetensors"
    proc = subprocess.run([*run, "train", "--data", str(root), "--out", str(out), "--epochs", "2", "--arch", "unet-tiny",
                           "--size", "32x32", "--val-fraction", "0", "--quiet"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([*run, "evaluate", "--model", str(out), "--data", str(root), "--json", "--quiet"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["images"] == 4
