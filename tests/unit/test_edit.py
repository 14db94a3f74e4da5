"""Tests of the Qt-free editing operations (unet_core.edit): pixels written, patches returned, exact undo."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from unet_core.edit import brush, fill, patches, polygon, replace
from unet_core.edit.patches import Patch, PatchRecorder


def _mask(h: int = 40, w: int = 60) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[10:20, 10:30] = 2
    return m


def _roundtrip(mask: np.ndarray, before: np.ndarray, patch: Patch | None) -> None:
    """The patch holds exactly the changed pixels, and undo/redo swap them back and forth."""
    assert patch is not None
    after = mask.copy()
    x0, y0, x1, y1 = patch.rect
    diff = np.argwhere(before != after)
    assert diff.size and diff[:, 0].min() == y0 and diff[:, 0].max() == y1 - 1
    assert diff[:, 1].min() == x0 and diff[:, 1].max() == x1 - 1  # the rect is the tight changed box
    assert np.array_equal(patch.old, before[y0:y1, x0:x1]) and np.array_equal(patch.new, after[y0:y1, x0:x1])
    assert patch.undo(mask) == patch.rect and np.array_equal(mask, before)
    assert patch.redo(mask) == patch.rect and np.array_equal(mask, after)


def test_dab_is_the_disc_of_pixel_centres_within_the_radius() -> None:
    m = np.zeros((30, 30), np.uint8)
    before = m.copy()
    patch = brush.paint_stroke(m, [(15, 12)], 4, 1)
    yy, xx = np.mgrid[:30, :30]
    assert np.array_equal(m == 1, (xx - 15) ** 2 + (yy - 12) ** 2 <= 16)
    assert patch is not None and patch.rect == (11, 8, 20, 17) and patch.nbytes == 2 * 81
    _roundtrip(m, before, patch)


def test_stroke_covers_every_pixel_within_the_radius_of_the_path() -> None:
    m = np.zeros((50, 80), np.uint8)
    pts = [(10, 10), (60, 30), (20, 40)]
    brush.paint_stroke(m, pts, 3, 1)
    yy, xx = np.mgrid[:50, :80].astype(float)
    near = np.zeros_like(m, bool)
    for (ax, ay), (bx, by) in itertools.pairwise(pts):
        dx, dy = bx - ax, by - ay
        t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        near |= (xx - ax - t * dx) ** 2 + (yy - ay - t * dy) ** 2 <= 9 + 1e-3
    assert np.array_equal(m == 1, near)


def test_eraser_paints_background_and_skips_unchanged() -> None:
    m = _mask()
    before = m.copy()
    patch = brush.erase_stroke(m, [(10, 15), (30, 15)], 2)
    assert (m[10:20, 10:30][3:8, :] == 0).all() and m[10, 20] == 2
    _roundtrip(m, before, patch)
    assert brush.erase_stroke(m, [(50, 35)], 2) is None  # only background there: no patch


def test_strokes_clamp_at_the_image_border() -> None:
    m = np.zeros((20, 30), np.uint8)
    patch = brush.paint_stroke(m, [(-5, 2), (35, 2)], 3, 1)
    assert patch is not None and patch.rect == (0, 0, 30, 6)
    assert (m[:6] == 1).all() and not m[6:].any()
    assert brush.paint_stroke(m, [(-50, -50), (-40, -60)], 3, 1) is None and not m[6:].any()
    assert brush.stamp_disc(m, 0, 19, 2, 3) == (0, 17, 3, 20)
    assert brush.stamp_segment(m, (2, 10), (27, 10), 0, 5) == (2, 10, 28, 11) and (m[10, 2:28] == 5).all()


def test_revert_copies_the_reference_under_the_brush_only() -> None:
    m = np.ones((30, 40), np.uint8)
    ref = np.zeros_like(m)
    ref[:, 20:] = 2
    before = m.copy()
    patch = brush.revert_stroke(m, ref, [(18, 15), (22, 15)], 3)
    painted = m != 1
    assert painted[15, 15:26].all() and not painted[0].any()
    assert np.array_equal(m[painted], ref[painted])
    _roundtrip(m, before, patch)
    with pytest.raises(ValueError):
        brush.revert_stroke(m, ref[:5], [(1, 1)], 1)


def test_flood_fill_is_four_connected() -> None:
    m = np.zeros((10, 10), np.uint8)
    m[2:5, 2:5] = 1
    m[5, 5] = 1  # touches the square only diagonally
    before = m.copy()
    patch = fill.fill_region(m, 3, 3, 2)
    assert (m[2:5, 2:5] == 2).all() and m[5, 5] == 1 and patch is not None and patch.rect == (2, 2, 5, 5)
    _roundtrip(m, before, patch)
    assert fill.fill_region(m, 3, 3, 2) is None and fill.fill_region(m, 99, 0, 2) is None
    assert fill.flood_fill(m, 0, 0, 0) is None


def test_polygon_fills_pixel_centres_inside_and_its_outline() -> None:
    m = np.zeros((20, 20), np.uint8)
    before = m.copy()
    patch = polygon.paint_polygon(m, [(2, 3), (12, 3), (12, 8), (2, 8)], 4)
    inside = np.zeros_like(m, bool)
    inside[3:9, 2:13] = True  # centres inside, and the outline's pixels (cv2.fillPoly draws its edges)
    assert (m[3:8, 2:12] == 4).all() and not m[~inside].any()
    _roundtrip(m, before, patch)
    assert polygon.paint_polygon(m, [(1, 1), (5, 5)], 2) is None  # fewer than 3 points
    assert polygon.fill_polygon(m, [(-9, -9), (-5, -9), (-5, -5)], 2) is None  # outside


def test_replace_all_and_accept_prediction_keep_only_the_changed_box() -> None:
    m = _mask()
    before = m.copy()
    pred = m.copy()
    pred[30:33, 40:45] = 1
    patch = replace.accept_prediction(m, pred)
    assert np.array_equal(m, pred) and patch is not None and patch.rect == (40, 30, 45, 33)
    _roundtrip(m, before, patch)
    assert replace.replace_all(m, pred) is None  # already equal
    with pytest.raises(ValueError):
        replace.replace_all(m, pred[:3])


def test_recorder_merges_many_writes_into_one_patch_across_tiles() -> None:
    m = np.zeros((200, 300), np.uint8)
    before = m.copy()
    rec = PatchRecorder(m)
    for x in range(5, 290, 7):
        brush.stamp_disc(m, x, 100 + (x % 40), 6, 1 + x % 3, before_write=rec.before_write)
    brush.stamp_disc(m, 150, 20, 6, 0, before_write=rec.before_write)  # writes nothing new
    patch = rec.finish()
    _roundtrip(m, before, patch)
    assert PatchRecorder(m).finish() is None
    assert patches.union(None, (1, 2, 3, 4)) == (1, 2, 3, 4) and patches.clip(5, 5, 9, 9, (4, 4)) is None
