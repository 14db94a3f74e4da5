"""Smart editing tools on synthetic images with known edges: each finds the object, and applies as one patch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.unit.smart_scenes import H, W, iou, probs_for, scene
from unet_core.edit.cleanup import cleanup
from unet_core.edit.edge_erase import edge_stroke
from unet_core.edit.patches import writable_classes
from unet_core.edit.polygon import paint_polygon
from unet_core.edit.probabilities import ClassProbabilities
from unet_core.edit.region import region_click, second_choice
from unet_core.edit.scissors import Scissors
from unet_core.edit.selection import Selection, apply_selection
from unet_core.edit.snap import snap_stroke
from unet_core.edit.superpixels import superpixel_stroke, superpixels
from unet_core.edit.wand import magic_wand


def test_wand_selects_the_clicked_object_and_tolerance_grows_it() -> None:
    img, truth = scene()
    sel = magic_wand(img, 110, 120, 20, 1)
    assert sel is not None and sel.value == 1
    assert iou(sel.full((H, W)), truth == 1) > 0.97
    everything = magic_wand(img, 110, 120, 255, 1)
    assert everything is not None and everything.area == H * W
    assert magic_wand(img, -1, 5, 20, 1) is None


def test_wand_with_a_model_stops_at_the_models_class_edge() -> None:
    img, truth = scene()
    flat = np.full_like(img, 120)  # no colour edge at all: only the model separates the disc
    probs = ClassProbabilities(probs_for(truth), (H, W))
    sel = magic_wand(flat, 110, 120, 10, 1, probs=probs)
    assert sel is not None and iou(sel.full((H, W)), truth == 1) > 0.9
    plain = magic_wand(flat, 110, 120, 10, 1)
    assert plain is not None and plain.area == H * W


def test_snapping_stroke_takes_an_object_to_its_edges_and_undo_is_exact() -> None:
    img, truth = scene()
    mask = np.zeros_like(truth)
    sel = snap_stroke(img, mask, [(80, 120), (140, 120)], 8, 1)
    assert sel is not None and iou(sel.full((H, W)), truth == 1) > 0.93
    patch = apply_selection(mask, sel)
    assert patch is not None and iou(mask == 1, truth == 1) > 0.93
    patch.undo(mask)
    assert not mask.any()


def test_snapping_eraser_removes_a_false_blob_up_to_its_edges() -> None:
    img, truth = scene()
    mask = truth.copy()
    mask[mask == 2] = 1  # the rectangle wrongly labelled as class 1
    sel = snap_stroke(img, mask, [(250, 80), (250, 160)], 6, 0, erase=True)
    assert sel is not None and sel.value == 0
    apply_selection(mask, sel)
    assert iou(mask == 1, truth == 1) > 0.97 and (mask[truth == 1] == 1).all()


def test_snap_with_a_model_uses_its_probabilities() -> None:
    img, truth = scene()
    probs = ClassProbabilities(probs_for(truth), (H, W))
    sel = snap_stroke(img, np.zeros_like(truth), [(250, 60), (250, 180)], 6, 2, probs=probs)
    assert sel is not None and iou(sel.full((H, W)), truth == 2) > 0.93


def test_region_click_removes_a_false_blob_and_fills_a_hole() -> None:
    _, truth = scene()
    mask = truth.copy()
    mask[10:30, 10:30] = 1  # a false-positive blob of class 1
    mask[110:125, 100:115] = 0  # a hole in the disc
    blob = region_click(mask, 20, 20, 1)
    assert blob is not None and blob.area == 400 and blob.value == 0
    apply_selection(mask, blob)
    hole = region_click(mask, 105, 115, 1)
    assert hole is not None and hole.area == 225
    apply_selection(mask, hole)
    assert np.array_equal(mask, truth)


def test_region_click_with_a_model_fills_only_what_it_half_saw() -> None:
    _, truth = scene()
    mask = truth.copy()
    mask[:, :110][mask[:, :110] == 1] = 0  # the left half of the disc missed: it joins the background
    probs = ClassProbabilities(probs_for(truth, sure=0.6), (H, W))
    sel = region_click(mask, 80, 120, 1, probs=probs)
    assert sel is not None
    apply_selection(mask, sel)
    assert iou(mask == 1, truth == 1) > 0.93 and (mask == 1).sum() < 1.1 * (truth == 1).sum()


def test_second_choice_switches_a_blob_to_the_next_class() -> None:
    _, truth = scene()
    mask = truth.copy()
    mask[truth == 2] = 1  # rectangle predicted as class 1, the model's second choice being 2
    low = probs_for(truth)
    low[..., 1] += np.where(low[..., 2] > 0.5, 1.0, 0.0)  # class 1 first, class 2 second on the rectangle
    low /= low.sum(axis=-1, keepdims=True)
    sel = second_choice(mask, 250, 100, ClassProbabilities(low, (H, W)))
    assert sel is not None and sel.value == 2 and sel.area == int(((truth == 2) | (truth == 1)).sum()) - \
        int((truth == 1).sum())
    apply_selection(mask, sel)
    assert np.array_equal(mask, truth)


def test_scissors_follow_the_edge_between_clicks() -> None:
    img, truth = scene()
    sc = Scissors(img)
    path = sc.trace((212, 60), (212, 180))  # along the rectangle's left edge, clicks 2 px inside
    xs = np.array([p[0] for p in path])
    assert path[0] == (212, 60) and path[-1] == (212, 180)
    assert np.abs(xs - 209.5).max() <= 3  # it stays on the edge
    outline = sc.outline([(212, 42), (288, 42), (288, 198), (212, 198)])
    mask = np.zeros_like(truth)
    assert paint_polygon(mask, [(x + 0.5, y + 0.5) for x, y in outline], 2) is not None
    assert iou(mask == 2, truth == 2) > 0.95
    assert sc.clamp((-40.0, 1e6)) == (0, H - 1)


def test_superpixels_follow_edges_and_the_brush_paints_them_whole() -> None:
    img, truth = scene()
    labels = superpixels(img, size=16)
    assert labels.shape == (H, W) and labels.min() >= 1
    n = len(np.unique(labels))
    assert 0.5 * (H // 16) * (W // 16) <= n <= 1.5 * (H // 16 + 1) * (W // 16 + 1)
    pure = [np.bincount(truth[labels == i]).max() / (labels == i).sum() for i in np.unique(labels)]
    assert np.mean(pure) > 0.97
    sel = superpixel_stroke(labels, [(100, 120), (120, 120)], 3, 1)
    assert sel is not None
    chosen = np.unique(labels[sel.full((H, W))])
    assert np.array_equal(sel.full((H, W)), np.isin(labels, chosen))


def test_cleanup_fills_small_holes_and_removes_specks_only() -> None:
    _, truth = scene()
    mask = truth.copy()
    mask[100:104, 100:104] = 0  # a 16 px hole in the disc
    mask[5:8, 5:8] = 1  # a 9 px speck on the ground
    mask[150:153, 250:253] = 1  # a speck inside the rectangle: it takes class 2
    mask[0:3, 150:153] = 0  # nothing to do with class 1
    mask[60:110, 90:140] = 0  # a big hole: kept
    before = mask.copy()
    sel = cleanup(mask, 1, 50)
    assert sel is not None
    apply_selection(mask, sel)
    assert (mask[100:104, 100:104] == 0).all()  # inside the big hole region: not a hole of its own
    assert (mask[5:8, 5:8] == 0).all() and (mask[150:153, 250:253] == 2).all()
    assert (mask[60:110, 90:140] == 0).all()
    mask2 = truth.copy()
    mask2[100:104, 100:104] = 0
    sel2 = cleanup(mask2, 1, 50)
    assert sel2 is not None and sel2.area == 16
    assert cleanup(truth, 1, 50) is None and not np.array_equal(before, mask)


def test_edge_aware_eraser_stops_at_a_colour_edge() -> None:
    img, truth = scene()
    mask = np.ones_like(truth)  # everything wrongly class 1
    sel = edge_stroke(img, mask, [(30, 120), (45, 120)], 25, 0, tolerance=30)  # centre on ground, near disc
    assert sel is not None and sel.value == 0
    sel_full = sel.full((H, W))
    assert not (sel_full & (truth == 1)).any() and sel_full.sum() > 1000


def test_apply_selection_respects_locks_and_per_pixel_values() -> None:
    mask = np.zeros((20, 20), np.uint8)
    mask[5:10, 5:10] = 2
    values = np.full((20, 20), 3, np.uint8)
    values[:, 10:] = 4
    sel = Selection((0, 0, 20, 20), np.ones((20, 20), bool), values)
    patch = apply_selection(mask, sel, writable=writable_classes(locked=[2]))
    assert patch is not None and (mask[5:10, 5:10] == 2).all()
    assert (mask[0, :10] == 3).all() and (mask[0, 10:] == 4).all()
    patch.undo(mask)
    assert mask.sum() == 2 * 25
    with pytest.raises(ValueError):
        apply_selection(mask, Selection((0, 0, 30, 30), np.ones((30, 30), bool), 1))


def test_window_reads_equal_the_full_resize() -> None:
    rng = np.random.default_rng(1)
    low = rng.random((30, 40, 5)).astype(np.float32)
    probs = ClassProbabilities(low, (H, W))
    full = np.stack([cv2.resize(low[..., c], (W, H), interpolation=cv2.INTER_LINEAR) for c in range(5)], -1)
    win = probs.window((17, 33, 201, 190))
    assert np.allclose(win, full[33:190, 17:201], atol=1e-4)
    assert np.allclose(probs.plane(3, (0, 0, W, H)), full[..., 3], atol=1e-4)
    first, second = probs.ranked((0, 0, W, H))
    assert np.array_equal(first, full.argmax(-1))
    assert np.array_equal(second, np.argsort(-full, axis=-1, kind="stable")[..., 1])
    with pytest.raises(ValueError):
        probs.window((0, 0, W + 1, H))


def test_a_prediction_keeps_its_probabilities_for_the_tools(tiny_model, carvana_dir) -> None:  # type: ignore[no-untyped-def]
    from unet_core.data.io import read_image
    from unet_core.model.predictor import Predictor

    image = read_image(next((carvana_dir / "train").glob("*.jpg")))
    pred = Predictor.from_checkpoint(tiny_model, device="cpu", guided=False).predict(image)
    probs = pred.class_probabilities()
    assert probs is not None and probs.size_hw == image.shape[:2] and probs.num_classes == 2
    assert pred.low_probabilities is not None and pred.low_probabilities.dtype == np.float16
    first, _ = probs.ranked((0, 0, image.shape[1], image.shape[0]))
    assert (first == pred.labels).mean() > 0.99  # the same decision as the (unguided) labels, read per window
    guided = Predictor.from_checkpoint(tiny_model, device="cpu").predict(image)
    assert guided.low_probabilities is not None and np.array_equal(guided.low_probabilities, pred.low_probabilities)


def test_region_click_with_a_model_removes_a_false_part_not_the_object_it_touches() -> None:
    _, truth = scene()
    mask = truth.copy()
    mask[110:130, 170:200] = 1  # a false extension attached to the disc's right side
    low = probs_for(truth, sure=0.95)
    low[27:33, 42:50, 1], low[27:33, 42:50, 0] = 0.5, 0.45  # the model was unsure there
    sel = region_click(mask, 190, 120, 1, probs=ClassProbabilities(low, (H, W)))
    assert sel is not None
    apply_selection(mask, sel)
    assert (mask[truth == 1] == 1).mean() > 0.97  # the disc stays
    assert (mask[112:128, 180:200] == 0).all()  # the extension's core is gone


def test_region_click_with_an_unsure_model_does_not_flood_the_background() -> None:
    _, truth = scene()
    mask = np.zeros_like(truth)
    low = np.full((H // 4, W // 4, 3), 1 / 3, np.float32)  # the model knows nothing
    sel = region_click(mask, 110, 120, 1, probs=ClassProbabilities(low, (H, W)))
    assert sel is not None and sel.area == H * W  # 1/3 everywhere: all of it is "half-seen", as at the click
    low[..., 1] = 0.07  # the model saw next to no disc anywhere: a click is not a licence to fill everything
    low[..., 0] = 0.88
    low[25:35, 25:30, 1] = 0.12
    sel = region_click(mask, 110, 120, 1, probs=ClassProbabilities(low, (H, W)))
    assert sel is not None and sel.area < 0.1 * H * W


def test_cleanup_leaves_no_new_speck_where_a_ring_was() -> None:
    m = np.zeros((10, 10), np.uint8)
    m[4:7, 4:7] = 1
    m[5, 5] = 0  # a ring of 8 around a 1-pixel hole: all of it is one small speck
    sel = cleanup(m, 1, 20)
    assert sel is not None
    apply_selection(m, sel)
    assert not m.any()


def test_a_fill_with_a_class_the_model_lacks_takes_only_the_clicked_pixel() -> None:
    mask = np.zeros((50, 50), np.uint8)
    probs = ClassProbabilities(np.full((10, 10, 2), 0.5, np.float32), (50, 50))
    sel = region_click(mask, 0, 0, 2, probs=probs)
    assert sel is not None and sel.area == 1


def test_class_ids_that_do_not_fit_a_mask_are_refused() -> None:
    mask = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"0\.\.255"):
        apply_selection(mask, Selection((0, 0, 2, 2), np.ones((2, 2), bool), np.full((2, 2), 300, np.int32)))
    with pytest.raises(ValueError, match=r"0\.\.255"):
        apply_selection(mask, Selection((0, 0, 2, 2), np.ones((2, 2), bool), 256))
    assert not mask.any()


def test_the_snapping_eraser_takes_the_marked_patch_not_the_object_beside_it() -> None:
    img, truth = scene()
    mask = truth.copy()
    mask[100:140, 170:200] = 1  # a false patch of class 1 on the ground, touching the disc
    sel = snap_stroke(img, mask, [(185, 110), (185, 130)], 4, 0, erase=True)
    assert sel is not None
    apply_selection(mask, sel)
    assert (mask[truth == 1] == 1).mean() > 0.97  # the disc stays
    assert (mask[105:135, 175:195] == 0).mean() > 0.9  # the patch goes


def test_a_snapping_stroke_on_a_featureless_image_paints_no_block() -> None:
    flat = np.full((H, W, 3), 128, np.uint8)
    sel = snap_stroke(flat, np.zeros((H, W), np.uint8), [(100, 120), (220, 120)], 6, 1)
    assert sel is None or sel.area < 0.3 * (sel.rect[2] - sel.rect[0]) * (sel.rect[3] - sel.rect[1])
