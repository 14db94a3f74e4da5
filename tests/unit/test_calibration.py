"""Tests of the uncertainty calibration the default queue order relies on (unet_core.training.calibration)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unet_core.training.calibration import (
    MIN_IMAGES,
    Calibration,
    image_dice,
    lower_bound,
    needed_rho,
    rank,
    spearman,
)


def test_spearman_matches_the_textbook_values() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # d = (0, 0, 1, -1, 0): rho = 1 - 6 * 2 / (5 * 24) = 0.9
    assert spearman([1, 2, 3, 4, 5], [1, 2, 4, 3, 5]) == pytest.approx(0.9)
    assert list(rank([3.0, 1.0, 3.0, 2.0])) == [3.5, 1.0, 3.5, 2.0]  # ties share their mean rank
    assert spearman([1, 2], [1, 2]) is None  # too few pairs to say anything
    assert spearman([1, 1, 1, 1], [1, 2, 3, 4]) is None  # a constant score ranks nothing
    with pytest.raises(ValueError, match="pairs"):
        spearman([1, 2, 3], [1, 2])


def test_the_queue_trusts_only_a_score_that_ranks_errors_on_enough_images() -> None:
    n = MIN_IMAGES
    scores = [i / n for i in range(n)]
    good = Calibration.measure(scores, [1.0 - s / 2 for s in scores])  # more uncertain = lower Dice
    assert good.images == n and good.rho == pytest.approx(1.0) and good.trusted
    assert "ranks its errors" in good.describe()
    backwards = Calibration.measure(scores, [0.5 + s / 2 for s in scores])
    assert backwards.rho == pytest.approx(-1.0) and not backwards.trusted
    assert "does not rank its errors surely enough" in backwards.describe() and "(needs 0.70)" in backwards.describe()
    few = Calibration.measure(scores[: n - 1], [1.0 - s for s in scores[: n - 1]])
    assert few.rho == pytest.approx(1.0) and not few.trusted and "too few" in few.describe()
    # non-finite pairs (an image without a score) are left out, not counted
    holes = Calibration.measure([*scores, math.nan], [*[1.0 - s for s in scores], 0.5])
    assert holes.images == n


def test_few_images_must_agree_strongly_many_may_agree_less() -> None:
    # the one-sided 95 % lower bound of rho must clear 0.1: a stronger rank correlation on fewer images
    assert needed_rho(8) == pytest.approx(0.695, abs=0.002) and needed_rho(20) == pytest.approx(0.471, abs=0.002)
    assert needed_rho(50) == pytest.approx(0.334, abs=0.002) and needed_rho(3) is None
    assert not Calibration(12, 0.55).trusted and Calibration(12, 0.62).trusted
    assert not Calibration(20, 0.45).trusted and Calibration(20, 0.5).trusted
    assert not Calibration(7, 0.99).trusted  # under MIN_IMAGES whatever the correlation
    assert lower_bound(0.5, 20) < 0.5 < lower_bound(0.5, 10**6) + 0.01 and lower_bound(1.0, 8) < 1.0


def test_a_recorded_calibration_is_read_back_and_bad_metadata_is_ignored() -> None:
    c = Calibration(12, 0.61, "app-0123456789ab")
    assert Calibration.from_training({"uncertainty_calibration": c.to_dict()}) == c
    assert Calibration.from_training({}) is None
    for bad in ("x", {"images": -1, "rho": 0.9}, {"images": 10, "rho": 7.0}, {"images": True, "rho": 0.9},
                {"images": 10, "rho": "high"}, {"images": 10, "rho": float("nan")}, {"images": 10, "rho": 10**30},
                {"images": 10**30, "rho": 0.9}, {"images": 10, "rho": 0.9, "split": 5},
                {"images": 10, "rho": 0.9, "split": "x" * 65}):
        assert Calibration.from_training({"uncertainty_calibration": bad}) is None
    assert Calibration.from_training({"uncertainty_calibration": {"images": 3, "rho": None}}) == Calibration(3, None)


def test_image_dice_is_the_foreground_dice_for_two_classes_and_ignores_absent_classes() -> None:
    two = np.array([[90, 10], [10, 90]])  # tp 90, fp 10, fn 10 for the foreground
    assert image_dice(two) == pytest.approx(0.9)
    # class 2 is in neither the truth nor the prediction: it does not count as a perfect 1.0
    three = np.array([[50, 0, 0], [0, 0, 0], [0, 0, 0]])
    assert image_dice(three) == pytest.approx(1.0)
    three[1, 0] = 10  # 10 px of class 1 predicted as 0: class 1 Dice 0, class 0 Dice 100/110
    assert image_dice(three) == pytest.approx((100 / 110 + 0.0) / 2)
    assert image_dice(np.zeros((2, 2))) == 1.0  # nothing present anywhere
