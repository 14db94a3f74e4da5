"""Tests for transforms (normalisation, resizing, augmentation alignment) and SegmentationDataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from unet_core.data.dataset import Example, SegmentationDataset, examples_from_layout
from unet_core.data.io import MaskFormat, write_image, write_mask
from unet_core.data.layouts import detect_layout
from unet_core.data.transforms import (
    Normalization,
    resize_image,
    resize_mask,
    resize_weight,
    to_tensor_input,
    train_augmentation,
)
from unet_core.errors import DataError

H, W = 40, 60
SIZE = (32, 48)


def _square_sample() -> tuple[np.ndarray, np.ndarray]:
    """Gray image with a red off-centre rectangle; mask 1 exactly on the rectangle."""
    image = np.full((64, 64, 3), 128, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    image[10:30, 8:24] = (230, 20, 20)
    mask[10:30, 8:24] = 1
    return image, mask


def _make_set(root: Path, n: int = 4) -> Path:
    """Tiny Carvana-style dataset: n views of two cars with a rectangle car mask."""
    for i in range(n):
        stem = f"car{i % 2}_{i:02d}"
        image = np.full((H, W, 3), 60, np.uint8)
        image[5:25, 10:40] = 220
        mask = np.zeros((H, W), np.uint8)
        mask[5:25, 10:40] = 1
        write_image(root / "train" / f"{stem}.jpg", image)
        write_mask(root / "train_masks" / f"{stem}_mask.gif", mask, MaskFormat.CARVANA_GIF)
    return root


def _examples(root: Path) -> list[Example]:
    layout = detect_layout(root)
    pairs, _ = layout.pairs()
    return examples_from_layout(layout, pairs)


# ---------------------------------------------------------------------------------------- transforms


def test_normalization_round_trip_and_validation() -> None:
    n = Normalization()
    assert Normalization.from_dict(n.to_dict()) == n
    assert Normalization.from_dict({}) == n
    custom = Normalization.from_dict({"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]})
    assert custom.mean == (0.5, 0.5, 0.5) and hash(custom)
    for bad in ({"std": [0, 1, 1]}, {"mean": [0.1, 0.2]}, {"mean": "abc"}):
        with pytest.raises(ValueError):
            Normalization.from_dict(bad)


def test_to_tensor_input_matches_formula() -> None:
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    n = Normalization()
    out = to_tensor_input(img, n)
    assert out.shape == (3, 5, 7) and out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    expected = (img.astype(np.float64) / 255.0 - np.array(n.mean)) / np.array(n.std)
    np.testing.assert_allclose(out, expected.transpose(2, 0, 1), atol=1e-5)
    with pytest.raises(ValueError):
        to_tensor_input(img[:, :, 0], n)


def test_resize_helpers() -> None:
    img = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    assert resize_image(img, (20, 30)).shape == (20, 30, 3)
    assert resize_image(img, (80, 90)).shape == (80, 90, 3)
    assert resize_image(img, (40, 60)) is img
    mask = np.random.default_rng(2).integers(0, 3, (40, 60), dtype=np.uint8)
    small = resize_mask(mask, (20, 30))
    assert small.shape == (20, 30) and set(np.unique(small)) <= {0, 1, 2}
    weight = np.ones((40, 60), np.float32)
    weight[:, :30] = 3.0
    w = resize_weight(weight, (20, 30))
    assert w.dtype == np.float32 and w.shape == (20, 30) and w[:, :15].min() == 3.0
    with pytest.raises(ValueError):
        resize_image(img, (0, 10))


def test_augmentation_keeps_image_mask_weight_aligned() -> None:
    image, mask = _square_sample()
    weight = np.where(mask == 1, 2.0, 1.0).astype(np.float32)
    aug = train_augmentation((64, 64))
    aug.set_random_seed(0)
    changed = 0
    for _ in range(25):
        out = aug(image=image, mask=mask, weight=weight)
        img2, m2, w2 = out["image"], out["mask"], out["weight"]
        assert img2.shape == (64, 64, 3) and img2.dtype == np.uint8
        assert m2.shape == (64, 64) and m2.dtype == np.uint8 and set(np.unique(m2)) <= {0, 1}
        assert w2.dtype == np.float32 and set(np.unique(w2)) <= {0.0, 1.0, 2.0}
        # weight follows the mask exactly (same nearest-neighbour warp)
        assert np.array_equal(w2 == 2.0, m2 == 1)
        # the red pixels and the mask pixels coincide (bilinear edges aside)
        red = (img2[:, :, 0].astype(int) - img2[:, :, 1].astype(int)) > 60
        inter = np.logical_and(red, m2 == 1).sum()
        union = np.logical_or(red, m2 == 1).sum()
        assert union > 0 and inter / union > 0.8
        changed += int(not np.array_equal(m2, mask))
    assert changed > 10  # the geometry really changes


def test_augmentation_strengths() -> None:
    image, mask = _square_sample()
    out = train_augmentation((64, 64), "none")(image=image, mask=mask, weight=np.ones((64, 64), np.float32))
    assert np.array_equal(out["image"], image) and np.array_equal(out["mask"], mask)
    for s in ("light", "strong"):
        assert train_augmentation((64, 64), s)(image=image, mask=mask)["image"].shape == (64, 64, 3)
    with pytest.raises(ValueError, match="strength"):
        train_augmentation((64, 64), "extreme")


# ------------------------------------------------------------------------------------------- dataset


def test_examples_from_layout_only_labelled(tmp_path: Path) -> None:
    root = _make_set(tmp_path)
    write_image(root / "train" / "car9_01.jpg", np.zeros((H, W, 3), np.uint8))
    ex = _examples(root)
    assert len(ex) == 4 and all(e.mask_format is MaskFormat.CARVANA_GIF for e in ex)
    assert {e.group for e in ex} == {"car0", "car1"}
    hash(ex[0])
    assert Example(ex[0].image_path, ex[0].mask_path, ex[0].mask_format, weight=np.ones(2)) == Example(
        ex[0].image_path, ex[0].mask_path, ex[0].mask_format
    )


def test_item_shapes_dtypes_and_values(tmp_path: Path) -> None:
    ex = _examples(_make_set(tmp_path))
    ds = SegmentationDataset(ex, SIZE, 2, augment=False)
    assert len(ds) == 4
    item = ds[0]
    assert set(item) == {"image", "mask", "weight"}
    assert item["image"].shape == (3, *SIZE) and item["image"].dtype == torch.float32
    assert item["mask"].shape == SIZE and item["mask"].dtype == torch.int64
    assert item["weight"].shape == SIZE and item["weight"].dtype == torch.float32
    assert torch.all(item["weight"] == 1)
    assert set(item["mask"].unique().tolist()) == {0, 1}
    n = Normalization()
    lo = (0 - max(n.mean)) / min(n.std)
    hi = (1 - min(n.mean)) / min(n.std)
    assert lo <= float(item["image"].min()) and float(item["image"].max()) <= hi
    # the bright rectangle is where the mask is
    bright = item["image"].mean(0) > 1.0
    assert (bright == (item["mask"] == 1)).float().mean() > 0.97


def test_weight_maps_are_resized_and_augmented(tmp_path: Path) -> None:
    ex = _examples(_make_set(tmp_path))
    weight = np.ones((H, W), np.float32)
    weight[5:25, 10:40] = 4.0
    weighted = [Example(e.image_path, e.mask_path, e.mask_format, e.group, weight) for e in ex]
    item = SegmentationDataset(weighted, SIZE, 2, augment=False)[0]
    assert float(item["weight"].max()) == 4.0 and float(item["weight"].min()) == 1.0
    ds = SegmentationDataset(weighted, SIZE, 2, augment=True)
    for i in range(len(ds)):
        it = ds[i]
        assert it["image"].shape == (3, *SIZE) and it["mask"].shape == SIZE
        assert set(it["mask"].unique().tolist()) <= {0, 1}
        assert float(it["weight"].min()) >= 0.0 and float(it["weight"].max()) <= 4.0
    bad = [Example(ex[0].image_path, ex[0].mask_path, ex[0].mask_format, weight=np.ones((3, 3), np.float32))]
    with pytest.raises(ValueError, match="weight map"):
        SegmentationDataset(bad, SIZE, 2, augment=False)[0]


def test_cache_avoids_re_decoding(tmp_path: Path) -> None:
    ex = _examples(_make_set(tmp_path))
    cached = SegmentationDataset(ex, SIZE, 2, augment=True, cache=True)
    uncached = SegmentationDataset(ex, SIZE, 2, augment=False, cache=False)
    first = cached[0]
    uncached[0]
    before = [a.copy() for a in cached._cache[0][:2]]
    for _ in range(5):
        cached[0]
    assert all(np.array_equal(a, b) for a, b in zip(before, cached._cache[0][:2], strict=True))  # not mutated
    ex[0].image_path.unlink()
    again = cached[0]  # served from memory, re-augmented
    assert again["image"].shape == first["image"].shape
    with pytest.raises(DataError) as info:
        uncached[0]
    assert str(ex[0].image_path) in str(info.value)


def test_bad_examples_raise_or_are_skipped(tmp_path: Path) -> None:
    ex = _examples(_make_set(tmp_path))
    write_mask(ex[1].mask_path, np.zeros((H + 2, W), np.uint8), MaskFormat.CARVANA_GIF)
    ex[2].mask_path.write_bytes(b"GIF89a junk")
    ds = SegmentationDataset(ex, SIZE, 2, augment=False)
    with pytest.raises(DataError) as info:
        ds[1]
    assert str(ex[1].mask_path) in str(info.value) and f"{W}x{H + 2}" in str(info.value)
    with pytest.raises(DataError):
        ds.preload()
    # a size mismatch is never skipped: the data is wrong, not unreadable
    with pytest.raises(DataError, match=f"{W}x{H + 2}"):
        SegmentationDataset(ex, SIZE, 2, augment=False).preload(skip_bad=True)
    ds = SegmentationDataset([ex[0], ex[2], ex[3]], SIZE, 2, augment=False)
    seen: list[tuple[int, int]] = []
    errors = ds.preload(skip_bad=True, progress=lambda i, n: seen.append((i, n)))
    assert len(errors) == 1 and len(ds) == 2 and seen[-1] == (3, 3)
    assert str(ex[2].mask_path) in str(errors[0])
    assert [e.image_path for e in ds.examples] == [ex[0].image_path, ex[3].image_path]
    assert ds[1]["mask"].shape == SIZE


def test_class_ids_out_of_range(tmp_path: Path) -> None:
    img = np.zeros((H, W, 3), np.uint8)
    mask = np.zeros((H, W), np.uint8)
    mask[0, 0] = 5
    write_image(tmp_path / "images" / "a.png", img)
    write_mask(tmp_path / "masks" / "a.png", mask, MaskFormat.INDEX_PNG)
    ex = [Example(tmp_path / "images" / "a.png", tmp_path / "masks" / "a.png", MaskFormat.INDEX_PNG)]
    with pytest.raises(DataError, match=r"class id 5 out of range 0\.\.2"):
        SegmentationDataset(ex, SIZE, 3, augment=False)[0]
    assert SegmentationDataset(ex, SIZE, 6, augment=False)[0]["mask"].max() == 5


def test_bad_constructor_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SegmentationDataset([], (0, 4), 2, augment=False)
    with pytest.raises(ValueError):
        SegmentationDataset([], SIZE, 0, augment=False)


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_workers(tmp_path: Path, workers: int) -> None:
    ex = _examples(_make_set(tmp_path))
    ds = SegmentationDataset(ex, SIZE, 2, augment=True)
    ds.preload()
    loader = DataLoader(ds, batch_size=2, num_workers=workers, shuffle=False)
    batches = list(loader)
    assert len(batches) == 2
    assert batches[0]["image"].shape == (2, 3, *SIZE) and batches[0]["mask"].shape == (2, *SIZE)


def test_workers_get_different_augmentations(tmp_path: Path) -> None:
    ex = _examples(_make_set(tmp_path))
    same = [ex[0]] * 4
    ds = SegmentationDataset(same, SIZE, 2, augment=True)
    ds.preload()
    loader = DataLoader(ds, batch_size=1, num_workers=2, shuffle=False)
    masks = [b["mask"][0] for b in loader]
    # items 0 and 1 are each worker's first draw: they must not share one random stream
    assert not torch.equal(masks[0], masks[1]) or not torch.equal(masks[2], masks[3])
