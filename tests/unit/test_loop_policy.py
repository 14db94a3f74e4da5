"""The loop's verdicts: what counts as a correction, and which model version is kept."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from unet_core.loop.policy import is_correction, keep_new_version, uncorrected_status
from unet_core.store.project import ImageStatus, ProjectStore


def test_a_mask_equal_to_where_it_started_is_not_a_correction() -> None:
    pred = np.zeros((8, 10), np.uint8)
    pred[2:5, 3:7] = 1
    original = np.zeros((8, 10), np.uint8)
    edited = pred.copy()
    edited[0, 0] = 2
    assert is_correction(edited, [pred, original])
    assert not is_correction(pred.copy(), [pred, original])  # undone / reverted / prediction accepted
    assert not is_correction(original.copy(), [pred, original])  # back to the dataset's own mask
    assert not is_correction(pred.copy(), [None, pred])
    assert is_correction(edited, [None, np.zeros((3, 3), np.uint8)])  # other shapes never match
    assert is_correction(edited, [])  # nothing to compare with: an edit is a correction


def test_uncorrected_status() -> None:
    assert uncorrected_status(True) is ImageStatus.PREDICTED
    assert uncorrected_status(False) is ImageStatus.UNLABELLED


@pytest.mark.parametrize(
    ("before", "after", "kept"),
    [
        (0.80, 0.81, True),
        (0.80, 0.80, True),  # did not drop: kept (the README's promise)
        (0.80, 0.79, False),
        (None, 0.70, True),  # nothing to compare with
        (0.80, None, False),  # never validated: never kept silently
        (None, None, False),
        (0.80, math.nan, False),
        (math.nan, 0.5, True),
    ],
)
def test_keep_new_version_when_dice_did_not_drop(before: float | None, after: float | None, kept: bool) -> None:
    assert keep_new_version(before, after) is kept


def test_drop_correction_removes_the_file_and_sets_the_state(tmp_path: Path) -> None:
    with ProjectStore(tmp_path / "store") as store:
        store.save_mask("a", np.ones((4, 5), np.uint8))
        store.update_state("a", status="corrected", pixels_changed=20, model_version="v0001")
        state = store.drop_correction("a", status="predicted", pixels_changed=0)
        assert not store.has_mask("a") and store.corrected_stems() == []
        assert state.status is ImageStatus.PREDICTED and state.pixels_changed == 0
        assert store.state("a").status is ImageStatus.PREDICTED
        store.drop_correction("b", status="unlabelled")  # nothing stored: only the state
        assert store.state("b").status is ImageStatus.UNLABELLED


def test_trained_dice_is_the_best_validated_epoch_never_the_start() -> None:
    from unet_core.loop.policy import trained_dice

    assert trained_dice([]) is None  # stopped before the first epoch
    assert trained_dice([{"val_dice": None}, {"val_dice": None}]) is None  # no validation images
    assert trained_dice([{"val_dice": 0.7}, {"val_dice": 0.75}, {"val_dice": 0.72}]) == 0.75
    assert trained_dice([{"val_dice": math.nan}, {"val_dice": 0.6}]) == 0.6


def test_split_id_names_a_validation_split() -> None:
    from unet_core.loop.corrections import split_id

    assert split_id(["b", "a"]) == split_id(["a", "b", "a"])
    assert split_id(["a", "b"]) != split_id(["a", "c"])
