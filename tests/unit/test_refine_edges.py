"""Refine edges on synthetic images with known edges: a ragged outline moves onto the image's edge, as one patch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.unit.smart_scenes import H, W, iou, scene
from unet_core.edit.patches import writable_classes
from unet_core.edit.refine import default_reach, refine_edges
from unet_core.edit.selection import apply_selection


def _ragged(truth: np.ndarray, value: int, seed: int = 0) -> np.ndarray:
    """``truth`` with the outline of ``value`` shifted and jagged by up to 6 px, as a coarse model draws it."""
    rng = np.random.default_rng(seed)
    mask = truth.copy()
    of_class = (truth == value).astype(np.uint8)
    grown = cv2.dilate(of_class, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13)))
    shrunk = cv2.erode(of_class, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    blocks = cv2.resize(rng.integers(0, 2, (H // 16, W // 16)).astype(np.uint8), (W, H),
                        interpolation=cv2.INTER_NEAREST)
    take = np.where(blocks == 1, grown, shrunk).astype(bool)
    mask[(truth == value) & ~take] = 0
    mask[take & (truth == 0)] = value
    return mask


def test_refine_moves_a_ragged_outline_onto_the_edge_and_undo_is_exact() -> None:
    img, truth = scene()
    mask = _ragged(truth, 1)
    before = iou(mask == 1, truth == 1)
    sel = refine_edges(img, mask, 1, 8)
    assert sel is not None
    original = mask.copy()
    patch = apply_selection(mask, sel)
    assert patch is not None
    assert before < 0.9 and iou(mask == 1, truth == 1) > 0.98
    assert np.array_equal(mask == 2, truth == 2)  # another class's object is not touched
    patch.undo(mask)
    assert np.array_equal(mask, original)


def test_pixels_taken_from_a_class_get_the_nearest_other_class() -> None:
    img, truth = scene()
    mask = truth.copy()
    mask[40:200, 200:210] = 2  # the rectangle reaches 10 px too far left, into the grey ground
    mask[100:140, 200:210] = 1  # ... and there the disc's class (a third class beside it) got in too
    sel = refine_edges(img, mask, 2, 14)
    assert sel is not None
    apply_selection(mask, sel)
    wrong = mask[40:200, 200:210]
    assert (wrong[:50] == 0).all()  # 11+ rows above the strip of class 1: the ground is nearer
    assert (mask[100:140, 200:206] == 1).all()  # next to the strip of class 1, class 1 is nearest and stays


def test_the_reach_bounds_what_changes() -> None:
    img, truth = scene()
    mask = _ragged(truth, 1)
    sel = refine_edges(img, mask, 1, 3)
    assert sel is not None
    of_class = (mask == 1).astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    strip = cv2.dilate(of_class, disc).astype(bool) & ~cv2.erode(of_class, disc).astype(bool)
    assert not (sel.full((H, W)) & ~strip).any()


def test_nothing_to_refine_gives_none_and_bad_input_a_clear_error() -> None:
    img, truth = scene()
    assert refine_edges(img, truth, 1, 8) is None  # already on the edges
    assert refine_edges(img, truth, 7, 8) is None  # the class is absent
    assert refine_edges(img, np.ones_like(truth), 1, 8) is None  # the class is everything: no outline
    with pytest.raises(ValueError, match="reach"):
        refine_edges(img, truth, 1, 0)
    with pytest.raises(ValueError, match="differ in size"):
        refine_edges(img[:10], truth, 1, 8)


def test_locked_classes_keep_their_pixels() -> None:
    img, truth = scene()
    mask = _ragged(truth, 1)
    sel = refine_edges(img, mask, 1, 8)
    assert sel is not None
    original = mask.copy()
    apply_selection(mask, sel, writable=writable_classes(locked=[1]))
    assert not ((original == 1) & (mask != 1)).any()  # class 1 is locked: none of its pixels changed


def test_a_huge_window_changes_only_what_grabcut_changed() -> None:
    from unet_core.edit import refine

    img, truth = scene()
    big_img = cv2.resize(img, (W * 8, H * 8), interpolation=cv2.INTER_NEAREST)
    big_truth = cv2.resize(truth, (W * 8, H * 8), interpolation=cv2.INTER_NEAREST)
    old = refine.WORK_PIXELS
    refine.WORK_PIXELS = 200_000  # the 1920x2560 window is decided at about a third of its size
    try:
        exact = big_truth.copy()
        sel = refine_edges(big_img, exact, 1, 16)
        if sel is not None:
            apply_selection(exact, sel)
        outline = int(cv2.countNonZero(cv2.morphologyEx((big_truth == 1).view(np.uint8), cv2.MORPH_GRADIENT,
                                                        np.ones((3, 3), np.uint8))))
        assert (exact != big_truth).sum() < 0.5 * outline  # an outline on the edges stays, but for a few pixels
        ragged = cv2.resize(_ragged(truth, 1), (W * 8, H * 8), interpolation=cv2.INTER_NEAREST)
        sel = refine_edges(big_img, ragged, 1, 64)
        assert sel is not None
        apply_selection(ragged, sel)
        assert iou(ragged == 1, big_truth == 1) > 0.98
    finally:
        refine.WORK_PIXELS = old


def test_the_same_input_gives_the_same_result() -> None:
    img, truth = scene()
    mask = _ragged(truth, 1)
    first = refine_edges(img, mask, 1, 8)
    again = [refine_edges(img, mask, 1, 8) for _ in range(3)]
    assert first is not None and all(a is not None and np.array_equal(a.full((H, W)), first.full((H, W)))
                                     for a in again)


def test_only_an_rgb_uint8_image_is_taken() -> None:
    img, truth = scene()
    with pytest.raises(ValueError, match="uint8"):
        refine_edges(img.astype(np.float32), truth, 1, 8)
    with pytest.raises(ValueError, match="uint8"):
        refine_edges(img[..., 0], truth, 1, 8)


def test_reach_steps_up_and_down_within_bounds() -> None:
    from unet_core.edit.refine import MAX_REACH, step_reach

    assert step_reach(15, True) == 22 and step_reach(15, False) == 10
    assert step_reach(1, True) == 2 and step_reach(1, False) == 1 and step_reach(MAX_REACH, True) == MAX_REACH


def test_default_reach_follows_the_image_size() -> None:
    assert default_reach((1280, 1918)) == 15
    assert default_reach((480, 640)) == 5
    assert default_reach((20, 30)) == 2
