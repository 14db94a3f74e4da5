"""A folder of images only: detected as such, classes made by the user and kept in the project store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unet_core.data.classes import ClassTable
from unet_core.data.io import MaskFormat, write_image, write_mask
from unet_core.data.layouts import IMAGES_CLASSES, NO_LAYOUT_MESSAGE, NoLayoutError, detect_layout
from unet_core.errors import DataError
from unet_core.loop.classes import check_edit, editable, project_layout, save_edit
from unet_core.store.files import StoreError
from unet_core.store.project import ProjectStore


def _images(folder: Path, n: int = 3, ext: str = ".jpg") -> Path:
    for i in range(n):
        write_image(folder / f"frame{i}{ext}", np.full((12, 16, 3), 40 * i, np.uint8))
    return folder


def test_a_flat_folder_of_images_opens_as_images_only(tmp_path: Path) -> None:
    root = _images(tmp_path / "shots")
    (root / "notes.txt").write_text("not an image")
    layout = detect_layout(root)
    assert layout.kind == "images" and layout.root == root and layout.image_dir == root
    assert layout.classes == IMAGES_CLASSES and editable(layout)
    pairs, skipped = layout.pairs()
    assert [p.stem for p in pairs] == ["frame0", "frame1", "frame2"] and skipped == 0
    assert all(p.mask is None for p in pairs)


def test_carvana_test_folder_opens_as_images_while_its_train_folder_opens_the_dataset(tmp_path: Path) -> None:
    root = tmp_path / "carvana"
    write_image(root / "train" / "car_01.jpg", np.zeros((12, 16, 3), np.uint8))
    write_mask(root / "train_masks" / "car_01_mask.gif", np.zeros((12, 16), np.uint8), MaskFormat.CARVANA_GIF)
    _images(root / "test")
    assert detect_layout(root / "train").kind == "carvana"
    test = detect_layout(root / "test")
    assert test.kind == "images" and len(test.pairs()[0]) == 3


def test_a_folder_without_images_or_a_layout_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(NoLayoutError) as info:
        detect_layout(tmp_path)
    assert NO_LAYOUT_MESSAGE in str(info.value)


def test_masks_beside_the_images_are_not_taken_for_the_images_masks(tmp_path: Path) -> None:
    root = _images(tmp_path)
    write_mask(root / "masks" / "frame0.png", np.ones((12, 16), np.uint8), MaskFormat.INDEX_PNG)
    layout = detect_layout(root)  # no images/ folder: not a generic layout
    assert layout.kind == "images" and all(p.mask is None for p in layout.pairs()[0])


def test_the_class_table_is_kept_in_the_store_and_comes_back(tmp_path: Path) -> None:
    root = _images(tmp_path / "shots")
    layout = detect_layout(root)
    with ProjectStore.for_dataset(root) as store:
        assert store.load_classes() is None and project_layout(layout, store).classes == IMAGES_CLASSES
        table = ClassTable(("background", " cat ", "dog"), ((0, 0, 0), (255, 0, 0), (0, 0, 255)))
        edited = save_edit(layout, store, table)
        assert edited.classes.names == ("background", "cat", "dog")
    assert sorted(p.name for p in root.iterdir()) == [".maskloop", "frame0.jpg", "frame1.jpg", "frame2.jpg"]
    with ProjectStore.for_dataset(root) as store:
        again = project_layout(detect_layout(root), store)
    assert again.classes == edited.classes


def test_edits_that_would_change_stored_ids_are_refused(tmp_path: Path) -> None:
    old = ClassTable(("background", "cat", "dog"), ((0, 0, 0), (255, 0, 0), (0, 0, 255)))
    with pytest.raises(ValueError, match="cannot be removed"):
        check_edit(old, ClassTable(("background", "cat"), ((0, 0, 0), (255, 0, 0))))
    with pytest.raises(ValueError, match="class 1 \\('cat'\\) and class 2 \\('Cat'\\) have the same name"):
        check_edit(old, ClassTable(("background", "cat", "Cat"), ((0, 0, 0), (255, 0, 0), (1, 2, 3))))
    check_edit(old, ClassTable(("background", "kitten", "dog", "bird"), ((0, 0, 0), (9, 9, 9), (0, 0, 255), (1, 1, 1))))
    root = _images(tmp_path)
    with ProjectStore.for_dataset(root) as store:
        layout = save_edit(detect_layout(root), store, old)
        with pytest.raises(ValueError, match="cannot be removed"):
            save_edit(layout, store, IMAGES_CLASSES)
        assert store.load_classes() == old  # nothing written by a refused edit


def test_a_fixed_format_folder_keeps_its_classes(tmp_path: Path) -> None:
    root = tmp_path / "carvana"
    write_image(root / "train" / "car_01.jpg", np.zeros((12, 16, 3), np.uint8))
    layout = detect_layout(root)
    assert not editable(layout)
    with ProjectStore.for_dataset(root) as store:
        with pytest.raises(ValueError, match="fixed"):
            save_edit(layout, store, ClassTable(("a", "b", "c"), ((0, 0, 0), (1, 1, 1), (2, 2, 2))))
        store.save_classes(ClassTable(("a", "b", "c"), ((0, 0, 0), (1, 1, 1), (2, 2, 2))))
        assert project_layout(layout, store).classes == layout.classes


def test_a_broken_or_huge_class_file_in_the_store_is_named(tmp_path: Path) -> None:
    root = _images(tmp_path)
    with ProjectStore.for_dataset(root) as store:
        path = store.root / "classes.json"
        path.write_text("{broken")
        with pytest.raises(StoreError, match=r"classes\.json"):
            project_layout(detect_layout(root), store)
        path.write_text(json.dumps(["background"] + ["x" * 100] * 20000))
        with pytest.raises(StoreError, match="more than a class table needs"):
            store.load_classes()


def test_a_read_only_store_refuses_to_save_classes(tmp_path: Path) -> None:
    root = _images(tmp_path)
    with ProjectStore.for_dataset(root), ProjectStore.for_dataset(root) as second:
        assert second.read_only
        with pytest.raises(StoreError):
            second.save_classes(IMAGES_CLASSES)


def test_training_on_a_folder_of_images_only_says_to_paint_masks_first(tmp_path: Path) -> None:
    root = _images(tmp_path / "shots")
    proc = subprocess.run([sys.executable, "-m", "unet_core", "train", "--data", str(root), "--out",
                           str(tmp_path / "m.safetensors")], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "3 images and no masks" in proc.stderr and "maskloop" in proc.stderr
    assert not (tmp_path / "m.safetensors").exists()


def test_the_class_file_bound_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "classes.json"
    big.write_bytes(b" " * (2 << 20))
    with pytest.raises(DataError, match="more than a class table needs"):
        ClassTable.from_json_file(big)


def test_a_model_grown_for_new_classes_predicts_as_before_and_learns_them() -> None:
    import torch

    from unet_core.data.guides import guide_channels
    from unet_core.model.grow import with_classes
    from unet_core.model.unet import UNetConfig, build_model

    for guides in (0, guide_channels(3)):
        torch.manual_seed(0)
        model = build_model(UNetConfig.preset("unet-tiny", 3, guide_channels=guides)).eval()
        grown = with_classes(model, 5).eval()
        assert grown.config.num_classes == 5 and grown.config.guide_channels == (guide_channels(5) if guides else 0)
        x = torch.randn(2, 3, 32, 48)
        guide = torch.zeros(2, guides, 32, 48) if guides else None
        if guides:
            guide[:, 0] = 1.0
            guide[:, 1 + 2, 5:9, 5:9] = 1.0  # a positive click on class 2, and a negative one on class 1
            guide[:, 1 + 3 + 1, 20:24, 20:24] = 1.0
            wide = torch.zeros(2, guide_channels(5), 32, 48)
            wide[:, 0], wide[:, 1 + 2], wide[:, 1 + 5 + 1] = guide[:, 0], guide[:, 1 + 2], guide[:, 1 + 3 + 1]
        with torch.no_grad():
            before = model(x, guide)
            after = grown(x, wide if guides else None)
        assert torch.allclose(after[:, :3], before, atol=1e-5)
        assert torch.equal(after.argmax(1), before.argmax(1))  # the new classes stay silent until trained
        assert with_classes(model, 3) is model
        with pytest.raises(ValueError, match="not removed"):
            with_classes(model, 2)


def test_fine_tuning_after_adding_a_class_grows_the_model_and_learns_it(tmp_path: Path) -> None:
    import torch

    from unet_core.data.dataset import Example
    from unet_core.model.checkpoint import (
        CheckpointMeta,
        load_checkpoint_tensors,
        read_metadata,
        save_checkpoint,
    )
    from unet_core.model.unet import UNetConfig, build_model
    from unet_core.training.finetune import fine_tune
    from unet_core.training.types import TrainConfig

    start = tmp_path / "start.safetensors"
    torch.manual_seed(0)
    arch = UNetConfig.preset("unet-tiny", 2)
    save_checkpoint(start, build_model(arch), CheckpointMeta(arch=arch, classes=IMAGES_CLASSES, input_size=(32, 48),
                                                             dataset_kind="images", scale=1.0))
    examples = []
    for i in range(4):
        image = np.zeros((32, 48, 3), np.uint8)
        mask = np.zeros((32, 48), np.uint8)
        image[4:14, 4:20], mask[4:14, 4:20] = (250, 90, 0), 1
        image[18:30, 26:44], mask[18:30, 26:44] = (0, 90, 250), 2  # the class added since
        write_image(tmp_path / f"i{i}.png", image)
        write_mask(tmp_path / f"m{i}.png", mask, MaskFormat.INDEX_PNG)
        examples.append(Example(tmp_path / f"i{i}.png", tmp_path / f"m{i}.png", MaskFormat.INDEX_PNG, f"g{i}"))
    three = ClassTable(("background", "object", "sky"), ((0, 0, 0), (255, 96, 0), (0, 0, 255)))
    out = tmp_path / "out.safetensors"
    cfg = TrainConfig(arch="unet-tiny", epochs=2, batch_size=2, lr=1e-3, device="cpu", augment=False)
    fine_tune(start, examples[:3], examples[3:], out, config=cfg, classes=three)
    meta = read_metadata(out)
    assert meta.classes == three and meta.arch.num_classes == 3
    tensors, _ = load_checkpoint_tensors(out)
    assert float(tensors["head.weight"][2].abs().sum()) > 0  # the new class's weights left zero: it is learnt
    with pytest.raises(ValueError, match="3 classes, the data has 2"):
        fine_tune(out, examples[:3], examples[3:], tmp_path / "fewer.safetensors", config=cfg, classes=IMAGES_CLASSES)
