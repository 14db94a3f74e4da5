"""The smart tools on the canvas with real events on an image with known edges: one undo step each, undo exact."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.canvas import CanvasView
from tests.unit import smart_scenes
from tests.unit.smart_scenes import iou
from unet_core.edit.probabilities import ClassProbabilities

H, W = 120, 160
COLORS = [(0, 0, 0), (255, 0, 0), (0, 0, 255), (0, 255, 0)]


def scene() -> tuple[np.ndarray, np.ndarray]:
    """A red disc (class 1, centre 55,60, radius 30) and a blue box (class 2, x 105-145, y 20-100) on
    grey ground with mild noise: the unit tests' scene at half size."""
    return smart_scenes.scene(seed=3, half=True, noise=5)


@pytest.fixture
def canvas(qtbot):  # type: ignore[no-untyped-def]
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(520, 420)
    image, truth = scene()
    mask = np.zeros((H, W), np.uint8)
    view.set_image(image)
    view.set_mask(mask)
    view.set_classes(COLORS)
    view.set_active_class(1)
    view.show()
    qtbot.waitExposed(view)
    view.setFocus()
    return view, mask, truth


def vpos(view: CanvasView, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x + 0.5, y + 0.5))


def press(qtbot, view, x, y, mods=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, mods, vpos(view, x, y))


def release(qtbot, view, x, y, mods=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, mods, vpos(view, x, y))


def click(qtbot, view, x, y, mods=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, mods, vpos(view, x, y))


