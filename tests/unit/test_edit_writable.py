"""Preserve-labels mode and class locks: an edit never overwrites a protected class, and undo is exact."""

from __future__ import annotations

import numpy as np
import pytest

from unet_core.edit import brush, fill, polygon
from unet_core.edit.patches import PatchRecorder, writable_classes


def _mask() -> np.ndarray:
    m = np.zeros((60, 80), np.uint8)
    m[10:30, 10:40] = 1
    m[35:50, 20:70] = 2
    return m


def test_no_table_when_every_class_is_writable() -> None:
    assert writable_classes() is None
    table = writable_classes(locked=[2])
    assert table is not None and not table[2] and table[0] and table[1]
    only = writable_classes(only=0)
    assert only is not None and only[0] and not only[1:].any()
    with pytest.raises(ValueError):
        writable_classes(locked=[300])


def test_a_locked_class_survives_a_stroke_across_it_and_undo_restores_all() -> None:
    m = _mask()
    before = m.copy()
    patch = brush.paint_stroke(m, [(5, 40), (75, 40)], 6, 3, writable=writable_classes(locked=[2]))
    assert patch is not None
    assert (m[before == 2] == 2).all()  # the locked vehicle-like class is untouched
    assert (m[34:47, 5:18][before[34:47, 5:18] == 0] == 3).all()  # background under the stroke painted
    patch.undo(m)
    assert np.array_equal(m, before)


def test_preserve_labels_paints_only_background() -> None:
    m = _mask()
    before = m.copy()
    fill.fill_region(m, 0, 0, 4, writable=writable_classes(only=0))  # background region: allowed
    assert (m[before == 0] == 4).all() and np.array_equal(m[before != 0], before[before != 0])
    m2 = before.copy()
    assert polygon.paint_polygon(m2, [(0, 0), (80, 0), (80, 60), (0, 60)], 5,
                                 writable=writable_classes(only=0)) is not None
    assert (m2[before == 1] == 1).all() and (m2[before == 2] == 2).all() and (m2[before == 0] == 5).all()


def test_a_fill_on_a_locked_class_changes_nothing() -> None:
    m = _mask()
    assert fill.fill_region(m, 15, 15, 3, writable=writable_classes(locked=[1])) is None
    assert np.array_equal(m, _mask())


def test_settle_during_a_live_stroke_puts_protected_pixels_back_at_once() -> None:
    m = _mask()
    rec = PatchRecorder(m, writable_classes(locked=[1]))
    rect = brush.stamp_segment(m, (0, 20), (60, 20), 5, 7, before_write=rec.before_write)
    rec.settle(rect)  # what the canvas does after each dab, so the overlay never shows a locked pixel painted
    assert (m[10:30, 10:40] == 1).all()
    patch = rec.finish()
    assert patch is not None and (patch.new[patch.old == 1] == 1).all()
