"""Edge-aware upsampling: labels follow the image's edges where the model's map is too coarse, bands join exactly, memory stays bounded."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from unet_core.model.guided import guide_radius, guide_step, guided_labels
from unet_core.model.upsample import upsample_labels


def _edge_scene(h: int = 240, w: int = 320, edge: int = 157, factor: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """An image dark left of column ``edge`` and bright right of it (mild noise), and the low-resolution
    two-class probabilities a model ``factor`` times coarser gives it: the border smeared over cells."""
    rng = np.random.default_rng(0)
    image = np.where(np.arange(w)[None, :] >= edge, 200, 50).astype(np.int16) + rng.integers(-4, 5, (h, w))
    image = np.repeat(np.clip(image, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    lw = w // factor
    centres = (np.arange(lw) + 0.5) * factor
    fg = 1.0 / (1.0 + np.exp(-(centres - edge - 9.0) / 6.0))  # the model's border 9 px right of the true one
    low = np.stack([1 - fg, fg], axis=-1).astype(np.float32)[None].repeat(h // factor, axis=0)
    return image, low


def test_labels_move_onto_the_images_edge() -> None:
    image, low = _edge_scene()
    h, w = image.shape[:2]
    plain = upsample_labels(low, (h, w))
    radius, step = guide_radius((h, w), low.shape[:2]), guide_step((h, w), low.shape[:2])
    assert (radius, step) == (20, 4)
    guided = guided_labels(low, (h, w), image, radius, step=step)
    assert abs(int(np.argmax(plain[h // 2])) - 157) >= 8  # the coarse border is off by about a cell
    borders = [int(np.argmax(row)) for row in guided]
    assert all(abs(b - 157) <= 1 for b in borders)  # every row now breaks at the image's edge


@pytest.mark.parametrize(("k", "step"), [(2, 1), (2, 3), (5, 1), (5, 3)])
def test_bands_join_exactly_as_one_whole_image_pass(k: int, step: int) -> None:
    rng = np.random.default_rng(k)
    low = rng.random((40, 60, k)).astype(np.float32)
    guide = rng.integers(0, 255, (400, 600, 3), dtype=np.uint8)
    whole = guided_labels(low, (400, 600), guide, 12, step=step)
    banded = guided_labels(low, (400, 600), guide, 12, step=step, band_bytes=60_000)  # 31-row bands
    np.testing.assert_array_equal(whole, banded)
    assert whole.max() < k


def test_a_huge_many_class_image_stays_within_its_memory_bound() -> None:
    low = np.random.default_rng(5).random((256, 256, 23)).astype(np.float32)
    h = w = 8000
    guide = np.zeros((h, w), np.uint8)
    radius, step = guide_radius((h, w), low.shape[:2]), guide_step((h, w), low.shape[:2])
    tracemalloc.start()
    labels = guided_labels(low, (h, w), guide, radius, step=step)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert labels.shape == (h, w) and peak < labels.nbytes + 200 * 2**20, f"{peak / 2**20:.0f} MB"


def test_a_many_class_image_a_few_times_the_map_stays_bounded_or_keeps_plain_labels() -> None:
    low = np.random.default_rng(6).random((256, 256, 23)).astype(np.float32)
    h = w = 1000  # under 4 times the map: every pixel would be a grid pixel, 368 MB of coefficients
    step = guide_step((h, w), low.shape[:2], 23)
    assert step == 2
    guide = np.random.default_rng(7).integers(0, 255, (h, w, 3), dtype=np.uint8)
    tracemalloc.start()
    labels = guided_labels(low, (h, w), guide, guide_radius((h, w), low.shape[:2]), step=step)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert labels.shape == (h, w) and peak < 200 * 2**20, f"{peak / 2**20:.0f} MB"
    assert guide_step((2000, 2000), (512, 512), 23) == 0  # only a grid coarser than the map would fit: plain
    assert guide_step((1280, 1918), (171, 256), 2) == 3 and guide_step((480, 640), (192, 256), 23) == 1


def test_no_upsampling_no_filter_and_bad_input_a_clear_error() -> None:
    assert guide_radius((160, 240), (160, 240)) == 0 and guide_step((160, 240), (160, 240)) == 1
    low = np.full((4, 4, 2), 0.5, np.float32)
    with pytest.raises(ValueError, match="guide"):
        guided_labels(low, (40, 40), np.zeros((30, 40), np.uint8), 3)
    with pytest.raises(ValueError, match="at least 1"):
        guided_labels(low, (40, 40), np.zeros((40, 40), np.uint8), 0)


def test_the_predictor_guides_its_labels_by_the_image_unless_told_not_to() -> None:
    from unet_core.data.classes import ClassTable
    from unet_core.model.checkpoint import CheckpointMeta
    from unet_core.model.predictor import Predictor
    from unet_core.model.unet import UNetConfig, build_model

    arch = UNetConfig(base_width=2, depth=1, num_classes=2)
    meta = CheckpointMeta(arch=arch, classes=ClassTable.numbered(2), input_size=(30, 40))
    predictor = Predictor(build_model(arch), meta, device="cpu")
    image, low = _edge_scene()
    probs = torch.from_numpy(low.transpose(2, 0, 1).copy())
    guided = predictor.postprocess(probs, image.shape[:2], image=image)
    with_probs = predictor.postprocess(probs, image.shape[:2], with_probabilities=True, image=image)
    predictor.guided = False
    plain = predictor.postprocess(probs, image.shape[:2], image=image)
    np.testing.assert_array_equal(plain.labels, upsample_labels(low, image.shape[:2]))
    np.testing.assert_array_equal(guided.labels, with_probs.labels)  # the same labels, with the map or without
    assert with_probs.probabilities is not None and with_probs.probabilities.shape == (*image.shape[:2], 2)
    assert (guided.labels != plain.labels).any()