def drag(qtbot, view, points, mods=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    press(qtbot, view, *points[0], mods)
    for p in points[1:]:
        qtbot.mouseMove(view.viewport(), vpos(view, *p))
    release(qtbot, view, *points[-1], mods)


def ctrl_wheel(view: CanvasView, x: float, y: float, notches: int) -> None:
    pos = QPointF(vpos(view, x, y))
    event = QWheelEvent(pos, QPointF(view.viewport().mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def settle(qtbot, view: CanvasView) -> None:  # type: ignore[no-untyped-def]
    """Let the tools' background jobs finish."""
    smart = view._smart
    qtbot.waitUntil(lambda: not smart.busy, timeout=10000)
    QApplication.processEvents()


def undo_all_restores(view: CanvasView, mask: np.ndarray, before: np.ndarray, steps: int = 1) -> None:
    assert view.undo_stack().count() == steps
    for _ in range(steps):
        view.undo_stack().undo()
    assert np.array_equal(mask, before)


# ------------------------------------------------------------------------------- wand
def test_wand_click_selects_the_disc_and_release_applies_one_step(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_tool("wand")
    before = mask.copy()
    press(qtbot, view, 55, 60)
    settle(qtbot, view)
    assert view._smart.preview.isVisible() and (mask == before).all()  # previewed, not written yet
    release(qtbot, view, 55, 60)
    settle(qtbot, view)
    assert iou(mask == 1, truth == 1) > 0.97
    assert not view._smart.preview.isVisible()
    undo_all_restores(view, mask, before)


def test_wand_drag_sets_tolerance_and_escape_cancels(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_tool("wand")
    start = view._smart.tolerance
    press(qtbot, view, 20, 20)  # grey ground
    qtbot.mouseMove(view.viewport(), vpos(view, 20, 20) + QPoint(120, 0))
    settle(qtbot, view)
    assert view._smart.tolerance > start + 40  # sideways drag: more tolerance
    wider = view._smart.preview.selection
    assert wider is not None and wider.area > (truth == 0).sum() * 0.9
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    release(qtbot, view, 20, 20)
    settle(qtbot, view)
    assert (mask == 0).all() and view.undo_stack().count() == 0 and not view._smart.preview.isVisible()


def test_wand_ctrl_wheel_previews_at_the_pointer_and_enter_applies(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_tool("wand")
    view.set_active_class(2)
    zoom = view.zoom()
    qtbot.mouseMove(view.viewport(), vpos(view, 125, 60))
    ctrl_wheel(view, 125, 60, -1)
    settle(qtbot, view)
    assert view.zoom() == zoom  # Ctrl+wheel is the tolerance here, not zoom
    assert view._smart.preview.isVisible() and (mask == 0).all()
    qtbot.keyClick(view, Qt.Key.Key_Return)
    settle(qtbot, view)
    assert iou(mask == 2, truth == 2) > 0.97
    undo_all_restores(view, mask, np.zeros_like(mask))


# ------------------------------------------------------------------------- snapping stroke
def test_snap_stroke_takes_the_disc_to_its_edges_and_shift_takes_it_away(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_tool("snap")
    view.set_brush_radius(4)
    drag(qtbot, view, [(40, 60), (55, 50), (70, 62), (55, 72)])
    assert view._smart.path.isVisible() or view.undo_stack().count() == 1  # the path shows until it snaps
    settle(qtbot, view)
    assert iou(mask == 1, truth == 1) > 0.9
    assert view.undo_stack().count() == 1
    snapped = mask.copy()
    drag(qtbot, view, [(45, 58), (65, 62)], Qt.KeyboardModifier.ShiftModifier)  # the eraser form
    settle(qtbot, view)
    assert (mask == 1).sum() < 0.1 * (snapped == 1).sum()
    undo_all_restores(view, mask, np.zeros_like(mask), steps=2)


# ----------------------------------------------------------------------------- region click
def test_region_click_removes_a_false_blob_fills_a_hole_and_needs_a_model_for_second_choice(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    mask[truth == 1] = 1
    mask[55:65, 50:60] = 0  # a hole in the disc
    mask[5:15, 5:15] = 1  # a false blob
    view.refresh_overlay()
    before = mask.copy()
    view.set_tool("region")
    click(qtbot, view, 8, 8)
    settle(qtbot, view)
    assert (mask[5:15, 5:15] == 0).all() and (mask[truth == 1][:50] == 1).all()
    click(qtbot, view, 55, 60)
    settle(qtbot, view)
    assert (mask[55:65, 50:60] == 1).all() and (mask[0:40, 0:20] == 0).all()
    hints: list[str] = []
    view.hintChanged.connect(hints.append)
    click(qtbot, view, 120, 60, Qt.KeyboardModifier.ShiftModifier)  # second choice without a model
    settle(qtbot, view)
    assert view.undo_stack().count() == 2 and "model" in hints[-1]
    low = np.full((H // 4, W // 4, 3), 0.05, np.float32)
    low[..., 3 - 1] = 0.6  # the model's second choice for the disc: class 2
    low[..., 1] = 0.35
    view.set_probabilities(ClassProbabilities(low, (H, W)))
    click(qtbot, view, 55, 60, Qt.KeyboardModifier.ShiftModifier)
    settle(qtbot, view)
    assert (mask[truth == 1] == 2).mean() > 0.99
    undo_all_restores(view, mask, before, steps=3)


# ----------------------------------------------------------------------------- scissors
def test_scissors_outline_snaps_to_the_box_and_a_vertex_can_be_dragged(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_tool("scissors")
    view.set_active_class(2)
    for x, y in [(106, 22), (143, 21), (144, 97), (106, 98)]:  # near the box's corners
        click(qtbot, view, x, y)
        qtbot.mouseMove(view.viewport(), vpos(view, x + 3, y + 3))
    settle(qtbot, view)
    assert view._smart.path.isVisible()
    click(qtbot, view, 106, 22)  # the first vertex closes the outline
    assert view._smart.scissors.closed and (mask == 0).all()
    press(qtbot, view, 144, 97)  # drag a vertex beyond the image: it stays on the image
    for x, y in [(150, 105), (170, 130)]:
        qtbot.mouseMove(view.viewport(), vpos(view, x, y))
    release(qtbot, view, 170, 130)
    assert view._smart.scissors.vertices[2] == (W - 1, H - 1)
    press(qtbot, view, W - 1, H - 1)  # and back to the corner
    qtbot.mouseMove(view.viewport(), vpos(view, 144, 99))
    release(qtbot, view, 144, 99)
    settle(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    settle(qtbot, view)
    assert iou(mask == 2, truth == 2) > 0.9
    undo_all_restores(view, mask, np.zeros_like(mask))


def test_scissors_live_wire_starts_at_the_new_vertex_not_at_an_old_pointer(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, _mask, _truth = canvas
    view.set_tool("scissors")
    click(qtbot, view, 106, 22)
    qtbot.mouseMove(view.viewport(), vpos(view, 143, 21))  # the wire follows the pointer
    settle(qtbot, view)
    assert view._smart.scissors._live and view._smart.scissors._live[-1] != (106, 22)
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # (as switching images does) the outline is forgotten
    assert not view._smart.scissors.vertices
    click(qtbot, view, 20, 100)  # a new first vertex, far from where the pointer last was
    settle(qtbot, view)
    live = view._smart.scissors._live
    assert all(abs(x - 20) <= 1 and abs(y - 100) <= 1 for x, y in live)  # no wire back to the old pointer


# -------------------------------------------------------------------------- superpixels
def test_superpixel_brush_paints_whole_superpixels_inside_the_disc(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_tool("superpixel")
    settle(qtbot, view)
    assert view._smart.superpixel_labels() is not None and view._smart.edges.isVisible()
    view.set_brush_radius(2)
    drag(qtbot, view, [(45, 55), (65, 55), (65, 65)])
    painted = mask == 1
    assert painted.sum() > 200
    assert (painted & (truth == 1)).sum() / painted.sum() > 0.9  # whole superpixels, inside the edges
    labels = view._smart.superpixel_labels()
    for sp in np.unique(labels[painted]):
        assert painted[labels == sp].all()  # each touched superpixel painted whole
    undo_all_restores(view, mask, np.zeros_like(mask))


# ------------------------------------------------------------------------- edge-aware brush
def test_edge_brush_stops_at_the_colour_edge_and_shift_erases(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_tool("edge")
    view.set_brush_radius(10)
    drag(qtbot, view, [(35, 60), (55, 40), (75, 60)])  # inside the disc, the brush reaching over its edge
    painted = mask == 1
    assert painted.sum() > 300 and not (painted & (truth != 1)).any()
    assert view.undo_stack().count() == 1
    drag(qtbot, view, [(55, 45), (55, 50)], Qt.KeyboardModifier.ShiftModifier)
    assert (mask == 1).sum() < painted.sum()
    undo_all_restores(view, mask, np.zeros_like(mask), steps=2)


def test_smart_tools_keep_locked_classes(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    mask[truth == 2] = 2
    view.refresh_overlay()
    before = mask.copy()
    view.set_protection(locked=[2])
    view.set_tool("wand")
    view.set_active_class(3)
    press(qtbot, view, 20, 20)
    qtbot.mouseMove(view.viewport(), vpos(view, 20, 20) + QPoint(300, 0))  # tolerance high enough for all
    release(qtbot, view, 20, 20)
    settle(qtbot, view)
    assert (mask[truth == 2] == 2).all() and (mask == 3).any()
    undo_all_restores(view, mask, before)


def test_latest_job_runs_one_at_a_time_and_ends_with_the_latest(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.canvas.jobs import LatestJob, run_soon

    started: list[int] = []
    got: list[tuple[int, bool]] = []
    job = LatestJob(run_soon, min_interval_ms=20)

    def request(i: int) -> None:
        job.submit(lambda: started.append(i) or i, lambda r: got.append((r, job.busy)))

    for i in range(5):
        request(i)  # the first starts; each later one replaces the one waiting
    qtbot.waitUntil(lambda: not job.busy, timeout=3000)
    assert started == [0, 4] and got == [(0, True), (4, False)]  # busy: a newer request was waiting
    request(5)
    job.cancel()
    qtbot.wait(60)
    assert got[-1] == (4, False) and not job.busy  # cancelled: its result is dropped


def test_a_speckled_selection_keeps_a_cheap_outline_of_its_main_border(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.canvas.preview import MAX_OUTLINE_POINTS, build_preview
    from unet_core.edit.selection import Selection

    rng = np.random.default_rng(0)
    pixels = np.zeros((200, 300), bool)
    pixels[20:180, 30:270] = True
    pixels[rng.random(pixels.shape) < 0.02] = False  # hundreds of one-pixel holes
    preview = build_preview(Selection((10, 5, 310, 205), pixels, 1), COLORS * 64)
    assert preview is not None and preview.boxes == ()  # no rings outside cleanup
    box = preview.path.boundingRect()
    assert abs(box.left() - 40.5) < 1 and abs(box.right() - 279.5) < 1  # the main border, placed at the rect
    assert preview.path.elementCount() < 200  # the crumbs are left out of the outline
    assert MAX_OUTLINE_POINTS >= 1000
    rings = build_preview(Selection((0, 0, 300, 200), pixels, 1), COLORS * 64, rings=True)
    assert rings is not None and len(rings.boxes) > 100  # cleanup rings every part
    assert (preview.rgba[..., 3] > 0).sum() == pixels.sum()


def test_region_hover_previews_the_click_and_the_click_applies_it(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    mask[truth == 1] = 1
    mask[5:15, 5:15] = 1  # a false blob
    view.refresh_overlay()
    before = mask.copy()
    view.set_tool("region")
    qtbot.mouseMove(view.viewport(), vpos(view, 8, 8))
    settle(qtbot, view)
    sel = view._smart.preview.selection
    assert sel is not None and sel.area == 100 and view._smart.preview.isVisible()
    assert np.array_equal(mask, before) and view.undo_stack().count() == 0  # only a preview
    click(qtbot, view, 8, 8)
    assert (mask[5:15, 5:15] == 0).all()  # the previewed blob went at once
    assert view.undo_stack().count() == 1
    settle(qtbot, view)
    qtbot.mouseMove(view.viewport(), vpos(view, 55, 60))  # over the disc: a click would remove it
    settle(qtbot, view)
    assert view._smart.preview.selection.area == (truth == 1).sum()
    low = np.full((H // 4, W // 4, 3), 0.05, np.float32)
    low[..., 2], low[..., 1] = 0.6, 0.35
    view.set_probabilities(ClassProbabilities(low, (H, W)))
    qtbot.keyPress(view, Qt.Key.Key_Shift)  # Shift: the second choice is previewed instead
    settle(qtbot, view)
    shown = view._smart.preview.selection
    assert shown is not None and shown.values()[shown.pixels].max() == 2
    qtbot.keyRelease(view, Qt.Key.Key_Shift)
    QApplication.sendEvent(view.viewport(), QEvent(QEvent.Type.Leave))  # the pointer leaves: no preview
    assert not view._smart.preview.isVisible()
    view.undo_stack().undo()
    assert np.array_equal(mask, before)


def test_a_region_click_is_not_lost_to_the_hover_that_follows(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, _truth = canvas
    mask[5:15, 5:15] = 1
    mask[100:110, 20:30] = 1
    view.refresh_overlay()
    view.set_tool("region")
    click(qtbot, view, 8, 8)  # no preview yet: computed, then applied
    qtbot.mouseMove(view.viewport(), vpos(view, 25, 105))  # at once over another blob
    settle(qtbot, view)
    assert (mask[5:15, 5:15] == 0).all() and view.undo_stack().count() == 1
    assert (mask[100:110, 20:30] == 1).all()


def test_two_quick_snapping_strokes_both_land_and_a_tool_change_keeps_them(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_tool("snap")
    view.set_brush_radius(4)
    drag(qtbot, view, [(40, 60), (55, 50), (70, 62)])
    view.set_active_class(2)
    drag(qtbot, view, [(115, 40), (125, 60), (135, 80)])  # released before the first one is applied
    view.set_tool("brush")
    settle(qtbot, view)
    assert iou(mask == 1, truth == 1) > 0.85 and iou(mask == 2, truth == 2) > 0.85
    assert view.undo_stack().count() == 2


def test_an_edit_still_computing_when_the_mask_changes_is_dropped_and_said(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, _ = canvas
    hints: list[str] = []
    view.hintChanged.connect(hints.append)
    view.set_tool("snap")
    view.set_brush_radius(4)
    drag(qtbot, view, [(40, 60), (55, 50), (70, 62)])  # released: the snap is computed at the next turn
    assert view._smart.busy
    other = np.zeros((H, W), np.uint8)
    view.set_mask(other)  # another image's mask is shown before it lands
    settle(qtbot, view)
    assert not mask.any() and not other.any()  # applied to neither
    assert "dropped" in hints[-1] and "snapping" not in hints[-1]


def test_brackets_size_the_edge_aware_brush_and_ctrl_wheel_its_tolerance(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, _, _ = canvas
    view.set_tool("edge")
    view.set_brush_radius(10)
    tolerance = view._smart.edge_tolerance
    qtbot.keyClick(view, Qt.Key.Key_BracketRight)
    assert view.brush_radius() > 10 and view._smart.edge_tolerance == tolerance  # a brush: [ ] is its radius
    ctrl_wheel(view, 50, 50, 1)
    assert view._smart.edge_tolerance > tolerance


def test_smart_tool_jobs_run_as_interactive_work(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.canvas.jobs import JobQueue, LatestJob
    from unet_core.priority import INTERACTIVE

    seen: list[bool] = []

    def runner(fn, on_done, on_error) -> None:  # type: ignore[no-untyped-def]
        on_done(fn())  # on this thread, as the job would run on a pool thread

    for job in (LatestJob(runner), JobQueue(runner)):
        job.submit(lambda: INTERACTIVE.busy(), seen.append)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=2000)
    assert seen == [True, True] and not INTERACTIVE.busy()  # a training step waits meanwhile, and only then
