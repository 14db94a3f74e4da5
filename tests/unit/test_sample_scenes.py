"""Tests for the procedural Carvana-like and CARLA-like sample scenes (shapes, masks, determinism, alignment)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from unet_core.sample.scenes import (
    CARLA_IDS,
    N_VIEWS,
    CarSpec,
    draw_carla_scene,
    draw_carvana_view,
    random_car,
)

SMALL = (128, 192)
CARLA_SMALL = (240, 320)


def _car(seed: int, **changes: object) -> CarSpec:
    car = random_car(np.random.default_rng(seed))
    return dataclasses.replace(car, **changes) if changes else car


@pytest.fixture(scope="module")
def streets() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(2024)
    return [draw_carla_scene(rng, CARLA_SMALL) for _ in range(24)]


# -- Carvana ------------------------------------------------------------------------------------------------
def test_carvana_default_size_shapes_and_mask_values() -> None:
    img, mask = draw_carvana_view(np.random.default_rng(0), _car(0), 5)
    assert img.shape == (1280, 1918, 3) and img.dtype == np.uint8
    assert mask.shape == (1280, 1918) and mask.dtype == np.uint8
    assert set(np.unique(mask).tolist()) == {0, 1}


@pytest.mark.parametrize("size", [SMALL, (600, 800), (64, 64)])
def test_carvana_other_sizes(size: tuple[int, int]) -> None:
    img, mask = draw_carvana_view(np.random.default_rng(1), _car(1), 3, size)
    assert img.shape == (*size, 3) and mask.shape == size
    assert set(np.unique(mask).tolist()) == {0, 1}


def test_car_pixel_fraction_in_range_for_every_view() -> None:
    rng = np.random.default_rng(7)
    for _ in range(4):
        car = random_car(rng)
        for view in range(1, N_VIEWS + 1):
            _, mask = draw_carvana_view(rng, car, view, SMALL)
            frac = float(mask.mean())
            assert 0.08 <= frac <= 0.35, (car.kind, view, frac)


def test_car_is_centred_and_side_views_are_longer_than_front_views() -> None:
    rng = np.random.default_rng(3)
    car = random_car(rng)
    widths = {}
    for view in (1, 5, 9, 13):
        _, mask = draw_carvana_view(rng, car, view, SMALL)
        x, y, w, h = cv2.boundingRect(mask)
        widths[view] = w
        assert abs((x + w / 2) - SMALL[1] / 2) < 0.1 * SMALL[1]
        assert 0.3 * SMALL[0] < y + h < 0.95 * SMALL[0]  # wheels stand on the floor, not at the image edge
    assert min(widths[5], widths[13]) > 1.5 * max(widths[1], widths[9])


def test_same_seed_gives_identical_views_and_cars() -> None:
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    car_a, car_b = random_car(a), random_car(b)
    assert car_a == car_b
    img_a, mask_a = draw_carvana_view(a, car_a, 7, SMALL)
    img_b, mask_b = draw_carvana_view(b, car_b, 7, SMALL)
    assert np.array_equal(img_a, img_b) and np.array_equal(mask_a, mask_b)
    img_c, _ = draw_carvana_view(np.random.default_rng(12), car_a, 7, SMALL)
    assert not np.array_equal(img_a, img_c)  # the noise depends on the generator state


def test_views_differ_but_show_the_same_car_colour() -> None:
    car = _car(5, body_color=(160, 22, 28), roof_color=(160, 22, 28), trim_color=(150, 20, 26))
    rng = np.random.default_rng(5)
    views = (1, 3, 5, 7, 9, 13)
    images, masks, medians = [], [], []
    for view in views:
        img, mask = draw_carvana_view(rng, car, view, (320, 480))
        images.append(img.astype(np.int16))
        masks.append(mask)
        medians.append(np.median(img[mask == 1].astype(np.float64), axis=0))
    for i in range(len(views)):
        for j in range(i + 1, len(views)):
            assert np.abs(images[i] - images[j]).mean() > 2.0, (views[i], views[j])
    side = masks[views.index(5)]
    for v in (1, 3, 9):  # front, three-quarter and back silhouettes differ from the side one
        m = masks[views.index(v)]
        assert np.logical_and(side, m).sum() / np.logical_or(side, m).sum() < 0.8, v
    for med in medians:
        assert med[0] > med[1] + 40 and med[0] > med[2] + 40, med  # red body dominates every view
    spread = np.max([np.abs(a - b).max() for a in medians for b in medians])
    assert spread < 50


def test_carvana_image_and_mask_are_aligned() -> None:
    car = _car(9, body_color=(24, 24, 27), roof_color=(24, 24, 27), trim_color=(30, 30, 32))
    img, mask = draw_carvana_view(np.random.default_rng(9), car, 3, (320, 480))
    grey = img.mean(axis=2)
    inside, outside = grey[mask == 1].mean(), grey[mask == 0].mean()
    assert outside - inside > 60
    kernel = np.ones((5, 5), np.uint8)
    ring_in = (mask == 1) & (cv2.erode(mask, kernel) == 0)
    ring_out = (mask == 0) & (cv2.dilate(mask, kernel) == 1)
    assert grey[ring_out].mean() - grey[ring_in].mean() > 40  # the drawn edge sits on the mask edge


def test_carvana_rejects_bad_view_and_size() -> None:
    rng = np.random.default_rng(0)
    car = _car(0)
    for bad in (0, 17, -3):
        with pytest.raises(ValueError, match=r"view must be in 1\.\.16"):
            draw_carvana_view(rng, car, bad, SMALL)
    with pytest.raises(ValueError, match="at least 16x16"):
        draw_carvana_view(rng, car, 1, (8, 8))


# -- CARLA --------------------------------------------------------------------------------------------------
def test_carla_ids_match_the_carla_tag_table() -> None:
    assert sorted(CARLA_IDS.values()) == list(range(23))
    expected = {"building": 1, "fence": 2, "other": 3, "pedestrian": 4, "pole": 5, "road line": 6, "road": 7,
                "sidewalk": 8, "vegetation": 9, "vehicle": 10, "wall": 11, "traffic sign": 12, "sky": 13,
                "traffic light": 18, "terrain": 22}
    assert all(CARLA_IDS[k] == v for k, v in expected.items())


def test_carla_default_size_shapes() -> None:
    img, mask = draw_carla_scene(np.random.default_rng(0))
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8
    assert mask.shape == (480, 640) and mask.dtype == np.uint8
    assert int(mask.max()) <= 22


@pytest.mark.parametrize("size", [SMALL, (600, 800)])
def test_carla_other_sizes(size: tuple[int, int]) -> None:
    img, mask = draw_carla_scene(np.random.default_rng(4), size)
    assert img.shape == (*size, 3) and mask.shape == size
    assert {CARLA_IDS["road"], CARLA_IDS["sky"]} <= set(np.unique(mask).tolist())


def test_carla_mask_ids_and_main_classes_present(streets: list[tuple[np.ndarray, np.ndarray]]) -> None:
    present = np.zeros(23)
    for _, mask in streets:
        ids = np.unique(mask)
        assert set(ids.tolist()) <= set(CARLA_IDS.values())
        present[ids] += 1
    n = len(streets)
    assert present[CARLA_IDS["road"]] == n and present[CARLA_IDS["sky"]] == n
    assert present[CARLA_IDS["building"]] >= 0.5 * n
    assert present[CARLA_IDS["vehicle"]] >= 0.5 * n
    for name in ("road line", "sidewalk", "vegetation", "pole"):
        assert present[CARLA_IDS[name]] >= 0.5 * n, name
    seen = {k for k, v in CARLA_IDS.items() if present[v] > 0}
    assert {"pedestrian", "traffic sign", "fence", "wall", "terrain"} <= seen


def test_carla_class_fractions_are_plausible(streets: list[tuple[np.ndarray, np.ndarray]]) -> None:
    road = np.array([(m == CARLA_IDS["road"]).mean() for _, m in streets])
    sky = np.array([(m == CARLA_IDS["sky"]).mean() for _, m in streets])
    assert 0.28 <= road.mean() <= 0.5 and road.min() > 0.15 and road.max() < 0.65
    assert 0.15 <= sky.mean() <= 0.45
    assert len({round(float(r), 4) for r in road}) == len(road)  # layouts vary per scene


def test_carla_image_matches_mask(streets: list[tuple[np.ndarray, np.ndarray]]) -> None:
    for img, mask in streets:
        sky = img[mask == CARLA_IDS["sky"]].astype(np.float64).mean(axis=0)
        road = img[mask == CARLA_IDS["road"]].astype(np.float64).mean(axis=0)
        assert sky[2] > sky[0] + 10 and sky.mean() > 120, sky  # bluish and bright
        assert np.ptp(road) < 20, road  # greyish asphalt
        assert sky.mean() > road.mean()


def test_carla_is_deterministic() -> None:
    a = draw_carla_scene(np.random.default_rng(99), CARLA_SMALL)
    b = draw_carla_scene(np.random.default_rng(99), CARLA_SMALL)
    c = draw_carla_scene(np.random.default_rng(100), CARLA_SMALL)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_carla_rejects_tiny_size() -> None:
    with pytest.raises(ValueError, match="at least 16x16"):
        draw_carla_scene(np.random.default_rng(0), (10, 640))
