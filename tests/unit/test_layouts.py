"""Tests for dataset layout detection, image/mask pairing, pair reading and the group split."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from unet_core.data.classes import CARLA_CLASSES, CARVANA_CLASSES, LYFT_CLASSES
from unet_core.data.io import MaskFormat, write_image, write_mask
from unet_core.data.layouts import NO_LAYOUT_MESSAGE, DatasetLayout, detect_layout, make_layout
from unet_core.data.split import split_by_group
from unet_core.errors import DataError

H, W = 12, 16


def _img() -> np.ndarray:
    return np.full((H, W, 3), 90, np.uint8)


def _make_carvana(root: Path, cars: int = 2, views: int = 3, masks: bool = True) -> Path:
    for c in range(cars):
        for v in range(1, views + 1):
            stem = f"car{c:03d}abc_{v:02d}"
            write_image(root / "train" / f"{stem}.jpg", _img())
            if masks:
                m = np.zeros((H, W), np.uint8)
                m[2:8, 3:9] = 1
                write_mask(root / "train_masks" / f"{stem}_mask.gif", m, MaskFormat.CARVANA_GIF)
    return root


def _make_carla(root: Path, mask_dir: str = "CameraMask", n: int = 3, top: int = 22) -> Path:
    for i in range(n):
        write_image(root / "CameraRGB" / f"{i:06d}.png", _img(), alpha=True)
        m = np.full((H, W), i % (top + 1), np.uint8)
        m[0, 0] = top
        write_mask(root / mask_dir / f"{i:06d}.png", m, MaskFormat.RED_CHANNEL)
    return root


def _make_generic(root: Path, n: int = 3, top: int = 4) -> Path:
    for i in range(n):
        write_image(root / "images" / f"img{i}.png", _img())
        m = np.zeros((H, W), np.uint8)
        m[1, 1] = top if i == 0 else 1
        write_mask(root / "masks" / f"img{i}.png", m, MaskFormat.INDEX_PNG)
    return root


# ------------------------------------------------------------------------------------------ detection


def test_detect_carvana_in_folder_parent_and_inner(tmp_path: Path) -> None:
    root = _make_carvana(tmp_path / "carvana")
    for where in (root, tmp_path, root / "train"):
        layout = detect_layout(where)
        assert layout.kind == "carvana" and layout.root == root
        assert layout.mask_format is MaskFormat.CARVANA_GIF
        assert layout.classes == CARVANA_CLASSES and layout.image_suffix == ".jpg"
        assert layout.image_dir.name == "train" and layout.mask_dir.name == "train_masks"


def test_detect_unlabelled_carvana(tmp_path: Path) -> None:
    _make_carvana(tmp_path, masks=False)
    layout = detect_layout(tmp_path)
    assert layout.kind == "carvana"
    pairs, skipped = layout.pairs()
    assert len(pairs) == 6 and skipped == 0 and all(p.mask is None for p in pairs)


def test_detect_carla_and_lyft(tmp_path: Path) -> None:
    _make_carla(tmp_path / "set" / "carla")
    layout = detect_layout(tmp_path / "set")
    assert layout.kind == "carla" and layout.root == tmp_path / "set" / "carla"
    assert layout.mask_format is MaskFormat.RED_CHANNEL and layout.classes == CARLA_CLASSES
    assert layout.image_suffix == ".png"
    lyft = _make_carla(tmp_path / "lyft", mask_dir="CameraSeg", top=12)
    layout = detect_layout(lyft)
    assert layout.kind == "carla_lyft" and layout.classes == LYFT_CLASSES
    assert layout.mask_dir == lyft / "CameraSeg"


def test_detect_generic_numbered_and_classes_json(tmp_path: Path) -> None:
    root = _make_generic(tmp_path / "g", top=4)
    layout = detect_layout(root)
    assert layout.kind == "generic" and layout.mask_format is MaskFormat.INDEX_PNG
    assert layout.classes.num_classes == 5
    only_bg = tmp_path / "g2"
    write_image(only_bg / "images" / "a.png", _img())
    assert detect_layout(only_bg).classes.num_classes == 2
    (root / "masks" / "classes.json").write_text(json.dumps(["bg", "a", "b", "c", "d", "e"]))
    assert detect_layout(root).classes.names == ("bg", "a", "b", "c", "d", "e")
    (root / "classes.json").write_text(json.dumps({"names": ["x"] * 7}))
    assert detect_layout(root).classes.num_classes == 7
    (root / "classes.json").write_text("{broken")
    with pytest.raises(DataError, match=r"classes\.json"):
        detect_layout(root)


def test_first_sorted_subfolder_wins(tmp_path: Path) -> None:
    _make_generic(tmp_path / "b_generic")
    _make_carla(tmp_path / "a_carla")
    assert detect_layout(tmp_path).kind == "carla"


def test_detect_errors(tmp_path: Path) -> None:
    (tmp_path / "empty" / "stuff").mkdir(parents=True)
    with pytest.raises(DataError) as info:
        detect_layout(tmp_path / "empty")
    assert NO_LAYOUT_MESSAGE in str(info.value) and str(tmp_path / "empty") in str(info.value)
    with pytest.raises(DataError, match="no such folder") as info:
        detect_layout(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(info.value)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        detect_layout(tmp_path / "file.txt")


# -------------------------------------------------------------------------------------------- pairing


def test_pairs_missing_masks_orphans_and_ignored_files(tmp_path: Path) -> None:
    root = _make_carvana(tmp_path, cars=2, views=2)
    (root / "train_masks" / "car000abc_01_mask.gif").unlink()
    write_mask(root / "train_masks" / "ghost_01_mask.gif", np.zeros((H, W), np.uint8), MaskFormat.CARVANA_GIF)
    (root / "train" / "notes.txt").write_text("not an image")
    (root / "train" / ".hidden.jpg").write_bytes(b"x")
    (root / "train_masks" / "readme.md").write_text("x")
    write_image(root / "train" / "UPPER_01.JPG", _img())
    layout = detect_layout(root)
    pairs, skipped = layout.pairs()
    assert [p.stem for p in pairs] == ["UPPER_01", "car000abc_01", "car000abc_02", "car001abc_01", "car001abc_02"]
    assert skipped == 1  # the ghost mask
    by_stem = {p.stem: p for p in pairs}
    assert by_stem["car000abc_01"].mask is None and by_stem["UPPER_01"].mask is None
    assert by_stem["car001abc_02"].mask == root / "train_masks" / "car001abc_02_mask.gif"
    assert by_stem["car001abc_02"].group == "car001abc"
    assert by_stem["car001abc_02"].image == root / "train" / "car001abc_02.jpg"


def test_duplicate_stems_are_skipped(tmp_path: Path) -> None:
    root = _make_generic(tmp_path, n=2)
    write_image(root / "images" / "img0.jpg", _img())
    pairs, skipped = detect_layout(root).pairs()
    assert [p.stem for p in pairs] == ["img0", "img1"] and skipped == 1


def test_mask_path_for_and_group_of(tmp_path: Path) -> None:
    carvana = make_layout("carvana", tmp_path)
    assert carvana.mask_path_for("abc_03") == tmp_path / "train_masks" / "abc_03_mask.gif"
    assert carvana.group_of("0cdf5b5d0ce1_14") == "0cdf5b5d0ce1"
    assert carvana.group_of("a_b_07") == "a_b"
    assert carvana.group_of("plain") == "plain"
    carla = make_layout("carla", tmp_path)
    assert carla.mask_path_for("000012") == tmp_path / "CameraMask" / "000012.png"
    assert carla.group_of("000012") == "000012"
    assert make_layout("carla_lyft", tmp_path).mask_path_for("x") == tmp_path / "CameraSeg" / "x.png"
    assert make_layout("generic", tmp_path).mask_path_for("x") == tmp_path / "masks" / "x.png"
    with pytest.raises(ValueError, match="unknown layout kind"):
        make_layout("voc", tmp_path)


def test_pairs_is_fast_for_many_files(tmp_path: Path) -> None:
    layout = make_layout("carla", tmp_path)
    layout.image_dir.mkdir()
    layout.mask_dir.mkdir()
    flags = os.O_CREAT | os.O_WRONLY
    for i in range(5000):
        os.close(os.open(layout.image_dir / f"{i:06d}.png", flags))
        os.close(os.open(layout.mask_dir / f"{i:06d}.png", flags))
    start = time.perf_counter()
    pairs, skipped = layout.pairs()
    assert time.perf_counter() - start < 1.0
    assert len(pairs) == 5000 and skipped == 0 and all(p.mask is not None for p in pairs)


# --------------------------------------------------------------------------------------------- reading


def test_read_pair_ok_and_errors(tmp_path: Path) -> None:
    root = _make_carla(tmp_path, n=2)
    layout: DatasetLayout = detect_layout(root)
    pairs, _ = layout.pairs()
    image, mask = layout.read_pair(pairs[0])
    assert image.shape == (H, W, 3) and mask.shape == (H, W) and mask.max() == 22
    write_mask(pairs[1].mask, np.full((H, W), 23, np.uint8), MaskFormat.RED_CHANNEL)
    with pytest.raises(DataError) as info:
        layout.read_pair(pairs[1])
    assert "class id 23 out of range 0..22" in str(info.value) and str(pairs[1].mask) in str(info.value)
    write_mask(pairs[1].mask, np.zeros((H + 1, W), np.uint8), MaskFormat.RED_CHANNEL)
    with pytest.raises(DataError, match=f"{W}x{H + 1}") as info:
        layout.read_pair(pairs[1])
    assert str(pairs[1].mask) in str(info.value)
    (pairs[1].mask).unlink()
    unlabelled = layout.pairs()[0][1]
    with pytest.raises(DataError, match="no mask"):
        layout.read_pair(unlabelled)


# ----------------------------------------------------------------------------------------------- split


def test_split_keeps_carvana_cars_on_one_side(tmp_path: Path) -> None:
    layout = make_layout("carvana", tmp_path)
    stems = [f"car{c:02d}_{v:02d}" for c in range(10) for v in range(1, 17)]
    groups = [layout.group_of(s) for s in stems]
    train, val = split_by_group(stems, groups, 0.2, seed=3)
    assert len(train) + len(val) == len(stems)
    train_cars = {layout.group_of(s) for s in train}
    val_cars = {layout.group_of(s) for s in val}
    assert not train_cars & val_cars
    assert len(val_cars) == 2 and len(val) == 32
    assert split_by_group(stems, groups, 0.2, seed=3) == (train, val)
    assert train == [s for s in stems if s in set(train)]  # input order kept
    others = {tuple(split_by_group(stems, groups, 0.2, seed=s)[1]) for s in range(6)}
    assert len(others) > 1


def test_split_edge_cases() -> None:
    items = list(range(4))
    train, val = split_by_group(items, ["a", "a", "b", "b"], 0.01)
    assert len(val) == 2 and len(train) == 2  # at least one group each side
    train, val = split_by_group(items, ["a", "a", "b", "b"], 0.99)
    assert len(val) == 2 and len(train) == 2
    assert split_by_group(items, ["a"] * 4, 0.5) == (items, [])
    assert split_by_group(items, list("abcd"), 0.0) == (items, [])
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            split_by_group(items, list("abcd"), bad)
    with pytest.raises(ValueError):
        split_by_group(items, ["a"], 0.5)


def test_split_takes_its_share_of_items_when_groups_differ_in_size() -> None:
    # 8 frames of one standstill + 16 single frames: a quarter is 6 frames, never the big group
    groups = ["still"] * 8 + [f"f{i}" for i in range(16)]
    items = list(range(24))
    for seed in range(20):
        train, val = split_by_group(items, groups, 0.25, seed=seed)
        assert len(val) == 6 and not set(val) & set(range(8)), seed
    # when every group alone is larger than the share, validation still gets the smallest one
    train, val = split_by_group(list(range(13)), ["a"] * 6 + ["b"] * 4 + ["c"] * 3, 0.1, seed=0)
    assert val == [10, 11, 12] and len(train) == 10
