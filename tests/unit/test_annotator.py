"""Tests of the simulated annotator's stroke model and of the correction weighting it feeds."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from unet_core.sim.annotator import AnnotatorConfig, annotate, brush_radii, dice_from_confusion, mask_dice
from unet_core.sim.brush_strokes import dab_centres, plan_strokes, stroke_footprint
from unet_core.training.finetune import correction_weight_map


def _car(h: int = 240, w: int = 360) -> np.ndarray:
    """A car-like binary truth: a rounded body plus a cabin."""
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (w // 2, h // 2 + 20), (w // 3, h // 6), 0, 0, 360, 1, -1)
    cv2.rectangle(m, (w // 2 - 50, h // 2 - 40), (w // 2 + 40, h // 2 + 10), 1, -1)
    return m


def test_brush_radii_scale_with_image_size() -> None:
    assert brush_radii((1280, 1918)) == (3, 40)
    assert brush_radii((480, 640)) == (1, 13)
    assert brush_radii((160, 240)) == (1, 5)
    assert brush_radii((2560, 3836)) == (6, 80)


def test_dice_definition_binary_and_multiclass() -> None:
    truth = np.zeros((10, 10), np.uint8)
    truth[:, :5] = 1
    assert mask_dice(truth, truth) == 1.0
    half = truth.copy()
    half[:, 3:5] = 0  # 30 of 50 foreground pixels found
    assert mask_dice(half, truth) == pytest.approx(2 * 30 / (30 + 50))
    assert mask_dice(np.zeros_like(truth), np.zeros_like(truth)) == 1.0  # nothing to find
    # three classes: the mean over classes present in truth or mask
    cm = np.array([[10, 0, 0], [0, 5, 5], [0, 0, 0]])
    assert dice_from_confusion(cm) == pytest.approx((1.0 + 2 * 5 / 15 + 0.0) / 3)  # class 2: only in the mask


def test_perfect_prediction_costs_nothing() -> None:
    truth = _car()
    res = annotate(truth.copy(), truth)
    assert (res.strokes, res.dabs, res.pixels_changed, res.undos) == (0, 0, 0, 0)
    assert res.seconds == 0 and res.reached_target and res.dice_end == 1.0


def test_paint_from_scratch_reaches_target_and_is_deterministic() -> None:
    truth = _car()
    cfg = AnnotatorConfig(target_dice=0.99)
    res = annotate(np.zeros_like(truth), truth, cfg)
    assert res.reached_target and res.dice_end >= 0.99 and res.dice_start == 0.0
    assert res.strokes > 0 and res.dabs >= res.strokes and res.path_px > 0
    assert res.pixels_changed == int((res.mask != 0).sum())
    assert mask_dice(res.mask, truth) == pytest.approx(res.dice_end)
    _, r_max = brush_radii(truth.shape)
    assert max(res.radii) == r_max  # the big interior gets the largest brush
    # the time model is the documented formula: with one drag speed exactly, and the steering law
    # (slower where a stroke hugs an edge) never below it
    constant = annotate(np.zeros_like(truth), truth, replace(cfg, drag_model="constant"))
    expect = cfg.seconds_per_stroke * constant.strokes + constant.path_px / (cfg.drag_speed * 360) \
        + cfg.seconds_per_undo * constant.undos + cfg.seconds_per_zoom * constant.zooms
    assert constant.seconds == pytest.approx(expect, abs=0.01)
    assert constant.strokes == res.strokes and res.seconds > constant.seconds
    again = annotate(np.zeros_like(truth), truth, cfg)
    assert again.to_dict() == res.to_dict() and np.array_equal(again.mask, res.mask)


def test_better_prediction_needs_fewer_strokes() -> None:
    truth = _car()
    worse = cv2.erode(truth, np.ones((9, 9), np.uint8))
    worse[120:160, 100:160] = 0  # a missed part
    better = truth.copy()
    better[130:150, 150:170] = 0
    scratch = annotate(np.zeros_like(truth), truth)
    mid = annotate(worse, truth)
    good = annotate(better, truth)
    assert scratch.strokes > mid.strokes > good.strokes >= 1
    assert all(r.reached_target for r in (scratch, mid, good))
    assert good.pixels_changed <= 400  # only the hole (and nothing else) was painted


def test_extra_blob_is_erased_with_the_background_class() -> None:
    truth = _car()
    pred = truth.copy()
    cv2.circle(pred, (40, 40), 25, 1, -1)  # a false positive far from the car
    res = annotate(pred, truth, AnnotatorConfig(target_dice=1.0))
    assert res.reached_target and np.array_equal(res.mask, truth)
    assert res.pixels_changed == int((pred != truth).sum())
    assert np.array_equal(res.mask[100:, 100:], truth[100:, 100:])  # the car was left alone


def test_largest_error_is_fixed_first_and_target_stops_early() -> None:
    truth = np.zeros((200, 300), np.uint8)
    truth[20:180, 20:280] = 1
    pred = truth.copy()
    pred[30:130, 30:130] = 0  # big hole: 10000 px
    pred[150:160, 250:260] = 0  # small hole: 100 px
    res = annotate(pred, truth, AnnotatorConfig(target_dice=0.995))
    assert res.reached_target
    assert res.mask[30:130, 30:130].all()  # the big one was painted
    assert not res.mask[152:158, 252:258].any()  # Dice was reached before the small one mattered


def test_a_poor_prediction_is_cleared_and_painted_afresh() -> None:
    truth = _car()
    rng = np.random.default_rng(0)
    noisy = (rng.random(truth.shape) < 0.15).astype(np.uint8)  # speckle everywhere, no car
    scratch = annotate(np.zeros_like(truth), truth)
    res = annotate(noisy, truth)
    assert res.restarted and res.reached_target
    assert res.strokes == scratch.strokes + 1  # the clear counts as one action
    assert res.scratch_strokes == scratch.strokes == scratch.scratch_strokes  # the from-scratch reference
    assert res.pixels_changed == int((res.mask != noisy).sum())
    stubborn = annotate(noisy, truth, AnnotatorConfig(allow_restart=False, max_strokes=400))
    assert not stubborn.restarted and stubborn.seconds > res.seconds
    slightly_off = truth.copy()
    slightly_off[130:150, 150:170] = 0
    assert not annotate(slightly_off, truth).restarted


def test_multiclass_regions_get_their_own_class() -> None:
    truth = np.zeros((120, 160), np.uint8)
    truth[:60] = 13  # sky
    truth[60:] = 7  # road
    truth[70:110, 20:28] = 5  # a pole
    pred = np.full_like(truth, 7)
    res = annotate(pred, truth, AnnotatorConfig(target_dice=0.98), num_classes=23)
    assert res.reached_target
    assert (res.mask[:60] == 13).mean() > 0.97 and (res.mask[72:108, 22:26] == 5).all()
    assert res.dice_end == pytest.approx(mask_dice(res.mask, truth, 23))


def test_thin_regions_use_a_fine_zoomed_brush_without_overpainting() -> None:
    truth = np.zeros((300, 400), np.uint8)
    truth[:, 200] = 1  # a one-pixel line
    res = annotate(np.zeros_like(truth), truth, AnnotatorConfig(target_dice=0.99))
    assert res.reached_target and res.zooms >= 1 and max(res.radii) == 0
    assert res.mask[:, :200].sum() == 0 and res.mask[:, 201:].sum() == 0  # nothing spilled


def test_overpaint_that_makes_things_worse_is_undone() -> None:
    # a checkerboard of single pixels cannot be painted with strokes that stay inside a class: the
    # person leaves it rather than making it worse, and the result is never worse than the start
    truth = (np.indices((60, 60)).sum(axis=0) % 2).astype(np.uint8)
    pred = np.zeros_like(truth)
    res = annotate(pred, truth, AnnotatorConfig(target_dice=0.999, max_strokes=200))
    assert res.dice_end >= res.dice_start
    assert res.strokes <= 200


def test_plan_strokes_follow_a_thin_bar_and_respect_the_length_limit() -> None:
    valid = np.zeros((50, 400), bool)
    valid[25, 10:390] = True
    strokes = plan_strokes(valid, 4, max_length=1000)
    assert len(strokes) == 1  # one drag along the bar
    xs = [p[0] for p in strokes[0]]
    assert xs == sorted(xs) or xs == sorted(xs, reverse=True)
    assert all(valid[y, x] for x, y in strokes[0])
    short = plan_strokes(valid, 4, max_length=100)
    assert len(short) >= 4 and sum(len(s) for s in short) == len(strokes[0])


def test_plan_strokes_cover_a_blob_and_stay_inside() -> None:
    valid = np.zeros((100, 100), bool)
    cv2.circle(valid.view(np.uint8), (50, 50), 30, 1, -1)
    strokes = plan_strokes(valid, 5, max_length=10_000)
    centres = dab_centres(valid, 5)
    assert sum(len(s) for s in strokes) == len(centres)
    assert len(strokes) <= 3  # a boustrophedon sweep, not one stroke per dab
    painted = np.zeros(valid.shape, bool)
    for s in strokes:
        painted |= stroke_footprint(valid.shape, s, 5)
    assert painted[valid].mean() > 0.99
    assert plan_strokes(np.zeros((10, 10), bool), 3, 100) == []


@pytest.mark.parametrize(
    ("initial", "truth", "config", "message"),
    [
        (np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8), None, "differ in size"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), None, "2-D array"),
        (np.zeros((4, 4), np.float32), np.zeros((4, 4), np.uint8), None, "integer class ids"),
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), AnnotatorConfig(target_dice=1.5), "target Dice"),
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), AnnotatorConfig(r_min=5, r_max=2), "brush radii"),
    ],
)
def test_bad_input_is_refused_clearly(initial: np.ndarray, truth: np.ndarray, config: AnnotatorConfig | None,
                                      message: str) -> None:
    before = initial.copy()
    with pytest.raises(ValueError, match=message):
        annotate(initial, truth, config)
    assert np.array_equal(initial, before)  # the input is never modified


def test_class_ids_beyond_num_classes_are_refused() -> None:
    truth = np.full((8, 8), 5, np.uint8)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        annotate(np.zeros_like(truth), truth, num_classes=3)


def test_correction_weights_boost_exactly_what_the_annotator_changed() -> None:
    truth = _car()
    pred = truth.copy()
    pred[100:130, 60:100] = 0
    cv2.circle(pred, (40, 40), 12, 1, -1)
    res = annotate(pred, truth)
    changed = res.mask != pred
    assert int(changed.sum()) == res.pixels_changed > 0
    weight = correction_weight_map(pred, res.mask, boost=4.0, boundary_px=3)
    assert np.all(weight[changed] == 5.0)  # corrected pixels weigh 1 + boost
    band = cv2.dilate(changed.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
    assert np.all(weight[band] == 5.0) and np.all(weight[~band] == 1.0)  # plus a 3 px boundary band only
    assert (weight > 1).sum() < 0.1 * weight.size
