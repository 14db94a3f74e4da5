"""Confusion-matrix metrics: Dice/IoU definitions, absent classes, the two-class foreground mean."""

from __future__ import annotations

import numpy as np
import pytest

from unet_core.training.metrics import ConfusionMatrix, confusion_matrix, summarize


def test_confusion_matrix_counts_truth_rows_prediction_columns() -> None:
    truth = np.array([[0, 0, 1, 1]], dtype=np.uint8)
    pred = np.array([[0, 1, 1, 1]], dtype=np.uint8)
    m = confusion_matrix(truth, pred, 2)
    assert m.tolist() == [[1, 1], [0, 2]]


def test_dice_and_iou_values() -> None:
    truth = np.array([[0, 0, 1, 1]], dtype=np.uint8)
    pred = np.array([[0, 1, 1, 1]], dtype=np.uint8)
    s = summarize(confusion_matrix(truth, pred, 2), ["bg", "fg"])
    assert s["dice"]["per_class"]["fg"] == pytest.approx(2 * 2 / (2 * 2 + 1))
    assert s["iou"]["per_class"]["fg"] == pytest.approx(2 / 3)
    assert s["dice"]["mean"] == s["dice"]["per_class"]["fg"]  # two classes: foreground Dice
    assert s["pixel_accuracy"] == pytest.approx(0.75)


def test_empty_foreground_is_not_perfect() -> None:
    """A class absent from truth and prediction is null, never a free 1.0."""
    truth = np.zeros((4, 4), np.uint8)
    s = summarize(confusion_matrix(truth, truth, 2), ["bg", "fg"])
    assert s["dice"]["per_class"]["fg"] is None
    assert s["dice"]["mean"] is None
    missed = summarize(confusion_matrix(np.ones((4, 4), np.uint8), truth, 2), ["bg", "fg"])
    assert missed["dice"]["per_class"]["fg"] == 0.0


def test_multiclass_mean_skips_absent_classes() -> None:
    truth = np.array([[0, 1, 1, 2]], dtype=np.uint8)
    pred = np.array([[0, 1, 2, 2]], dtype=np.uint8)
    s = summarize(confusion_matrix(truth, pred, 4), ["a", "b", "c", "d"])
    assert s["dice"]["per_class"]["d"] is None
    present = [s["dice"]["per_class"][k] for k in "abc"]
    assert s["dice"]["mean"] == pytest.approx(np.mean(present))


def test_accumulates_over_images_and_rejects_bad_input() -> None:
    cm = ConfusionMatrix(3)
    a = np.array([[0, 1], [2, 2]], np.uint8)
    cm.update(a, a)
    cm.update(a, a)
    assert cm.matrix.sum() == 8 and np.trace(cm.matrix) == 8
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(a, a[:1], 3)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        confusion_matrix(a, a + 5, 3)
